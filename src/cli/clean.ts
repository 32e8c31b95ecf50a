// `wulf clean` (wwctl clean): remove the registry blob cache, the overlay archives of deleted nodes and
// the leftovers of interrupted imports and builds, saying what each removed path was.
import { readConfigured } from '../store/open.ts';
import { clean, planClean } from '../maint/clean.ts';
import type { Noun } from './command.ts';
import { defineCommand } from './define.ts';

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

const direct = defineCommand({
  name: '',
  summary: 'remove the registry blob cache, the overlay archives of deleted nodes, and leftovers of interrupted imports and builds',
  flags: { 'dry-run': { type: 'boolean', short: 'n', help: 'say what would be removed, remove nothing' } },
  async run(ctx, { flags }) {
    const nodes = new Set(Object.keys((await readConfigured(ctx.paths, ctx.env)).nodes));
    const dry = flags['dry-run'];
    const r = dry ? planClean(ctx.paths, nodes) : clean(ctx.paths, nodes);
    for (const x of r.removed) ctx.out(`${dry ? 'would remove' : 'removed'} ${x.path} (${mib(x.bytes)}): ${x.why}`);
    for (const k of r.kept) ctx.out(`kept ${k.path}: ${k.why}`);
    const total = r.removed.reduce((n, x) => n + x.bytes, 0);
    ctx.out(
      r.removed.length
        ? `${dry ? 'would free' : 'freed'} ${mib(total)} in ${r.removed.length} item${r.removed.length === 1 ? '' : 's'}`
        : 'nothing to clean',
    );
    return 0;
  },
});

export const noun: Noun = { verbs: [], direct };
