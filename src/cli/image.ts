// `wulf image` (aliases container, vnfs): import, build, rollback, list, show, kernels, copy,
// rename, delete, shell/exec and syncuser, on the services in src/images.
import { type Ctx, type Noun, yesFlag } from './command.ts';
import { defineCommand } from './define.ts';
import { fail, WulfError } from '../lib/errors.ts';
import { importImage } from '../images/import.ts';
import { progressFor } from '../images/progress.ts';
import { rollbackImage } from '../images/build.ts';
import { listImageNames, mustExist } from '../images/layout.ts';
import { copyImage, deleteImage, renameImage } from '../images/manage.ts';
import { build, buildFlags, nodeCounts, publish, runSync } from './image-build.ts';
import { unpublishImage } from '../images/publish.ts';
import { imageArtifactPath } from '../images/service.ts';
import { execVerb, shellVerb } from './image-shell.ts';
import { kernelsVerb, listVerb, showVerb } from './image-views.ts';

async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const on = () => ac.abort(new WulfError('interrupted', { code: 'EINTR' }));
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  try {
    return await fn(ac.signal);
  } finally {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  }
}

/** WULF_OCI_<KEY>, else Warewulf's WAREWULF_OCI_<KEY> (USERNAME, PASSWORD, NOHTTPS, PLATFORM). */
const ociEnv = (ctx: Ctx, key: string): string | undefined => ctx.env[`WULF_OCI_${key}`] || ctx.env[`WAREWULF_OCI_${key}`] || undefined;

const importVerb = defineCommand({
  name: 'import',
  aliases: ['pull'],
  summary: 'import an image from a registry, OCI layout/archive, docker-archive, directory or tarball',
  positionals: [{ name: 'source', required: true }, { name: 'name' }],
  flags: {
    force: { type: 'boolean', short: 'f', help: 'replace an existing image' },
    update: { type: 'boolean', short: 'u', help: 'apply the source onto the existing image' },
    build: { type: 'boolean', short: 'b', help: 'build the image after import' },
    platform: { type: 'string', arg: 'OS/ARCH', help: 'platform to pull from a multi-arch index (default: this host)' },
    nohttps: { type: 'boolean', help: 'talk plain HTTP to the registry (or WULF_OCI_NOHTTPS, WAREWULF_OCI_NOHTTPS=true)' },
    username: { type: 'string', help: 'registry user (or WULF_OCI_USERNAME, WAREWULF_OCI_USERNAME)' },
    password: { type: 'string', help: 'registry password (or WULF_OCI_PASSWORD, WAREWULF_OCI_PASSWORD)' },
    syncuser: { type: 'boolean', help: "merge the controller's users and groups into the image after import (see image syncuser)" },
    passwd: { type: 'string', hidden: true, help: "wwctl's hidden spelling of --password" },
    arch: { type: 'string', hidden: true, help: "wwctl's hidden spelling of --platform" },
    ...buildFlags,
  },
  async run(ctx, { flags, pos: { source, name } }) {
    const tty = !!process.stderr.isTTY;
    const meta = await withInterrupt((signal) =>
      importImage(ctx.paths, {
        source,
        name,
        force: flags.force,
        update: flags.update,
        signal,
        log: ctx.log,
        platform: flags.platform ?? flags.arch ?? ociEnv(ctx, 'PLATFORM'),
        nohttps: flags.nohttps || /^(true|1|yes)$/i.test(ociEnv(ctx, 'NOHTTPS') ?? ''),
        username: flags.username ?? ociEnv(ctx, 'USERNAME'),
        password: flags.password ?? flags.passwd ?? ociEnv(ctx, 'PASSWORD'),
        progress: progressFor(tty ? (s) => process.stderr.write(s) : (s) => ctx.err(s.replace(/\n$/, '')), tty),
      }),
    );
    ctx.err(`imported ${meta.name}${meta.digest ? ' ' + meta.digest : ''} (${meta.layers.length} layer(s))`);
    if (flags.syncuser) runSync(ctx, meta.name, true);
    if (flags.build) await build(ctx, meta.name, flags);
    return 0;
  },
});

const buildVerb = defineCommand({
  name: 'build',
  summary: 'build the boot image (cpio.gz or cpio.zst) of images',
  usage: 'IMAGE...|-a',
  positionals: [{ name: 'images', variadic: true }],
  flags: {
    all: { type: 'boolean', short: 'a', help: 'build all images' },
    force: { type: 'boolean', short: 'f', help: 'rebuild even if unchanged' },
    syncuser: { type: 'boolean', help: "merge the controller's users and groups into each image first (see image syncuser)" },
    ...buildFlags,
  },
  async run(ctx, { flags, pos: { images } }) {
    const list = flags.all ? listImageNames(ctx.paths) : images;
    if (!list.length) fail(flags.all ? 'no images to build' : 'name an image to build, or -a for all');
    for (const n of list) {
      mustExist(ctx.paths, n);
      if (flags.syncuser) runSync(ctx, n, true);
      await build(ctx, n, flags);
    }
    return 0;
  },
});

const rollbackVerb = defineCommand({
  name: 'rollback',
  summary: 'serve the previous build of an image again',
  positionals: [{ name: 'image', required: true }],
  async run(ctx, { pos: { image: name } }) {
    const p = await rollbackImage(ctx.paths, name);
    ctx.err(`image ${name}: now serving ${p.file} (built ${p.built})`);
    await publish(ctx, name);
    return 0;
  },
});

const copyVerb = defineCommand({
  name: 'copy',
  aliases: ['cp'],
  summary: 'copy an image',
  positionals: [
    { name: 'source', required: true },
    { name: 'new', required: true },
  ],
  flags: { build: { type: 'boolean', short: 'b', help: 'build the copy' }, ...buildFlags },
  async run(ctx, { flags, pos: { source: src, new: dst } }) {
    await copyImage(ctx.paths, src, dst);
    ctx.err(`copied image ${src} to ${dst}`);
    if (flags.build) await build(ctx, dst, flags);
    return 0;
  },
});

const renameVerb = defineCommand({
  name: 'rename',
  aliases: ['mv'],
  summary: 'rename an image (nodes that use it are not changed)',
  positionals: [
    { name: 'old', required: true },
    { name: 'new', required: true },
  ],
  flags: { build: { type: 'boolean', short: 'b', help: 'build the renamed image' }, ...buildFlags },
  async run(ctx, { flags, pos: { old: src, new: dst } }) {
    await renameImage(ctx.paths, src, dst);
    await unpublishImage(ctx.paths, ctx.env, src);
    if (!flags.build && imageArtifactPath(ctx.paths, dst)) await publish(ctx, dst);
    const { byImage } = await nodeCounts(ctx);
    ctx.err(`renamed image ${src} to ${dst}`);
    const users = byImage.get(src)?.length ?? 0;
    if (users) ctx.err(`warning: ${users} node(s) still name image "${src}"; change them with 'wulf node set --image ${dst}'`);
    if (flags.build) await build(ctx, dst, flags);
    return 0;
  },
});

const deleteVerb = defineCommand({
  name: 'delete',
  aliases: ['rm', 'del', 'remove'],
  summary: 'delete images',
  positionals: [{ name: 'image', variadic: true, required: true }],
  flags: { ...yesFlag },
  async run(ctx, { flags, pos: { image: names } }) {
    names.forEach((n) => mustExist(ctx.paths, n));
    const { byImage } = await nodeCounts(ctx);
    const used = names.filter((n) => byImage.get(n)?.length);
    if (used.length) fail(`image ${used[0]} is used by ${byImage.get(used[0]!)!.length} node(s)`, 'change those nodes first');
    if (!flags.yes && !(await ctx.confirm(`delete image(s) ${names.join(', ')}?`)))
      fail('not confirmed; pass --yes to delete without asking');
    for (const n of names) {
      await deleteImage(ctx.paths, n);
      await unpublishImage(ctx.paths, ctx.env, n);
      ctx.err(`deleted image ${n}`);
    }
    return 0;
  },
});

const syncuserVerb = defineCommand({
  name: 'syncuser',
  summary: "merge the server's users and groups into an image",
  positionals: [{ name: 'image', required: true }],
  flags: {
    'no-write': { type: 'boolean', help: 'report the conflicts and files to re-own, change nothing (same as --write=false, --dry-run)' },
    'dry-run': { type: 'boolean', short: 'n', help: 'same as --no-write' },
    build: { type: 'boolean', short: 'b', help: 'build the image afterwards' },
    ...buildFlags,
  },
  preprocess: (argv) => argv.flatMap((a) => (a === '--write=false' ? ['--no-write'] : a === '--write=true' || a === '--write' ? [] : [a])),
  async run(ctx, { flags, pos: { image: name } }) {
    mustExist(ctx.paths, name);
    const write = !flags['no-write'] && !flags['dry-run'];
    runSync(ctx, name, write);
    if (flags.build && write) await build(ctx, name, flags);
    return 0;
  },
});
export const noun: Noun = {
  verbs: [
    importVerb,
    buildVerb,
    rollbackVerb,
    listVerb,
    showVerb,
    kernelsVerb,
    copyVerb,
    renameVerb,
    deleteVerb,
    shellVerb,
    execVerb,
    syncuserVerb,
  ],
};
