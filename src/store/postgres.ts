// The PostgreSQL backend. Entries are rows (section, name, data as JSON); one revision counter
// row is the point every writer serialises on: a write locks it (select … for update), reads the
// configuration fresh, checks the revision it was based on, runs the change, validates the whole
// configuration and writes only the entries that changed, all in one transaction. Reads see one
// snapshot. Connection failures become one line naming the server.
import { SQL } from 'bun';
import { WulfError } from '../lib/errors.ts';
import { tracked, type UpdateResult } from '../config/store.ts';
import { validateConf } from '../config/validate.ts';
import { checkNetworks } from '../config/netcheck.ts';
import type { NodeData } from '../config/schema.ts';
import type { ConfigStore, Mutate, NodesConf } from './store.ts';
import { migrate } from './migrations.ts';
import { redact } from './spec.ts';

type Sql = InstanceType<typeof SQL>;
const SECTIONS = ['profiles', 'nodes'] as const;
const CHUNK = 1000;

/** Any failure of the client as one line; unreachable servers say so and name the URL. */
export function pgError(e: unknown, where: string): Error {
  if (e instanceof WulfError) return e;
  const err = e as { code?: string; errno?: string; message?: string };
  const msg = String(err?.message ?? e).split('\n')[0]!;
  const code = String(err?.code ?? '');
  if (
    /CONNECTION|ECONNREFUSED|ENOENT|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|TLS/i.test(code) ||
    /failed to connect|connection (closed|refused|timed out)/i.test(msg)
  ) {
    return new WulfError(`cannot reach PostgreSQL at ${where}: ${msg}`, {
      hint: 'is the server up? the store is set by WULF_STORE or "store:" in wulf.conf',
      code: 'ESTOREDOWN',
    });
  }
  return new WulfError(`${where}: ${msg}`, { code: 'ESTORE' });
}

async function load(tx: Sql, revision: string): Promise<NodesConf> {
  const conf: NodesConf = { profiles: {}, nodes: {}, revision };
  const rows = await tx`select section, name, data::text as data from wulf_entries order by seq`;
  for (const r of rows as { section: 'nodes' | 'profiles'; name: string; data: string }[])
    conf[r.section][r.name] = JSON.parse(r.data) as NodeData;
  return conf;
}

export class PostgresStore implements ConfigStore {
  readonly kind = 'postgres' as const;
  readonly where: string;
  private sql: Sql;
  private ready?: Promise<number>;

  constructor(url: string) {
    this.where = redact(url);
    this.sql = new SQL(url, { max: 2, connectionTimeout: 5, idleTimeout: 10 });
  }

  /** Run `f` on the migrated database; any failure is one line (state-pg.ts uses this too). */
  async run<T>(f: (sql: Sql) => Promise<T>): Promise<T> {
    try {
      // a failed first contact is tried again on the next call (the server may be back by then)
      this.ready ??= migrate(this.sql, this.where).catch((e) => {
        this.ready = undefined;
        throw e;
      });
      await this.ready;
      return await f(this.sql);
    } catch (e) {
      throw pgError(e, this.where);
    }
  }

  schemaVersion(): Promise<number | undefined> {
    return this.run(async () => this.ready);
  }

  read(): Promise<NodesConf> {
    return this.run((sql) =>
      sql.begin('isolation level repeatable read read only', async (tx) => {
        const [r] = await tx`select value from wulf_meta where key = 'revision'`;
        return load(tx, String(r.value));
      }),
    );
  }

  revision(): Promise<string> {
    return this.run(async (sql) => String((await sql`select value from wulf_meta where key = 'revision'`)[0].value));
  }

  update<T>(mutate: Mutate<T>, opts: { expectedRevision?: string } = {}): Promise<UpdateResult<T>> {
    return this.run((sql) =>
      sql.begin(async (tx) => {
        const [r] = await tx`select value from wulf_meta where key = 'revision' for update`;
        const rev = String(r.value);
        if (opts.expectedRevision && opts.expectedRevision !== rev) {
          throw new WulfError(`${this.where} changed since it was read (revision ${opts.expectedRevision} → ${rev})`, {
            hint: 'nothing was written; read it again and redo the change',
            code: 'ESTALE',
          });
        }
        const before = await load(tx, rev);
        const t = { profiles: tracked(before.profiles), nodes: tracked(before.nodes) };
        const result = await mutate(Object.freeze({ profiles: t.profiles.proxy, nodes: t.nodes.proxy, revision: rev }));
        validateConf(before);
        // bonds, VLANs and network tags of what changed (merged with profiles), as the file backend checks them
        const names = { nodes: t.nodes.changed(), profiles: t.profiles.changed() };
        checkNetworks(
          before,
          names.nodes.filter((n) => before.nodes[n]),
          names.profiles,
        );
        let changed = 0;
        for (const sec of SECTIONS) {
          const gone = names[sec].filter((n) => !before[sec][n]);
          const rows = names[sec].filter((n) => before[sec][n]).map((n) => ({ section: sec, name: n, data: before[sec][n] }));
          for (let i = 0; i < gone.length; i += CHUNK)
            await tx`delete from wulf_entries where section = ${sec} and name in ${tx(gone.slice(i, i + CHUNK))}`;
          for (let i = 0; i < rows.length; i += CHUNK) {
            const chunk = tx(rows.slice(i, i + CHUNK), 'section', 'name', 'data');
            await tx`insert into wulf_entries ${chunk} on conflict (section, name) do update set data = excluded.data`;
          }
          changed += names[sec].length;
        }
        if (!changed) return { result, revision: rev, changed: false, aliasesExpanded: 0 };
        const next = String(Number(rev) + 1);
        await tx`update wulf_meta set value = ${next} where key = 'revision'`;
        return { result, revision: next, changed: true, aliasesExpanded: 0 };
      }),
    );
  }

  async close(): Promise<void> {
    try {
      await this.sql.close({ timeout: 1 });
    } catch {
      /* closing a pool that never connected */
    }
  }
}
