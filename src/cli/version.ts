// `wulf version`: the version, commit and embedded assets of this binary.
import type { Noun } from './command.ts';
import { buildInfo, compiled } from '../lib/assets.ts';

export const noun: Noun = {
  name: 'version',
  summary: 'print the version',
  verbs: [],
  direct: {
    name: '',
    summary: 'print the version',
    flags: { full: { type: 'boolean', short: 'f', help: 'also print build details' } },
    run(ctx, flags) {
      const b = buildInfo();
      ctx.out(
        `wulf ${b.version}${flags.full ? ` (commit ${b.commit}, built ${b.built || 'from source'}, ${compiled ? 'compiled' : 'source'}, bun ${Bun.version}, iPXE: ${b.ipxe.join(' ') || 'none'})` : ''}`,
      );
    },
  },
};
