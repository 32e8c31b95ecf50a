// `image import`: fetch or read the source, apply its layers into a temp directory beside the
// images, then rename it into place, so an interrupted or failed import registers nothing.
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Paths } from '../config/paths.ts';
import { WulfError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { LayerApplier } from './extract.ts';
import { ensureImageStore, imageDir, imageExists, checkImageName, type ImageMeta, readMeta } from './layout.ts';
import { openLayer } from './layer-stream.ts';
import { checkLayers, MT, parseDockerRef, parsePlatform, pickPlatform, RegistryClient } from './registry.ts';
import { defaultName, parseSource, platformOf, resolveDockerArchive, resolveOciLayout, type Resolved, type Source } from './sources.ts';

export interface ImportProgress {
  line(msg: string): void;
  bytes(label: string, done: number, total?: number): void;
  endBytes(): void;
}
export const quietProgress: ImportProgress = { line() {}, bytes() {}, endBytes() {} };

export interface ImportOpts {
  source: string;
  name?: string;
  force?: boolean;
  update?: boolean;
  platform?: string;
  nohttps?: boolean;
  username?: string;
  password?: string;
  signal?: AbortSignal;
  progress?: ImportProgress;
  log?: Logger;
  retries?: number;
  backoffMs?: number;
}

async function run(cmd: string[], what: string): Promise<void> {
  const p = Bun.spawn(cmd, { stdout: 'ignore', stderr: 'pipe' });
  const err = await new Response(p.stderr).text();
  if ((await p.exited) !== 0) {
    // the first error tar names a member in, not its closing "Exiting with failure status"
    const lines = err
      .trim()
      .split('\n')
      .filter((l) => l && !/Exiting with failure status|Removing leading/.test(l));
    const line = lines[0] ?? err.trim().split('\n').pop() ?? '';
    throw new WulfError(`${what} failed: ${line}`, { code: /No space left/.test(err) ? 'ENOSPC' : 'EIO' });
  }
}

function pidAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove temp dirs of imports whose process is gone (kill -9, power loss). */
export function removeStaleImports(paths: Paths): void {
  let names: string[] = [];
  try {
    names = readdirSync(paths.imagesDir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^\.(?:import|trash)-.*-(\d+)-[a-z0-9]+$/.exec(n);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(paths.imagesDir, n), { recursive: true, force: true });
  }
}

function tmpName(paths: Paths, kind: string, name: string) {
  return join(paths.imagesDir, `.${kind}-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

async function pullRegistry(src: Extract<Source, { kind: 'docker' }>, paths: Paths, o: ImportOpts): Promise<Resolved> {
  const ref = parseDockerRef(src.ref);
  const prog = o.progress ?? quietProgress;
  let label = '';
  let total: number | undefined;
  const client = new RegistryClient(ref.registry, {
    nohttps: o.nohttps,
    username: o.username,
    password: o.password,
    signal: o.signal,
    retries: o.retries,
    backoffMs: o.backoffMs,
    log: o.log,
    onBytes: (n) => prog.bytes(label, n, total),
  });
  let { manifest, digest, mediaType } = await client.manifest(ref.repo, ref.ref);
  if (mediaType === MT.ociIndex || mediaType === MT.dockerList || manifest.manifests) {
    const d = pickPlatform(manifest, parsePlatform(o.platform));
    ({ manifest, digest } = await client.manifest(ref.repo, d.digest));
  }
  const layers = checkLayers(manifest);
  let config: Record<string, unknown> | undefined;
  if (manifest.config) {
    label = 'config';
    total = manifest.config.size;
    const f = await client.blob(ref.repo, manifest.config, paths.cacheDir);
    config = JSON.parse(await Bun.file(f).text()) as Record<string, unknown>;
  }
  const sum = layers.reduce((a, l) => a + (l.size ?? 0), 0);
  prog.line(`pulling ${ref.registry}/${ref.repo}@${digest.slice(0, 19)}…: ${layers.length} layer(s), ${(sum / 1048576).toFixed(1)} MiB`);
  const out: Resolved['layers'] = [];
  for (const [i, l] of layers.entries()) {
    label = `layer ${i + 1}/${layers.length}`;
    total = l.size;
    out.push({ file: await client.blob(ref.repo, l, paths.cacheDir), digest: l.digest });
    prog.endBytes();
  }
  return { layers: out, config, digest, platform: platformOf(config) };
}

function configSummary(c: Record<string, unknown> | undefined): ImageMeta['config'] {
  const cc = c?.config as { Env?: string[]; Cmd?: string[]; Entrypoint?: string[]; Labels?: Record<string, string> } | undefined;
  if (!cc) return undefined;
  return {
    ...(cc.Env ? { env: cc.Env } : {}),
    ...(cc.Cmd ? { cmd: cc.Cmd } : {}),
    ...(cc.Entrypoint ? { entrypoint: cc.Entrypoint } : {}),
    ...(cc.Labels ? { labels: cc.Labels } : {}),
  };
}

/** Import an image; returns its metadata. Nothing is registered unless the whole import worked. */
export async function importImage(paths: Paths, o: ImportOpts): Promise<ImageMeta> {
  const src = parseSource(o.source);
  const name = checkImageName(o.name ?? defaultName(src));
  const exists = imageExists(paths, name);
  if (exists && !o.force && !o.update)
    throw new WulfError(`image "${name}" already exists`, {
      hint: 'use --force to replace it or --update to add files to it',
      code: 'EEXIST',
    });
  if (o.update && !exists) throw new WulfError(`image "${name}" does not exist, nothing to update`, { code: 'ENOENT' });
  if (src.kind === 'dir' && !existsSync(join(src.path, 'bin', 'sh')))
    throw new WulfError(`${src.path} has no /bin/sh: not a root filesystem`, { code: 'EFORMAT' });
  ensureImageStore(paths);
  removeStaleImports(paths);
  const prog = o.progress ?? quietProgress;
  const tmp = tmpName(paths, 'import', name);
  const root = join(tmp, 'rootfs');
  let trash: string | undefined;
  try {
    mkdirSync(tmp, { mode: 0o700 });
    if (o.update) await run(['cp', '-a', '--reflink=auto', join(imageDir(paths, name), 'rootfs'), root], 'copying the existing image');
    else mkdirSync(root, { mode: 0o755 });
    let res: Resolved;
    const platform = parsePlatform(o.platform);
    switch (src.kind) {
      case 'dir':
        prog.line(`copying ${src.path}`);
        // --remove-destination: a file replaces a link the image has there (cp would write through it);
        // a directory where the image has a link is refused by cp ("cannot overwrite non-directory")
        await run(['cp', '-a', '--reflink=auto', '--remove-destination', '-T', src.path, root], `copying ${src.path}`);
        res = { layers: [] };
        break;
      case 'tarball':
        res = { layers: [{ file: src.path }] };
        break;
      case 'oci':
        res = resolveOciLayout(src.path, src.ref, platform);
        break;
      case 'oci-archive':
      case 'docker-archive': {
        const x = join(tmp, 'src');
        mkdirSync(x);
        prog.line(`unpacking ${src.path}`);
        // GNU tar refuses members through links and '..'; no owners, setuid bits or umask-free modes from it
        await run(['tar', '--no-same-owner', '--no-same-permissions', '-xf', src.path, '-C', x], `unpacking ${src.path}`);
        res = src.kind === 'oci-archive' ? resolveOciLayout(x, src.ref, platform) : resolveDockerArchive(x, src.ref);
        break;
      }
      case 'docker':
        res = await pullRegistry(src, paths, o);
        break;
    }
    const applier = new LayerApplier(root);
    for (const [i, l] of res.layers.entries()) {
      if (o.signal?.aborted) throw new WulfError('interrupted', { code: 'EINTR' });
      prog.line(`applying layer ${i + 1}/${res.layers.length}${l.digest ? ' ' + l.digest.slice(0, 19) : ''}`);
      const { stream, done } = openLayer(l.file, l.digest);
      await applier.apply(stream, o.signal);
      await done;
    }
    applier.finish();
    if (applier.stats.skippedXattrs) {
      o.log?.warn(
        'image',
        `${applier.stats.skippedXattrs} extended attribute(s) from the layers could not be set (${applier.stats.xattrErrors.join('; ')})`,
        { applied: applier.stats.xattrs },
      );
    }
    if (src.kind !== 'dir' && !existsSync(join(root, 'bin', 'sh')) && !existsSync(join(root, 'usr', 'bin', 'sh')))
      o.log?.warn('image', `image ${name} has no /bin/sh`);
    const old = exists ? readMeta(paths, name) : undefined;
    const now = new Date().toISOString();
    const created = typeof res.config?.created === 'string' ? res.config.created : now;
    const meta: ImageMeta = {
      name,
      source: /^[a-z-]+:/.test(o.source) || !existsSync(o.source) ? o.source : resolve(o.source),
      ...(res.digest ? { digest: res.digest } : {}),
      created,
      imported: now,
      ...(res.platform ? { platform: res.platform } : {}),
      layers: [...(o.update ? (old?.layers ?? []) : []), ...res.layers.map((l) => l.digest ?? `file:${l.file}`)],
      ...(configSummary(res.config) ? { config: configSummary(res.config) } : {}),
    };
    writeFileSync(join(tmp, 'image.json'), JSON.stringify(meta, null, 2) + '\n');
    chmodSync(tmp, 0o755);
    rmSync(join(tmp, 'src'), { recursive: true, force: true });
    if (o.signal?.aborted) throw new WulfError('interrupted', { code: 'EINTR' });
    // Swap into place; keep the old build/ so rollback still reaches the previous artifact.
    const dest = imageDir(paths, name);
    if (exists) {
      if (existsSync(join(dest, 'build'))) renameSync(join(dest, 'build'), join(tmp, 'build'));
      trash = tmpName(paths, 'trash', name);
      renameSync(dest, trash);
    }
    renameSync(tmp, dest);
    if (trash) rmSync(trash, { recursive: true, force: true });
    return meta;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC')
      throw new WulfError(`disk full while importing ${name} into ${paths.imagesDir}`, {
        hint: 'free space and import again',
        code: 'ENOSPC',
      });
    if (o.signal?.aborted) throw new WulfError(`import of ${name} interrupted; nothing was registered`, { code: 'EINTR' });
    throw e;
  }
}
