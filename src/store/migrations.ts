// Versioned schema of the PostgreSQL store. Each migration runs once, in order, in the same
// transaction as the version row it adds, under an advisory lock (two binaries starting at once
// migrate once). A database whose schema is newer than this binary knows is refused, never touched.
import type { SQL } from 'bun';
import { WulfError } from '../lib/errors.ts';

export interface Migration {
  version: number;
  summary: string;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    summary: 'configuration: nodes and profiles, one revision counter',
    statements: [
      `create table wulf_meta (key text primary key, value text not null)`,
      `insert into wulf_meta (key, value) values ('revision', '0')`,
      // json (not jsonb) keeps each entry's key order, so a copy back to nodes.conf reads as it was written;
      // seq keeps the order entries were added in
      `create table wulf_entries (
         section text not null check (section in ('nodes', 'profiles')),
         name text not null,
         data json not null,
         seq bigserial not null,
         primary key (section, name))`,
    ],
  },
  {
    version: 2,
    summary: 'runtime state: DHCP leases, boot status, unknown MACs, one row each, with the controller that wrote it',
    statements: [
      `create table wulf_state (
         kind text not null check (kind in ('lease', 'status', 'unknown')),
         key text not null,
         data json not null,
         controller text not null,
         updated_at timestamptz not null default now(),
         primary key (kind, key))`,
    ],
  },
  {
    version: 5,
    summary: 'artifacts by digest: the current image archive and kernels of each image, built once on any controller',
    statements: [
      // one row per (image, kind, variant): variant is '' for the image archive, the kernel's version for a kernel
      // (rel: its path inside the image, for a node naming its kernel by path); a controller without the
      // rootfs fetches a row's bytes from a peer by digest (src/serve/artifacts.ts)
      `create table wulf_artifacts (
         image text not null,
         kind text not null check (kind in ('image', 'kernel')),
         variant text not null default '',
         rel text not null default '',
         digest text not null check (digest ~ '^[0-9a-f]{64}$'),
         size bigint not null check (size >= 0),
         built_by text not null,
         built_at timestamptz not null default now(),
         primary key (image, kind, variant))`,
      `create index wulf_artifacts_digest on wulf_artifacts (digest)`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
/** pg_advisory_xact_lock key: "wulf" */
const LOCK_KEY = 0x77756c66;

/** The schema's version, migrating an older one; a newer one is a one-line refusal. */
export async function migrate(sql: SQL, where: string): Promise<number> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx`create table if not exists wulf_schema (version integer primary key, summary text not null, applied_at timestamptz not null default now())`;
    const applied = new Set<number>((await tx`select version from wulf_schema`).map((r: { version: number }) => Number(r.version)));
    const current = Math.max(0, ...applied);
    if (current > SCHEMA_VERSION) {
      throw new WulfError(
        `${where}: the store's schema is version ${current}, newer than this wulf knows (${SCHEMA_VERSION}); nothing was changed`,
        { hint: 'use the wulf binary that migrated it, or a newer one', code: 'ESCHEMA' },
      );
    }
    // each migration not applied yet, in order: numbers may have gaps (each feature owns its number), and a
    // database migrated by a binary that lacked one gets it from the next binary that has it
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      for (const s of m.statements) await tx.unsafe(s);
      await tx`insert into wulf_schema (version, summary) values (${m.version}, ${m.summary})`;
    }
    return SCHEMA_VERSION;
  });
}
