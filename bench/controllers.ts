// Controllers (not a test; #15 item 8): BENCH_NODES simulated nodes (default 10,000) boot over three
// `wulf serve` controllers sharing one PostgreSQL store, each controller with its own segment (its
// own address and port set on the loopback of a private namespace, and its own `wulf sim` relay
// booting its third of the nodes), against a third of them (3,333 by default) booting on one
// controller alone. Prints p50/p99 time to booted, the wall time and the ratios, 3 controllers : 1.
// Every controller and simulator here shares this machine's cores: it measures contention, not scale.
// BENCH_NODES=3000 for a quick run; BENCH_CONCURRENCY (boots at once per relay, default 100);
// BENCH_KERNEL_MB (the stand-in kernel's size, default 2).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { percentile } from '../src/sim/sim.ts';
import { startPg } from '../test/store/pg.ts';
import { setDhcpRange, tempRoot, tinyRootfs } from '../test/helpers/cli.ts';

const bin = resolve(process.env.WULF_BIN ?? 'dist/wulf');
const N = Number(process.env.BENCH_NODES ?? 10_000);
const CONC = Number(process.env.BENCH_CONCURRENCY ?? 100);
const KERNEL_MB = Number(process.env.BENCH_KERNEL_MB ?? 2);
const K = 3;

interface Ctl {
  ip: string;
  root: string;
  http: number;
  dhcp: number;
  tftp: number;
  relay: number;
  proc?: ChildProcess;
}

const name = (i: number) => `b${String(i).padStart(5, '0')}`;
const mac = (i: number) =>
  `52:54:02:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

async function startCtl(c: Ctl, url: string, who: string): Promise<void> {
  const env = { ...process.env, WULF_ROOT: c.root, WULF_HOST_ROOT: c.root, WULF_STORE: url, WULF_CONTROLLER: who };
  const args = ['serve', '--address', c.ip, '--http-port', String(c.http), '--dhcp-port', String(c.dhcp)];
  args.push('--tftp-port', String(c.tftp), '--dhcp-relay-port', String(c.relay), '--no-ra');
  c.proc = spawn(bin, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  c.proc.stderr!.on('data', (d) => {
    if (log.length < 100_000) log += String(d);
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://${c.ip}:${c.http}/status`)).ok) return;
    } catch {
      /* starting */
    }
    await Bun.sleep(100);
  }
  throw new Error(`controller ${who} did not start: ${log}`);
}

/** One relay (`wulf sim`) booting nodes first..last against one controller: each node's time to booted. */
function sim(c: Ctl, url: string, first: number, last: number): Promise<{ ms: number[]; errors: string[] }> {
  const args = ['sim', '--server', c.ip, '--http-port', String(c.http), '--dhcp-port', String(c.dhcp), '--tftp-port', String(c.tftp)];
  args.push('--relay-port', String(c.relay), '--nodes', `b[${String(first).padStart(5, '0')}-${String(last).padStart(5, '0')}]`);
  args.push('--concurrency', String(CONC));
  const p = spawn(bin, args, {
    env: { ...process.env, WULF_ROOT: c.root, WULF_HOST_ROOT: c.root, WULF_STORE: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ms: number[] = [];
  const errors: string[] = [];
  let rest = '';
  p.stdout!.on('data', (d) => {
    const lines = (rest + String(d)).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      const m = /: booted in (\d+) ms/.exec(l);
      if (m) ms.push(Number(m[1]));
      else if (l.includes(': FAILED')) errors.push(l);
    }
  });
  p.stderr!.on('data', (d) => errors.push(String(d).trim()));
  return new Promise((res) => p.on('exit', () => res({ ms, errors })));
}

async function round(label: string, ctls: Ctl[], url: string, total: number) {
  const per = Math.ceil(total / ctls.length);
  const t0 = performance.now();
  const parts = await Promise.all(ctls.map((c, k) => sim(c, url, k * per + 1, Math.min(total, (k + 1) * per))));
  const wall = (performance.now() - t0) / 1000;
  const ms = parts.flatMap((p) => p.ms);
  const errors = parts.flatMap((p) => p.errors);
  const r = { p50: percentile(ms, 50), p99: percentile(ms, 99), wall, booted: ms.length, errors: errors.length };
  console.log(
    `${label.padEnd(28)} booted ${r.booted}/${total}, errors ${r.errors}${errors.length ? ` (first: ${errors[0]})` : ''}; ` +
      `wall ${wall.toFixed(1)} s (${(r.booted / wall).toFixed(0)} nodes/s); time to booted p50 ${r.p50} ms, p99 ${r.p99} ms`,
  );
  return r;
}

async function main(): Promise<void> {
  const pg = startPg();
  const roots: ReturnType<typeof tempRoot>[] = [];
  const ctls: Ctl[] = [];
  try {
    const url = pg.createDb('ctlbench');
    const base = 30000 + Math.floor(Math.random() * 5000);
    for (let k = 0; k < K; k++) {
      const t = tempRoot(`wulf-ctlbench-${k}-`);
      roots.push(t);
      const c: Ctl = {
        ip: `127.0.0.${k + 1}`,
        root: t.dir,
        http: base + 10 * k,
        dhcp: base + 10 * k + 1,
        tftp: base + 10 * k + 2,
        relay: base + 10 * k + 3,
      };
      ctls.push(c);
      const env = { ...process.env, WULF_ROOT: t.dir, WULF_HOST_ROOT: t.dir };
      const w = (...a: string[]) => {
        const r = spawnSync(bin, a, { env: k === 0 && a[0] === 'node' ? { ...env, WULF_STORE: url } : env, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`wulf ${a.join(' ')}: ${r.stderr}`);
      };
      const fs = tinyRootfs(t.dir, Buffer.alloc(KERNEL_MB << 20, 7));
      w('init', '--address', `${c.ip}/8`, '--interface', 'lo');
      setDhcpRange(t.dir, `127.${200 + k}.0.0`, `127.${200 + k}.255.255`); // each controller its own range (overlaps are refused)
      w('image', 'import', fs, 'bench');
      w('image', 'build', 'bench');
      if (k === 0) {
        w('store', 'copy', '--to', url);
        let y = '';
        for (let i = 1; i <= N; i++)
          y +=
            `${name(i)}:\n  profiles: [default]\n  image name: bench\n  network devices:\n    default:\n` +
            `      hwaddr: "${mac(i)}"\n      ipaddr: 127.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}\n`;
        writeFileSync(join(t.dir, 'nodes.yaml'), y);
        w('node', 'import', join(t.dir, 'nodes.yaml'), '-y');
      }
    }
    const cores = cpus().length;
    console.log(
      `controllers: ${N} simulated nodes over ${K} controllers vs ${Math.round(N / K)} on one; one PostgreSQL store; ` +
        `${KERNEL_MB} MiB kernel; ${CONC} boots at once per relay`,
    );
    console.log(
      `NOTE: all ${K} controllers, their relays and PostgreSQL share this machine's ${cores} cores ` +
        `(load ${loadavg()[0]!.toFixed(1)} at the start): this measures contention, not scale`,
    );
    await startCtl(ctls[0]!, url, 'c1');
    const one = await round(`1 controller, ${Math.round(N / K)} nodes`, [ctls[0]!], url, Math.round(N / K));
    for (let k = 1; k < K; k++) await startCtl(ctls[k]!, url, `c${k + 1}`);
    const three = await round(`${K} controllers, ${N} nodes`, ctls, url, N);
    const ratio = (a: number, b: number) => (b ? (a / b).toFixed(2) : '-');
    console.log(
      `ratio ${K} controllers : 1 — p50 ${ratio(three.p50, one.p50)}×, p99 ${ratio(three.p99, one.p99)}×, wall ${ratio(three.wall, one.wall)}× ` +
        `(${K}× the nodes; on ${cores} shared cores)`,
    );
  } finally {
    for (const c of ctls) c.proc?.kill('SIGKILL');
    pg.stop();
    for (const t of roots) t.cleanup();
  }
}

if (!process.env.WULF_CTL_BENCH_NS) {
  // a namespace of its own: its loopback holds the three controllers' addresses and ports
  const ns = `wbctl-${process.pid}`;
  const run = (a: string[]) => {
    const r = spawnSync(a[0]!, a.slice(1), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${a.join(' ')}: ${r.stderr}`);
  };
  run(['ip', 'netns', 'add', ns]);
  try {
    run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, import.meta.path], {
      stdio: 'inherit',
      env: { ...process.env, WULF_CTL_BENCH_NS: ns },
    });
    process.exitCode = r.status ?? 1;
  } finally {
    spawnSync('sh', ['-c', `ip netns pids ${ns} | xargs -r kill -9; sleep 0.3; ip netns del ${ns}`]);
  }
} else {
  await main();
}
