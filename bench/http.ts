// HTTP benchmark (not a test): a 200 MiB image to 50 concurrent clients from wulf's /image route
// (compiled `wulf serve`) and from nginx with sendfile, side by side on loopback. curl processes
// are the clients. Prints aggregate MB/s per round and the ratio of the medians.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { imageArtifactPath } from '../src/images/service.ts';
import { pathsFor } from '../src/config/paths.ts';

const bin = resolve(process.env.WULF_BIN ?? 'dist/wulf');
const clients = Number(process.env.CLIENTS ?? 50);
const root = mkdtempSync(join(tmpdir(), 'wulf-bench-http-'));
chmodSync(root, 0o755);
const env = { ...process.env, WULF_ROOT: root };
const w = (...a: string[]) => {
  const r = spawnSync(bin, a, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wulf ${a.join(' ')}: ${r.stderr}`);
};
const fs = join(root, 'rootfs');
mkdirSync(join(fs, 'bin'), { recursive: true });
mkdirSync(join(fs, 'boot'), { recursive: true });
copyFileSync('/bin/busybox', join(fs, 'bin/sh'));
writeFileSync(join(fs, 'boot/vmlinuz-6.1.0-bench'), 'k');
writeFileSync(join(fs, 'blob.bin'), randomBytes(200 * 1048576)); // incompressible: the image stays ~200 MiB
w('init', '--address', '127.0.0.1/8', '--interface', 'lo');
w('image', 'import', fs, 'big');
w('image', 'build', 'big');
w('node', 'add', 'b1', '--image', 'big', '--hwaddr', '52:54:00:be:00:01', '--ipaddr', '127.0.30.1');
const artifact = imageArtifactPath(pathsFor(root), 'big')!.path;
const www = join(root, 'www');
mkdirSync(www);
copyFileSync(artifact, join(www, 'image.img.gz'));
chmodSync(join(www, 'image.img.gz'), 0o644);
const wport = 31000 + Math.floor(Math.random() * 2000),
  nport = wport + 1;
writeFileSync(
  join(root, 'nginx.conf'),
  `daemon off; worker_processes 2; pid ${root}/nginx.pid; error_log ${root}/nginx.err;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; server { listen 127.0.0.1:${nport}; root ${www}; } }\n`,
);
const serve = spawn(bin, ['serve', '--address', '127.0.0.1', '--http-port', String(wport), '--no-dhcp', '--no-tftp'], {
  env,
  stdio: 'ignore',
});
const nginx = spawn('nginx', ['-c', join(root, 'nginx.conf'), '-p', root], { stdio: 'ignore' });
await Bun.sleep(800);

async function storm(url: string): Promise<{ s: number; bytes: number }> {
  const t0 = performance.now();
  const ps = Array.from({ length: clients }, () =>
    Bun.spawn(['curl', '-s', '-o', '/dev/null', '-w', '%{size_download}', url], { stdout: 'pipe' }),
  );
  let bytes = 0;
  for (const p of ps) {
    await p.exited;
    bytes += Number(await new Response(p.stdout).text());
  }
  return { s: (performance.now() - t0) / 1000, bytes };
}
try {
  // rounds in alternating order (n w w n n w w n …), so neither side always meets a colder page cache
  const rounds = Number(process.env.ROUNDS ?? 8);
  const mb = (x: { s: number; bytes: number }) => x.bytes / 1e6 / x.s;
  const nUrl = `http://127.0.0.1:${nport}/image.img.gz`,
    wUrl = `http://127.0.0.1:${wport}/image/52:54:00:be:00:01`;
  const ng: { s: number; bytes: number }[] = [],
    wu: { s: number; bytes: number }[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      ng.push(await storm(nUrl));
      wu.push(await storm(wUrl));
    } else {
      wu.push(await storm(wUrl));
      ng.push(await storm(nUrl));
    }
  }
  const n1 = ng[0]!;
  const med = (xs: { s: number; bytes: number }[]) => {
    const v = xs.map(mb).sort((a, b) => a - b);
    return v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  console.log(
    `HTTP: ${(n1.bytes / clients / 1048576).toFixed(0)} MiB to ${clients} concurrent curl clients on loopback, ${rounds} rounds each`,
  );
  console.log(`nginx sendfile  ${ng.map((x) => mb(x).toFixed(0)).join(' / ')} MB/s`);
  console.log(
    `wulf /image     ${wu.map((x) => mb(x).toFixed(0)).join(' / ')} MB/s   ${(med(wu) / med(ng)).toFixed(2)}× nginx (medians; target ≥ 1.0×)`,
  );
  const all = [...ng.map((x) => ['nginx', x] as const), ...wu.map((x) => ['wulf', x] as const)];
  for (const [name, x] of all) if (x.bytes !== n1.bytes) console.log(`warning: ${name} sent ${x.bytes} bytes, expected ${n1.bytes}`);
} finally {
  serve.kill('SIGTERM');
  nginx.kill('SIGTERM');
  await Bun.sleep(300);
  rmSync(root, { recursive: true, force: true });
}
