// `wulf image list`, `show` and `kernels`: what the image store holds, read only.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { outputFlags } from './command.ts';
import { defineCommand } from './define.ts';
import { table, toJsonText, toYamlText } from './table.ts';
import { imageArtifactPath, listImages } from '../images/service.ts';
import { listImageNames, mustExist, previousFile, readMeta, readPointer, rootfsDir } from '../images/layout.ts';
import { listKernels, pickKernel } from '../images/kernels.ts';
import { mib, nodeCounts } from './image-build.ts';

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

export const listVerb = defineCommand({
  name: 'list',
  aliases: ['ls'],
  summary: 'list images',
  positionals: [{ name: 'image', variadic: true }],
  flags: {
    long: { type: 'boolean', short: 'l', help: 'more columns' },
    size: { type: 'boolean', short: 's', help: 'include the unpacked size' },
    kernel: { type: 'boolean', short: 'k', help: 'only name, nodes and kernel version' },
    chroot: { type: 'boolean', short: 'c', help: 'name, nodes and the unpacked (chroot) size' },
    compressed: { type: 'boolean', help: 'name, nodes and the size of the built (compressed) image' },
    ...outputFlags,
  },
  async run(ctx, { flags, pos: { image: names } }) {
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
});

export const showVerb = defineCommand({
  name: 'show',
  summary: 'print the rootfs path of an image (-a: everything)',
  positionals: [{ name: 'image', required: true }],
  flags: { all: { type: 'boolean', short: 'a', help: 'show all details' }, ...outputFlags },
  async run(ctx, { flags, pos: { image: name } }) {
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
});

export const kernelsVerb = defineCommand({
  name: 'kernels',
  aliases: ['kernel'],
  summary: 'list the kernels found in images',
  positionals: [{ name: 'image', variadic: true }],
  flags: { ...outputFlags },
  async run(ctx, { flags, pos: { image: names } }) {
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
});
