// Status everywhere (PostgreSQL store): this controller's boot events go to the store in batches (a
// NOTIFY on wulf_status in the same transaction), and the other controllers' events come back through
// LISTEN and are recorded on this server's status board, marked remote so they are neither written back
// nor logged here. /status, the SSE stream, `node status -w` and the TUI on any controller then show
// every node, each stage with the controller that served it. While the store is away the events queue
// (bounded) and are written when it is back; bun:sql reconnects the LISTEN connection with backoff, and
// each (re)subscription catches up from the table by id.
import { errorLine } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { StatusBoard, StatusEvent } from '../runtime/board.ts';
import type { PostgresStore } from '../store/postgres.ts';
import { EVENTS_CHANNEL, eventsAfter, lastEventId, pruneEvents, writeEvents, type BootEvent } from '../store/events.ts';
import type { StoreHealth } from './store-health.ts';

const BATCH_MS = 100;
const QUEUE_MAX = 100_000;
const PRUNE_EVERY_MS = 10 * 60_000;
const POLL_MS = 10_000;

export interface StatusSync {
  queued(): number;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export interface StatusSyncOptions {
  db: PostgresStore;
  status: StatusBoard;
  controller: string;
  log: Logger;
  health: StoreHealth;
}

export async function startStatusSync(o: StatusSyncOptions): Promise<StatusSync> {
  const { db, status, controller, health } = o;
  status.controller = controller;
  const writer = eventWriter(o);
  const unsubscribe = status.subscribe((_s, e) => {
    if (!e.remote) writer.push(toRow(e, controller));
  });
  const follow = await follower(o);
  status.serverInfo = () => {
    const since = health.downSince();
    return {
      controller,
      store: { kind: 'postgres', where: db.where, down: since ?? null, reason: health.reason() || null, queued: writer.queued() },
    };
  };
  return {
    queued: writer.queued,
    flush: writer.flush,
    async stop() {
      unsubscribe();
      await follow.stop();
      await writer.flush();
      writer.stop();
    },
  };
}

const toRow = (e: StatusEvent, controller: string): BootEvent => ({
  time: e.time,
  node: e.node,
  stage: e.stage,
  sent: e.sent,
  ip: e.ipaddr,
  bytes: e.bytes ?? 0,
  done: e.done,
  refused: !!e.refused,
  controller,
});

/** Batches this controller's events; a failed write keeps them and is retried with backoff (1 s … 30 s). */
function eventWriter({ db, controller, log, health }: StatusSyncOptions) {
  let queue: BootEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let failures = 0;
  let dropped = 0;
  let caughtUp = 0;
  let pruned = 0;
  const schedule = (ms: number) => {
    timer ??= setTimeout(() => {
      timer = undefined;
      void flush();
    }, ms);
  };
  const once = async () => {
    try {
      if (!queue.length && health.downSince() !== undefined) await lastEventId(db); // nothing queued: is it back?
      while (queue.length) {
        const batch = queue.slice(0, 5000);
        await writeEvents(db, controller, batch);
        queue = queue.slice(batch.length);
        if (health.downSince() !== undefined) caughtUp += batch.length;
      }
      failures = 0;
      if (health.downSince() !== undefined) {
        health.recovered(caughtUp);
        if (dropped) log.warn('store', `${dropped} boot events were dropped while PostgreSQL was away (more than ${QUEUE_MAX} queued)`);
        caughtUp = dropped = 0;
      }
      if (Date.now() - pruned > PRUNE_EVERY_MS) {
        pruned = Date.now();
        await pruneEvents(db).catch((e) => log.warn('store', `cannot prune old boot events: ${errorLine(e)}`));
      }
    } catch (e) {
      if (!health.failed(e)) log.limited('events-write', 'warn', 'store', `cannot write boot events: ${errorLine(e)}`);
      failures++;
      schedule(Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5)));
    }
  };
  const flush = (): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    running ??= once().finally(() => {
      running = undefined;
    });
    return running;
  };
  health.onReachable(() => void flush());
  return {
    push(e: BootEvent) {
      queue.push(e);
      if (queue.length > QUEUE_MAX) {
        dropped += queue.length - QUEUE_MAX;
        queue = queue.slice(-QUEUE_MAX);
      }
      if (!failures) schedule(BATCH_MS);
    },
    queued: () => queue.length,
    flush,
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** Other controllers' events onto this board: on each NOTIFY, each (re)subscription and every 10 s, all after the last id seen. */
async function follower({ db, status, controller, health }: StatusSyncOptions) {
  let lastId: number | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const once = async () => {
    try {
      lastId ??= await lastEventId(db); // history before this server started is in the state it loaded
      for (;;) {
        const rows = await eventsAfter(db, lastId, 2000);
        for (const r of rows) {
          lastId = r.id!;
          if (r.controller === controller) continue;
          const agent = r.stage === 'agent';
          status.record(r.node, agent ? 'runtime' : r.stage, r.sent, r.ip, {
            bytes: r.bytes,
            done: r.done,
            now: r.time,
            agent,
            refused: r.refused,
            remote: true,
            controller: r.controller,
          });
        }
        if (rows.length < 2000) break;
      }
      health.reachable();
    } catch (e) {
      health.failed(e);
    }
  };
  const catchUp = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await once();
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const quiet = quietListenRetries((detail) => health.lostBecause(detail));
  const onNotify = (payload: string) => {
    let from = '';
    try {
      from = String((JSON.parse(payload) as { controller?: unknown }).controller ?? '');
    } catch {
      /* not ours: look anyway */
    }
    if (from !== controller) void catchUp();
  };
  const sub = await db.run((sql) => sql.listen(EVENTS_CHANNEL, onNotify, () => void catchUp()));
  const poll = setInterval(() => void catchUp(), POLL_MS);
  return {
    async stop() {
      clearInterval(poll);
      quiet();
      await sub.unlisten().catch(() => {});
      await running;
    },
  };
}

/**
 * bun:sql reconnects a LISTEN connection by itself, with backoff, and says so with a console.warn per
 * attempt ("bun:sql LISTEN "…" failed, retrying: …"). A server says it once, in its own log: those lines
 * are turned into "the store is down" here, and every other warning passes through untouched.
 */
const retryHandlers = new Set<(detail: string) => void>();
let consoleWarn: typeof console.warn | undefined;
function quietListenRetries(fn: (detail: string) => void): () => void {
  if (!consoleWarn) {
    const orig = console.warn;
    consoleWarn = orig;
    console.warn = (...args: unknown[]) => {
      const line = args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
      if (typeof args[0] === 'string' && args[0].startsWith('bun:sql LISTEN') && retryHandlers.size) {
        const detail = line.replace(/^.*?retrying:\s*/, '');
        for (const h of retryHandlers) h(detail);
        return;
      }
      orig.apply(console, args);
    };
  }
  retryHandlers.add(fn);
  return () => void retryHandlers.delete(fn);
}
