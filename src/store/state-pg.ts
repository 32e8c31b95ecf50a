// Runtime state (DHCP leases, boot status, unknown MACs) in PostgreSQL, one row per lease (by
// address), node and MAC, each with the controller that wrote it. The server's snapshot is written
// as a difference against what was last written, in one transaction: a write that fails changes
// nothing, and the next one carries everything since (nothing is lost while PostgreSQL is away).
import type { Logger } from '../lib/log.ts';
import { errorLine } from '../lib/errors.ts';
import type { RuntimeState } from '../runtime/state-file.ts';
import type { PostgresStore } from './postgres.ts';

type Kind = 'lease' | 'status' | 'unknown';
const key = (k: Kind, id: string) => `${k}\u0000${id}`;

function rowsOf(s: RuntimeState): Map<string, { kind: Kind; key: string; data: unknown; json: string }> {
  const m = new Map<string, { kind: Kind; key: string; data: unknown; json: string }>();
  const put = (kind: Kind, id: string, data: unknown) => m.set(key(kind, id), { kind, key: id, data, json: JSON.stringify(data) });
  for (const l of s.leases as { ip?: unknown }[]) if (l && typeof l.ip === 'string') put('lease', l.ip, l);
  for (const [n, v] of Object.entries(s.status)) put('status', n, v);
  for (const [mac, v] of Object.entries(s.unknown ?? {})) put('unknown', mac, v);
  return m;
}

export class PostgresState {
  private written = new Map<string, string>();
  constructor(
    private readonly store: PostgresStore,
    readonly controller: string,
  ) {}

  /** Everything the store holds (every controller's rows); `rows` 0 means none yet. */
  async load(): Promise<{ state: RuntimeState; rows: number }> {
    const rows = (await this.store.run((sql) => sql`select kind, key, data::text as data from wulf_state order by kind, key`)) as {
      kind: Kind;
      key: string;
      data: string;
    }[];
    const state: RuntimeState = { version: 1, leases: [], status: {}, unknown: {} };
    for (const r of rows) {
      const v = JSON.parse(r.data) as unknown;
      if (r.kind === 'lease') state.leases.push(v);
      else if (r.kind === 'status') state.status[r.key] = v;
      else state.unknown![r.key] = v;
      this.written.set(key(r.kind, r.key), r.data);
    }
    return { state, rows: rows.length };
  }

  /** Write what changed since the last successful write; true when written. */
  async save(s: RuntimeState): Promise<void> {
    const now = rowsOf(s);
    const changed = [...now].filter(([k, r]) => this.written.get(k) !== r.json).map(([, r]) => r);
    const gone = [...this.written.keys()]
      .filter((k) => !now.has(k))
      .map((k) => {
        const [kind, id] = k.split('\u0000') as [Kind, string];
        return { kind, id };
      });
    if (!changed.length && !gone.length) return;
    await this.store.run((sql) =>
      sql.begin(async (tx) => {
        for (let i = 0; i < changed.length; i += 1000) {
          const rows = changed.slice(i, i + 1000).map((r) => ({ kind: r.kind, key: r.key, data: r.data, controller: this.controller }));
          await tx`insert into wulf_state ${tx(rows, 'kind', 'key', 'data', 'controller')}
                 on conflict (kind, key) do update set data = excluded.data, controller = excluded.controller, updated_at = now()`;
        }
        for (const g of gone) await tx`delete from wulf_state where kind = ${g.kind} and key = ${g.id}`;
      }),
    );
    for (const r of changed) this.written.set(key(r.kind, r.key), r.json);
    for (const g of gone) this.written.delete(key(g.kind, g.id));
  }
}

/** Told about the writes (a server's store health): `failed` true means it took the failure over (and said so). */
export interface WriteHealth {
  failed(e: unknown): boolean;
  reachable(): void;
}

/** Debounced writer like state-file.ts's: `touch()` after a change; a failed write is retried in 5 s. */
export function pgStateWriter(st: PostgresState, snapshot: () => RuntimeState, log: Logger, delayMs = 1000, health?: WriteHealth) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failing = false;
  const flush = async () => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    try {
      await st.save(snapshot());
      if (failing && !health) log.info('state', 'runtime state written to PostgreSQL again');
      if (failing) health?.reachable();
      failing = false;
    } catch (e) {
      if (!failing && !health?.failed(e))
        log.warn('state', `cannot write runtime state to PostgreSQL (${errorLine(e)}); kept in memory and state.cbor, retried every 5 s`);
      failing = true;
      timer ??= setTimeout(() => void flush(), 5000);
    }
  };
  return {
    touch() {
      if (!timer) timer = setTimeout(() => void flush(), delayMs);
    },
    flush,
  };
}
