// Applies OCI/Docker layer tars onto a rootfs directory, safely: whiteouts (.wh.NAME and the
// opaque .wh..wh..opq, applied at the end of the layer so a marker after new files works),
// hardlinks, symlinks, devices, owners, setuid, mtimes and GNU sparse files; no entry may leave the
// root and no write follows a link (src/lib/beneath.ts: directories lstat'ed one by one, O_NOFOLLOW).
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { writeAll } from '../lib/write-all.ts';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BeneathError, lstatBeneath, openBeneath, parentsBeneath, setDirTimesBeneath } from '../lib/beneath.ts';
import { WulfError } from '../lib/errors.ts';
import { escapeControl } from '../lib/log.ts';
import { lsetxattr, mknod } from './sysfs.ts';
import { SparseError, writeSparse } from './sparse.ts';
import { TarPrescan, type MemberInfo, type Xattrs } from './tar-prescan.ts';

export interface ApplyStats {
  entries: number;
  bytes: number;
  whiteouts: number;
  xattrs: number;
  skippedXattrs: number;
  xattrErrors: string[];
}

function escapeError(what: string, name: string): never {
  throw new WulfError(`layer entry "${escapeControl(name)}"${what.startsWith(':') ? '' : ' '}${what}; refusing to import`, {
    code: 'EESCAPE',
  });
}

/** A member wulf cannot apply as it is (never dropped silently). */
function layerError(what: string, name: string): never {
  throw new WulfError(`layer entry "${escapeControl(name)}"${what.startsWith(':') ? '' : ' '}${what}; refusing to import`, {
    code: 'ELAYER',
  });
}

const TYPE_NAMES: Record<string, string> = {
  D: 'a GNU incremental dump directory',
  M: 'a multi-volume continuation',
  S: 'GNU sparse',
  A: 'a Solaris ACL',
  E: 'a Solaris extended attribute',
  I: 'an inode-only member',
  X: 'a Solaris extended header',
};

/** A member name → path components relative to the root ('' for the root itself). Refuses escapes. */
export function safeRel(name: string, field = 'path'): string {
  if (name.startsWith('/')) escapeError(`has an absolute ${field}`, name);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) escapeError(`has a ${field} with '..'`, name);
  return parts.join('/');
}

const isENOENT = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';
function lstatOrNull(p: string) {
  try {
    return lstatSync(p);
  } catch (e) {
    if (isENOENT(e)) return null;
    throw e;
  }
}

/** Deferred metadata for directories (their mtime changes while children are written). */
export class LayerApplier {
  private dirOk = new Set<string>();
  private dirTimes = new Map<string, number>();
  readonly stats: ApplyStats = { entries: 0, bytes: 0, whiteouts: 0, xattrs: 0, skippedXattrs: 0, xattrErrors: [] };
  constructor(
    readonly root: string,
    private readonly owners = process.getuid?.() === 0,
  ) {}

  /** Every ancestor of rel must be a real directory inside the root (created 0755 when missing, unless `create` is false). */
  private parents(rel: string, name: string, create = true): boolean {
    try {
      return parentsBeneath(this.root, rel, { create: create ? 0o755 : undefined, known: this.dirOk });
    } catch (e) {
      throw this.refusal(e, name);
    }
  }

  private refusal(e: unknown, name: string): unknown {
    if (!(e instanceof BeneathError)) return e;
    return e.kind === 'symlink'
      ? escapeError(`would be written through the symlink /${escapeControl(e.at)}`, name)
      : escapeError(`needs /${escapeControl(e.at)} to be a directory but it is a file`, name);
  }

  /** Remove whatever is at rel (keeping a directory when keepDir); its parents are checked. Returns true if a dir stays. */
  private clear(rel: string, keepDir: boolean): boolean {
    const p = join(this.root, rel);
    const st = lstatOrNull(p);
    if (!st) return false;
    if (st.isDirectory() && keepDir) return true;
    if (st.isDirectory()) {
      rmSync(p, { recursive: true, force: true });
      this.dirOk.clear();
    } // rm never follows links
    else rmSync(p, { force: true });
    return false;
  }

  private mtime(h: tar.Header): number {
    return h.mtime ? h.mtime.getTime() / 1000 : 0;
  }

  /** Owner, mode and times through the open descriptor of what was just made (file or directory). */
  private metaFd(fd: number, h: tar.Header): void {
    if (this.owners) fchownSync(fd, h.uid ?? 0, h.gid ?? 0);
    fchmodSync(fd, (h.mode ?? 0o644) & 0o7777); // after chown, which clears setuid
  }

  /** Owner and times of a symlink, device or fifo just made at p (its parents checked); never follows p. */
  private metaPath(p: string, h: tar.Header, link: boolean): void {
    if (this.owners) lchownSync(p, h.uid ?? 0, h.gid ?? 0);
    if (!link) {
      // no lchmod on Linux: p was made by mknod a moment ago in a tree only root writes; make sure it still is no link
      if (lstatSync(p).isSymbolicLink()) escapeError('was replaced by a symlink while being written', p);
      chmodSync(p, (h.mode ?? 0o644) & 0o7777);
    }
    lutimesSync(p, this.mtime(h), this.mtime(h));
  }

  /** Apply one uncompressed layer tar stream. */
  async apply(input: Readable, signal?: AbortSignal): Promise<void> {
    const touched = new Set<string>();
    const opaque: Opaque[] = [];
    const ex = tar.extract();
    const scanner = new TarPrescan(); // raw xattr values, GNU sparse maps: what tar-stream loses
    const feeding = pipeline(input, scanner, ex);
    feeding.catch(() => {
      /* surfaced through the iterator */
    });
    let member = 0;
    for await (const entry of ex) {
      const h = entry.header;
      const info = scanner.byMember.get(member);
      if (info) scanner.byMember.delete(member);
      member++;
      if (signal?.aborted) {
        input.destroy();
        ex.destroy();
        throw new WulfError('interrupted', { code: 'EINTR' });
      }
      try {
        await this.entry(h, entry as unknown as AsyncIterable<Buffer>, touched, opaque, info);
      } finally {
        entry.resume();
      }
    }
    await feeding;
    for (const d of opaque) this.opaque(d, touched);
  }

  /** Set the member's xattrs on p, after chown (which clears security.capability); failures are counted. */
  private xattrs(p: string, x: Xattrs | undefined): void {
    if (!x) return;
    for (const [name, value] of x) {
      try {
        lsetxattr(p, name, value);
        this.stats.xattrs++;
      } catch (e) {
        this.stats.skippedXattrs++;
        if (this.stats.xattrErrors.length < 5) this.stats.xattrErrors.push((e as Error).message.replace(this.root, ''));
      }
    }
  }

  private async entry(
    h: tar.Header,
    body: AsyncIterable<Buffer>,
    touched: Set<string>,
    opaque: Opaque[],
    info: MemberInfo = {},
  ): Promise<void> {
    const x = info.xattrs;
    if (info.sparseError) layerError(`: sparse ${info.sparseError}`, h.name);
    const sparse = info.sparse;
    if (sparse?.name) h = { ...h, name: sparse.name }; // PAX 0.1/1.0 store the member as …/GNUSparseFile.PID/NAME
    if (sparse)
      h = { ...h, type: 'file' }; // old GNU 'S' has no tar-stream type
    else if (info.typeflag === 'V')
      return; // a volume label: not a file
    else if (info.typeflag || h.type === null) {
      const t = info.typeflag ?? '?';
      layerError(`has tar type '${t.replace(/[^\x21-\x7e]/g, '?')}' (${TYPE_NAMES[t] ?? 'unknown'}), which wulf cannot import`, h.name);
    }
    const rel = safeRel(h.name);
    this.stats.entries++;
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    const dir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    if (base.startsWith('.wh.')) {
      this.stats.whiteouts++;
      if (base === '.wh..wh..opq') {
        this.parents(rel, h.name);
        opaque.push({ dir, name: h.name });
        markTouched(touched, dir);
        return;
      }
      const what = base.slice(4);
      // it would delete its own directory, or the root
      if (what === '' || what === '.' || what === '..') layerError('is a whiteout that names no entry', h.name);
      const target = (dir ? dir + '/' : '') + what;
      if (this.parents(target, h.name, false)) this.clear(target, false); // a missing parent: nothing to delete
      return;
    }
    if (rel === '') {
      // the root itself: metadata only
      if (h.type === 'directory') {
        this.dir('', h);
        this.xattrs(this.root, x);
      }
      return;
    }
    this.parents(rel, h.name);
    markTouched(touched, rel);
    const p = join(this.root, rel);
    switch (h.type) {
      case 'directory': {
        if (!this.clear(rel, true)) mkdirSync(p, { mode: 0o700 });
        this.dirOk.add(rel);
        this.dir(rel, h);
        this.xattrs(p, x);
        return;
      }
      case 'file':
      case 'contiguous-file': {
        this.clear(rel, false);
        // O_EXCL: a link left at p (none is: clear removed it) would fail the open, not be followed
        const fd = openBeneath(this.root, rel, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600, { known: this.dirOk });
        try {
          if (sparse) {
            try {
              this.stats.bytes += await writeSparse(fd, body, sparse, h.size ?? 0);
            } catch (e) {
              if (e instanceof SparseError) layerError(`: sparse ${e.message}`, h.name);
              throw e;
            }
          } else {
            for await (const chunk of body as AsyncIterable<Buffer>) {
              writeAll(fd, chunk);
              this.stats.bytes += chunk.length;
            }
          }
          this.metaFd(fd, h);
          futimesSync(fd, this.mtime(h), this.mtime(h));
        } finally {
          closeSync(fd);
        }
        this.xattrs(p, x);
        return;
      }
      case 'symlink': {
        this.clear(rel, false);
        symlinkSync(h.linkname ?? '', p);
        this.metaPath(p, h, true);
        this.xattrs(p, x);
        return;
      }
      case 'link': {
        const target = safeRel(h.linkname ?? '', 'hardlink target');
        if (!target) escapeError('is a hardlink to the root', h.name);
        let st;
        try {
          st = lstatBeneath(this.root, target, this.dirOk);
        } catch (e) {
          throw this.refusal(e, h.name);
        }
        if (!st) layerError(`is a hardlink to missing "${escapeControl(h.linkname ?? '')}"`, h.name);
        if (st.isDirectory()) escapeError('is a hardlink to a directory', h.name);
        if (target === rel) return;
        this.clear(rel, false);
        linkSync(join(this.root, target), p); // link(2) never follows a symlink target: the link itself is linked
        this.xattrs(p, x);
        return;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        this.clear(rel, false);
        const type = h.type === 'fifo' ? 0o010000 : h.type === 'block-device' ? 0o060000 : 0o020000;
        mknod(p, type | 0o600, h.devmajor ?? 0, h.devminor ?? 0);
        this.metaPath(p, h, false);
        this.xattrs(p, x);
        return;
      }
      default:
        return; // pax/gnu headers are consumed by tar-stream; unknown types were refused above
    }
  }

  /** A directory's owner and mode now, through a descriptor opened without following links; its mtime at finish(). */
  private dir(rel: string, h: tar.Header): void {
    let fd: number | undefined;
    try {
      fd = openBeneath(this.root, rel, constants.O_RDONLY | constants.O_DIRECTORY, undefined, { known: this.dirOk });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
    } // not root, and an earlier layer made it unreadable
    if (fd !== undefined) {
      try {
        this.metaFd(fd, h);
      } finally {
        closeSync(fd);
      }
    } else {
      const p = rel ? join(this.root, rel) : this.root;
      if (!lstatSync(p).isDirectory()) escapeError('is no longer a directory', h.name);
      chmodSync(p, (h.mode ?? 0o644) & 0o7777); // not root: no owner to set
    }
    this.dirTimes.set(rel, this.mtime(h));
  }

  /** Opaque directory: drop everything below dir that this layer did not write. */
  private opaque({ dir, name }: Opaque, touched: Set<string>): void {
    let st;
    try {
      st = lstatBeneath(this.root, dir, this.dirOk);
    } catch (e) {
      throw this.refusal(e, name);
    }
    if (!st) return; // deleted by a whiteout of the same layer
    if (!st.isDirectory())
      escapeError(`: the opaque directory /${escapeControl(dir)} is no longer a directory (a later entry replaced it)`, name);
    const walk = (d: string) => {
      const abs = join(this.root, d);
      let names: string[];
      try {
        names = readdirSync(abs);
      } catch {
        return;
      }
      for (const n of names) {
        const rel = d ? `${d}/${n}` : n;
        if (!touched.has(rel)) {
          rmSync(join(this.root, rel), { recursive: true, force: true });
          this.dirOk.clear();
        } else if (lstatSync(join(this.root, rel)).isDirectory()) walk(rel);
      }
    };
    walk(dir);
  }

  /** Set directory mtimes last, deepest first, on directories that still are real ones reached through real ones. */
  finish(): void {
    const dirs = [...this.dirTimes.entries()].sort((a, b) => b[0].split('/').length - a[0].split('/').length);
    for (const [rel, t] of dirs) setDirTimesBeneath(this.root, rel, t, t);
  }
}

interface Opaque {
  dir: string;
  name: string;
}

function markTouched(set: Set<string>, rel: string): void {
  let cur = rel;
  while (cur && !set.has(cur)) {
    set.add(cur);
    const i = cur.lastIndexOf('/');
    cur = i < 0 ? '' : cur.slice(0, i);
  }
}
