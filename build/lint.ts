// `npm run lint`: Biome checks the formatting (biome.json) and the house rules it can see — imports point down
// (a room never imports from a room above it), no import cycles, no function in src/ over 100 lines — and this
// script adds the one rule Biome has no switch for: no line over 160 characters (strings and comments included).
// Prints one line per finding and exits 1 when there is any.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MAX = 160;
const ROOTS = ['src', 'test', 'bench', 'build'];
const SKIP = new Set(['test/out', 'test/fixtures', 'node_modules']);

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (SKIP.has(p)) continue;
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (/\.(ts|tsx)$/.test(name)) yield p;
  }
}

let long = 0;
for (const root of ROOTS) {
  for (const file of sources(root)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.length > MAX) {
          long++;
          console.log(`${file}:${i + 1}: line of ${line.length} characters (at most ${MAX})`);
        }
      });
  }
}
const biome = spawnSync(join('node_modules', '.bin', 'biome'), ['ci', '--max-diagnostics=200', ...ROOTS], { stdio: 'inherit' });
const ok = long === 0 && biome.status === 0;
console.log(
  ok ? 'lint: clean' : `lint: ${long} long line${long === 1 ? '' : 's'}${biome.status === 0 ? '' : '; biome found problems (above)'}`,
);
process.exit(ok ? 0 : 1);
