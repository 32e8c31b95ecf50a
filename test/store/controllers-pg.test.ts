// Controllers on a real PostgreSQL (src/store/controllers.ts): the registry and its ages by the
// database's clock, a second live controller of one name refused, dynamic ranges that may not overlap
// (the exclusion constraint), and a lease that one address can give to one MAC only, even when a hundred
// claims race for it.
import { test, expect, beforeAll, afterAll, setDefaultTimeout } from 'bun:test';
import { SQL } from 'bun';
import { PostgresStore } from '../../src/store/postgres.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import {
  claimLease,
  claimRange,
  deleteController,
  heartbeat,
  listControllers,
  registerController,
  releaseLease,
  stopController,
  type ControllerInfo,
} from '../../src/store/controllers.ts';
import { WulfError } from '../../src/lib/errors.ts';
import { startPg, type Pg } from './pg.ts';

setDefaultTimeout(30_000);
let pg: Pg;
beforeAll(() => {
  pg = startPg();
}, 60_000);
afterAll(() => pg?.stop(), 30_000);

const info = (name: string, over: Partial<ControllerInfo> = {}): ControllerInfo => ({
  name,
  instance: `${name}-${Math.random()}`,
  host: `host-${name}`,
  pid: 1,
  addresses: ['10.0.0.1'],
  segments: ['eth1', '10.0.0.0/24'],
  url: 'http://10.0.0.1:9873',
  version: 'test',
  ...over,
});

const refusal = async (p: Promise<unknown>): Promise<WulfError> => {
  try {
    await p;
  } catch (e) {
    return e as WulfError;
  }
  throw new Error('not refused');
};

test('registry: rows with addresses and segments; alive, late by the database clock, stopped', async () => {
  const url = pg.createDb('c1');
  const store = new PostgresStore(url);
  const sql = new SQL(url);
  try {
    const a = info('a');
    await registerController(store, a);
    await registerController(store, info('b', { addresses: ['10.0.1.1'], segments: ['eth2', '10.0.1.0/24'] }));
    expect(await heartbeat(store, 'a', a.instance)).toBe(true);
    expect(await heartbeat(store, 'a', 'someone else')).toBe(false);
    // b's last heartbeat 20 s ago by the server's clock: late
    await sql`update wulf_controllers set heartbeat_at = now() - interval '20 seconds' where name = 'b'`;
    const rows = await listControllers(store);
    expect(rows.map((r) => [r.name, r.alive])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    expect(rows[1]!.segments).toEqual(['eth2', '10.0.1.0/24']);
    expect(rows[1]!.ageSeconds).toBeGreaterThanOrEqual(19);
    expect(rows[0]!.ageSeconds).toBeLessThan(5);
    await stopController(store, 'a', a.instance);
    const after = await listControllers(store);
    expect(after[0]!.alive).toBe(false);
    expect(after[0]!.stopped).toBe(true);
  } finally {
    await sql.close();
    await store.close();
  }
});

test('a second live controller with the same name is refused in one line; a late or stopped one is replaced', async () => {
  const url = pg.createDb('c2');
  const store = new PostgresStore(url);
  const sql = new SQL(url);
  try {
    await registerController(store, info('x', { url: 'http://10.0.0.7:9873' }));
    const e = await refusal(registerController(store, info('x')));
    expect(e).toBeInstanceOf(WulfError);
    expect(e.message).toMatch(/^controller "x" is already running \(http:\/\/10\.0\.0\.7:9873 on host-x, pid 1, heartbeat \d+ s ago\)/);
    expect(e.message).not.toContain('\n');
    // the same host, a pid that is gone (a crash and a quick restart): taken over
    const dead = info('y', { host: 'same', pid: 2 ** 22 + 12345 });
    await registerController(store, dead);
    await registerController(store, info('y', { host: 'same', pid: process.pid }));
    // late: taken over
    await sql`update wulf_controllers set heartbeat_at = now() - interval '16 seconds' where name = 'x'`;
    const x2 = info('x', { url: 'http://10.0.0.8:9873' });
    await registerController(store, x2);
    expect((await listControllers(store)).find((r) => r.name === 'x')!.url).toBe('http://10.0.0.8:9873');
    // deleting: refused while alive, done once stopped (its ranges go with it)
    await claimRange(store, 'x', { start: '10.0.0.100', end: '10.0.0.110' });
    expect((await refusal(deleteController(store, 'x'))).message).toContain('is alive');
    await stopController(store, 'x', x2.instance);
    expect(await deleteController(store, 'x')).toBe(true);
    expect((await sql`select count(*)::int as n from wulf_ranges`)[0].n).toBe(0);
  } finally {
    await sql.close();
    await store.close();
  }
});

test('ranges: two controllers may not overlap (refused naming both); adjacent ones may; a claim replaces its own', async () => {
  const url = pg.createDb('c3');
  const store = new PostgresStore(url);
  const sql = new SQL(url);
  try {
    await registerController(store, info('a'));
    await registerController(store, info('b'));
    await claimRange(store, 'a', { start: '10.0.0.100', end: '10.0.0.199' });
    const e = await refusal(claimRange(store, 'b', { start: '10.0.0.150', end: '10.0.0.250' }));
    expect(e.message).toBe(
      'dhcp range 10.0.0.150–10.0.0.250 of controller "b" overlaps controller "a"\'s range 10.0.0.100–10.0.0.199; nothing was started',
    );
    expect(e.hint).toContain('wulf controller delete a');
    await claimRange(store, 'b', { start: '10.0.0.200', end: '10.0.0.250' }); // adjacent: fine
    // a moves its own range: the old claim is replaced, not added to
    await claimRange(store, 'a', { start: '10.0.0.10', end: '10.0.0.20' });
    await claimRange(store, 'b', { start: '10.0.0.100', end: '10.0.0.250' });
    const rows = await sql`select controller, host(first_ip) as f, host(last_ip) as l from wulf_ranges order by first_ip`;
    expect(rows.map((r: { controller: string; f: string; l: string }) => `${r.controller} ${r.f}-${r.l}`)).toEqual([
      'a 10.0.0.10-10.0.0.20',
      'b 10.0.0.100-10.0.0.250',
    ]);
    // none: the claim is dropped; the database refuses overlap even written by hand
    await claimRange(store, 'a', undefined);
    expect((await sql`select count(*)::int as n from wulf_ranges where controller = 'a'`)[0].n).toBe(0);
    let raw: unknown;
    try {
      await sql`insert into wulf_ranges (controller, first_ip, last_ip) values ('a', '10.0.0.250', '10.0.1.5')`;
    } catch (err) {
      raw = err;
    }
    expect(String((raw as Error).message)).toContain('exclusion constraint');
    expect((await listControllers(store)).find((r) => r.name === 'b')!.ranges).toEqual([['10.0.0.100', '10.0.0.250']]);
  } finally {
    await sql.close();
    await store.close();
  }
});

test('a lease: 100 concurrent claims of one address by different MACs, exactly one wins; renew, release, expiry', async () => {
  const url = pg.createDb('c4');
  const stores = [new PostgresStore(url), new PostgresStore(url), new PostgresStore(url), new PostgresStore(url)];
  const sql = new SQL(url);
  try {
    await stores[0]!.schemaVersion();
    const mac = (i: number) => `52:54:00:00:01:${i.toString(16).padStart(2, '0')}`;
    for (let round = 0; round < 3; round++) {
      const ip = `10.0.9.${round + 1}`;
      const wins = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          claimLease(stores[i % stores.length]!, { ip, mac: mac(i), controller: `ctl${i % 2}`, ttlMs: 60_000 }),
        ),
      );
      expect(wins.filter(Boolean).length).toBe(1);
      const winner = mac(wins.indexOf(true));
      const [row] = await sql`select mac, controller from wulf_leases where ip = ${ip}::inet`;
      expect(row.mac).toBe(winner);
      // the holder renews; another MAC is still refused
      expect(await claimLease(stores[0]!, { ip, mac: winner, controller: 'ctl0', ttlMs: 60_000 })).toBe(true);
      expect(await claimLease(stores[1]!, { ip, mac: '52:54:00:ff:00:00', controller: 'ctl1', ttlMs: 60_000 })).toBe(false);
    }
    // released (or expired): free for another MAC
    await releaseLease(stores[0]!, '10.0.9.1', (await sql`select mac from wulf_leases where ip = '10.0.9.1'`)[0].mac);
    expect(await claimLease(stores[1]!, { ip: '10.0.9.1', mac: '52:54:00:ff:00:01', controller: 'ctl1', ttlMs: 60_000 })).toBe(true);
    await sql`update wulf_leases set expires = now() - interval '1 second' where ip = '10.0.9.2'`;
    expect(await claimLease(stores[1]!, { ip: '10.0.9.2', mac: '52:54:00:ff:00:02', controller: 'ctl1', ttlMs: 60_000 })).toBe(true);
    // the database, not the code: a second row for an address cannot exist
    let raw: unknown;
    try {
      await sql`insert into wulf_leases (ip, mac, controller, expires) values ('10.0.9.3', 'x', 'y', now() + interval '1 hour')`;
    } catch (err) {
      raw = err;
    }
    expect(String((raw as Error).message)).toContain('duplicate key');
  } finally {
    await sql.close();
    await Promise.all(stores.map((s) => s.close()));
  }
});

test('migrations tolerate gaps: a version missing below the highest applied is applied, the others are not run again', async () => {
  const url = pg.createDb('c5');
  const sql = new SQL(url);
  try {
    const s1 = new PostgresStore(url);
    await registerController(s1, info('kept'));
    await s1.close();
    // as if the database had been migrated by a binary that knew 1, 3 (and later numbers) but not 2
    await sql`drop table wulf_state`;
    await sql`delete from wulf_schema where version = 2`;
    const s2 = new PostgresStore(url);
    await s2.schemaVersion();
    await s2.close();
    expect((await sql`select version from wulf_schema order by version`).map((r: { version: number }) => r.version)).toEqual(
      MIGRATIONS.map((m) => m.version).sort((a, b) => a - b),
    );
    expect((await sql`select count(*)::int as n from wulf_state`)[0].n).toBe(0); // 2 ran again
    expect((await sql`select name from wulf_controllers`).map((r: { name: string }) => r.name)).toEqual(['kept']); // 3 did not
  } finally {
    await sql.close();
  }
});
