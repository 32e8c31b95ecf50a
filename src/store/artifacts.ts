// Built artifacts by digest in PostgreSQL (schema 5): for each image, the current boot archive and
// its kernels (sha256, size, the controller that built them). An image is built once, on any
// controller; the others read here which bytes a node must get and fetch them by digest from a
// peer that has them. The files backend has no such table: a single controller serves what it built.
import type { PostgresStore } from './postgres.ts';

export type ArtifactKind = 'image' | 'kernel';

export interface ArtifactRow {
  image: string;
  kind: ArtifactKind;
  /** '' for the image archive; the kernel's version for a kernel */
  variant: string;
  /** a kernel's path inside the image ('/boot/vmlinuz-…'), '' for the archive */
  rel: string;
  digest: string;
  size: number;
  builtBy: string;
  builtAt?: string;
}

const COLUMNS = `image, kind, variant, rel, digest, size::text as size, built_by, built_at::text as built_at`;
type Raw = {
  image: string;
  kind: ArtifactKind;
  variant: string;
  rel: string;
  digest: string;
  size: string;
  built_by: string;
  built_at: string;
};
const row = (r: Raw): ArtifactRow => ({
  image: r.image,
  kind: r.kind,
  variant: r.variant,
  rel: r.rel,
  digest: r.digest,
  size: Number(r.size),
  builtBy: r.built_by,
  builtAt: r.built_at,
});

/**
 * Make `rows` the image's current artifacts, in one transaction: kernels the image no longer has are
 * dropped; a row whose digest did not change keeps its builder and time.
 */
export async function recordArtifacts(store: PostgresStore, image: string, rows: Omit<ArtifactRow, 'image' | 'builtAt'>[]): Promise<void> {
  await store.run((sql) =>
    sql.begin(async (tx) => {
      const keep = rows.map((r) => `${r.kind}\u0000${r.variant}`);
      const have = (await tx`select kind, variant from wulf_artifacts where image = ${image}`) as { kind: string; variant: string }[];
      for (const h of have)
        if (!keep.includes(`${h.kind}\u0000${h.variant}`))
          await tx`delete from wulf_artifacts where image = ${image} and kind = ${h.kind} and variant = ${h.variant}`;
      for (const r of rows) {
        await tx`insert into wulf_artifacts (image, kind, variant, rel, digest, size, built_by)
                 values (${image}, ${r.kind}, ${r.variant}, ${r.rel}, ${r.digest}, ${r.size}, ${r.builtBy})
                 on conflict (image, kind, variant) do update
                   set rel = excluded.rel, digest = excluded.digest, size = excluded.size,
                       built_by = excluded.built_by, built_at = now()
                   where wulf_artifacts.digest <> excluded.digest or wulf_artifacts.rel <> excluded.rel`;
      }
    }),
  );
}

/** An image deleted or renamed: no controller fetches its bytes any more. */
export async function forgetArtifacts(store: PostgresStore, image: string): Promise<void> {
  await store.run((sql) => sql`delete from wulf_artifacts where image = ${image}`);
}

/** Every digest some image currently names (what a controller's artifact cache should keep). */
export async function currentDigests(store: PostgresStore): Promise<Set<string>> {
  const rows = await store.run((sql) => sql`select distinct digest from wulf_artifacts`);
  return new Set((rows as { digest: string }[]).map((r) => r.digest));
}

/** The image's current artifacts (none: built before schema 5, or never on PostgreSQL). */
export async function currentArtifacts(store: PostgresStore, image: string): Promise<ArtifactRow[]> {
  const rows = await store.run((sql) =>
    sql.unsafe(`select ${COLUMNS} from wulf_artifacts where image = $1 order by kind, variant`, [image]),
  );
  return (rows as Raw[]).map(row);
}

/** Every current artifact with this digest (a peer asks for bytes by digest alone). */
export async function artifactsByDigest(store: PostgresStore, digest: string): Promise<ArtifactRow[]> {
  const rows = await store.run((sql) => sql.unsafe(`select ${COLUMNS} from wulf_artifacts where digest = $1`, [digest]));
  return (rows as Raw[]).map(row);
}

export interface PeerController {
  name: string;
  url: string;
}

/**
 * The other controllers a controller may fetch artifacts from, freshest heartbeat first: the
 * controllers registry (`wulf_controllers`: name, url, heartbeat_at) when the schema has it, else none.
 */
export async function peersWithUrls(store: PostgresStore, self: string): Promise<PeerController[]> {
  return store.run(async (sql) => {
    const [t] = await sql`select to_regclass('wulf_controllers') is not null as present`;
    if (!t?.present) return [];
    // select *: a stopped controller (stopped_at, when the registry has it) is not asked
    const rows = (await sql`select * from wulf_controllers where name <> ${self} order by heartbeat_at desc nulls last`) as {
      name: string;
      url?: string | null;
      stopped_at?: unknown;
    }[];
    return rows.filter((r) => r.url && !r.stopped_at).map((r) => ({ name: r.name, url: String(r.url).replace(/\/+$/, '') }));
  });
}
