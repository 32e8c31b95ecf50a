// TFTP benchmark (not a test): a 30 MiB file over loopback from wulf's TFTP server and from
// tftpd-hpa side by side, fetched with atftp and curl at blksize 1468, and wulf with windowsize 16
// (RFC 7440; tftpd-hpa has none, so its lock-step figure is the yardstick). Each server runs in its
// own process; runs are interleaved; medians and ratios are printed, unpinned and pinned
// (server on CPU 0, client on CPU 1). `bun bench/tftp.ts --serve DIR PORT` is the server entry.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTftpServer } from '../src/tftp/server.ts';
import { rootProvider } from '../src/tftp/providers.ts';
import { silentLogger } from '../src/lib/log.ts';

if (process.argv[2] === '--serve') {
  const s = createTftpServer({ port: Number(process.argv[4]), address: '127.0.0.1', provider: rootProvider(process.argv[3]!), log: silentLogger });
  await s.start();
  console.log('ready');
} else await bench();

async function bench() {
  for (const tool of ['atftp', 'curl', 'in.tftpd', 'taskset']) {
    if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} missing: apt-get install -y atftp curl tftpd-hpa util-linux`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'wulf-bench-tftp-'));
  const size = 30 * 1048576;
  writeFileSync(join(dir, 'f.bin'), randomBytes(size), { mode: 0o644 });
  chmodSync(dir, 0o755); // tftpd-hpa drops to nobody
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const port = () => 20000 + Math.floor(Math.random() * 20000);
  const procs: ChildProcess[] = [];
  const started = (cmd: string[], ready: (p: ChildProcess) => Promise<void>) => {
    const p = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(p);
    return ready(p);
  };
  try {
    for (const pinned of [false, true]) {
      const srvPin = pinned ? ['taskset', '-c', '0'] : [];
      const cliPin = pinned ? ['taskset', '-c', '1'] : [];
      const wulfPort = port(), hpaPort = port();
      await started([...srvPin, process.execPath, import.meta.path, '--serve', dir, String(wulfPort)],
        (p) => new Promise((res, rej) => { p.stdout!.once('data', () => res()); p.once('exit', (c) => rej(new Error(`wulf bench server exited ${c}`))); }));
      await started([...srvPin, 'in.tftpd', '-L', '-s', dir, '-a', `127.0.0.1:${hpaPort}`], () => Bun.sleep(300));
      const clients = {
        atftp: (p: number, opts: string[]) => ['atftp', '-g', '-r', 'f.bin', '-l', join(dir, 'out'), ...opts.flatMap((o) => ['--option', o]), '127.0.0.1', String(p)],
        curl: (p: number) => ['curl', '-sS', `tftp://127.0.0.1:${p}/f.bin`, '-o', join(dir, 'out'), '--tftp-blksize', '1468'],
      };
      const cases: { name: string; cmd: string[] }[] = [
        { name: 'tftpd-hpa atftp 1468', cmd: clients.atftp(hpaPort, ['blksize 1468']) },
        { name: 'wulf      atftp 1468', cmd: clients.atftp(wulfPort, ['blksize 1468']) },
        { name: 'tftpd-hpa curl  1468', cmd: clients.curl(hpaPort) },
        { name: 'wulf      curl  1468', cmd: clients.curl(wulfPort) },
        { name: 'wulf      atftp 1468 windowsize 16', cmd: clients.atftp(wulfPort, ['blksize 1468', 'windowsize 16']) },
      ];
      const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
      for (let i = 0; i < runs; i++) {
        for (const c of i % 2 ? [...cases].reverse() : cases) { // interleaved, alternating order
          rmSync(join(dir, 'out'), { force: true });
          const t0 = performance.now();
          const p = Bun.spawn([...cliPin, ...c.cmd], { stdout: 'ignore', stderr: 'ignore', timeout: 120_000 });
          const code = await p.exited;
          const ms = performance.now() - t0;
          if (code !== 0 || statSync(join(dir, 'out')).size !== size) throw new Error(`${c.name} failed (exit ${code})`);
          times.get(c.name)!.push(ms);
        }
      }
      const med = (n: string) => { const t = [...times.get(n)!].sort((a, b) => a - b); return t[Math.floor(t.length / 2)]!; };
      const line = (n: string, ref?: string, target?: string) => {
        const ms = med(n);
        const ratio = ref ? `  ${(med(ref) / ms).toFixed(2)}× tftpd-hpa${target ? ` (target ≥ ${target})` : ''}` : '';
        console.log(`  ${n.padEnd(34)} ${(ms / 1000).toFixed(3)} s  ${(size / 1e6 / (ms / 1000)).toFixed(1).padStart(6)} MB/s${ratio}`);
      };
      console.log(`TFTP 30 MiB over loopback, median of ${runs}, ${pinned ? 'pinned: servers on CPU 0, clients on CPU 1' : 'unpinned'}`);
      line('tftpd-hpa atftp 1468');
      line('wulf      atftp 1468', 'tftpd-hpa atftp 1468', '1.0×');
      line('tftpd-hpa curl  1468');
      line('wulf      curl  1468', 'tftpd-hpa curl  1468', '1.0×');
      line('wulf      atftp 1468 windowsize 16', 'tftpd-hpa atftp 1468', '4×');
      for (const p of procs.splice(0)) p.kill('SIGKILL');
      await Bun.sleep(100);
    }
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
