// Migration numbers are owned by pieces of work (#15: 3 controllers, 4 boot events, 5 artifacts) and may
// land out of order: a database that has a later migration but not an earlier one gets the earlier one
// applied, and nothing applied twice.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { SQL } from 'bun';
import { PostgresStore } from '../../src/store/postgres.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.ts';
import { startPg, type Pg } from './pg.ts';

let pg: Pg;
beforeAll(() => {
  pg = startPg();
}, 60_000);
afterAll(() => pg?.stop(), 30_000);

test('a missing earlier migration is applied, the later ones are not run again', async () => {
  const url = pg.createDb('gap');
  const first = new PostgresStore(url);
  expect(await first.schemaVersion()).toBe(SCHEMA_VERSION);
  await first.close();
  const sql = new SQL(url);
  try {
    // as if migration 2 arrived after 4: its table and its version row gone, 4's table holding a row
    await sql`drop table wulf_state`;
    await sql`delete from wulf_schema where version = 2`;
    await sql`insert into wulf_events (node, stage, sent, controller) values ('n1', 'ipxe', 'x', 'c')`;
    const again = new PostgresStore(url);
    expect(await again.schemaVersion()).toBe(SCHEMA_VERSION);
    await again.close();
    const versions = (await sql`select version from wulf_schema order by version`).map((r: { version: number }) => r.version);
    expect(versions).toEqual(MIGRATIONS.map((m) => m.version).sort((a, b) => a - b));
    expect((await sql`select count(*)::int as n from wulf_state`)[0].n).toBe(0);
    expect((await sql`select count(*)::int as n from wulf_events`)[0].n).toBe(1);
  } finally {
    await sql.close();
  }
}, 60_000);
