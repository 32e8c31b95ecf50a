// `wulf image` (aliases container, vnfs): import, build, rollback, list, show, kernels, copy,
// rename, delete, shell/exec and syncuser, on the services in src/images.
import { existsSync, readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx, Noun, Verb, FlagValues } from './command.ts';
import { outputFlags, yesFlag } from './command.ts';
import { fail, WulfError } from '../lib/errors.ts';
import { table, toJsonText, toYamlText } from './table.ts';
import { importImage } from '../images/import.ts';
import { progressFor } from '../images/progress.ts';
import { buildImage, rollbackImage } from '../images/build.ts';
import { publishImage, unpublishImage } from '../images/publish.ts';
import { ensureImageStore, imageDir, listImageNames, mustExist, readMeta, readPointer, previousFile, rootfsDir } from '../images/layout.ts';
import { imageArtifactPath, listImages } from '../images/service.ts';
import { listKernels, pickKernel } from '../images/kernels.ts';
import { copyImage, deleteImage, renameImage } from '../images/manage.ts';
import { imageSession } from '../images/shell.ts';
import { nodeViewSession } from '../images/nodeview.ts';
import { syncUsers } from '../images/syncuser.ts';

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Nodes using each image (image name of the merged node), when nodes.conf is readable. */
async function nodeCounts(ctx: Ctx): Promise<{ byImage: Map<string, string[]>; kernelOf: Map<string, string | undefined> }> {
  const byImage = new Map<string, string[]>(),
    kernelOf = new Map<string, string | undefined>();
  try {
    const { readConfigured } = await import('../store/open.ts');
    const { mergeAll } = await import('../config/cascade.ts');
    for (const n of mergeAll(await readConfigured(ctx.paths, ctx.env))) {
      const img = n.data.imageName;
      if (!img) continue;
      byImage.set(img, [...(byImage.get(img) ?? []), n.id]);
      kernelOf.set(n.id, n.data.kernel?.version);
    }
  } catch {
    /* no nodes.conf yet */
  }
  return { byImage, kernelOf };
}

function duBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const st = lstatSync(join(d, n));
      if (st.isDirectory()) walk(join(d, n));
      else total += st.size;
    }
  };
  walk(dir);
  return total;
}

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

const buildFlags = {
  compress: { type: 'string' as const, arg: 'gzip|zstd', help: 'compression of the built image', default: 'gzip' },
};
function compressionOf(flags: FlagValues): 'gzip' | 'zstd' {
  const c = str(flags.compress) ?? 'gzip';
  if (c !== 'gzip' && c !== 'zstd') fail(`unknown compression "${c}"`, 'use gzip or zstd');
  return c;
}

async function build(ctx: Ctx, name: string, flags: FlagValues): Promise<void> {
  const r = await buildImage(ctx.paths, name, { compression: compressionOf(flags), force: !!flags.force });
  if (r.skipped) ctx.err(`image ${name}: unchanged, build skipped (${r.pointer.file}); --force rebuilds`);
  else ctx.err(`image ${name}: built ${r.pointer.file} ${mib(r.pointer.size)}, ${r.pointer.entries} entries in ${r.seconds.toFixed(1)} s`);
  await publish(ctx, name);
}

/** On the PostgreSQL store, the build becomes the one every controller serves (fetched by digest from here). */
async function publish(ctx: Ctx, name: string): Promise<void> {
  const n = await publishImage(ctx.paths, ctx.env, name);
  if (n !== undefined)
    ctx.err(`image ${name}: recorded in the store (${n} artifacts by digest; the other controllers fetch them from this one's wulf serve)`);
}

/** WULF_OCI_<KEY>, else Warewulf's WAREWULF_OCI_<KEY> (USERNAME, PASSWORD, NOHTTPS, PLATFORM). */
const ociEnv = (ctx: Ctx, key: string): string | undefined => ctx.env[`WULF_OCI_${key}`] || ctx.env[`WAREWULF_OCI_${key}`] || undefined;

const importVerb: Verb = {
  name: 'import',
  aliases: ['pull'],
  summary: 'import an image from a registry, OCI layout/archive, docker-archive, directory or tarball',
  usage: 'SOURCE [NAME]',
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
  async run(ctx, flags, [source, name]) {
    if (!source) fail('usage: wulf image import SOURCE [NAME]');
    const tty = !!process.stderr.isTTY;
    const meta = await withInterrupt((signal) =>
      importImage(ctx.paths, {
        source,
        name,
        force: !!flags.force,
        update: !!flags.update,
        signal,
        log: ctx.log,
        platform: str(flags.platform) ?? str(flags.arch) ?? ociEnv(ctx, 'PLATFORM'),
        nohttps: !!flags.nohttps || /^(true|1|yes)$/i.test(ociEnv(ctx, 'NOHTTPS') ?? ''),
        username: str(flags.username) ?? ociEnv(ctx, 'USERNAME'),
        password: str(flags.password) ?? str(flags.passwd) ?? ociEnv(ctx, 'PASSWORD'),
        progress: progressFor(tty ? (s) => process.stderr.write(s) : (s) => ctx.err(s.replace(/\n$/, '')), tty),
      }),
    );
    ctx.err(`imported ${meta.name}${meta.digest ? ' ' + meta.digest : ''} (${meta.layers.length} layer(s))`);
    if (flags.syncuser) runSync(ctx, meta.name, true);
    if (flags.build) await build(ctx, meta.name, flags);
    return 0;
  },
};

const buildVerb: Verb = {
  name: 'build',
  summary: 'build the boot image (cpio.gz or cpio.zst) of images',
  usage: 'IMAGE...|-a',
  flags: {
    all: { type: 'boolean', short: 'a', help: 'build all images' },
    force: { type: 'boolean', short: 'f', help: 'rebuild even if unchanged' },
    syncuser: { type: 'boolean', help: "merge the controller's users and groups into each image first (see image syncuser)" },
    ...buildFlags,
  },
  async run(ctx, flags, names) {
    const list = flags.all ? listImageNames(ctx.paths) : names;
    if (!list.length) fail(flags.all ? 'no images to build' : 'name an image to build, or -a for all');
    for (const n of list) {
      mustExist(ctx.paths, n);
      if (flags.syncuser) runSync(ctx, n, true);
      await build(ctx, n, flags);
    }
    return 0;
  },
};

const rollbackVerb: Verb = {
  name: 'rollback',
  summary: 'serve the previous build of an image again',
  usage: 'IMAGE',
  async run(ctx, _f, [name]) {
    if (!name) fail('usage: wulf image rollback IMAGE');
    const p = await rollbackImage(ctx.paths, name);
    ctx.err(`image ${name}: now serving ${p.file} (built ${p.built})`);
    await publish(ctx, name);
    return 0;
  },
};

const listVerb: Verb = {
  name: 'list',
  aliases: ['ls'],
  summary: 'list images',
  usage: '[IMAGE...]',
  flags: {
    long: { type: 'boolean', short: 'l', help: 'more columns' },
    size: { type: 'boolean', short: 's', help: 'include the unpacked size' },
    kernel: { type: 'boolean', short: 'k', help: 'only name, nodes and kernel version' },
    chroot: { type: 'boolean', short: 'c', help: 'name, nodes and the unpacked (chroot) size' },
    compressed: { type: 'boolean', help: 'name, nodes and the size of the built (compressed) image' },
    ...outputFlags,
  },
  async run(ctx, flags, names) {
    const { byImage } = await nodeCounts(ctx);
    const imgs = listImages(ctx.paths).filter((i) => !names.length || names.includes(i.name));
    const du = flags.size || flags.chroot;
    const rows = imgs.map((i) => ({
      name: i.name,
      nodes: byImage.get(i.name)?.length ?? 0,
      kernel: i.defaultKernel ?? '',
      created: i.created,
      imported: i.imported,
      // digest: the registry manifest's; none for a directory or tarball (built.digest is the artifact's)
      digest: i.digest ?? null,
      source: i.source,
      ...(du ? { rootfsBytes: duBytes(rootfsDir(ctx.paths, i.name)) } : {}),
      built: i.artifact
        ? { file: i.artifact.path, bytes: i.artifact.size, digest: i.artifact.digest, compression: i.artifact.compression }
        : null,
    }));
    if (flags.json) {
      ctx.out(toJsonText(rows));
      return 0;
    }
    if (flags.yaml) {
      ctx.out(toYamlText(rows));
      return 0;
    }
    const builtSize = (r: (typeof rows)[number]) => (r.built ? `${mib(r.built.bytes)} ${r.built.compression}` : '(not built)');
    // wwctl's narrow views: -k the kernel, -c the chroot's size, --compressed the built image's
    if (!flags.long && (flags.kernel || flags.chroot || flags.compressed)) {
      const hdr = [
        'IMAGE NAME',
        'NODES',
        ...(flags.kernel ? ['KERNEL VERSION'] : []),
        ...(flags.chroot ? ['CHROOT SIZE'] : []),
        ...(flags.compressed ? ['COMPRESSED SIZE'] : []),
      ];
      ctx.out(
        table(
          hdr,
          rows.map((r) => [
            r.name,
            String(r.nodes),
            ...(flags.kernel ? [r.kernel] : []),
            ...(flags.chroot ? [mib(r.rootfsBytes ?? 0)] : []),
            ...(flags.compressed ? [builtSize(r)] : []),
          ]),
        ),
      );
      return 0;
    }
    const hdr = [
      'IMAGE NAME',
      'NODES',
      'KERNEL VERSION',
      'CREATION TIME',
      'BUILT SIZE',
      ...(du ? ['ROOTFS SIZE'] : []),
      ...(flags.long ? ['DIGEST', 'SOURCE'] : []),
    ];
    ctx.out(
      table(
        hdr,
        rows.map((r) => [
          r.name,
          String(r.nodes),
          r.kernel,
          r.created.replace(/\.\d+Z$/, 'Z'),
          builtSize(r),
          ...(du ? [mib(r.rootfsBytes ?? 0)] : []),
          ...(flags.long ? [r.digest?.slice(0, 19) ?? '--', r.source] : []),
        ]),
      ),
    );
    return 0;
  },
};

const showVerb: Verb = {
  name: 'show',
  summary: 'print the rootfs path of an image (-a: everything)',
  usage: 'IMAGE',
  flags: { all: { type: 'boolean', short: 'a', help: 'show all details' }, ...outputFlags },
  async run(ctx, flags, [name]) {
    if (!name) fail('usage: wulf image show IMAGE');
    mustExist(ctx.paths, name);
    if (!flags.all && !flags.json && !flags.yaml) {
      ctx.out(rootfsDir(ctx.paths, name));
      return 0;
    }
    const { byImage } = await nodeCounts(ctx);
    const root = rootfsDir(ctx.paths, name);
    const ks = listKernels(root);
    const info = {
      ...readMeta(ctx.paths, name),
      rootfs: root,
      nodes: byImage.get(name) ?? [],
      kernels: ks.map((k) => ({ version: k.version, path: k.rel })),
      defaultKernel: pickKernel(ks, root)?.version ?? null,
      artifact: imageArtifactPath(ctx.paths, name) ?? null,
      previous: readPointer(previousFile(ctx.paths, name)) ?? null,
    };
    ctx.out(flags.json ? toJsonText(info) : toYamlText(info));
    return 0;
  },
};

const kernelsVerb: Verb = {
  name: 'kernels',
  aliases: ['kernel'],
  summary: 'list the kernels found in images',
  usage: '[IMAGE...]',
  flags: { ...outputFlags },
  async run(ctx, flags, names) {
    const { byImage, kernelOf } = await nodeCounts(ctx);
    const rows: { image: string; kernel: string; version: string; default: boolean; nodes: number }[] = [];
    for (const name of names.length ? names : listImageNames(ctx.paths)) {
      mustExist(ctx.paths, name);
      const root = rootfsDir(ctx.paths, name);
      const ks = listKernels(root);
      const def = pickKernel(ks, root);
      for (const k of ks) {
        const nodes = (byImage.get(name) ?? []).filter((id) => {
          const s = kernelOf.get(id);
          return (s ? pickKernel(ks, root, s) : def)?.rel === k.rel;
        });
        rows.push({ image: name, kernel: k.rel, version: k.version, default: k === def, nodes: nodes.length });
      }
    }
    if (flags.json) {
      ctx.out(toJsonText(rows));
      return 0;
    }
    if (flags.yaml) {
      ctx.out(toYamlText(rows));
      return 0;
    }
    ctx.out(
      table(
        ['Image', 'Kernel', 'Version', 'Default', 'Nodes'],
        rows.map((r) => [r.image, r.kernel, r.version, String(r.default), String(r.nodes)]),
      ),
    );
    return 0;
  },
};

const copyVerb: Verb = {
  name: 'copy',
  aliases: ['cp'],
  summary: 'copy an image',
  usage: 'SOURCE NEW',
  flags: { build: { type: 'boolean', short: 'b', help: 'build the copy' }, ...buildFlags },
  async run(ctx, flags, [src, dst]) {
    if (!src || !dst) fail('usage: wulf image copy SOURCE NEW');
    await copyImage(ctx.paths, src, dst);
    ctx.err(`copied image ${src} to ${dst}`);
    if (flags.build) await build(ctx, dst, flags);
    return 0;
  },
};

const renameVerb: Verb = {
  name: 'rename',
  aliases: ['mv'],
  summary: 'rename an image (nodes that use it are not changed)',
  usage: 'OLD NEW',
  flags: { build: { type: 'boolean', short: 'b', help: 'build the renamed image' }, ...buildFlags },
  async run(ctx, flags, [src, dst]) {
    if (!src || !dst) fail('usage: wulf image rename OLD NEW');
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
};

const deleteVerb: Verb = {
  name: 'delete',
  aliases: ['rm', 'del', 'remove'],
  summary: 'delete images',
  usage: 'IMAGE...',
  flags: { ...yesFlag },
  async run(ctx, flags, names) {
    if (!names.length) fail('usage: wulf image delete IMAGE...');
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
};

/** The controller's /etc, where the syncuser overlay reads it too: the real host's, or WULF_HOST_ROOT/etc. */
const controllerEtc = (ctx: Ctx) => join(ctx.paths.hostRoot || '/', 'etc');

function runSync(ctx: Ctx, name: string, write: boolean): void {
  if (write) ensureImageStore(ctx.paths);
  const r = syncUsers(rootfsDir(ctx.paths, name), { write, controllerEtc: controllerEtc(ctx), label: name });
  for (const l of r.lines) ctx.err(`conflict: ${l}`);
  const what = `${r.conflicts.length} conflict(s), ${r.added} user(s)/group(s) from the controller, ${r.chowned} file(s) ${write ? 're-owned' : 'to re-own'}`;
  if (!write)
    ctx.err(
      `syncuser ${name}: ${what}; report only, nothing written${r.conflicts.length || r.added ? ` (run: wulf image syncuser ${name})` : ''}`,
    );
  else ctx.err(`syncuser ${name}: ${r.written ? what : 'already in sync'}`);
}

const bindFlags = {
  bind: {
    type: 'string' as const,
    short: 'B',
    multiple: true,
    arg: 'SRC[:DST[:ro|copy]]',
    help: 'bind a host path into the image (-b too, as wwctl spells it)',
  },
  'bind-b': { type: 'string' as const, short: 'b', multiple: true, hidden: true, help: "wwctl's -b: the same as --bind" },
  'no-build': { type: 'boolean' as const, help: 'do not rebuild on exit (same as --build=false)' },
  syncuser: { type: 'boolean' as const, help: 'run syncuser on exit if passwd/group changed' },
  node: {
    type: 'string' as const,
    short: 'n',
    arg: 'NODE',
    help: "read-only view of the image with that node's system and runtime overlays (no rebuild)",
  },
  ...buildFlags,
};
const buildEq = (argv: string[]) =>
  argv.flatMap((a) => (a === '--build=false' ? ['--no-build'] : a === '--build=true' || a === '--build' ? [] : [a]));
/** --bind and wwctl's -b, in the order given. */
const bindsOf = (flags: FlagValues) => [
  ...((flags.bind as string[] | undefined) ?? []),
  ...((flags['bind-b'] as string[] | undefined) ?? []),
];

async function session(ctx: Ctx, flags: FlagValues, name: string | undefined, cmd: string[]): Promise<number> {
  if (!name) fail('name an image');
  mustExist(ctx.paths, name);
  const node = str(flags.node);
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

const shellVerb: Verb = {
  name: 'shell',
  aliases: ['chroot'],
  summary: 'open a shell inside an image (namespaces + chroot)',
  usage: 'IMAGE [--node NODE]',
  flags: bindFlags,
  preprocess: buildEq,
  run: (ctx, flags, [name]) => session(ctx, flags, name, []),
};
const execVerb: Verb = {
  name: 'exec',
  summary: 'run a command inside an image',
  usage: 'IMAGE [--node NODE] -- CMD [ARGS...]',
  flags: bindFlags,
  preprocess: buildEq,
  passthrough: true,
  run(ctx, flags, [name, ...cmd]) {
    if (cmd[0] === '--') cmd.shift();
    if (!cmd.length) fail('usage: wulf image exec IMAGE -- CMD [ARGS...]');
    return session(ctx, flags, name, cmd);
  },
};

const syncuserVerb: Verb = {
  name: 'syncuser',
  summary: "merge the server's users and groups into an image",
  usage: 'IMAGE',
  flags: {
    'no-write': { type: 'boolean', help: 'report the conflicts and files to re-own, change nothing (same as --write=false, --dry-run)' },
    'dry-run': { type: 'boolean', short: 'n', help: 'same as --no-write' },
    build: { type: 'boolean', short: 'b', help: 'build the image afterwards' },
    ...buildFlags,
  },
  preprocess: (argv) => argv.flatMap((a) => (a === '--write=false' ? ['--no-write'] : a === '--write=true' || a === '--write' ? [] : [a])),
  async run(ctx, flags, [name]) {
    if (!name) fail('usage: wulf image syncuser IMAGE');
    mustExist(ctx.paths, name);
    const write = !flags['no-write'] && !flags['dry-run'];
    runSync(ctx, name, write);
    if (flags.build && write) await build(ctx, name, flags);
    return 0;
  },
};
export const noun: Noun = {
  name: 'image',
  aliases: ['container', 'vnfs', 'images'],
  summary: 'import, build and manage node images',
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
