// `wulf controller`: the controllers (`wulf serve`s) sharing the PostgreSQL store — list them, alive or
// late, with their addresses, segments and dynamic ranges; delete one that is gone for good (its range
// is freed). On the files there is one controller, this one.
import { hostname } from 'node:os';
import { WulfError } from '../lib/errors.ts';
import { configuredSpec } from '../store/open.ts';
import { PostgresStore } from '../store/postgres.ts';
import { deleteController, listControllers, type ControllerRow } from '../store/controllers.ts';
import type { Ctx, Noun } from './command.ts';
import { defineCommand } from './define.ts';
import { outputFlags } from './command.ts';
import { table, toJsonText } from './table.ts';

async function withPg<T>(ctx: Ctx, f: (s: PostgresStore) => Promise<T>): Promise<T | undefined> {
  const spec = configuredSpec(ctx.paths, ctx.env);
  if (spec.kind !== 'postgres') return undefined;
  const s = new PostgresStore(spec.url);
  try {
    return await f(s);
  } finally {
    await s.close();
  }
}

const stamp = (d: Date) => {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
};
const state = (c: ControllerRow) => (c.alive ? 'alive' : c.stopped ? 'stopped' : `late ${Math.round(c.ageSeconds)}s`);

const list = defineCommand({
  name: 'list',
  aliases: ['ls'],
  summary: 'the controllers sharing the PostgreSQL store: addresses, segments, range, URL, alive or late',
  flags: { json: outputFlags.json },
  async run(ctx, { flags }) {
    const rows = await withPg(ctx, listControllers);
    if (!rows) {
      const name = ctx.env.WULF_CONTROLLER || hostname();
      if (flags.json) return void ctx.out(toJsonText([{ name, store: 'files' }]));
      return void ctx.out(
        `one controller (this one, "${name}"): the store is files (nodes.conf); several controllers share a PostgreSQL store`,
      );
    }
    if (flags.json) {
      const out = rows.map((c) => ({
        ...c,
        state: state(c),
        startedAt: c.startedAt.toISOString(),
        heartbeatAt: c.heartbeatAt.toISOString(),
      }));
      return void ctx.out(toJsonText(out));
    }
    if (!rows.length) return void ctx.out('no controller has registered yet (wulf serve on this store registers itself)');
    ctx.out(
      table(
        ['NAME', 'ADDRESSES', 'SEGMENTS', 'RANGE', 'URL', 'STATE', 'LAST SEEN'],
        rows.map((c) => [
          c.name,
          c.addresses.join(',') || '-',
          c.segments.join(',') || '-',
          c.ranges.map(([a, b]) => `${a}-${b}`).join(',') || '-',
          c.url,
          state(c),
          stamp(c.heartbeatAt),
        ]),
      ),
    );
  },
});

const del = defineCommand({
  name: 'delete',
  aliases: ['rm'],
  summary: 'forget a controller that is not running (its dynamic range is freed for another)',
  positionals: [{ name: 'name', required: true }],
  usageExit: 2,
  async run(ctx, { pos: { name } }) {
    const done = await withPg(ctx, (s) => deleteController(s, name));
    if (done === undefined) throw new WulfError('the store is files: there is one controller, this one, and nothing to delete');
    if (!done) throw new WulfError(`no controller "${name}"`, { hint: 'wulf controller list shows them' });
    ctx.out(`deleted controller "${name}" and its dynamic range`);
  },
});

export const noun: Noun = {
  verbs: [list, del],
};
