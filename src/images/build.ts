// `image build`: rootfs → newc cpio → gzip or zstd, compressed in blocks on the thread pool (both
// cores) in a form the kernel unpacks (compress.ts: one gzip member, or one zstd frame per
// complete archive), written in order and published atomically under the artifact's sha256 with a
// `current` and a `previous` pointer.
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  type Stats,
} from 'node:fs';
import { writeAll } from '../lib/write-all.ts';
import { join } from 'node:path';
import type { Paths } from '../config/paths.ts';
import { acquireLock, writeFileAtomic } from '../lib/atomic.ts';
import { readBeneath } from '../lib/beneath.ts';
import { cpioHeader, cpioPadding, S_IFMT, S_IFREG, S_IFDIR, S_IFLNK } from '../lib/cpio.ts';
import { WulfError } from '../lib/errors.ts';
import { FramedZstd, ParallelGzip, type Compressor } from './compress.ts';
import { resolveInRoot } from './kernels.ts';
import {
  buildDir,
  currentFile,
  ensureImageStore,
  imageDir,
  mustExist,
  previousFile,
  readPointer,
  rootfsDir,
  type BuildPointer,
} from './layout.ts';
import { devMajor, devMinor } from './sysfs.ts';

/** The few stat fields the archive needs (a Stats object per entry costs several times more). */
export interface EntryStat {
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  nlink: number;
  size: number;
  rdev: number;
}
export interface TreeEntry {
  rel: string;
  st: EntryStat;
  target?: string;
  ino: number;
  data: boolean;
}

/**
 * Exclude patterns from the image's /etc/warewulf/excludes and /etc/wulf/excludes, found as the node
 * would find them: the image's own links are followed inside the image, never out of it.
 */
export function readExcludes(root: string): string[] {
  const out: string[] = [];
  for (const f of ['etc/warewulf/excludes', 'etc/wulf/excludes']) {
    const rel = resolveInRoot(root, f);
    const text = rel ? readBeneath(root, rel)?.toString('utf8') : undefined;
    for (const l of text?.split('\n') ?? []) {
      const t = l.trim();
      if (t && !t.startsWith('#')) out.push(t);
    }
  }
  return out;
}

/** Does pattern exclude /rel? "/boot/" keeps /boot but drops what is inside; "/boot" drops both. */
export function makeExcluder(patterns: string[]): { self(rel: string, isDir: boolean): boolean; contents(rel: string): boolean } {
  const globs = patterns.map((p) => {
    const dirOnly = p.endsWith('/') && p.length > 1;
    const body = dirOnly ? p.slice(0, -1) : p;
    const anchored = body.startsWith('/');
    return { dirOnly, g: new Bun.Glob(anchored ? body : body.includes('/') ? '/' + body : '**/' + body) };
  });
  return {
    self: (rel, _isDir) => globs.some((x) => !x.dirOnly && x.g.match('/' + rel)),
    contents: (rel) => globs.some((x) => x.dirOnly && x.g.match('/' + rel)),
  };
}

/** Walk the rootfs: directories before children, name order, one filesystem, excludes applied. */
export function walkTree(root: string): { entries: TreeEntry[]; key: string } {
  const rootSt = lstatSync(root);
  const ex = makeExcluder(readExcludes(root));
  const entries: TreeEntry[] = [];
  const inos = new Map<number, number>();
  let nextIno = 1;
  const hash = createHash('sha256');
  const add = (rel: string, st: Stats) => {
    let ino: number,
      data = true;
    if ((st.mode & S_IFMT) !== S_IFDIR && st.nlink > 1) {
      const seen = inos.get(st.ino);
      if (seen !== undefined) {
        ino = seen;
        data = false;
      } else {
        ino = nextIno++;
        inos.set(st.ino, ino);
      }
    } else ino = nextIno++;
    const target = (st.mode & S_IFMT) === S_IFLNK ? readlinkSync(join(root, rel)) : undefined;
    const es: EntryStat = { mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, nlink: st.nlink, size: st.size, rdev: st.rdev };
    entries.push({ rel, st: es, ino, data, ...(target !== undefined ? { target } : {}) });
    hash.update(
      `${rel}\0${st.mode}\0${st.uid}\0${st.gid}\0${st.isDirectory() ? Math.floor(st.mtimeMs) : st.mtimeMs}\0` +
        `${st.isDirectory() ? 0 : st.ctimeMs}\0${st.size}\0${st.ino}\0${st.rdev}\0${target ?? ''}\n`,
    );
  };
  const walk = (dir: string) => {
    const names = readdirSync(dir ? join(root, dir) : root).sort();
    for (const n of names) {
      const rel = dir ? `${dir}/${n}` : n;
      const st = lstatSync(join(root, rel));
      const isDir = st.isDirectory();
      if (ex.self(rel, isDir)) continue;
      add(rel, st);
      if (isDir && st.dev === rootSt.dev && !ex.contents(rel)) walk(rel);
    }
  };
  add('.', rootSt);
  walk('');
  return { entries, key: hash.digest('hex') };
}

export interface BuildOpts {
  compression?: 'gzip' | 'zstd';
  force?: boolean;
  level?: number;
  chunkBytes?: number;
  inflight?: number;
  rssBudget?: number;
}
export interface BuildResult {
  skipped: boolean;
  pointer: BuildPointer;
  path: string;
  seconds: number /** full GCs run to bound memory */;
  collections?: number;
}

/** Build (or skip) the image artifact. */
export async function buildImage(paths: Paths, name: string, o: BuildOpts = {}): Promise<BuildResult> {
  mustExist(paths, name);
  ensureImageStore(paths);
  const t0 = performance.now();
  const compression = o.compression ?? 'gzip';
  const root = rootfsDir(paths, name);
  const lock = await acquireLock(join(imageDir(paths, name), 'build.lock'), 60_000);
  // a shell/exec session mounts /proc, /dev, resolv.conf… inside the rootfs: never build those in,
  // and no session may start while the tree is read
  const session = await acquireLock(join(imageDir(paths, name), 'session.lock'), 0).catch(() => {
    lock.release();
    throw new WulfError(`image "${name}" has a shell/exec session open; its mounts would end up in the image`, {
      hint: 'build after the session ends (it rebuilds on exit when something changed)',
      code: 'EBUSY',
    });
  });
  try {
    const { entries, key: tk } = walkTree(root);
    const key = createHash('sha256')
      .update(`${tk}\0${compression}\0${o.level ?? ''}`)
      .digest('hex');
    const cur = readPointer(currentFile(paths, name));
    const bdir = buildDir(paths, name);
    if (cur && !o.force && cur.treeKey === key && existsSync(join(bdir, cur.file))) {
      return { skipped: true, pointer: cur, path: join(bdir, cur.file), seconds: (performance.now() - t0) / 1000 };
    }
    mkdirSync(bdir, { recursive: true });
    const ext = compression === 'zstd' ? '.img.zst' : '.img.gz';
    const tmp = join(bdir, `.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}${ext}`);
    const fd = openSync(tmp, 'w', 0o644);
    let size = 0,
      gcs = 0;
    const hash = createHash('sha256');
    try {
      const rssBudget = o.rssBudget ?? 128 << 20;
      let gcAt = rssBudget;
      const sink = (out: Uint8Array) => {
        hash.update(out);
        writeAll(fd, out);
        size += out.length;
        // Each block's compressed output is a fresh buffer the engine frees only at a full
        // collection; left alone they pile up (peak RSS ~270-350 MB on a 1 GB tree). Collect when
        // the process grows past its budget, which keeps the peak near the budget whatever the size.
        if (process.memoryUsage.rss() > gcAt) {
          Bun.gc(true);
          gcs++;
          gcAt = Math.max(rssBudget, process.memoryUsage.rss() + (32 << 20));
        }
      };
      const inflight = o.inflight ?? Math.max(2, navigator.hardwareConcurrency + 1);
      const CH = o.chunkBytes ?? 4 << 20;
      const comp: Compressor =
        compression === 'zstd' ? new FramedZstd(sink, o.level ?? 3, inflight, CH) : new ParallelGzip(sink, o.level ?? 6, inflight, CH);
      await writeArchive(entries, root, name, comp);
      await comp.end();
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new WulfError(`disk full while building image ${name}`, { code: 'ENOSPC' });
      throw e;
    }
    closeSync(fd);
    const digest = hash.digest('hex');
    const file = digest + ext;
    renameSync(tmp, join(bdir, file));
    const pointer: BuildPointer = {
      digest,
      file,
      size,
      compression,
      treeKey: key,
      built: new Date().toISOString(),
      entries: entries.length,
    };
    if (cur && cur.file === file) writeFileAtomic(currentFile(paths, name), JSON.stringify(pointer) + '\n');
    else writeFileAtomic(currentFile(paths, name), JSON.stringify(pointer) + '\n', { backup: cur ? previousFile(paths, name) : undefined });
    prune(paths, name);
    return { skipped: false, pointer, path: join(bdir, file), seconds: (performance.now() - t0) / 1000, collections: gcs };
  } finally {
    session.release();
    lock.release();
  }
}

/** Hardlinked files: written last, together in one archive (the kernel forgets links at a trailer). */
const linked = (e: TreeEntry) => (e.st.mode & S_IFMT) !== S_IFDIR && e.st.nlink > 1;
const TRAILER = cpioHeader({ name: 'TRAILER!!!', mode: 0, nlink: 1, ino: 0 }, 0, 0);

/**
 * The tree as newc records, cut into complete archives (each ends on a trailer) wherever the
 * compressor asks for it; parents always come before children, hardlinks share one archive.
 */
async function writeArchive(entries: TreeEntry[], root: string, name: string, comp: Compressor): Promise<void> {
  const scratch = Buffer.allocUnsafe(1 << 20);
  const ordered = [...entries.filter((e) => !linked(e)), ...entries.filter(linked)];
  let inLinks = false;
  for (const e of ordered) {
    if (!inLinks && linked(e)) inLinks = true;
    else if (!inLinks && comp.full) {
      await comp.put(TRAILER);
      await comp.cut();
    }
    const st = e.st;
    const type = st.mode & S_IFMT;
    const fileSize = type === S_IFREG && e.data ? st.size : 0;
    const target = e.target !== undefined ? Buffer.from(e.target) : undefined;
    const bodySize = target ? target.length : fileSize;
    const isDev = type === 0o020000 || type === 0o060000;
    await comp.put(
      cpioHeader(
        {
          name: e.rel,
          mode: st.mode,
          uid: st.uid,
          gid: st.gid,
          mtime: Math.floor(st.mtimeMs / 1000),
          nlink: st.nlink,
          ...(isDev ? { rdevmajor: devMajor(st.rdev), rdevminor: devMinor(st.rdev) } : {}),
        },
        e.ino,
        bodySize,
      ),
    );
    if (target) await comp.put(target);
    else if (fileSize) {
      // the walk lstat'ed every directory on the way; the file itself is opened without following a link
      const f = openSync(join(root, e.rel), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        if (!fstatSync(f).isFile())
          throw new WulfError(`${e.rel} changed type while building image ${name}`, {
            hint: 'do not change the image during a build',
            code: 'ECHANGED',
          });
        let left = fileSize;
        while (left > 0) {
          const n = readSync(f, scratch, 0, Math.min(scratch.length, left), null);
          if (n === 0)
            throw new WulfError(`${e.rel} shrank while building image ${name}`, {
              hint: 'do not change the image during a build',
              code: 'ECHANGED',
            });
          await comp.put(scratch.subarray(0, n));
          left -= n;
        }
      } finally {
        closeSync(f);
      }
    }
    await comp.put(cpioPadding(bodySize));
  }
  await comp.put(TRAILER);
}

/** Keep only the artifacts that current and previous point at. */
function prune(paths: Paths, name: string): void {
  const keep = new Set([readPointer(currentFile(paths, name))?.file, readPointer(previousFile(paths, name))?.file]);
  for (const f of readdirSync(buildDir(paths, name))) {
    if (/^[0-9a-f]{64}\.img\.(gz|zst)$/.test(f) && !keep.has(f)) rmSync(join(buildDir(paths, name), f), { force: true });
  }
}

/** Swap current and previous. */
export async function rollbackImage(paths: Paths, name: string): Promise<BuildPointer> {
  mustExist(paths, name);
  ensureImageStore(paths);
  const lock = await acquireLock(join(imageDir(paths, name), 'build.lock'), 60_000);
  try {
    const prev = readPointer(previousFile(paths, name));
    if (!prev || !existsSync(join(buildDir(paths, name), prev.file)))
      throw new WulfError(`image "${name}" has no previous build to roll back to`, { code: 'ENOENT' });
    writeFileAtomic(currentFile(paths, name), JSON.stringify(prev) + '\n', { backup: previousFile(paths, name) });
    return prev;
  } finally {
    lock.release();
  }
}
