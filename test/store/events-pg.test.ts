// Boot events in PostgreSQL (src/store/events.ts, schema 4) on a real server: a batch reads back as
// written with a NOTIFY in its transaction, writers racing from two pools never let a reader that
// follows by id skip a row, and pruning keeps the table bounded by count and by age.
import { test, expect, beforeAll, afterAll, setDefaultTimeout } from 'bun:test';
import { SQL } from 'bun';
import { PostgresStore } from '../../src/store/postgres.ts';
import { EVENTS_CHANNEL, eventsAfter, lastEventId, pruneEvents, writeEvents, type BootEvent } from '../../src/store/events.ts';
import { startPg, type Pg } from './pg.ts';

setDefaultTimeout(60_000);
let pg: Pg;
beforeAll(() => {
  pg = startPg();
}, 60_000);
afterAll(() => pg?.stop(), 30_000);

const ev = (node: string, controller: string, o: Partial<BootEvent> = {}): BootEvent => ({
  time: 1_900_000_000.123,
  node,
  stage: 'kernel',
  sent: 'vmlinuz',
  ip: '10.0.0.1',
  bytes: 0,
  refused: false,
  controller,
  ...o,
});

test('a batch reads back as written, and its NOTIFY names the writer', async () => {
  const url = pg.createDb('e1');
  const store = new PostgresStore(url);
  const listener = new SQL(url);
  const heard: string[] = [];
  try {
    expect(await lastEventId(store)).toBe(0);
    await listener.listen(EVENTS_CHANNEL, (p) => heard.push(p));
    const batch = [
      ev('n1', 'ctl-a', { stage: 'dhcp', sent: 'ACK', done: true }),
      ev('n1', 'ctl-a', { stage: 'ipxe', done: false }),
      ev('n2', 'ctl-a', { stage: 'image', bytes: 5_000_000_000, time: 1_900_000_001.5 }),
      ev('n3', 'ctl-a', { stage: 'system', sent: 'WRONG_ADDRESS', refused: true }),
    ];
    await writeEvents(store, 'ctl-a', batch);
    const back = await eventsAfter(store, 0);
    expect(back.map(({ id: _id, ...r }) => r)).toEqual(batch);
    expect(back.map((r) => r.id)).toEqual([1, 2, 3, 4]);
    expect((await eventsAfter(store, 2)).map((r) => r.node)).toEqual(['n2', 'n3']);
    expect(await lastEventId(store)).toBe(4);
    for (let i = 0; i < 50 && !heard.length; i++) await Bun.sleep(20);
    expect(heard.map((p) => JSON.parse(p))).toEqual([{ controller: 'ctl-a', n: 4 }]);
  } finally {
    await listener.close();
    await store.close();
  }
});

test('two controllers writing at once: a reader following by id sees every row exactly once', async () => {
  const url = pg.createDb('e2');
  const [a, b, reader] = [new PostgresStore(url), new PostgresStore(url), new PostgresStore(url)];
  try {
    await lastEventId(reader); // migrated before the race
    const seen: number[] = [];
    let last = 0;
    let writing = true;
    const follow = (async () => {
      while (writing) {
        for (const r of await eventsAfter(reader, last)) {
          seen.push(r.id!);
          last = r.id!;
        }
      }
    })();
    const writer = async (s: PostgresStore, name: string) => {
      for (let i = 0; i < 60; i++) await writeEvents(s, name, [ev(`n${i}`, name), ev(`n${i}`, name, { stage: 'image' })]);
    };
    await Promise.all([writer(a, 'ctl-a'), writer(b, 'ctl-b')]);
    writing = false;
    await follow;
    for (const r of await eventsAfter(reader, last)) seen.push(r.id!);
    expect(seen.length).toBe(240);
    expect(new Set(seen).size).toBe(240);
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
  } finally {
    await Promise.all([a.close(), b.close(), reader.close()]);
  }
});

test('pruning keeps at most the newest rows by count, and none older than the age limit', async () => {
  const url = pg.createDb('e3');
  const store = new PostgresStore(url);
  try {
    const now = Date.now() / 1000;
    await writeEvents(
      store,
      'c',
      Array.from({ length: 30 }, (_, i) => ev(`old${i}`, 'c', { time: now - 7200 })),
    );
    await writeEvents(
      store,
      'c',
      Array.from({ length: 50 }, (_, i) => ev(`new${i}`, 'c', { time: now })),
    );
    expect(await pruneEvents(store, { maxAgeSeconds: 3600, maxRows: 1000 })).toBe(30);
    expect((await eventsAfter(store, 0)).every((r) => r.node.startsWith('new'))).toBe(true);
    expect(await pruneEvents(store, { maxAgeSeconds: 3600, maxRows: 20 })).toBe(30);
    const left = await eventsAfter(store, 0);
    expect(left.map((r) => r.node)).toEqual(Array.from({ length: 20 }, (_, i) => `new${30 + i}`));
  } finally {
    await store.close();
  }
});
