// Builds dist/wulf: one Bun-compiled executable with overlays/ and the iPXE binaries embedded.
// The iPXE binaries are taken at build time from Debian's ipxe package, with their licence notice:
// installed (/usr/lib/ipxe) or fetched by the build itself (build/ipxe.ts); none is an error.
// Never strip the result: strip removes the embedded program.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { findIpxe } from './ipxe.ts';

const release = !process.argv.includes('--dev');
const out = process.env.WULF_OUT ?? 'dist/wulf';
const assets = 'build/assets';

rmSync(assets, { recursive: true, force: true });
mkdirSync(`${assets}/ipxe`, { recursive: true });
const ipxe = findIpxe();
if (typeof ipxe === 'string') {
  console.error(`build: no iPXE binaries to embed: ${ipxe}; apt-get install ipxe, or set WULF_IPXE_DIR`);
  process.exit(1);
}
const found: string[] = [];
for (const [f, p] of ipxe.files) {
  cpSync(p, `${assets}/ipxe/${f}`, { dereference: true });
  found.push(f);
}
writeFileSync(
  `${assets}/ipxe/COPYING`,
  ipxe.licence
    ? readFileSync(ipxe.licence)
    : "iPXE binaries from Debian's ipxe package: GPL-2.0-or-later with UBDL. See https://ipxe.org/licensing\n",
);
writeFileSync(
  `${assets}/build-info.json`,
  JSON.stringify({
    version: JSON.parse(readFileSync('package.json', 'utf8')).version,
    commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout?.trim() || 'unknown',
    built: new Date().toISOString(),
    ipxe: found,
  }),
);

mkdirSync('dist', { recursive: true });
const args = [
  'build',
  '--compile',
  'src/main.ts',
  'src/overlays/worker.ts',
  'src/tftp/worker.ts',
  '--outfile',
  out, // workers: overlay buildMany, TFTP transfers
  '--asset=./overlays',
  `--asset=./${assets}`,
  '--define',
  'process.env.CBOR_NATIVE_ACCELERATION_DISABLED="true"',
  // react/ink pick their production builds (the development ones cost several times the CPU)
  '--define',
  'process.env.NODE_ENV="production"',
];
if (release) args.push('--minify', '--bytecode', '--format=esm');
const t0 = performance.now();
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('build: bun build failed');
  process.exit(r.status ?? 1);
}
console.log(
  `build: ${out} ${(statSync(out).size / 1048576).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s (iPXE from ${ipxe.from})`,
);
