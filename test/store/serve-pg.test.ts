// `wulf serve` (the compiled binary, loopback, unprivileged ports) with nodes and profiles in
// PostgreSQL: it answers nodes that exist only there, sees a change made a moment ago, binds a
// discoverable node there, keeps serving known nodes while PostgreSQL is down, and refuses to
// start in one line when PostgreSQL is unreachable.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { SQL } from 'bun';
import { join } from 'node:path';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';
import { startPg, type Pg } from './pg.ts';

const bin = modes[0]!;
const t = tempRoot('wulf-serve-pg-');
let pg: Pg;
let url = '';
const port = 20000 + Math.floor(Math.random() * 20000);
const ports = [
  '--address',
  '127.0.0.1',
  '--http-port',
  String(port),
  '--dhcp-port',
  String(port + 1),
  '--tftp-port',
  String(port + 2),
  '--dhcp-relay-port',
  String(port + 3),
  '--no-ra',
];
const base = `http://127.0.0.1:${port}`;
const w = (args: string[]) => runWulf(bin, t.dir, args, { env: { WULF_STORE: url } });
const ok = (r: ReturnType<typeof runWulf>) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  return r.out;
};
let serve: ReturnType<typeof spawn> | undefined;
let log = '';
const script = async (mac: string) => (await fetch(`${base}/ipxe/${encodeURIComponent(mac)}`)).text();

beforeAll(async () => {
  requireCompiled();
  pg = startPg();
  url = pg.createDb('serve');
  expect(runWulf(bin, t.dir, ['init', '--address', '127.0.0.1/8', '--interface', 'lo']).code).toBe(0);
  ok(runWulf(bin, t.dir, ['store', 'copy', '--to', url]));
  ok(w(['node', 'add', 'p1', '--hwaddr', '52:54:00:bb:00:01', '--ipaddr', '127.0.21.1']));
  serve = spawn(bin.argv[0]!, ['serve', ...ports], {
    env: { ...process.env, WULF_ROOT: t.dir, WULF_HOST_ROOT: t.dir, WULF_STORE: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  serve.stdout!.on('data', (d) => {
    log += String(d);
  });
  serve.stderr!.on('data', (d) => {
    log += String(d);
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/status`)).ok) return;
    } catch {
      /* starting */
    }
    await Bun.sleep(100);
  }
  throw new Error(`serve did not start: ${log}`);
}, 60_000);
afterAll(async () => {
  if (serve) {
    const done = new Promise((r) => serve!.on('exit', r));
    serve.kill('SIGTERM');
    await done;
  }
  pg?.stop();
  t.cleanup();
}, 30_000);

test('answers a node that exists only in PostgreSQL, and one added a moment ago without a reload', async () => {
  expect(log).toContain('nodes and profiles from the PostgreSQL store');
  expect(readFileSync(join(t.dir, 'etc/wulf/nodes.conf'), 'utf8')).not.toContain('p1');
  const s1 = await script('52:54:00:bb:00:01');
  expect(s1).toContain('#!ipxe');
  expect(s1).not.toContain('not a known node');
  expect(s1).toContain('wwid=52:54:00:bb:00:01');
  expect(await script('52:54:00:bb:00:02')).toContain('not a known node');
  ok(w(['node', 'add', 'p2', '--hwaddr', '52:54:00:bb:00:02', '--ipaddr', '127.0.21.2']));
  const s2 = await script('52:54:00:bb:00:02');
  expect(s2).not.toContain('not a known node');
  expect(s2).toContain('wwid=52:54:00:bb:00:02');
}, 30_000);

test('a discoverable node in PostgreSQL is bound to the unknown MAC that boots, and the binding is stored there', async () => {
  ok(w(['node', 'add', 'd1', '--discoverable', 'true', '--ipaddr', '127.0.21.9']));
  const s = await script('52:54:00:bb:00:09');
  expect(s).not.toContain('not a known node');
  const d1 = JSON.parse(ok(w(['node', 'list', '-j', 'd1'])));
  expect(JSON.stringify(d1)).toContain('52:54:00:bb:00:09');
  expect(log).toContain('bound 52:54:00:bb:00:09 to node d1');
}, 30_000);

test('PostgreSQL lost while serving: known nodes are still answered from the last configuration; back, changes are seen again', async () => {
  pg.halt();
  try {
    const s = await script('52:54:00:bb:00:01');
    expect(s).toContain('wwid=52:54:00:bb:00:01');
    expect(log).toContain('still serving the last good one: cannot reach PostgreSQL');
  } finally {
    pg.resume();
  }
  // while it was down, requests stopped asking it; the 5 s poll finds it back
  let seen = '';
  for (let i = 0; i < 120 && !seen.includes('wwid=52:54:00:bb:00:03'); i++) {
    if (i === 0) ok(w(['node', 'add', 'p3', '--hwaddr', '52:54:00:bb:00:03', '--ipaddr', '127.0.21.3']));
    seen = await script('52:54:00:bb:00:03');
    if (!seen.includes('wwid=')) await Bun.sleep(100);
  }
  expect(seen).toContain('wwid=52:54:00:bb:00:03');
}, 60_000);

test('runtime state goes to PostgreSQL: the boot status rows are there, and node status reads them when no server answers', async () => {
  const sql = new SQL(url);
  try {
    let rows: { key: string; controller: string }[] = [];
    for (let i = 0; i < 50 && !rows.some((r) => r.key === 'p1'); i++) {
      rows = await sql`select key, controller from wulf_state where kind = 'status'`;
      if (!rows.some((r) => r.key === 'p1')) await Bun.sleep(100);
    }
    expect(rows.map((r) => r.key)).toContain('p1');
    expect(rows.find((r) => r.key === 'p1')!.controller).toBe(hostname());
  } finally {
    await sql.close();
  }
  // another machine (an empty root: no state.cbor), a server nobody runs: the status comes from PostgreSQL
  const other = tempRoot('wulf-serve-pg-other-');
  try {
    const r = runWulf(bin, other.dir, ['node', 'status', '-j', '--server', 'http://127.0.0.1:1'], { env: { WULF_STORE: url } });
    expect(r.code).toBe(0);
    expect(JSON.stringify(JSON.parse(r.out))).toContain('p1');
    const none = runWulf(bin, other.dir, ['node', 'status', '-j', '--server', 'http://127.0.0.1:1']);
    expect(none.out).not.toContain('p1');
  } finally {
    other.cleanup();
  }
}, 30_000);

test('serve with PostgreSQL unreachable: one line, exit 1, before listening', () => {
  const r = runWulf(bin, t.dir, ['serve', ...ports.map((p) => (p === String(port) ? String(port + 10) : p))], {
    env: { WULF_STORE: `postgres://postgres@localhost/x?host=${encodeURIComponent(join(t.dir, 'nowhere'))}` },
  });
  expect(r.code).toBe(1);
  expect(r.err.split('\n')[0]).toStartWith('wulf: cannot reach PostgreSQL at postgres://');
  expect(r.err).not.toContain('    at ');
}, 30_000);
