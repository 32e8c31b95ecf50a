// `wulf image shell` and `exec`: a shell or a command inside an image (namespaces + chroot), or, with
// --node, in a read-only view of it with that node's overlays; the image is rebuilt on exit.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx, Flags } from './command.ts';
import { defineCommand, type FlagsOf } from './define.ts';
import { fail } from '../lib/errors.ts';
import { imageDir, mustExist } from '../images/layout.ts';
import { imageSession } from '../images/shell.ts';
import { nodeViewSession } from '../images/nodeview.ts';
import { build, buildFlags, runSync } from './image-build.ts';

const bindFlags = {
  bind: {
    type: 'string',
    short: 'B',
    multiple: true,
    arg: 'SRC[:DST[:ro|copy]]',
    help: 'bind a host path into the image (-b too, as wwctl spells it)',
  },
  'bind-b': { type: 'string', short: 'b', multiple: true, hidden: true, help: "wwctl's -b: the same as --bind" },
  'no-build': { type: 'boolean', help: 'do not rebuild on exit (same as --build=false)' },
  syncuser: { type: 'boolean', help: 'run syncuser on exit if passwd/group changed' },
  node: {
    type: 'string',
    short: 'n',
    arg: 'NODE',
    help: "read-only view of the image with that node's system and runtime overlays (no rebuild)",
  },
  ...buildFlags,
} as const satisfies Flags;
type BindFlags = FlagsOf<typeof bindFlags>;
const buildEq = (argv: string[]) =>
  argv.flatMap((a) => (a === '--build=false' ? ['--no-build'] : a === '--build=true' || a === '--build' ? [] : [a]));
/** --bind and wwctl's -b, in the order given. */
const bindsOf = (flags: BindFlags) => [...(flags.bind ?? []), ...(flags['bind-b'] ?? [])];

async function session(ctx: Ctx, flags: BindFlags, name: string, cmd: string[]): Promise<number> {
  mustExist(ctx.paths, name);
  const node = flags.node;
  if (node) {
    const { nodeOverlayFiles } = await import('../overlays/preview.ts');
    const files = await nodeOverlayFiles(ctx.paths, node, ctx.log, ctx.env);
    const v = await nodeViewSession(ctx.paths, name, {
      node,
      files,
      cmd,
      binds: bindsOf(flags),
      env: ctx.env,
      log: ctx.log,
      noOverlayfs: ctx.env.WULF_VIEW_NO_OVERLAYFS === '1',
    });
    return v.exit;
  }
  const code = await imageSession(ctx.paths, name, {
    cmd,
    binds: bindsOf(flags),
    env: ctx.env,
    log: ctx.log,
    interactive: cmd.length === 0,
  });
  if (code.changedUsers && flags.syncuser) runSync(ctx, name, true);
  if (!flags['no-build'] && existsSync(join(imageDir(ctx.paths, name), 'build', 'current')))
    await build(ctx, name, { ...flags, force: false });
  else if (!flags['no-build']) await build(ctx, name, flags);
  return code.exit;
}

export const shellVerb = defineCommand({
  name: 'shell',
  aliases: ['chroot'],
  summary: 'open a shell inside an image (namespaces + chroot)',
  usage: 'IMAGE [--node NODE]',
  positionals: [{ name: 'image', required: true }],
  flags: bindFlags,
  preprocess: buildEq,
  run: (ctx, { flags, pos: { image } }) => session(ctx, flags, image, []),
});
export const execVerb = defineCommand({
  name: 'exec',
  summary: 'run a command inside an image',
  usage: 'IMAGE [--node NODE] -- CMD [ARGS...]',
  flags: bindFlags,
  preprocess: buildEq,
  passthrough: true,
  positionals: [
    { name: 'image', required: true },
    { name: 'cmd', variadic: true },
  ],
  run(ctx, { flags, pos: { image, cmd } }) {
    if (cmd[0] === '--') cmd.shift();
    if (!cmd.length) fail('usage: wulf image exec IMAGE -- CMD [ARGS...]');
    return session(ctx, flags, image, cmd);
  },
});
