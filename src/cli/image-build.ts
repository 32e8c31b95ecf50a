// What the image verbs share: sizes in MiB, the nodes using each image, building with the chosen
// compression, and syncuser (the controller's users and groups merged into an image).
import { join } from 'node:path';
import type { Ctx, Flags } from './command.ts';
import { fail } from '../lib/errors.ts';
import { buildImage } from '../images/build.ts';
import { publishImage } from '../images/publish.ts';
import { ensureImageStore, rootfsDir } from '../images/layout.ts';
import { syncUsers } from '../images/syncuser.ts';

export const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** Nodes using each image (image name of the merged node), when nodes.conf is readable. */
export async function nodeCounts(ctx: Ctx): Promise<{ byImage: Map<string, string[]>; kernelOf: Map<string, string | undefined> }> {
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

export const buildFlags = {
  compress: { type: 'string', arg: 'gzip|zstd', help: 'compression of the built image', default: 'gzip' },
} as const satisfies Flags;
function compressionOf(compress: string): 'gzip' | 'zstd' {
  if (compress !== 'gzip' && compress !== 'zstd') fail(`unknown compression "${compress}"`, 'use gzip or zstd');
  return compress;
}

export async function build(ctx: Ctx, name: string, flags: { compress: string; force?: boolean }): Promise<void> {
  const r = await buildImage(ctx.paths, name, { compression: compressionOf(flags.compress), force: !!flags.force });
  if (r.skipped) ctx.err(`image ${name}: unchanged, build skipped (${r.pointer.file}); --force rebuilds`);
  else {
    const what = `${r.pointer.file} ${mib(r.pointer.size)}, ${r.pointer.entries} entries`;
    ctx.err(`image ${name}: built ${what} in ${r.seconds.toFixed(1)} s`);
  }
  await publish(ctx, name);
}

/** On the PostgreSQL store, the build becomes the one every controller serves (fetched by digest from here). */
export async function publish(ctx: Ctx, name: string): Promise<void> {
  const n = await publishImage(ctx.paths, ctx.env, name);
  if (n !== undefined)
    ctx.err(`image ${name}: recorded in the store (${n} artifacts by digest; the other controllers fetch them from this one's wulf serve)`);
}

/** The controller's /etc, where the syncuser overlay reads it too: the real host's, or WULF_HOST_ROOT/etc. */
const controllerEtc = (ctx: Ctx) => join(ctx.paths.hostRoot || '/', 'etc');

export function runSync(ctx: Ctx, name: string, write: boolean): void {
  if (write) ensureImageStore(ctx.paths);
  const r = syncUsers(rootfsDir(ctx.paths, name), { write, controllerEtc: controllerEtc(ctx), label: name });
  for (const l of r.lines) ctx.err(`conflict: ${l}`);
  const what =
    `${r.conflicts.length} conflict(s), ${r.added} user(s)/group(s) from the controller,` +
    ` ${r.chowned} file(s) ${write ? 're-owned' : 'to re-own'}`;
  const run = r.conflicts.length || r.added ? ` (run: wulf image syncuser ${name})` : '';
  if (!write) ctx.err(`syncuser ${name}: ${what}; report only, nothing written${run}`);
  else ctx.err(`syncuser ${name}: ${r.written ? what : 'already in sync'}`);
}
