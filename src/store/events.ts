// Boot events of every controller in PostgreSQL (schema 4, table wulf_events): each controller writes
// its own in batches, with a NOTIFY on the channel wulf_status in the same transaction; the others
// read what is new by id. Writers take a transaction-scoped advisory lock first, so ids become visible
// in the order they were given ("everything after id N" never skips a row committed late). Old rows are
// pruned by age and by count.
import type { PostgresStore } from './postgres.ts';

export const EVENTS_CHANNEL = 'wulf_status';
/** pg_advisory_xact_lock key of the event writers: "wule" */
const WRITE_LOCK = 0x77756c65;
const CHUNK = 1000;

/** One boot event as stored: what StatusBoard.record was told, with the controller that served it. */
export interface BootEvent {
  id?: number;
  /** unix seconds */
  time: number;
  node: string;
  stage: string;
  sent: string;
  ip: string;
  bytes: number;
  done?: boolean;
  refused: boolean;
  controller: string;
}

export interface PruneLimits {
  /** keep rows younger than this (seconds) */
  maxAgeSeconds: number;
  /** and at most about this many */
  maxRows: number;
}
export const DEFAULT_PRUNE: PruneLimits = { maxAgeSeconds: 86_400, maxRows: 200_000 };

/** Write a batch and notify the channel (payload: the writer's name and the batch's size), in one transaction. */
export async function writeEvents(db: PostgresStore, controller: string, events: BootEvent[]): Promise<void> {
  if (!events.length) return;
  await db.run((sql) =>
    sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${WRITE_LOCK})`;
      for (let i = 0; i < events.length; i += CHUNK) {
        const rows = events.slice(i, i + CHUNK).map((e) => ({
          at: new Date(e.time * 1000),
          node: e.node,
          stage: e.stage,
          sent: e.sent,
          ip: e.ip,
          bytes: Math.round(e.bytes),
          done: e.done ?? null,
          refused: e.refused,
          controller: e.controller,
        }));
        await tx`insert into wulf_events ${tx(rows, 'at', 'node', 'stage', 'sent', 'ip', 'bytes', 'done', 'refused', 'controller')}`;
      }
      await tx`select pg_notify(${EVENTS_CHANNEL}, ${JSON.stringify({ controller, n: events.length })})`;
    }),
  );
}

/** Events after `afterId`, oldest first, at most `limit`. */
export async function eventsAfter(db: PostgresStore, afterId: number, limit = 2000): Promise<BootEvent[]> {
  const rows = (await db.run(
    (sql) => sql`select id::float8 as id, extract(epoch from at)::float8 as time, node, stage, sent, ip, bytes::float8 as bytes,
                        done, refused, controller
                 from wulf_events where id > ${afterId} order by id limit ${limit}`,
  )) as BootEvent[];
  return rows.map((r) => ({ ...r, id: Number(r.id), time: Number(r.time), bytes: Number(r.bytes), done: r.done ?? undefined }));
}

/** The newest id (0 for none): where a controller that starts begins to follow. */
export async function lastEventId(db: PostgresStore): Promise<number> {
  const [r] = await db.run((sql) => sql`select coalesce(max(id), 0)::float8 as id from wulf_events`);
  return Number(r.id);
}

/** Delete rows older than the age limit, and the oldest beyond the count limit; the number deleted. */
export async function pruneEvents(db: PostgresStore, limits: PruneLimits = DEFAULT_PRUNE): Promise<number> {
  return db.run(async (sql) => {
    const old = await sql`delete from wulf_events where at < now() - make_interval(secs => ${limits.maxAgeSeconds})`;
    const many = await sql`delete from wulf_events where id <= (select max(id) from wulf_events) - ${limits.maxRows}`;
    return (old.count ?? 0) + (many.count ?? 0);
  });
}
