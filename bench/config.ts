// Config benchmarks (not a test): compiled start-up, `node list` / `node list -a` on 2,000 and
// 10,000 nodes with 3 profiles, one `node set` on 2,000 nodes. Prints medians against targets.
// There is no wwctl on this machine to compare with, so the figures are shown against the issue's targets.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = resolve(process.env.WULF_BIN ?? 'dist/wulf');
const runs = Number(process.env.BENCH_RUNS ?? 7);

function makeRoot(n: number): string {
  const root = mkdtempSync(join(tmpdir(), 'wulf-bench-'));
  mkdirSync(join(root, 'etc/wulf'), { recursive: true });
  let y = `nodeprofiles:
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
`;
  for (let i = 0; i < n; i++) {
    const name = `n${String(i).padStart(5, '0')}`;
    const ip = `10.${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    const mac = `52:54:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    y += `  ${name}:\n    profiles: [${i % 10 === 0 ? 'gpu' : 'compute'}]\n    network devices:\n      default:\n        device: eth0\n        hwaddr: "${mac}"\n        ipaddr: ${ip}\n    ipmi:\n      ipaddr: 10.200.${(i >> 8) & 255}.${i & 255}\n`;
  }
  writeFileSync(join(root, 'etc/wulf/nodes.conf'), y);
  return root;
}

function time(args: string[], root: string): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(bin, args, { env: { ...process.env, WULF_ROOT: root }, stdio: ['ignore', 'ignore', 'pipe'] });
    times.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const rows: [string, number, number][] = [];
const empty = mkdtempSync(join(tmpdir(), 'wulf-bench-'));
rows.push(['wulf version (start-up)', time(['version'], empty), 50]);
for (const n of [2000, 10000]) {
  const root = makeRoot(n);
  rows.push([`node list, ${n} nodes`, time(['node', 'list'], root), n === 2000 ? 200 : NaN]);
  rows.push([`node list -a, ${n} nodes`, time(['node', 'list', '-a'], root), NaN]);
  if (n === 2000) rows.push([`node set (one node), ${n} nodes`, time(['node', 'set', 'n00042', '--comment', `c${Date.now()}`], root), 400]);
  rmSync(root, { recursive: true, force: true });
}
rmSync(empty, { recursive: true, force: true });
console.log('config benchmark (median of', runs, 'runs, compiled dist/wulf)');
for (const [name, ms, target] of rows) {
  console.log(`${name.padEnd(36)} ${ms.toFixed(1).padStart(8)} ms${Number.isNaN(target) ? '' : `   target ≤ ${target} ms  (${(ms / target).toFixed(2)}× of target)`}`);
}
