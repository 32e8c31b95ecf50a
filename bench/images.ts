// Image benchmarks, side by side with the reference tools on the same tree (not a test):
//  1. build cpio.gz: wulf vs `find . | cpio -o -H newc | pigz -6 -p 2`; zstd mode vs that pipeline; peak RSS
//  2. import a 5-layer image from a local docker-registry: wulf vs `skopeo copy` + `umoci unpack`
//  3. peak RSS of the compiled `wulf image build` on a ≥ 1 GB tree of incompressible data (17 × 50 MB
//     plus 50,000 files of 1–8 KB), measured by /usr/bin/time -v; printed, target ≤ 200 MB.
//     WULF_BENCH_ONLY=rss runs only this part.
// The tree: WULF_BENCH_TREE, else the Debian 12 systemd rootfs the images/ recipes cache under
// /var/cache/wulf-images (the image real nodes boot), else a bookworm tree (debootstrap minbase +
// python3, perl, gcc, ≥ 300 MB) cached in /var/tmp/wulf-bench. WULF_BENCH_ONLY=build: builds only.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startRegistry } from '../test/images/peers.ts';
import { randomBytes } from 'node:crypto';
import { copyFileSync } from 'node:fs';

const BENCH = process.env.WULF_BENCH_DIR ?? '/var/tmp/wulf-bench';
const recipeTree = () => {
  try {
    return readdirSync('/var/cache/wulf-images')
      .filter((d) => /^debian12-networkd-[0-9a-f]+$/.test(d))
      .map((d) => join('/var/cache/wulf-images', d))[0];
  } catch {
    return undefined;
  }
};
const TREE = process.env.WULF_BENCH_TREE ?? recipeTree() ?? join(BENCH, 'tree');
const MAIN = join(import.meta.dir, '../src/main.ts');
const root = join(BENCH, `root-${createHash('sha1').update(TREE).digest('hex').slice(0, 8)}`);

function run(cmd: string[], env: Record<string, string> = {}): { secs: number; out: string } {
  const t = performance.now();
  const r = Bun.spawnSync(cmd, { env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'pipe' });
  if (r.exitCode !== 0) {
    const e = r.stderr.toString();
    throw new Error(`${cmd.join(' ')} exited ${r.exitCode}: ${e.length > 800 ? e.slice(0, 400) + ' … ' + e.slice(-400) : e}`);
  }
  return { secs: (performance.now() - t) / 1000, out: r.stdout.toString() + r.stderr.toString() };
}
const mb = (n: number) => (n / 1e6).toFixed(1);
const best = <T extends { secs: number }>(xs: T[]) => xs.reduce((a, b) => (b.secs < a.secs ? b : a));

function ensureTree(): void {
  if (existsSync(TREE)) return;
  mkdirSync(BENCH, { recursive: true });
  const mirror =
    Bun.spawnSync(['sh', '-c', "grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}'"])
      .stdout.toString()
      .trim() || 'http://deb.debian.org/debian';
  console.log(`debootstrap bookworm from ${mirror} into ${TREE} (once)…`);
  run(['debootstrap', '--variant=minbase', '--include=python3,perl,gcc', 'bookworm', TREE + '.tmp', mirror]);
  run(['sh', '-c', `rm -rf '${TREE}.tmp'/var/cache/apt/archives/*.deb && mv '${TREE}.tmp' '${TREE}'`]);
}

const COMPILED = process.env.WULF_BIN ?? join(import.meta.dir, '../dist/wulf');

/** ~1.1 GB of random data (incompressible): 17 × 50 MB files and 50,000 small files over 200 dirs. */
function ensureBigTree(dir: string): void {
  if (existsSync(join(dir, 'done'))) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'big'));
  copyFileSync('/bin/busybox', join(dir, 'bin/sh'));
  const pool = randomBytes(64 << 20);
  for (let i = 0; i < 17; i++)
    writeFileSync(join(dir, `big/f${i}.bin`), Buffer.concat([randomBytes(1 << 20), pool.subarray(i << 20, (i << 20) + (49 << 20))]));
  for (let i = 0; i < 50_000; i++) {
    const d = join(dir, 'small', String(i % 200));
    if (i < 200) mkdirSync(d, { recursive: true });
    const n = 1024 + ((i * 7919) % 7168),
      off = (i * 104729) % ((64 << 20) - n);
    writeFileSync(join(d, `s${i}`), pool.subarray(off, off + n));
  }
  writeFileSync(join(dir, 'done'), '');
}

function peakRss(): void {
  if (!existsSync(COMPILED)) {
    console.log(`peak RSS: ${COMPILED} is missing (bun build/build.ts), skipped`);
    return;
  }
  if (!existsSync('/usr/bin/time')) {
    console.log('peak RSS: /usr/bin/time is missing (apt-get install time), skipped');
    return;
  }
  const tree = join(BENCH, 'big-tree'),
    broot = join(BENCH, 'big-root');
  ensureBigTree(tree);
  if (!existsSync(join(broot, 'var/lib/wulf/images/big/rootfs'))) run([COMPILED, 'image', 'import', tree, 'big'], { WULF_ROOT: broot });
  const bytes = Number(run(['du', '-sb', join(broot, 'var/lib/wulf/images/big/rootfs')]).out.split('\t')[0]);
  for (const comp of ['gzip', 'zstd']) {
    const r = run(['/usr/bin/time', '-v', COMPILED, 'image', 'build', '--force', '--compress', comp, 'big'], { WULF_ROOT: broot });
    const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.out)?.[1] ?? NaN);
    console.log(
      `peak RSS  : compiled wulf image build --compress ${comp}, ${mb(bytes)} MB rootfs (incompressible): ${mb(kb * 1024)} MB in ${r.secs.toFixed(1)} ` +
        `s (target ≤ 200 MB)`,
    );
  }
}

if (process.env.WULF_BENCH_ONLY !== 'build') peakRss();
if (process.env.WULF_BENCH_ONLY === 'rss') process.exit(0);

ensureTree();
const treeBytes = Number(run(['du', '-sb', TREE]).out.split('\t')[0]);
console.log(`tree: ${TREE} ${mb(treeBytes)} MB`);
if (!existsSync(join(root, 'var/lib/wulf/images/bench/rootfs')))
  run([process.execPath, MAIN, 'image', 'import', TREE, 'bench'], { WULF_ROOT: root });
const rootfs = join(root, 'var/lib/wulf/images/bench/rootfs');
run(['sh', '-c', `cat $(find '${rootfs}' -type f) > /dev/null 2>&1 || true`]); // warm the page cache

// peak RSS of a build, measured in a child that reports its own rusage
const child = join(BENCH, 'build-child.ts');
writeFileSync(
  child,
  `import { buildImage } from '${join(import.meta.dir, '../src/images/build.ts')}';\n` +
    `import { pathsFor } from '${join(import.meta.dir, '../src/config/paths.ts')}';\n` +
    `const r = await buildImage(pathsFor(process.argv[2]!), 'bench', { force: true, compression: process.argv[3] as 'gzip' | 'zstd' });\n` +
    `console.log(JSON.stringify({ size: r.pointer.size, maxRSS: process.resourceUsage().maxRSS * 1024 }));\n`,
);
const wulfBuild = (comp: string) => {
  const r = run([process.execPath, child, root, comp]);
  return { secs: r.secs, ...(JSON.parse(r.out.trim().split('\n').pop()!) as { size: number; maxRSS: number }) };
};
const refGz = () => {
  const r = run(['sh', '-c', `cd '${rootfs}' && find . | cpio -o -H newc --quiet | pigz -6 -p 2 > '${BENCH}/ref.img.gz'`]);
  return { ...r, size: statSync(`${BENCH}/ref.img.gz`).size };
};
const refZst = () => {
  const r = run(['sh', '-c', `cd '${rootfs}' && find . | cpio -o -H newc --quiet | zstd -3 -T2 -q -f -o '${BENCH}/ref.img.zst'`]);
  return { ...r, size: statSync(`${BENCH}/ref.img.zst`).size };
};

const N = Number(process.env.WULF_BENCH_RUNS ?? 3);
const g = best(Array.from({ length: N }, () => wulfBuild('gzip')));
const pg = best(Array.from({ length: N }, refGz));
const z = best(Array.from({ length: N }, () => wulfBuild('zstd')));
const rz = best(Array.from({ length: N }, refZst));
console.log(
  `build gzip : wulf ${g.secs.toFixed(2)} s (${mb(g.size)} MB, peak RSS ${mb(g.maxRSS)} MB) | find|cpio|pigz -p2 ${pg.secs.toFixed(2)} s ` +
    `(${mb(pg.size)} MB) | ratio wulf/ref ${(g.secs / pg.secs).toFixed(2)}× (target ≤ 1.0)`,
);
console.log(
  `build zstd : wulf ${z.secs.toFixed(2)} s (${mb(z.size)} MB, peak RSS ${mb(z.maxRSS)} MB) | find|cpio|zstd -3 -T2 ${rz.secs.toFixed(2)} s ` +
    `(${mb(rz.size)} MB) | ratio wulf/ref ${(z.secs / rz.secs).toFixed(2)}× (target ≤ 1.0); vs the pigz pipeline ${(pg.secs / z.secs).toFixed(2)}× faster`,
);
if (process.env.WULF_BENCH_ONLY === 'build') process.exit(0);

// 5-layer image: split the tree by top-level dirs into 5 gzip layers, write an OCI layout by hand, push with skopeo.
const layoutDir = join(BENCH, 'layout5');
if (!existsSync(join(layoutDir, 'index.json'))) {
  rmSync(layoutDir, { recursive: true, force: true });
  mkdirSync(join(layoutDir, 'blobs/sha256'), { recursive: true });
  const top = readdirSync(rootfs);
  const groups = [
    top.filter((n) => !['usr', 'var'].includes(n)),
    ['usr/bin', 'usr/sbin', 'usr/include', 'usr/local'],
    ['usr/lib'],
    ['usr/share', 'usr/libexec'],
    ['var'],
  ].map((g) => g.filter((p) => existsSync(join(rootfs, p))));
  const layers: { digest: string; size: number; diff: string }[] = [];
  for (const [i, g] of groups.entries()) {
    const tarFile = join(BENCH, `l${i}.tar`);
    run(['tar', '--numeric-owner', '-C', rootfs, '-cf', tarFile, ...g]);
    const diff = createHash('sha256')
      .update(await Bun.file(tarFile).bytes())
      .digest('hex');
    run(['pigz', '-6', '-p', '2', '-f', tarFile]);
    const data = await Bun.file(tarFile + '.gz').bytes();
    const digest = createHash('sha256').update(data).digest('hex');
    await Bun.write(join(layoutDir, 'blobs/sha256', digest), data);
    rmSync(tarFile + '.gz');
    layers.push({ digest, size: data.length, diff });
  }
  const blob = async (o: unknown) => {
    const b = Buffer.from(JSON.stringify(o));
    const d = createHash('sha256').update(b).digest('hex');
    await Bun.write(join(layoutDir, 'blobs/sha256', d), b);
    return { digest: `sha256:${d}`, size: b.length };
  };
  const config = await blob({
    architecture: 'amd64',
    os: 'linux',
    created: new Date().toISOString(),
    config: {},
    rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${l.diff}`) },
  });
  const manifest = await blob({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${l.digest}`, size: l.size })),
  });
  writeFileSync(join(layoutDir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(layoutDir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': '5' } },
      ],
    }),
  );
}
const reg = await startRegistry('none');
try {
  run(['skopeo', 'copy', '--dest-tls-verify=false', `oci:${layoutDir}:5`, `docker://${reg.url}/bench/five:5`]);
  const imp: { secs: number }[] = [],
    ref: { secs: number }[] = [];
  for (let i = 0; i < Math.min(N, 2); i++) {
    const r2 = join(BENCH, 'imp-root');
    rmSync(r2, { recursive: true, force: true });
    imp.push(run([process.execPath, MAIN, 'image', 'import', '--nohttps', `docker://${reg.url}/bench/five:5`, 'five'], { WULF_ROOT: r2 }));
    const o = join(BENCH, 'ref-oci'),
      b = join(BENCH, 'ref-bundle');
    rmSync(o, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
    ref.push(
      run([
        'sh',
        '-c',
        `skopeo copy -q --src-tls-verify=false docker://${reg.url}/bench/five:5 oci:${o}:5 && umoci unpack --image ${o}:5 ${b}`,
      ]),
    );
    rmSync(o, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
    rmSync(r2, { recursive: true, force: true });
  }
  const a = best(imp),
    c = best(ref);
  console.log(
    `import 5 layers: wulf ${a.secs.toFixed(2)} s | skopeo copy + umoci unpack ${c.secs.toFixed(2)} s | ratio wulf/ref ${(a.secs / c.secs).toFixed(2)}×`,
  );
} finally {
  await reg.stop();
}
