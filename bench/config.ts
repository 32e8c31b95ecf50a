// Config benchmarks (not a test): compiled start-up, `node list` / `node list -a` on 2,000 and
// 10,000 nodes with 3 profiles, one `node set` on 2,000 nodes, and at scale (50,000 nodes by
// default; BENCH_LARGE=20000,50000,60000 for more) one `node set` and `node list` with their CPU
// time and peak RSS from /usr/bin/time. Prints medians against targets. WULF_REF_BIN=path runs an
// older build beside it at scale (once per size: the old writer takes minutes there).
// There is no wwctl on this machine to compare with, so the figures are shown against the issue's targets.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = resolve(process.env.WULF_BIN ?? 'dist/wulf');
const ref = process.env.WULF_REF_BIN ? resolve(process.env.WULF_REF_BIN) : undefined;
const runs = Number(process.env.BENCH_RUNS ?? 7);
const largeRuns = Number(process.env.BENCH_LARGE_RUNS ?? 3);
const large = (process.env.BENCH_LARGE ?? '50000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

function makeRoot(n: number): string {
  const root = mkdtempSync(join(tmpdir(), 'wulf-bench-'));
  mkdirSync(join(root, 'etc/wulf'), { recursive: true });
  const parts = [
    `nodeprofiles:
  default:
    system overlay: [wwinit, hosts, hostname, fstab]
    runtime overlay: [hosts, syncuser]
    kernel:
      args: [quiet, crashkernel=no]
    network devices:
      default:
        netmask: 255.255.0.0
        gateway: 10.0.0.254
  compute:
    profiles: [default]
    image name: rocky9
    tags: {role: compute}
  gpu:
    profiles: [compute]
    kernel:
      args: [nouveau.modeset=0]
nodes:
`,
  ];
  for (let i = 0; i < n; i++) {
    const name = `n${String(i).padStart(5, '0')}`;
    const ip = `10.${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    const mac =
      `52:54:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:` +
      `${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    parts.push(
      `  ${name}:\n    profiles: [${i % 10 === 0 ? 'gpu' : 'compute'}]\n    network devices:\n      default:\n        device: eth0\n` +
        `        hwaddr: "${mac}"\n        ipaddr: ${ip}\n    ipmi:\n      ipaddr: 10.200.${(i >> 8) & 255}.${i & 255}\n`,
    );
  }
  writeFileSync(join(root, 'etc/wulf/nodes.conf'), parts.join(''));
  return root;
}

interface Run {
  ms: number;
  cpuMs?: number;
  rssMB?: number;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
let seq = 0;
/** `args` run `n` times (a fresh --comment each time for `set`); medians of wall, CPU and peak RSS. */
function measure(exe: string, args: string[], root: string, n: number): Run {
  const out: Run[] = [];
  for (let i = 0; i < n; i++) {
    const a = args.map((x) => (x === '@' ? `c${process.pid}-${seq++}` : x));
    const argv = timeBin ? [timeBin, '-f', 'TIME %e %U %S %M', exe, ...a] : [exe, ...a];
    const t0 = performance.now();
    const r = spawnSync(argv[0]!, argv.slice(1), {
      env: { ...process.env, WULF_ROOT: root },
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${a.join(' ')} failed: ${r.stderr}`);
    const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
    out.push(m ? { ms, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, rssMB: Number(m[4]) / 1024 } : { ms });
  }
  const pick = (f: (r: Run) => number | undefined) => (out.every((r) => f(r) !== undefined) ? median(out.map((r) => f(r)!)) : undefined);
  return { ms: median(out.map((r) => r.ms)), cpuMs: pick((r) => r.cpuMs), rssMB: pick((r) => r.rssMB) };
}

const rows: [string, Run, number?, number?][] = [];
const empty = mkdtempSync(join(tmpdir(), 'wulf-bench-'));
rows.push(['wulf version (start-up)', measure(bin, ['version'], empty, runs), 50]);
for (const n of [2000, 10000]) {
  const root = makeRoot(n);
  rows.push([`node list, ${n} nodes`, measure(bin, ['node', 'list'], root, runs), n === 2000 ? 200 : undefined]);
  rows.push([`node list -a, ${n} nodes`, measure(bin, ['node', 'list', '-a'], root, runs)]);
  if (n === 2000)
    rows.push([`node set (one node), ${n} nodes`, measure(bin, ['node', 'set', 'n00042', '--comment', '@'], root, runs), 400]);
  rmSync(root, { recursive: true, force: true });
}
for (const n of large) {
  const root = makeRoot(n);
  rows.push([
    `node set (one node), ${n} nodes`,
    measure(bin, ['node', 'set', 'n00042', '--comment', '@'], root, largeRuns),
    ...(n === 50000 ? [2000, 500] : []),
  ] as [string, Run, number?, number?]);
  rows.push([`node list, ${n} nodes`, measure(bin, ['node', 'list'], root, largeRuns)]);
  if (ref) rows.push([`  reference build: node set, ${n} nodes`, measure(ref, ['node', 'set', 'n00042', '--comment', '@'], root, 1)]);
  rmSync(root, { recursive: true, force: true });
}
rmSync(empty, { recursive: true, force: true });

const load = async () =>
  (
    await Bun.file('/proc/loadavg')
      .text()
      .catch(() => '?')
  )
    .split(' ')
    .slice(0, 3)
    .join(' ');
console.log(`config benchmark (median of ${runs} runs, ${largeRuns} at scale; compiled ${bin}; load average at the end ${await load()})`);
for (const [name, r, target, rssTarget] of rows) {
  const extra = [r.cpuMs !== undefined ? `cpu ${r.cpuMs.toFixed(0)} ms` : '', r.rssMB !== undefined ? `rss ${r.rssMB.toFixed(0)} MB` : '']
    .filter(Boolean)
    .join(', ');
  const tgt = target ? `   target ≤ ${target} ms (${(r.ms / target).toFixed(2)}×)${rssTarget ? `, ≤ ${rssTarget} MB` : ''}` : '';
  console.log(`${name.padEnd(40)} ${r.ms.toFixed(1).padStart(9)} ms${extra ? `  (${extra})` : ''}${tgt}`);
}
