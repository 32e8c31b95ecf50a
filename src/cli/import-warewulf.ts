// `wulf import-warewulf [DIR]`: move a Warewulf site to wulf in one command (src/migrate/). Thin:
// flags → the site's paths → a plan (read only) → its changes → printed (--dry-run) or written
// all or nothing.
import { convertGoTemplate } from '../overlays/gotemplate/index.ts';
import { changesOf, commitPlan } from '../migrate/commit.ts';
import { makePlan } from '../migrate/plan.ts';
import { locateSite } from '../migrate/site.ts';
import { problemLine } from '../migrate/wwconf.ts';
import { showChanges } from '../migrate/show.ts';
import type { Noun } from './command.ts';
import { defineCommand } from './define.ts';
import { WulfError } from '../lib/errors.ts';
import { configuredSpec } from '../store/open.ts';

export const noun: Noun = {
  verbs: [],
  direct: defineCommand({
    name: '',
    positionals: [{ name: 'dir' }],
    summary:
      'read a Warewulf site (DIR: its config dir, default /etc/warewulf) and write the wulf equivalents, all or nothing;' +
      ' a second run changes nothing',
    flags: {
      'dry-run': {
        type: 'boolean',
        short: 'n',
        help: 'print what would be written and every line that cannot be carried over; write nothing',
      },
      show: {
        type: 'boolean',
        help: 'also print the text of what would be written: wulf.conf, the nodes.conf entries, each converted template',
      },
      'state-dir': {
        type: 'string',
        help: "Warewulf's state dir: overlays/ and chroots/ (default /var/lib/warewulf, or warewulf.conf paths)",
        arg: 'DIR',
      },
      overlays: { type: 'string', help: 'the site overlay dir (default <state-dir>/overlays)', arg: 'DIR' },
      chroots: { type: 'string', help: 'the image chroot dir (default <state-dir>/chroots)', arg: 'DIR' },
      'dist-overlays': { type: 'string', help: "Warewulf's distribution overlay dir (default /usr/share/warewulf/overlays)", arg: 'DIR' },
      'warewulf-conf': { type: 'string', help: 'the warewulf.conf (default DIR/warewulf.conf)', arg: 'FILE' },
      'nodes-conf': { type: 'string', help: 'the nodes.conf (default DIR/nodes.conf)', arg: 'FILE' },
      'replace-shipped': {
        type: 'boolean',
        help: 'import a site overlay even when wulf ships one of that name (Warewulf 4.5 and older kept wwinit, hosts... there)',
      },
      'site-root': { type: 'string', help: "a copy of a whole site's files: every default path above is read under it", arg: 'DIR' },
    },
    async run(ctx, { flags, pos }) {
      // it writes nodes.conf with wulf.conf, all or nothing: on the PostgreSQL store the nodes would land beside it, unseen
      if (configuredSpec(ctx.paths, ctx.env).kind !== 'files') {
        throw new WulfError('import-warewulf writes nodes.conf, and this wulf uses the PostgreSQL store', {
          hint: 'import with the files store (no WULF_STORE / "store:"), then: wulf store copy --to postgres://…',
        });
      }
      const site = locateSite({
        dir: pos.dir,
        siteRoot: flags['site-root'],
        stateDir: flags['state-dir'],
        overlays: flags.overlays,
        chroots: flags.chroots,
        distOverlays: flags['dist-overlays'],
        wwConf: flags['warewulf-conf'],
        nodesConf: flags['nodes-conf'],
      });
      const plan = makePlan(site, ctx.paths, convertGoTemplate, { replaceShipped: flags['replace-shipped'] });
      const changes = changesOf(plan, ctx.paths);
      const dry = flags['dry-run'];
      if (!changes.length) ctx.out('nothing to change: wulf already has this site');
      for (const c of changes) ctx.out(`${dry ? 'would write' : 'writing'} ${c.kind} ${c.target}: ${c.detail}`);
      if (plan.problems.length) {
        ctx.out(`not carried over as they are (${plan.problems.length}):`);
        for (const p of plan.problems) ctx.out(`  ${problemLine(p)}`);
      }
      if (flags.show && changes.length) ctx.out(showChanges(plan, ctx.paths, changes));
      if (dry || !changes.length) return 0;
      const r = await commitPlan(plan, ctx.paths, changes, (line) => ctx.log.debug('import', line));
      ctx.out(`imported: ${changes.length} change(s)${r.backup ? `; what was replaced is kept in ${r.backup}` : ''}`);
      return 0;
    },
  }),
};
