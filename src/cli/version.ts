// `wulf version`: the version, commit and embedded assets of this binary.
import type { Noun } from './command.ts';
import { defineCommand } from './define.ts';
import { buildInfo, compiled } from '../lib/assets.ts';

export const noun: Noun = {
  verbs: [],
  direct: defineCommand({
    name: '',
    summary: 'print the version',
    flags: { full: { type: 'boolean', short: 'f', help: 'also print build details' } },
    run(ctx, { flags }) {
      const b = buildInfo();
      const full = ` (commit ${b.commit}, built ${b.built || 'from source'}, ${compiled ? 'compiled' : 'source'}, bun ${Bun.version}, `;
      ctx.out(`wulf ${b.version}${flags.full ? `${full}iPXE: ${b.ipxe.join(' ') || 'none'})` : ''}`);
    },
  }),
};
