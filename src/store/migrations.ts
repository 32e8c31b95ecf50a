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
    version: 3,
    summary: 'controllers (registry, heartbeat), their dynamic ranges (no two overlap) and DHCP leases (one holder per address)',
    statements: [
      `create table wulf_controllers (
         name text primary key,
         instance text not null,
         host text not null,
         pid integer not null,
         addresses json not null,
         segments json not null,
         url text not null,
         version text not null,
         started_at timestamptz not null default now(),
         heartbeat_at timestamptz not null default now(),
         stopped_at timestamptz)`,
      // a range is the IPv4 numbers first..last; the exclusion constraint (int8range &&, no extension)
      // refuses a range that overlaps any other row's, whichever controller wrote it
      `create table wulf_ranges (
         controller text not null references wulf_controllers (name) on delete cascade,
         first_ip inet not null check (family(first_ip) = 4),
         last_ip inet not null check (family(last_ip) = 4 and last_ip >= first_ip),
         r int8range generated always as (int8range(first_ip - '0.0.0.0'::inet, last_ip - '0.0.0.0'::inet, '[]')) stored,
         claimed_at timestamptz not null default now(),
         primary key (controller, first_ip),
         exclude using gist (r with &&))`,
      // one row per address: the primary key is what makes a lease impossible to hand out twice
      `create table wulf_leases (
         ip inet primary key,
         mac text not null,
         controller text not null,
         expires timestamptz not null,
         updated_at timestamptz not null default now())`,
      `create index wulf_leases_mac on wulf_leases (mac)`,
    ],
  },
  {
    version: 4,
    summary: 'boot events of every controller (status everywhere: written with a NOTIFY on wulf_status), pruned by age and count',
    statements: [
      `create table wulf_events (
         id bigserial primary key,
         at timestamptz not null default now(),
         node text not null,
         stage text not null,
         sent text not null,
         ip text not null default '',
         bytes bigint not null default 0,
         done boolean,
         refused boolean not null default false,
         controller text not null)`,
      // the primary key serves "everything after id N" (catching up); this one the pruning by age
      `create index wulf_events_at on wulf_events (at)`,
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
  {
    version: 6,
    summary: 'cluster-wide server settings: the part of wulf.conf every controller must share, one row with a revision',
    statements: [
      // one row, not a row per key: the settings are validated and replaced whole (`store settings --push`,
      // `store copy`), and a controller compares one revision before answering a node, as for the nodes;
      // json (not jsonb) keeps wulf.conf's key order for `wulf store settings`
      `create table wulf_settings (
         id integer primary key check (id = 1),
         settings json not null,
         revision bigint not null,
         updated_by text not null,
         updated_at timestamptz not null default now())`,
    ],
  },
];

export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));
/** pg_advisory_xact_lock key: "wulf" */
const LOCK_KEY = 0x77756c66;

/** The schema's version, migrating an older one; a newer one is a one-line refusal. */
export async function migrate(sql: SQL, where: string): Promise<number> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx`create table if not exists wulf_schema (version integer primary key, summary text not null, applied_at timestamptz not null default now())`;
    // the versions applied, not just the highest: numbers are owned by topics and may land out of order
    const rows = (await tx`select version from wulf_schema`) as { version: number }[];
    const applied = new Set<number>(rows.map((r) => Number(r.version)));
    const current = Math.max(0, ...applied);
    if (current > SCHEMA_VERSION) {
      throw new WulfError(
        `${where}: the store's schema is version ${current}, newer than this wulf knows (${SCHEMA_VERSION}); nothing was changed`,
        { hint: 'use the wulf binary that migrated it, or a newer one', code: 'ESCHEMA' },
      );
    }
    for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      for (const s of m.statements) await tx.unsafe(s);
      await tx`insert into wulf_schema (version, summary) values (${m.version}, ${m.summary})`;
    }
    return SCHEMA_VERSION;
  });
}
