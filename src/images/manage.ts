// Copy, rename and delete images. Copies go through a temp dir and a rename, like imports; a
// rename is one rename(2); a delete first renames the image away so it vanishes at once.
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Paths } from '../config/paths.ts';
import { acquireLock } from '../lib/atomic.ts';
import { WulfError } from '../lib/errors.ts';
import { checkImageName, ensureImageStore, imageDir, imageExists, metaFile, mustExist, readMeta } from './layout.ts';

function notExisting(paths: Paths, name: string) {
  checkImageName(name);
  if (imageExists(paths, name) || existsSync(imageDir(paths, name)))
    throw new WulfError(`image "${name}" already exists`, { code: 'EEXIST' });
}

const tmpOf = (paths: Paths, kind: string, name: string) =>
  join(paths.imagesDir, `.${kind}-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);

export async function copyImage(paths: Paths, src: string, dst: string): Promise<void> {
  mustExist(paths, src);
  notExisting(paths, dst);
  ensureImageStore(paths);
  const tmp = tmpOf(paths, 'import', dst);
  try {
    mkdirSync(tmp, { mode: 0o700 });
    const p = Bun.spawn(['cp', '-a', '--reflink=auto', join(imageDir(paths, src), 'rootfs'), join(tmp, 'rootfs')], { stderr: 'pipe' });
    const err = await new Response(p.stderr).text();
    if ((await p.exited) !== 0)
      throw new WulfError(`copying image ${src} failed: ${err.trim().split('\n').pop()}`, {
        code: /No space/.test(err) ? 'ENOSPC' : 'EIO',
      });
    const meta = { ...readMeta(paths, src), name: dst, imported: new Date().toISOString(), source: `image:${src}` };
    writeFileSync(join(tmp, 'image.json'), JSON.stringify(meta, null, 2) + '\n');
    chmodSync(tmp, 0o755);
    notExisting(paths, dst);
    renameSync(tmp, imageDir(paths, dst));
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export async function renameImage(paths: Paths, src: string, dst: string): Promise<void> {
  mustExist(paths, src);
  notExisting(paths, dst);
  ensureImageStore(paths);
  const lock = await acquireLock(join(imageDir(paths, src), 'build.lock'), 10_000);
  try {
    renameSync(imageDir(paths, src), imageDir(paths, dst));
    const meta = readMeta(paths, dst);
    writeFileSync(metaFile(paths, dst), JSON.stringify({ ...meta, name: dst }, null, 2) + '\n');
  } finally {
    lock.release();
  }
}

export async function deleteImage(paths: Paths, name: string): Promise<void> {
  mustExist(paths, name);
  ensureImageStore(paths);
  const lock = await acquireLock(join(imageDir(paths, name), 'session.lock'), 0).catch(() => {
    throw new WulfError(`image "${name}" has a shell/exec session open or a build running`, {
      hint: 'try again when it has ended',
      code: 'EBUSY',
    });
  });
  const trash = tmpOf(paths, 'trash', name);
  try {
    renameSync(imageDir(paths, name), trash);
  } finally {
    lock.release();
  }
  rmSync(trash, { recursive: true, force: true });
}
