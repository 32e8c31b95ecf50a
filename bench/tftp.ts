// TFTP benchmark (not a test): a 30 MiB file over loopback fetched with atftp from wulf's TFTP
// server and from tftpd-hpa side by side, at blksize 1468 and with windowsize 16 (RFC 7440;
// tftpd-hpa has no windowsize and falls back to lock-step). Prints MB/s and ratios.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTftpServer } from '../src/tftp/server.ts';
import { rootProvider } from '../src/tftp/providers.ts';
import { silentLogger } from '../src/lib/log.ts';

const dir = mkdtempSync(join(tmpdir(), 'wulf-bench-tftp-'));
const size = 30 * 1048576;
writeFileSync(join(dir, 'f.bin'), randomBytes(size), { mode: 0o644 });
chmodSync(dir, 0o755); // tftpd-hpa drops to an unprivileged user
const runs = Number(process.env.BENCH_RUNS ?? 3);

const wulf = createTftpServer({ port: 0, address: '127.0.0.1', provider: rootProvider(dir), log: silentLogger });
await wulf.start();
const wulfPort = wulf.stats().port;
const hpaPort = 20000 + Math.floor(Math.random() * 20000);
const hpa = spawn('in.tftpd', ['-L', '-s', dir, '-a', `127.0.0.1:${hpaPort}`], { stdio: 'ignore' });
await Bun.sleep(300);

async function fetchOnce(port: number, opts: string[]): Promise<number> {
  const out = join(dir, `out-${port}`);
  const t0 = performance.now();
  const p = Bun.spawn(['atftp', '-g', '-r', 'f.bin', '-l', out, ...opts.flatMap((o) => ['--option', o]), '127.0.0.1', String(port)], { stdout: 'ignore', stderr: 'ignore' });
  const code = await p.exited;
  const ms = performance.now() - t0;
  if (code !== 0 || statSync(out).size !== size) throw new Error(`atftp from port ${port} failed (${code})`);
  return ms;
}
async function median(port: number, opts: string[]) {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) t.push(await fetchOnce(port, opts));
  return t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!;
}
const mbps = (ms: number) => (size / 1e6 / (ms / 1000)).toFixed(1);

try {
  const hpa1468 = await median(hpaPort, ['blksize 1468']);
  const wulf1468 = await median(wulfPort, ['blksize 1468']);
  const wulfW16 = await median(wulfPort, ['blksize 1468', 'windowsize 16']);
  console.log(`TFTP 30 MiB over loopback, atftp client, median of ${runs}`);
  console.log(`tftpd-hpa  blksize 1468               ${(hpa1468 / 1000).toFixed(2)} s  ${mbps(hpa1468)} MB/s`);
  console.log(`wulf       blksize 1468               ${(wulf1468 / 1000).toFixed(2)} s  ${mbps(wulf1468)} MB/s   ${(hpa1468 / wulf1468).toFixed(2)}× tftpd-hpa (target ≥ 1.0×)`);
  console.log(`wulf       blksize 1468 windowsize 16 ${(wulfW16 / 1000).toFixed(2)} s  ${mbps(wulfW16)} MB/s   ${(hpa1468 / wulfW16).toFixed(2)}× tftpd-hpa (target ≥ 4×)`);
} finally {
  hpa.kill('SIGKILL');
  await wulf.stop();
  rmSync(dir, { recursive: true, force: true });
  spawnSync('true');
}
