// Applies OCI/Docker layer tars onto a rootfs directory, safely: whiteouts (.wh.NAME and the
// opaque .wh..wh..opq, applied at the end of the layer so a marker after new files works),
// hardlinks, symlinks, devices, owners, setuid and mtimes; no entry may leave the root.
import { chmodSync, closeSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync, rmSync, symlinkSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { WulfError } from '../lib/errors.ts';
import { lsetxattr, mknod } from './sysfs.ts';
import { PaxXattrScanner, type Xattrs } from './pax-xattrs.ts';

export interface ApplyStats { entries: number; bytes: number; whiteouts: number; xattrs: number; skippedXattrs: number; xattrErrors: string[] }

function escapeError(what: string, name: string): never {
  throw new WulfError(`layer entry "${name}" ${what}; refusing to import`, { hint: 'the image is malformed or malicious', code: 'EESCAPE' });
}

/** A member name → path components relative to the root ('' for the root itself). Refuses escapes. */
export function safeRel(name: string, field = 'path'): string {
  if (name.startsWith('/')) escapeError(`has an absolute ${field}`, name);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) escapeError(`has a ${field} with '..'`, name);
  return parts.join('/');
}

const isENOENT = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';
function lstatOrNull(p: string) {
  try { return lstatSync(p); } catch (e) { if (isENOENT(e)) return null; throw e; }
}

/** Deferred metadata for directories (their mtime changes while children are written). */
export class LayerApplier {
  private dirOk = new Set<string>();
  private dirTimes = new Map<string, number>();
  readonly stats: ApplyStats = { entries: 0, bytes: 0, whiteouts: 0, xattrs: 0, skippedXattrs: 0, xattrErrors: [] };
  constructor(readonly root: string, private readonly owners = process.getuid?.() === 0) {}

  /** Every ancestor of rel must be a real directory inside the root (created 0755 when missing). */
  private parents(rel: string, name: string): void {
    const parts = rel.split('/');
    let cur = '';
    for (let i = 0; i < parts.length - 1; i++) {
      cur = cur ? `${cur}/${parts[i]}` : parts[i]!;
      if (this.dirOk.has(cur)) continue;
      const st = lstatOrNull(join(this.root, cur));
      if (!st) mkdirSync(join(this.root, cur), { mode: 0o755 });
      else if (st.isSymbolicLink()) escapeError(`would be written through the symlink /${cur}`, name);
      else if (!st.isDirectory()) escapeError(`needs /${cur} to be a directory but it is a file`, name);
      this.dirOk.add(cur);
    }
  }

  /** Remove whatever is at rel (keeping a directory when keepDir). Returns true if a dir stays. */
  private clear(rel: string, keepDir: boolean): boolean {
    const p = join(this.root, rel);
    const st = lstatOrNull(p);
    if (!st) return false;
    if (st.isDirectory() && keepDir) return true;
    if (st.isDirectory()) { rmSync(p, { recursive: true, force: true }); this.dirOk.clear(); }
    else rmSync(p, { force: true });
    return false;
  }

  private meta(p: string, h: tar.Header, kind: 'file' | 'dir' | 'link' | 'other', rel: string): void {
    const mtime = h.mtime ? h.mtime.getTime() / 1000 : 0;
    if (kind === 'link') {
      if (this.owners) lchownSync(p, h.uid ?? 0, h.gid ?? 0);
      lutimesSync(p, mtime, mtime);
      return;
    }
    if (this.owners) lchownSync(p, h.uid ?? 0, h.gid ?? 0);
    chmodSync(p, (h.mode ?? 0o644) & 0o7777); // after chown, which clears setuid
    if (kind === 'dir') this.dirTimes.set(rel, mtime);
    else utimesSync(p, mtime, mtime);
  }

  /** Apply one uncompressed layer tar stream. */
  async apply(input: Readable, signal?: AbortSignal): Promise<void> {
    const touched = new Set<string>();
    const opaque: string[] = [];
    const ex = tar.extract();
    const scanner = new PaxXattrScanner(); // raw xattr values (tar-stream's PAX text would corrupt them)
    const feeding = pipeline(input, scanner, ex);
    feeding.catch(() => { /* surfaced through the iterator */ });
    let member = 0;
    for await (const entry of ex) {
      const h = entry.header;
      const xattrs = scanner.byMember.get(member);
      if (xattrs) scanner.byMember.delete(member);
      member++;
      if (signal?.aborted) { input.destroy(); ex.destroy(); throw new WulfError('interrupted', { code: 'EINTR' }); }
      try {
        await this.entry(h, entry as unknown as AsyncIterable<Buffer>, touched, opaque, xattrs);
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
      try { lsetxattr(p, name, value); this.stats.xattrs++; }
      catch (e) {
        this.stats.skippedXattrs++;
        if (this.stats.xattrErrors.length < 5) this.stats.xattrErrors.push((e as Error).message.replace(this.root, ''));
      }
    }
  }

  private async entry(h: tar.Header, body: AsyncIterable<Buffer>, touched: Set<string>, opaque: string[], x?: Xattrs): Promise<void> {
    const rel = safeRel(h.name);
    this.stats.entries++;
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    const dir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    if (base.startsWith('.wh.')) {
      this.stats.whiteouts++;
      if (dir) this.parents(rel, h.name);
      if (base === '.wh..wh..opq') { opaque.push(dir); markTouched(touched, dir); return; }
      const target = (dir ? dir + '/' : '') + base.slice(4);
      safeRel(target);
      this.clear(target, false);
      return;
    }
    if (rel === '') { // the root itself: metadata only
      if (h.type === 'directory') { this.meta(this.root, h, 'dir', ''); this.xattrs(this.root, x); }
      return;
    }
    this.parents(rel, h.name);
    markTouched(touched, rel);
    const p = join(this.root, rel);
    switch (h.type) {
      case 'directory': {
        if (!this.clear(rel, true)) mkdirSync(p, { mode: 0o700 });
        this.dirOk.add(rel);
        this.meta(p, h, 'dir', rel);
        this.xattrs(p, x);
        return;
      }
      case 'file': case 'contiguous-file': {
        this.clear(rel, false);
        const fd = openSync(p, 'wx', 0o600);
        try {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
            this.stats.bytes += chunk.length;
          }
        } finally { closeSync(fd); }
        this.meta(p, h, 'file', rel);
        this.xattrs(p, x);
        return;
      }
      case 'symlink': {
        this.clear(rel, false);
        symlinkSync(h.linkname ?? '', p);
        this.meta(p, h, 'link', rel);
        this.xattrs(p, x);
        return;
      }
      case 'link': {
        const target = safeRel(h.linkname ?? '', 'hardlink target');
        if (!target) escapeError('is a hardlink to the root', h.name);
        this.parents(target, h.name);
        const st = lstatOrNull(join(this.root, target));
        if (!st) throw new WulfError(`layer entry "${h.name}" is a hardlink to missing "${h.linkname}"`, { code: 'ELAYER' });
        if (st.isDirectory()) escapeError('is a hardlink to a directory', h.name);
        if (target === rel) return;
        this.clear(rel, false);
        linkSync(join(this.root, target), p);
        this.xattrs(p, x);
        return;
      }
      case 'character-device': case 'block-device': case 'fifo': {
        this.clear(rel, false);
        const type = h.type === 'fifo' ? 0o010000 : h.type === 'block-device' ? 0o060000 : 0o020000;
        mknod(p, type | 0o600, h.devmajor ?? 0, h.devminor ?? 0);
        this.meta(p, h, 'other', rel);
        this.xattrs(p, x);
        return;
      }
      default:
        return; // pax/gnu headers are consumed by tar-stream; anything else is ignored
    }
  }

  /** Opaque directory: drop everything below dir that this layer did not write. */
  private opaque(dir: string, touched: Set<string>): void {
    const walk = (d: string) => {
      const abs = join(this.root, d);
      let names: string[];
      try { names = readdirSync(abs); } catch { return; }
      for (const n of names) {
        const rel = d ? `${d}/${n}` : n;
        if (!touched.has(rel)) { rmSync(join(this.root, rel), { recursive: true, force: true }); this.dirOk.clear(); }
        else if (lstatSync(join(this.root, rel)).isDirectory()) walk(rel);
      }
    };
    walk(dir);
  }

  /** Set directory mtimes last, deepest first. */
  finish(): void {
    const dirs = [...this.dirTimes.entries()].sort((a, b) => b[0].split('/').length - a[0].split('/').length);
    for (const [rel, t] of dirs) {
      try { utimesSync(rel ? join(this.root, rel) : this.root, t, t); } catch { /* removed by a later layer */ }
    }
  }
}

function markTouched(set: Set<string>, rel: string): void {
  let cur = rel;
  while (cur && !set.has(cur)) {
    set.add(cur);
    const i = cur.lastIndexOf('/');
    cur = i < 0 ? '' : cur.slice(0, i);
  }
}
