// Several controllers on one PostgreSQL store, with the compiled binary: each `wulf serve` registers and
// beats; `wulf controller list` shows them alive, late or stopped; a second controller whose dhcp range
// overlaps the first's is refused at start (one line naming both), and so is a second live one of the
// same name; a real DHCP client (udhcpc, in network namespaces) gets a dynamic lease whose row is in
// wulf_leases with the controller's name, and an address another MAC holds in the store is never given.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { SQL } from 'bun';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';
import { createNsPair, requireTool, run as runAsync, sh, type NsPair } from '../dhcp/netns.ts';
import { startPg, type Pg } from '../store/pg.ts';

const bin = modes[0]!;
let pg: Pg;
let url = '';
const roots: ReturnType<typeof tempRoot>[] = [];
const procs: ChildProcess[] = [];

beforeAll(() => {
  requireCompiled();
  pg = startPg();
  url = pg.createDb('ctl');
}, 60_000);
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  pg?.stop();
  for (const r of roots) r.cleanup();
}, 30_000);

/** A controller's own root: wulf.conf with this address and dhcp range, the nodes in PostgreSQL. */
function root(address: string, iface: string, range: [string, string]): string {
  const t = tempRoot('wulf-ctl-');
  roots.push(t);
  const init = runWulf(bin, t.dir, ['init', '--address', address, '--interface', iface]);
  if (init.code !== 0) throw new Error(init.err);
  const conf = join(t.dir, 'etc/wulf/wulf.conf');
  writeFileSync(
    conf,
    readFileSync(conf, 'utf8')
      .replace(/range start: .*/, `range start: ${range[0]}`)
      .replace(/range end: .*/, `range end: ${range[1]}`),
  );
  return t.dir;
}

function serve(dir: string, name: string, args: string[], prefix: string[] = []) {
  const argv = [...prefix, bin.argv[0]!, 'serve', '--no-ra', ...args];
  const p = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, WULF_ROOT: dir, WULF_HOST_ROOT: dir, WULF_STORE: url, WULF_CONTROLLER: name, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(p);
  const s = { proc: p, log: '', code: undefined as number | null | undefined };
  p.stdout!.on('data', (d) => (s.log += String(d)));
  p.stderr!.on('data', (d) => (s.log += String(d)));
  p.on('exit', (c) => (s.code = c));
  return s;
}

async function until(f: () => boolean, ms = 20_000) {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (f()) return true;
    await Bun.sleep(50);
  }
  return f();
}

const loopback = (port: number) => [
  '--address',
  '127.0.0.1',
  '--http-port',
  String(port),
  '--dhcp-port',
  String(port + 2),
  '--tftp-port',
  String(port + 3),
  '--dhcp-relay-port',
  String(port + 4),
];
const list = (dir: string) => runWulf(bin, dir, ['controller', 'list', '-j'], { env: { WULF_STORE: url } });

test('two controllers: an overlapping range and a second live "a" are refused at start; list shows alive, late, stopped', async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const dirA = root('127.0.0.1/8', 'lo', ['127.5.0.100', '127.5.0.199']);
  const a = serve(dirA, 'a', loopback(port));
  expect(await until(() => a.log.includes('serving on'))).toBe(true);
  expect(a.log).toContain('controller "a" registered (http://127.0.0.1:');
  // b's range overlaps a's: one line naming a and both ranges, exit 1, before listening
  const dirB = root('127.0.0.1/8', 'lo', ['127.5.0.150', '127.5.0.250']);
  const b1 = runWulf(bin, dirB, ['serve', '--no-ra', ...loopback(port + 10)], { env: { WULF_STORE: url, WULF_CONTROLLER: 'b' } });
  expect(b1.code).toBe(1);
  const errors = (r: { err: string }) => r.err.split('\n').filter((l) => l.startsWith('wulf:'));
  expect(errors(b1)).toEqual([
    'wulf: dhcp range 127.5.0.150–127.5.0.250 of controller "b" overlaps controller "a"\'s range 127.5.0.100–127.5.0.199; nothing was started',
  ]);
  expect(b1.err).not.toContain('    at ');
  expect(b1.err).not.toContain('serving on');
  // the same name while a is alive: refused
  const a2 = runWulf(bin, dirB, ['serve', '--no-ra', ...loopback(port + 20)], { env: { WULF_STORE: url, WULF_CONTROLLER: 'a' } });
  expect(a2.code).toBe(1);
  expect(errors(a2).length).toBe(1);
  expect(errors(a2)[0]).toMatch(
    /^wulf: controller "a" is already running \(http:\/\/127\.0\.0\.1:\d+ on .*, pid \d+, heartbeat \d+ s ago\)/,
  );
  // b with a range of its own starts
  writeFileSync(
    join(dirB, 'etc/wulf/wulf.conf'),
    readFileSync(join(dirB, 'etc/wulf/wulf.conf'), 'utf8').replace('range start: 127.5.0.150', 'range start: 127.5.0.200'),
  );
  const b = serve(dirB, 'b', loopback(port + 30));
  expect(await until(() => b.log.includes('serving on'))).toBe(true);
  const rows = JSON.parse(list(dirA).out) as { name: string; state: string; ranges: string[][]; segments: string[]; url: string }[];
  expect(rows.map((r) => [r.name, r.state, r.ranges])).toEqual([
    ['a', 'alive', [['127.5.0.100', '127.5.0.199']]],
    ['b', 'alive', [['127.5.0.200', '127.5.0.250']]],
  ]);
  expect(rows[0]!.segments).toEqual(['lo', '127.0.0.0/8']);
  expect(rows[0]!.url).toBe(`http://127.0.0.1:${port}`);
  // b's wulf.conf changed while serving to a range overlapping a's: refused, b keeps its own
  const confB = join(dirB, 'etc/wulf/wulf.conf');
  writeFileSync(confB, readFileSync(confB, 'utf8').replace('range start: 127.5.0.200', 'range start: 127.5.0.190'));
  expect(await until(() => b.log.includes('still handing out from range 127.5.0.200–127.5.0.250'))).toBe(true);
  expect(b.log).toContain('dhcp range 127.5.0.190–127.5.0.250 of controller "b" overlaps controller "a"\'s range 127.5.0.100–127.5.0.199');
  expect(JSON.parse(list(dirA).out)[1].ranges).toEqual([['127.5.0.200', '127.5.0.250']]);
  // the heartbeat moves (every 5 s, by the database's clock)
  const sql = new SQL(url);
  try {
    const beat = async () => (await sql`select heartbeat_at from wulf_controllers where name = 'a'`)[0].heartbeat_at as Date;
    const h0 = (await beat()).getTime();
    expect(await until(() => false, 5600)).toBe(false);
    expect((await beat()).getTime()).toBeGreaterThan(h0);
    // b killed: its heartbeat stops; 20 s later (set by hand rather than waited for) it is late
    b.proc.kill('SIGKILL');
    await until(() => b.code !== undefined);
    await sql`update wulf_controllers set heartbeat_at = now() - interval '20 seconds' where name = 'b'`;
  } finally {
    await sql.close();
  }
  const table = runWulf(bin, dirA, ['controller', 'list'], { env: { WULF_STORE: url } });
  expect(table.code).toBe(0);
  const lines = table.out.trim().split('\n');
  expect(lines[0]).toMatch(/^NAME +ADDRESSES +SEGMENTS +RANGE +URL +STATE +LAST SEEN$/);
  expect(lines[2]).toMatch(/^a +127\.0\.0\.1 +lo,127\.0\.0\.0\/8 +127\.5\.0\.100-127\.5\.0\.199 +http:\/\/127\.0\.0\.1:\d+ +alive +\d{4}-/);
  expect(lines[3]).toMatch(/^b .* late 2\ds +\d{4}-/);
  // a stops cleanly: stopped; b (dead) can be deleted, freeing its range
  a.proc.kill('SIGTERM');
  expect(await until(() => a.code !== undefined)).toBe(true);
  expect(JSON.parse(list(dirA).out).map((r: { state: string }) => r.state)).toEqual(['stopped', expect.stringMatching(/^late /)]);
  const del = runWulf(bin, dirA, ['controller', 'delete', 'b'], { env: { WULF_STORE: url } });
  expect(del.out.trim()).toBe('deleted controller "b" and its dynamic range');
  expect(JSON.parse(list(dirA).out).map((r: { name: string }) => r.name)).toEqual(['a']);
}, 120_000);

test('on the files there is one controller: one line, no error; PostgreSQL unreachable: one line, exit 1', () => {
  const t = tempRoot('wulf-ctl-files-');
  roots.push(t);
  expect(runWulf(bin, t.dir, ['init', '--address', '127.0.0.1/8', '--interface', 'lo']).code).toBe(0);
  const r = runWulf(bin, t.dir, ['controller', 'list'], { env: { WULF_CONTROLLER: 'solo' } });
  expect(r.code).toBe(0);
  expect(r.out.trim()).toBe(
    'one controller (this one, "solo"): the store is files (nodes.conf); several controllers share a PostgreSQL store',
  );
  expect(r.err).toBe('');
  // PostgreSQL unreachable: one line, exit 1
  const down = runWulf(bin, t.dir, ['controller', 'list'], {
    env: { WULF_STORE: `postgres://postgres@localhost/x?host=${encodeURIComponent(join(t.dir, 'nowhere'))}` },
  });
  expect(down.code).toBe(1);
  expect(down.err.split('\n')[0]).toStartWith('wulf: cannot reach PostgreSQL at postgres://');
  expect(down.err).not.toContain('    at ');
});

test('udhcpc in namespaces: a dynamic lease recorded in wulf_leases under the controller, a held address skipped; range widened; PostgreSQL lost', async () => {
  requireTool('udhcpc', 'udhcpc');
  const tag = `c${process.pid % 10000}`;
  const net = `10.78.${process.pid % 200}`;
  let ns: NsPair | undefined;
  const sql = new SQL(url);
  try {
    ns = createNsPair(tag, net);
    const dir = root(`${net}.1/24`, ns.srvIf, [`${net}.100`, `${net}.107`]);
    // every address of the range but .105 is held in the store by other MACs (another controller's clients)
    for (let i = 100; i <= 107; i++) {
      if (i === 105) continue;
      await sql`insert into wulf_leases (ip, mac, controller, expires)
                values (${`${net}.${i}`}::inet, ${`52:54:00:99:00:${i}`}, 'elsewhere', now() + interval '1 hour')`;
    }
    const s = serve(dir, 'ns-ctl', ['--address', `${net}.1`, '--interface', ns.srvIf, '--no-tftp'], ['ip', 'netns', 'exec', ns.srv]);
    expect(await until(() => s.log.includes('serving on'))).toBe(true);
    const script = join(dir, 'udhcpc.sh');
    writeFileSync(script, '#!/bin/sh\necho "UDHCPC $1 ip=$ip"\n');
    chmodSync(script, 0o755);
    const mac = '52:54:00:78:00:01';
    sh(ns.exec(ns.cli, ['ip', 'link', 'set', ns.cliIf, 'address', mac]));
    const r = await runAsync(ns.exec(ns.cli, ['udhcpc', '-i', ns.cliIf, '-n', '-q', '-f', '-t', '6', '-T', '1', '-s', script]), 60_000);
    expect(r.out).toContain(`UDHCPC bound ip=${net}.105`);
    const rows = await sql`select host(ip) as ip, mac, controller, expires > now() as live from wulf_leases where mac = ${mac}`;
    expect(rows.map((x: Record<string, unknown>) => ({ ...x }))).toEqual([{ ip: `${net}.105`, mac, controller: 'ns-ctl', live: true }]);
    // the held ones stayed with their MACs
    expect((await sql`select count(*)::int as n from wulf_leases where controller = 'elsewhere' and expires > now()`)[0].n).toBe(7);
    expect(s.log).toContain('is held by another MAC in the store');
    // wulf.conf widens the range while serving: claimed in the store, then used
    const conf = join(dir, 'etc/wulf/wulf.conf');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(`range end: ${net}.107`, `range end: ${net}.120`));
    expect(await until(() => s.log.includes(`dhcp: now range ${net}.100–${net}.120`))).toBe(true);
    expect((await sql`select host(last_ip) as l from wulf_ranges where controller = 'ns-ctl'`)[0].l).toBe(`${net}.120`);
    // PostgreSQL lost while serving: one heartbeat warning; a new client still gets an address from this
    // controller's own range (no other controller may hold it); the heartbeat is back with the database
    pg.halt();
    try {
      sh(ns.exec(ns.cli, ['ip', 'link', 'set', ns.cliIf, 'address', '52:54:00:78:00:02']));
      const r2 = await runAsync(ns.exec(ns.cli, ['udhcpc', '-i', ns.cliIf, '-n', '-q', '-f', '-t', '6', '-T', '1', '-s', script]), 60_000);
      expect(r2.out).toMatch(new RegExp(`UDHCPC bound ip=${net.replaceAll('.', '\\.')}\\.1[0-2]\\d`));
      expect(r2.out).not.toContain(`ip=${net}.105`);
      expect(s.log).toContain('lease not recorded in PostgreSQL');
      expect(await until(() => s.log.includes('heartbeat failed'), 15_000)).toBe(true);
      await Bun.sleep(5500);
      expect(s.log.split('heartbeat failed').length).toBe(2); // one line, not one per beat
    } finally {
      pg.resume();
    }
    expect(await until(() => s.log.includes('heartbeat written to PostgreSQL again'), 20_000)).toBe(true);
    expect(s.code).toBeUndefined();
  } finally {
    await sql.close();
    ns?.teardown();
  }
}, 120_000);
