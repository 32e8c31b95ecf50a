// Versioned schema migrations on a real PostgreSQL: a fresh database is migrated once even when
// several binaries open it at once; a newer schema is refused without touching it.
import { test, expect, beforeAll, afterAll, setDefaultTimeout } from 'bun:test';
import { SQL } from 'bun';
import { PostgresStore } from '../../src/store/postgres.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.ts';
import { WulfError } from '../../src/lib/errors.ts';
import { redact } from '../../src/store/spec.ts';
import { startPg, type Pg } from './pg.ts';

// a real server on a busy 2-core machine: seconds, not the default 5
setDefaultTimeout(30_000);
let pg: Pg;
beforeAll(() => {
  pg = startPg();
}, 60_000);
afterAll(() => pg?.stop(), 30_000);

test('six stores opening a fresh database at once: every migration applied exactly once, all of them work', async () => {
  const url = pg.createDb('m1');
  const stores = Array.from({ length: 6 }, () => new PostgresStore(url));
  try {
    const confs = await Promise.all(stores.map((s) => s.read()));
    expect(confs.every((c) => c.revision === '0')).toBe(true);
    expect(await Promise.all(stores.map((s) => s.schemaVersion()))).toEqual(Array(6).fill(SCHEMA_VERSION));
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
  const sql = new SQL(url);
  try {
    const rows = await sql`select version from wulf_schema order by version`;
    expect(rows.map((r: { version: number }) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  } finally {
    await sql.close();
  }
});

test('a newer schema: ESCHEMA, one line naming both versions, and no write lands', async () => {
  const url = pg.createDb('m2');
  const s0 = new PostgresStore(url);
  await s0.update((c) => {
    c.nodes.a = { comment: 'kept' };
  });
  await s0.close();
  const sql = new SQL(url);
  try {
    await sql`insert into wulf_schema (version, summary) values (${SCHEMA_VERSION + 1}, 'next')`;
    const s = new PostgresStore(url);
    let err: unknown;
    try {
      await s.update((c) => {
        c.nodes.a = { comment: 'changed' };
      });
    } catch (e) {
      err = e;
    } finally {
      await s.close();
    }
    expect(err).toBeInstanceOf(WulfError);
    expect((err as WulfError).code).toBe('ESCHEMA');
    expect((err as WulfError).message).toContain(`schema is version ${SCHEMA_VERSION + 1}, newer than this wulf knows (${SCHEMA_VERSION})`);
    expect((err as WulfError).message.includes('\n')).toBe(false);
    expect((await sql`select data::text as d from wulf_entries where name = 'a'`)[0].d).toBe('{"comment":"kept"}');
  } finally {
    await sql.close();
  }
});

test('a store whose server was down at first contact works once the server is back', async () => {
  const url = pg.createDb('m3');
  const s = new PostgresStore(url);
  try {
    pg.halt();
    let err: unknown;
    try {
      await s.read();
    } catch (e) {
      err = e;
    } finally {
      pg.resume();
    }
    expect((err as WulfError).code).toBe('ESTOREDOWN');
    expect((await s.read()).revision).toBe('0');
  } finally {
    await s.close();
  }
});

test('messages never carry a password, in the user part or as ?password=', () => {
  expect(redact('postgres://wulf:s3cret@db.lab/wulf')).toBe('postgres://wulf:***@db.lab/wulf');
  expect(redact('postgres://wulf@db.lab/wulf?password=s3cret&sslmode=require')).toBe(
    'postgres://wulf@db.lab/wulf?password=***&sslmode=require',
  );
  expect(new PostgresStore('postgres://wulf:s3cret@db.lab/wulf?password=s3cret').where).not.toContain('s3cret');
});

test('numbers may have gaps: a migration the database lacks (migrated by a binary without it) is applied, the others are not run again', async () => {
  const url = pg.createDb('m4');
  const s0 = new PostgresStore(url);
  await s0.read();
  await s0.close();
  const sql = new SQL(url);
  try {
    // as if a binary that lacked schema 2 had migrated this database (each feature owns its number)
    await sql`drop table wulf_state`;
    await sql`delete from wulf_schema where version = 2`;
    const s = new PostgresStore(url);
    expect(await s.schemaVersion()).toBe(SCHEMA_VERSION);
    await s.close();
    const rows = await sql`select version from wulf_schema order by version`;
    expect(rows.map((r: { version: number }) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect((await sql`select to_regclass('wulf_state') is not null as t`)[0].t).toBe(true);
    expect((await sql`select to_regclass('wulf_artifacts') is not null as t`)[0].t).toBe(true);
  } finally {
    await sql.close();
  }
});
