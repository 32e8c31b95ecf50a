// Runtime state in PostgreSQL (src/store/state-pg.ts) on a real server: round trip, writes only
// what changed, removals, and a write that fails while the server is away is carried by the next.
import { test, expect, beforeAll, afterAll, setDefaultTimeout } from 'bun:test';
import { SQL } from 'bun';
import { PostgresStore } from '../../src/store/postgres.ts';
import { PostgresState } from '../../src/store/state-pg.ts';
import type { RuntimeState } from '../../src/runtime/state-file.ts';
import { startPg, type Pg } from './pg.ts';

// a real server on a busy 2-core machine: seconds, not the default 5
setDefaultTimeout(30_000);
let pg: Pg;
beforeAll(() => {
  pg = startPg();
}, 60_000);
afterAll(() => pg?.stop(), 30_000);

const state = (n: number, stage = 'kernel'): RuntimeState => ({
  version: 1,
  leases: Array.from({ length: n }, (_, i) => ({
    ip: `10.0.0.${i + 1}`,
    mac: `52:54:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`,
    state: 'bound',
    expires: 1_900_000_000_000 + i,
    node: `n${i + 1}`,
  })),
  status: Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      `n${i + 1}`,
      { node: `n${i + 1}`, stage, lastSeen: 1000 + i, timeline: [{ stage, start: 1000 + i, bytes: 10 }] },
    ]),
  ),
  unknown: { '52:54:00:ff:ff:01': { mac: '52:54:00:ff:ff:01', count: 3 } },
});

test('saved state reads back equal; only changed rows are written; removed ones are deleted', async () => {
  const url = pg.createDb('s1');
  const store = new PostgresStore(url);
  const sql = new SQL(url);
  try {
    const a = new PostgresState(store, 'ctl-a');
    expect((await a.load()).rows).toBe(0);
    const s0 = state(20);
    await a.save(s0);
    const back = await new PostgresState(store, 'ctl-b').load();
    expect(back.rows).toBe(41);
    const byIp = (l: unknown[]) => [...l].sort((x, y) => String((x as { ip: string }).ip).localeCompare((y as { ip: string }).ip));
    expect(byIp(back.state.leases)).toEqual(byIp(s0.leases)); // the order of leases means nothing
    expect(back.state.status).toEqual(s0.status);
    expect(back.state.unknown).toEqual(s0.unknown);
    expect((await sql`select distinct controller from wulf_state`).map((r: { controller: string }) => r.controller)).toEqual(['ctl-a']);
    // one node's status changes, one lease goes, the unknown MAC goes
    await sql`update wulf_state set updated_at = '2000-01-01'`;
    const s1 = state(20);
    (s1.status.n7 as { stage: string }).stage = 'runtime';
    s1.leases = s1.leases.filter((l) => (l as { ip: string }).ip !== '10.0.0.3');
    s1.unknown = {};
    await a.save(s1);
    const touched = await sql`select kind, key from wulf_state where updated_at > '2000-01-01' order by kind, key`;
    expect(touched.map((r: { kind: string; key: string }) => `${r.kind}:${r.key}`)).toEqual(['status:n7']);
    const again = (await new PostgresState(store, 'x').load()).state;
    expect(again.leases.length).toBe(19);
    expect(again.unknown).toEqual({});
    expect((again.status.n7 as { stage: string }).stage).toBe('runtime');
  } finally {
    await sql.close();
    await store.close();
  }
});

test('a write while PostgreSQL is away fails whole; the next write after it is back carries everything', async () => {
  const url = pg.createDb('s2');
  const store = new PostgresStore(url);
  try {
    const a = new PostgresState(store, 'ctl');
    await a.save(state(5));
    pg.halt();
    let err: unknown;
    try {
      await a.save(state(8, 'image'));
    } catch (e) {
      err = e;
    } finally {
      pg.resume();
    }
    expect(String((err as Error).message)).toContain('cannot reach PostgreSQL');
    await a.save(state(8, 'image'));
    const back = (await new PostgresState(store, 'x').load()).state;
    expect(back.leases.length).toBe(8);
    expect(Object.values(back.status).every((s) => (s as { stage: string }).stage === 'image')).toBe(true);
  } finally {
    await store.close();
  }
});
