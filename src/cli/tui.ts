// `wulf tui` (and `wulf` alone on a terminal): the console UI. ink and react load only here.
import type { Noun } from './command.ts';
import { defineCommand } from './define.ts';
import { fail } from '../lib/errors.ts';

export const noun: Noun = {
  verbs: [],
  direct: defineCommand({
    name: '',
    summary: 'the console UI: live node status, detail and edits, profiles, images, overlays, log',
    flags: { server: { type: 'string', arg: 'URL', help: 'the running server (default: wulf.conf ipaddr and port)' } },
    async run(ctx, { flags }) {
      if (!ctx.isTTY) fail('wulf tui needs a terminal', "run it in a terminal, or use 'wulf node list' / 'wulf node status'");
      const { runTui } = await import('../tui/run.tsx');
      return runTui(ctx, { server: flags.server });
    },
  }),
};
