// `wulf store`: which store holds the nodes and profiles (info), moving a site between the files and
// PostgreSQL (copy), and the cluster-wide server settings the PostgreSQL store holds (settings). A copy is
// one write on the target: validated whole, all or nothing.
import { WulfError } from '../lib/errors.ts';
import { checkShared, clusterPart, differingKeys, settingsYaml } from '../config/cluster-settings.ts';
import { readWulfConf, readWulfConfRaw } from '../config/wulfconf.ts';
import type { PostgresStore } from '../store/postgres.ts';
import { readSettings, writeSettings } from '../store/settings-pg.ts';
import { configuredSpec, storeFor } from '../store/open.ts';
import { parseStoreSpec, redact, type StoreSpec } from '../store/spec.ts';
import { replaceAll, type ConfigStore } from '../store/store.ts';
import type { Ctx, Noun } from './command.ts';
import { defineCommand } from './define.ts';
import { outputFlags } from './command.ts';

const count = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
const same = (a: StoreSpec, b: StoreSpec) =>
  a.kind === b.kind && (a.kind === 'files' || redact(a.url) === redact((b as { url: string }).url));

async function using<T>(s: ConfigStore, f: (s: ConfigStore) => Promise<T>): Promise<T> {
  try {
    return await f(s);
  } finally {
    await s.close();
  }
}

const info = defineCommand({
  name: 'info',
  aliases: ['status'],
  summary: 'the store in use (files or PostgreSQL), its revision, schema and size',
  flags: { json: outputFlags.json },
  async run(ctx, { flags }) {
    const spec = configuredSpec(ctx.paths, ctx.env);
    const r = await using(storeFor(spec, ctx.paths), async (s) => {
      const conf = await s.read();
      return {
        store: s.kind,
        where: s.where,
        revision: conf.revision,
        schema: await s.schemaVersion(),
        nodes: Object.keys(conf.nodes).length,
        profiles: Object.keys(conf.profiles).length,
        settings: s.kind === 'postgres' ? ((await readSettings(s as PostgresStore))?.revision ?? null) : undefined,
      };
    });
    if (flags.json) return void ctx.out(JSON.stringify(r, null, 2));
    ctx.out(
      [
        `store:     ${r.store} (${r.where})`,
        `revision:  ${r.revision}`,
        ...(r.schema !== undefined ? [`schema:    version ${r.schema}`] : []),
        `contents:  ${count(r.nodes, 'node')}, ${count(r.profiles, 'profile')}`,
        ...(r.store === 'postgres'
          ? [r.settings ? `settings:  cluster-wide, revision ${r.settings}` : 'settings:  none in the store (wulf store settings --push)']
          : []),
      ].join('\n'),
    );
  },
});

const copy = defineCommand({
  name: 'copy',
  summary: 'copy every node and profile to another store: --to postgres://… or --to files',
  flags: {
    to: { type: 'string', arg: 'STORE', help: 'the target: files (nodes.conf under this root) or a postgres:// URL' },
    from: {
      type: 'string',
      arg: 'STORE',
      help: 'the source (default: the store in use: WULF_STORE, else "store:" in wulf.conf, else files)',
    },
    replace: { type: 'boolean', help: 'replace what the target already holds (nodes.conf keeps its previous revision as nodes.conf.bak)' },
  },
  usageHint: 'use --to STORE',
  usageExit: 2,
  async run(ctx, { flags }) {
    if (!flags.to) throw new WulfError('name the target with --to files or --to postgres://…', { exitCode: 2 });
    const to = parseStoreSpec(flags.to, '--to');
    const from = flags.from !== undefined ? parseStoreSpec(flags.from, '--from') : configuredSpec(ctx.paths, ctx.env);
    if (same(from, to))
      throw new WulfError(`the source and the target are the same store (${to.kind === 'files' ? ctx.paths.nodesConf : redact(to.url)})`, {
        hint: 'name the other one with --to (or --from)',
      });
    // the settings first: a bad one is refused before anything is copied
    const shared = to.kind === 'postgres' ? await settingsToCopy(ctx.paths, from) : undefined;
    const src = await using(storeFor(from, ctx.paths), (s) => s.read());
    const res = await using(storeFor(to, ctx.paths), (s) =>
      s.update((conf) => {
        const had = Object.keys(conf.nodes).length,
          hadP = Object.keys(conf.profiles).length;
        if ((had || hadP) && !flags.replace) {
          throw new WulfError(`${s.where} already holds ${count(had, 'node')} and ${count(hadP, 'profile')}; nothing was copied`, {
            hint: 'add --replace to replace them',
          });
        }
        replaceAll(conf, src);
        return s.where;
      }),
    );
    const copied = `${count(Object.keys(src.nodes).length, 'node')} and ${count(Object.keys(src.profiles).length, 'profile')}`;
    ctx.out(`copied ${copied} to ${res.result} (revision ${res.revision})`);
    if (to.kind === 'postgres') {
      ctx.out(await copySettings(storeFor(to, ctx.paths) as PostgresStore, shared!, !!flags.replace));
      ctx.out(`to use it: "store: ${redact(to.url)}" in ${ctx.paths.wulfConf}, or WULF_STORE`);
    } else if (from.kind === 'postgres') ctx.out(await compareSettings(ctx.paths, storeFor(from, ctx.paths) as PostgresStore));
  },
});

type Shared = { settings: Record<string, unknown>; from: string };

/** What a copy to PostgreSQL carries: the source store's settings (PostgreSQL holding some), else wulf.conf's cluster-wide part. */
async function settingsToCopy(paths: Ctx['paths'], from: StoreSpec): Promise<Shared> {
  if (from.kind === 'postgres') {
    const db = storeFor(from, paths) as PostgresStore;
    const stored = await using(db, () => readSettings(db));
    if (stored) return { settings: stored.settings, from: db.where };
  }
  readWulfConf(paths); // the whole file valid
  const part = clusterPart(readWulfConfRaw(paths).top);
  checkShared(part, paths.wulfConf);
  return { settings: part, from: paths.wulfConf };
}

/** store copy --to postgres://…: the cluster-wide settings too, when the target holds none (or --replace). */
async function copySettings(db: PostgresStore, shared: Shared, replace: boolean): Promise<string> {
  return using(db, async () => {
    const rev = await writeSettings(db, shared.settings, { ifEmpty: !replace });
    return rev === false
      ? `settings: the store already holds cluster-wide settings: kept (--replace overwrites them with ${shared.from}'s)`
      : `settings: ${count(Object.keys(shared.settings).length, 'cluster-wide key')} of ${shared.from} copied (revision ${rev})`;
  });
}

/** store copy --to files: wulf.conf stays the admin's file; one line saying where it and the store differ. */
async function compareSettings(paths: Ctx['paths'], db: PostgresStore): Promise<string> {
  const stored = await using(db, () => readSettings(db));
  if (!stored) return 'settings: none in the store; wulf.conf is as it was';
  const differ = differingKeys(readWulfConfRaw(paths).top, stored.settings);
  return differ.length
    ? `settings: ${paths.wulfConf} differs from the store's cluster-wide settings on ${differ.join(', ')} ` +
        "(not written: edit wulf.conf; wulf store settings shows the store's)"
    : `settings: ${paths.wulfConf} matches the store's cluster-wide settings`;
}

const settings = defineCommand({
  name: 'settings',
  summary: "the cluster-wide server settings in the store, as wulf.conf YAML; --push writes this controller's wulf.conf's",
  flags: {
    push: {
      type: 'boolean',
      help: "write the cluster-wide part of this controller's wulf.conf into the store (validated whole, one transaction)",
    },
  },
  async run(ctx, { flags }) {
    const spec = configuredSpec(ctx.paths, ctx.env);
    if (spec.kind !== 'postgres')
      return void ctx.out(`on the files the server settings are ${ctx.paths.wulfConf}: nothing is stored elsewhere`);
    const db = storeFor(spec, ctx.paths) as PostgresStore;
    if (flags.push) {
      readWulfConf(ctx.paths); // the whole file validated first: a bad value is one line, nothing written
      const part = clusterPart(readWulfConfRaw(ctx.paths).top);
      checkShared(part, ctx.paths.wulfConf);
      const rev = await using(db, () => writeSettings(db, part));
      return void ctx.out(
        `pushed ${count(Object.keys(part).length, 'cluster-wide key')} of ${ctx.paths.wulfConf} to ${db.where} (revision ${rev})`,
      );
    }
    const stored = await using(db, () => readSettings(db));
    if (!stored) return void ctx.out('settings: none in the store (wulf store settings --push)');
    ctx.out(`# cluster-wide settings in ${db.where}, revision ${stored.revision} (${stored.updatedBy}, ${stored.updatedAt.toISOString()})`);
    ctx.out(settingsYaml(stored.settings).trimEnd());
  },
});

export const noun: Noun = {
  verbs: [info, copy, settings],
};
