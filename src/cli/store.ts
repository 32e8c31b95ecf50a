// `wulf store`: which store holds the nodes and profiles (info), and moving a site between the
// files and PostgreSQL (copy). A copy is one write on the target: validated whole, all or nothing.
import { WulfError } from '../lib/errors.ts';
import { configuredSpec, storeFor } from '../store/open.ts';
import { parseStoreSpec, redact, type StoreSpec } from '../store/spec.ts';
import { replaceAll, type ConfigStore } from '../store/store.ts';
import type { Noun } from './command.ts';
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
      };
    });
    if (flags.json) return void ctx.out(JSON.stringify(r, null, 2));
    ctx.out(
      [
        `store:     ${r.store} (${r.where})`,
        `revision:  ${r.revision}`,
        ...(r.schema !== undefined ? [`schema:    version ${r.schema}`] : []),
        `contents:  ${count(r.nodes, 'node')}, ${count(r.profiles, 'profile')}`,
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
    if (to.kind === 'postgres') ctx.out(`to use it: "store: ${redact(to.url)}" in ${ctx.paths.wulfConf}, or WULF_STORE`);
  },
});

export const noun: Noun = {
  verbs: [info, copy],
};
