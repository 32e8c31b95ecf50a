// The cluster-wide server settings on the PostgreSQL store (schema 6, table wulf_settings: one row, the
// raw settings as JSON with wulf.conf's keys, and a revision), and what a controller compares before
// answering a node: the nodes' revision, the settings' revision and the registered controllers, in one query.
import { hostname } from 'node:os';
import { WulfError } from '../lib/errors.ts';
import type { Paths } from '../config/paths.ts';
import { effectiveConf } from '../config/cluster-settings.ts';
import { readWulfConf, readWulfConfRaw, type WulfConf } from '../config/wulfconf.ts';
import { configuredSpec, withStore } from './open.ts';
import type { PostgresStore } from './postgres.ts';
import type { ConfigStore } from './store.ts';

type Obj = Record<string, unknown>;

export interface StoredSettings {
  settings: Obj;
  revision: string;
  updatedBy: string;
  updatedAt: Date;
}

export async function readSettings(db: PostgresStore): Promise<StoredSettings | undefined> {
  const [r] = await db.run((sql) => sql`select settings::text as s, revision, updated_by, updated_at from wulf_settings where id = 1`);
  if (!r) return undefined;
  return {
    settings: JSON.parse(String(r.s)) as Obj,
    revision: String(r.revision),
    updatedBy: String(r.updated_by),
    updatedAt: new Date(r.updated_at),
  };
}

/** Replace the settings whole in one transaction; `ifEmpty`: only when the store holds none (false when it did). */
export async function writeSettings(
  db: PostgresStore,
  settings: Obj,
  opts: { ifEmpty?: boolean; by?: string } = {},
): Promise<string | false> {
  const by = opts.by ?? hostname();
  return db.run((sql) =>
    sql.begin(async (tx) => {
      const [old] = await tx`select revision from wulf_settings where id = 1 for update`;
      if (old && opts.ifEmpty) return false;
      const rev = String(old ? Number(old.revision) + 1 : 1);
      const json = JSON.stringify(settings);
      await tx`insert into wulf_settings (id, settings, revision, updated_by) values (1, ${json}::text::json, ${rev}, ${by})
        on conflict (id) do update set settings = excluded.settings, revision = excluded.revision,
          updated_by = excluded.updated_by, updated_at = now()`;
      return rev;
    }),
  );
}

export interface Revisions {
  nodes: string;
  /** '' when the store holds no settings */
  settings: string;
  /** the registered controllers' addresses (the host of each URL), by name, once each */
  controllers: string[];
}

/** One small query: what a controller checks before answering a node. */
export async function revisions(db: PostgresStore): Promise<Revisions> {
  const [r] = await db.run(
    (sql) => sql`select (select value from wulf_meta where key = 'revision') as nodes,
      (select revision::text from wulf_settings where id = 1) as settings,
      (select coalesce(json_agg(url order by name), '[]')::text from wulf_controllers) as urls`,
  );
  if (!r) throw new WulfError(`${db.where}: no revision row`);
  return {
    nodes: String(r.nodes),
    settings: r.settings ? String(r.settings) : '',
    controllers: controllerHosts(JSON.parse(String(r.urls))),
  };
}

function controllerHosts(urls: string[]): string[] {
  const out: string[] = [];
  for (const u of urls) {
    let h = '';
    try {
      h = new URL(u).hostname.replace(/^\[(.*)\]$/, '$1');
    } catch {
      continue;
    }
    if (h && h !== '0.0.0.0' && !out.includes(h)) out.push(h);
  }
  return out;
}

/** The settings overlay templates see: this controller's wulf.conf with the store's cluster-wide part over it, and WWSERVERS. */
export function templateConf(paths: Paths, stored: StoredSettings | undefined, controllers: string[]): WulfConf {
  const { top, text } = readWulfConfRaw(paths);
  const wulf = effectiveConf(top, text, paths.wulfConf, stored);
  const servers: string[] = [];
  for (const a of [wulf.ipaddr || wulf.ipaddr6, ...controllers]) if (a && !servers.includes(a)) servers.push(a);
  return { ...wulf, servers };
}

/** templateConf read from an open store (one settings read, one revisions query); the files: wulf.conf. */
export async function templateConfOf(paths: Paths, store: ConfigStore | undefined): Promise<WulfConf> {
  if (store?.kind !== 'postgres') return readWulfConf(paths);
  const db = store as PostgresStore;
  const r = await revisions(db);
  return templateConf(paths, r.settings ? await readSettings(db) : undefined, r.controllers);
}

/** templateConf from the configured store (WULF_STORE, else wulf.conf's store:), closed after. */
export async function readTemplateConf(paths: Paths, env: Record<string, string | undefined>): Promise<WulfConf> {
  if (configuredSpec(paths, env).kind !== 'postgres') return readWulfConf(paths);
  return withStore(paths, env, (s) => templateConfOf(paths, s));
}
