// Boot storm (not a test): N simulated nodes (default 1,000) boot at once against the compiled
// `wulf serve` on loopback: DHCP via a relay, TFTP undionly.kpxe, iPXE script, kernel, image,
// system and runtime overlays. Prints p50/p99 time to booted and the error count (target 0).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bootMany, percentile } from '../src/sim/sim.ts';

const bin = resolve(process.env.WULF_BIN ?? 'dist/wulf');
const N = Number(process.env.NODES ?? 1000);
const conc = Number(process.env.CONCURRENCY ?? 200);
const root = mkdtempSync(join(tmpdir(), 'wulf-storm-'));
const env = { ...process.env, WULF_ROOT: root };
const w = (...a: string[]) => { const r = spawnSync(bin, a, { env, encoding: 'utf8' }); if (r.status !== 0) throw new Error(`wulf ${a.join(' ')}: ${r.stderr}`); };
const fs = join(root, 'rootfs');
mkdirSync(join(fs, 'bin'), { recursive: true }); mkdirSync(join(fs, 'boot'), { recursive: true });
copyFileSync('/bin/busybox', join(fs, 'bin/sh'));
const k = existsSync('/boot') ? readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-')) : [];
if (k.length) copyFileSync(join('/boot', k[0]!), join(fs, 'boot', k[0]!)); else writeFileSync(join(fs, 'boot/vmlinuz-6.1.0-x'), Buffer.alloc(8 << 20));
w('init', '--address', '127.0.0.1/8', '--interface', 'lo');
w('image', 'import', fs, 'storm'); w('image', 'build', 'storm');
let y = '';
const macs: string[] = [];
for (let i = 0; i < N; i++) {
  const mac = `52:54:01:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
  macs.push(mac);
  y += `s${String(i).padStart(4, '0')}:\n  profiles: [default]\n  image name: storm\n  network devices:\n    default:\n      hwaddr: "${mac}"\n      ipaddr: 127.1.${i >> 8}.${i & 255}\n`;
}
writeFileSync(join(root, 'nodes.yaml'), y);
w('node', 'import', join(root, 'nodes.yaml'), '-y');
const ports = { httpPort: 30000 + Math.floor(Math.random() * 5000), dhcpPort: 0, tftpPort: 0, relayPort: 0 };
ports.dhcpPort = ports.httpPort + 1; ports.tftpPort = ports.httpPort + 2; ports.relayPort = ports.httpPort + 3;
const serve = spawn(bin, ['serve', '--address', '127.0.0.1', '--http-port', String(ports.httpPort), '--dhcp-port', String(ports.dhcpPort), '--tftp-port', String(ports.tftpPort), '--dhcp-relay-port', String(ports.relayPort)], { env, stdio: 'ignore' });
try {
  for (let i = 0; i < 100; i++) { try { if ((await fetch(`http://127.0.0.1:${ports.httpPort}/status`)).ok) break; } catch { /* starting */ } await Bun.sleep(100); }
  const t0 = performance.now();
  const res = await bootMany({ server: '127.0.0.1', ...ports, timeoutMs: 120_000 }, macs, { concurrency: conc });
  const wall = (performance.now() - t0) / 1000;
  const ok = res.filter((r) => r.ok).map((r) => r.ms);
  const errs = res.filter((r) => !r.ok);
  console.log(`boot storm: ${N} simulated nodes, ${conc} at once, against compiled wulf serve on loopback`);
  console.log(`booted ${ok.length}, errors ${errs.length}${errs.length ? ` (first: ${errs[0]!.error})` : ''}; wall ${wall.toFixed(1)} s`);
  console.log(`time to booted: p50 ${percentile(ok, 50)} ms, p99 ${percentile(ok, 99)} ms`);
} finally {
  serve.kill('SIGTERM');
  await Bun.sleep(300);
  rmSync(root, { recursive: true, force: true });
}
