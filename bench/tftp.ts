// TFTP benchmark over a veth pair, as users run it (not a test; needs root): the compiled
// `wulf serve` and tftpd-hpa (`in.tftpd -L`) in a server network namespace, atftp and curl in a
// client namespace, a 30 MiB file at blksize 1468 — lock-step for both servers, and windowsize 16
// for wulf (tftpd-hpa has none, so its lock-step time is the yardstick). Each condition is measured in rounds that run
// every case once, in alternating order; a ratio is the median over rounds of tftpd-hpa's time
// over wulf's in the same round. "busy before" is how busy the machine's CPUs were in the second
// before the condition started (other users of a shared machine). Conditions:
//   quiet   nothing added
//   busy    a `while :; do :; done` shell loop beside it, unpinned
//   busy1   the same loop pinned to CPU 1
//   qemu    a QEMU TCG VM (the host kernel booting, panicking and rebooting in a loop), unpinned
// Env: BENCH_RUNS (rounds, default 7), BENCH_CONDITIONS (default quiet,busy,qemu), BENCH_CLIENTS
// (default atftp,curl,ws16), BENCH_MIB (file size, default 30), BENCH_SESSION (own or shared, see
// spawnIn), WULF_BINS ("name=path,..." to compare builds in the same run; default wulf=dist/wulf).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathsFor } from '../src/config/paths.ts';

const SIZE = Number(process.env.BENCH_MIB ?? 30) * 1048576;
const runs = Number(process.env.BENCH_RUNS ?? 7);
const conditions = (process.env.BENCH_CONDITIONS ?? 'quiet,busy,qemu').split(',').filter(Boolean);
const clients = (process.env.BENCH_CLIENTS ?? 'atftp,curl,ws16').split(',');
const bins = (process.env.WULF_BINS ?? `wulf=${process.env.WULF_BIN ?? 'dist/wulf'}`).split(',').map((s) => {
  const [name, path] = s.includes('=') ? (s.split('=') as [string, string]) : ['wulf', s];
  return { name, path: resolve(path) };
});

const tag = `wtv-${process.pid}`;
const NS_S = `${tag}-s`,
  NS_C = `${tag}-c`;
const IF_S = `wtv${process.pid}s`,
  IF_C = `wtv${process.pid}c`;
const SRV = '10.213.0.1',
  CLI = '10.213.0.2';
const HPA_PORT = 69;

const sh = (a: string[]) => {
  const r = spawnSync(a[0]!, a.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${a.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
};
const inNs = (ns: string, cmd: string[]) => ['nsenter', `--net=/run/netns/${ns}`, ...cmd];
// Servers and the added load each run in a session of their own (detached: setsid), as services
// do; with the kernel's autogroup scheduling a session is one scheduling group, and the clients
// stay in ours. BENCH_SESSION=shared keeps everything in one session (one group), as a test
// harness that starts both the server and its VMs does.
const detached = process.env.BENCH_SESSION !== 'shared';
const spawnIn = (ns: string, cmd: string[], env?: NodeJS.ProcessEnv) =>
  spawn('nsenter', [`--net=/run/netns/${ns}`, ...cmd], { env, stdio: 'ignore', detached });
const spawnLoad = (cmd: string[]) => spawn(cmd[0]!, cmd.slice(1), { stdio: 'ignore', detached });

function removeNamespaces(s: string, c: string): void {
  for (const ns of [s, c])
    spawnSync('sh', ['-c', `ip netns pids ${ns} 2>/dev/null | xargs -r kill -9; sleep 0.2; ip netns del ${ns} 2>/dev/null`]);
}

function setupNetwork(): void {
  // namespaces of an earlier run that was killed (its pid is gone)
  for (const line of spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n')) {
    const m = /^wtv-(\d+)-s\b/.exec(line);
    if (m && !existsSync(`/proc/${m[1]}`)) {
      removeNamespaces(`wtv-${m[1]}-s`, `wtv-${m[1]}-c`);
      removeCpuGroups(`wtv-${m[1]}`);
    }
  }
  sh(['ip', 'netns', 'add', NS_S]);
  sh(['ip', 'netns', 'add', NS_C]);
  sh(['ip', 'link', 'add', IF_S, 'netns', NS_S, 'type', 'veth', 'peer', 'name', IF_C, 'netns', NS_C]);
  for (const [ns, dev, addr] of [
    [NS_S, IF_S, SRV],
    [NS_C, IF_C, CLI],
  ] as const) {
    sh(['ip', '-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
}

// Server CPU time: each server in a cpuacct cgroup of its own, so the processes tftpd-hpa forks per
// transfer are counted too (they are reaped without their times reaching the listener).
const CPUACCT = '/sys/fs/cgroup/cpuacct';
function cpuGroup(name: string, pid: number): () => number {
  const g = join(CPUACCT, `${tag}-${name}`);
  try {
    mkdirSync(g);
    writeFileSync(join(g, 'cgroup.procs'), String(pid));
    return () => Number(readFileSync(join(g, 'cpuacct.usage'), 'utf8')) / 1e6; // ms
  } catch {
    return () => NaN;
  }
}
function removeCpuGroups(prefix: string): void {
  try {
    for (const g of readdirSync(CPUACCT)) if (g.startsWith(`${prefix}-`)) rmdirSync(join(CPUACCT, g));
  } catch {
    /* no cpuacct, or still busy */
  }
}

/** How busy the machine is (share of all CPUs, 0–1) over `ms`, from /proc/stat. */
async function cpuBusy(ms: number): Promise<number> {
  const sample = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3]! + f[4]!, all: f.reduce((a, b) => a + b, 0) };
  };
  const a = sample();
  await Bun.sleep(ms);
  const b = sample();
  return 1 - (b.idle - a.idle) / Math.max(1, b.all - a.all);
}

/** Something to load the machine beside the transfer, or undefined for a quiet run. */
function startLoad(condition: string): ChildProcess | undefined {
  if (condition === 'quiet') return undefined;
  if (condition === 'busy') return spawnLoad(['sh', '-c', 'while :; do :; done']);
  if (condition === 'busy1') return spawnLoad(['taskset', '-c', '1', 'sh', '-c', 'while :; do :; done']);
  if (condition === 'qemu') {
    const kernel = readdirSync('/boot').find((f) => f.startsWith('vmlinuz-'));
    if (!kernel) throw new Error('qemu condition: no /boot/vmlinuz-* to boot');
    // no root file system: the guest panics and reboots after a second, for ever — a VM at work
    return spawnLoad([
      'qemu-system-x86_64',
      '-accel',
      'tcg',
      '-m',
      '256',
      '-smp',
      '1',
      '-nodefaults',
      '-nographic',
      '-serial',
      'null',
      '-monitor',
      'none',
      '-kernel',
      join('/boot', kernel),
      '-append',
      'console=ttyS0 panic=1',
    ]);
  }
  throw new Error(`unknown condition ${condition} (quiet, busy, busy1, qemu)`);
}

interface Case {
  name: string;
  server: string;
  cmd: string[];
  ref?: string;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
  for (const tool of [
    'ip',
    'nsenter',
    'taskset',
    'atftp',
    'curl',
    'in.tftpd',
    ...(conditions.includes('qemu') ? ['qemu-system-x86_64'] : []),
  ]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} missing: apt-get install -y iproute2 util-linux atftp curl tftpd-hpa qemu-system-x86`);
  }
  for (const b of bins) if (!existsSync(b.path)) throw new Error(`${b.path} missing: node_modules/.bin/bun build/build.ts`);
  const dir = mkdtempSync(join(tmpdir(), 'wulf-bench-tftpv-'));
  chmodSync(dir, 0o755); // tftpd-hpa drops to nobody
  const procs: ChildProcess[] = [];
  let load: ChildProcess | undefined;
  try {
    setupNetwork();
    const hpaDir = join(dir, 'hpa');
    mkdirSync(hpaDir, { mode: 0o755 });
    const file = join(hpaDir, 'f.bin');
    writeFileSync(file, randomBytes(SIZE), { mode: 0o644 });
    writeFileSync(join(hpaDir, 'ready'), 'ok\n', { mode: 0o644 });

    const servers: { name: string; cpu: () => number; port: number }[] = [];
    const hpa = spawnIn(NS_S, ['in.tftpd', '-L', '-s', hpaDir, '-a', `${SRV}:${HPA_PORT}`]);
    procs.push(hpa);
    servers.push({ name: 'tftpd-hpa', cpu: cpuGroup('tftpd-hpa', hpa.pid!), port: HPA_PORT });
    for (const [i, b] of bins.entries()) {
      const root = join(dir, `root-${b.name}`);
      const env = { ...process.env, WULF_ROOT: root };
      const r = spawnSync(b.path, ['init', '--address', `${SRV}/24`, '--interface', IF_S], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${b.name} init: ${r.stderr}`);
      const tftpRoot = pathsFor(root).tftpRoot;
      mkdirSync(tftpRoot, { recursive: true });
      linkSync(file, join(tftpRoot, 'f.bin'));
      linkSync(join(hpaDir, 'ready'), join(tftpRoot, 'ready'));
      const port = 1069 + i;
      const p = spawnIn(
        NS_S,
        [
          b.path,
          'serve',
          '--address',
          SRV,
          '--interface',
          IF_S,
          '--no-dhcp',
          '--no-ra',
          '--tftp-port',
          String(port),
          '--http-port',
          String(9873 + i),
        ],
        env,
      );
      procs.push(p);
      servers.push({ name: b.name, cpu: cpuGroup(b.name, p.pid!), port });
    }
    const out = join(dir, 'out');
    const atftp = (port: number, opts: string[]) =>
      inNs(NS_C, ['atftp', '-g', '-r', 'f.bin', '-l', out, ...opts.flatMap((o) => ['--option', o]), SRV, String(port)]);
    const curl = (port: number, name = 'f.bin') =>
      inNs(NS_C, ['curl', '-sS', `tftp://${SRV}:${port}/${name}`, '-o', out, '--tftp-blksize', '1468']);
    for (const s of servers) {
      // ready when a small file comes back
      let ok = false;
      const probe = curl(s.port, 'ready');
      for (let i = 0; i < 100 && !ok; i++) {
        ok = spawnSync(probe[0]!, probe.slice(1), { timeout: 2000 }).status === 0;
        if (!ok) await Bun.sleep(100);
      }
      if (!ok) throw new Error(`${s.name} does not answer TFTP on ${SRV}:${s.port}`);
    }

    // grouped by client, so each wulf transfer runs next to tftpd-hpa's with the same client
    const wulfs = servers.slice(1);
    const cases: Case[] = [];
    if (clients.includes('atftp')) {
      cases.push({ name: 'tftpd-hpa atftp', server: 'tftpd-hpa', cmd: atftp(HPA_PORT, ['blksize 1468']) });
      for (const s of wulfs)
        cases.push({ name: `${s.name} atftp`, server: s.name, cmd: atftp(s.port, ['blksize 1468']), ref: 'tftpd-hpa atftp' });
    }
    if (clients.includes('curl')) {
      cases.push({ name: 'tftpd-hpa curl', server: 'tftpd-hpa', cmd: curl(HPA_PORT) });
      for (const s of wulfs) cases.push({ name: `${s.name} curl`, server: s.name, cmd: curl(s.port), ref: 'tftpd-hpa curl' });
    }
    if (clients.includes('ws16')) {
      if (!clients.includes('atftp')) throw new Error('ws16 is compared with tftpd-hpa atftp: keep atftp in BENCH_CLIENTS');
      for (const s of wulfs)
        cases.push({
          name: `${s.name} atftp windowsize 16`,
          server: s.name,
          cmd: atftp(s.port, ['blksize 1468', 'windowsize 16']),
          ref: 'tftpd-hpa atftp',
        });
    }

    const table: string[][] = [];
    for (const condition of conditions) {
      const background = await cpuBusy(1000); // before the load: other users of the machine
      load = startLoad(condition);
      if (load) await Bun.sleep(1000);
      const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
      const cpu = new Map<string, number[]>(cases.map((c) => [c.name, []]));
      for (let round = 0; round < runs; round++) {
        for (const c of round % 2 ? [...cases].reverse() : cases) {
          rmSync(out, { force: true });
          const cpuMs = servers.find((s) => s.name === c.server)!.cpu;
          const c0 = cpuMs(),
            t0 = performance.now();
          const p = Bun.spawn(c.cmd, { stdout: 'ignore', stderr: 'pipe', timeout: 120_000 });
          const code = await p.exited;
          const ms = performance.now() - t0;
          const used = cpuMs() - c0;
          const got = existsSync(out) ? statSync(out).size : -1;
          if (code !== 0 || got !== SIZE)
            throw new Error(`${condition} ${c.name} failed (exit ${code}, ${got} bytes): ${await new Response(p.stderr).text()}`);
          times.get(c.name)!.push(ms);
          cpu.get(c.name)!.push(used);
        }
      }
      load?.kill('SIGKILL');
      load = undefined;
      await Bun.sleep(300);
      const median = (v: number[]) => {
        const s = [...v].sort((a, b) => a - b);
        return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
      };
      for (const c of cases) {
        const t = times.get(c.name)!;
        const ratios = c.ref ? t.map((ms, i) => times.get(c.ref!)![i]! / ms) : [];
        const sorted = [...ratios].sort((a, b) => a - b);
        table.push([
          `${condition} (${Math.round(background * 100)} %)`,
          c.name,
          `${(SIZE / 1e6 / (median(t) / 1000)).toFixed(1)}`,
          `${median(cpu.get(c.name)!).toFixed(0)}`,
          c.ref ? `${median(ratios).toFixed(2)}× (${sorted[0]!.toFixed(2)}–${sorted.at(-1)!.toFixed(2)})` : '',
        ]);
      }
      printTable(table, condition === conditions.at(-1));
    }
  } finally {
    load?.kill('SIGKILL');
    for (const p of procs) p.kill('SIGKILL');
    removeNamespaces(NS_S, NS_C);
    removeCpuGroups(tag);
    rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(rows: string[][], final: boolean): void {
  const head = [
    'condition (busy before)',
    'server, client',
    'MB/s',
    'server CPU ms',
    `vs tftpd-hpa, same round (median, range of ${runs})`,
  ];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((x, i) => (i === 2 || i === 3 ? x.padStart(w[i]!) : x.padEnd(w[i]!)))
      .join('  ')
      .trimEnd();
  console.log(
    `\nTFTP ${SIZE / 1048576} MiB, blksize 1468, over veth between two network namespaces; ` +
      `servers ${detached ? 'in sessions of their own' : "in the clients' session"}${final ? '' : ' (so far)'}`,
  );
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

await main();
