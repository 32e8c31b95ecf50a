// The README's test command: install the Debian packages the tests need (as root; otherwise name
// the missing ones and stop), build dist/wulf, type-check, lint (build/lint.ts), run bun:test, and end with the plain
// "N passed, N failed" line that CI reads (bun:test's own summary is not in that form).
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync, existsSync } from 'node:fs';
import { ensureTestPackages } from './test-deps.ts';

const bun = process.execPath;
const step = (name: string, cmd: string[], env: Record<string, string> = {}) => {
  console.log(`\n== ${name}: ${cmd.join(' ')}`);
  const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status ?? 1;
};

const depsError = ensureTestPackages();
if (depsError) {
  console.log(`npm test: ${depsError}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
if (step('build', [bun, 'build/build.ts']) !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const tsc = existsSync('node_modules/.bin/tsc') ? 'node_modules/.bin/tsc' : 'tsc';
const typeOk = step('typecheck', [tsc, '--noEmit', '-p', '.']) === 0;
const lintOk = step('lint', [bun, 'build/lint.ts']) === 0;

mkdirSync('test/out', { recursive: true });
const junit = 'test/out/junit.xml';
const extra = process.argv.slice(2);
const code = step('bun test', [bun, 'test', '--timeout', '60000', '--reporter=junit', `--reporter-outfile=${junit}`, ...extra]);

let passed = 0,
  failed = 0,
  skipped = 0;
try {
  const xml = readFileSync(junit, 'utf8');
  for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[2] ?? '';
    if (/<(failure|error)\b/.test(body)) failed++;
    else if (/<skipped\b/.test(body)) skipped++;
    else passed++;
  }
} catch {
  failed++;
}
if (!lintOk) {
  console.log('lint failed');
  failed++;
}
if (!typeOk) {
  console.log('typecheck failed');
  failed++;
}
if (code !== 0 && failed === 0) failed++;
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
