// Store benchmark (not a test): `node list` of 50,000 nodes (BENCH_NODES) and one `node set` on the
// PostgreSQL store against the files, with the compiled binary; prints medians and the ratios.
// PostgreSQL is a throw-away cluster from Debian's packages on a unix socket (test/store/pg.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPg } from '../test/store/pg.ts';

const bin = resolve(process.env.WULF_BIN ?? 'dist/wulf');
const n = Number(process.env.BENCH_NODES ?? 50_000);
const runs = Number(process.env.BENCH_RUNS ?? 3);

function makeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'wulf-bench-store-'));
  mkdirSync(join(root, 'etc/wulf'), { recursive: true });
  const parts = [
    'nodeprofiles:\n  default:\n    runtime overlay: [hosts, syncuser]\n    kernel:\n      args: [quiet]\n    network devices:\n      default:\n' +
      '        netmask: 255.255.0.0\n  compute:\n    profiles: [default]\n    image name: rocky9\nnodes:\n',
  ];
  for (let i = 0; i < n; i++) {
    const mac = [(i >> 16) & 255, (i >> 8) & 255, i & 255].map((x) => x.toString(16).padStart(2, '0')).join(':');
    parts.push(
      `  n${String(i).padStart(5, '0')}:\n    profiles: [compute]\n    network devices:\n      default:\n        hwaddr: "52:54:00:${mac}"\n` +
        `        ipaddr: 10.${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}\n`,
    );
  }
  writeFileSync(join(root, 'etc/wulf/nodes.conf'), parts.join(''));
  return root;
}

let seq = 0;
function time(root: string, args: string[], env: Record<string, string> = {}): number {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = args.map((x) => (x === '@' ? `bench-${seq++}` : x));
    const t0 = performance.now();
    const r = spawnSync(bin, a, {
      env: { ...process.env, WULF_ROOT: root, WULF_HOST_ROOT: root, ...env },
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    const dt = performance.now() - t0;
    if (r.status !== 0) throw new Error(`wulf ${a.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
    ms.push(dt);
  }
  return ms.sort((x, y) => x - y)[Math.floor(ms.length / 2)]!;
}

const root = makeRoot();
const pg = startPg();
try {
  const url = pg.createDb('bench');
  const t0 = performance.now();
  const c = spawnSync(bin, ['store', 'copy', '--to', url], {
    env: { ...process.env, WULF_ROOT: root, WULF_HOST_ROOT: root },
    encoding: 'utf8',
  });
  if (c.status !== 0) throw new Error(`store copy: ${c.stderr.trim()}`);
  console.log(`store copy --to postgres of ${n} nodes: ${(performance.now() - t0).toFixed(0)} ms`);
  const pgEnv = { WULF_STORE: url };
  const rows: [string, string[]][] = [
    ['node list', ['node', 'list']],
    ['node list -j', ['node', 'list', '-j']],
    ['node set (one node)', ['node', 'set', 'n00042', '--comment', '@']],
  ];
  console.log(
    `${'command'.padEnd(22)}${'files ms'.padStart(10)}${'postgres ms'.padStart(13)}${'pg/files'.padStart(10)}   (${n} nodes, median of ${runs})`,
  );
  for (const [name, args] of rows) {
    const f = time(root, args),
      p = time(root, args, pgEnv);
    console.log(`${name.padEnd(22)}${f.toFixed(0).padStart(10)}${p.toFixed(0).padStart(13)}${(p / f).toFixed(2).padStart(10)}`);
  }
} finally {
  pg.stop();
  rmSync(root, { recursive: true, force: true });
}
