// A pass-through stream that reads the tar headers itself, before tar-stream sees the bytes, for
// what tar-stream loses, per member (numbered in the order tar-stream emits members):
// - xattrs: tar-stream decodes PAX records as UTF-8 text, which corrupts binary values such as
//   security.capability; the raw SCHILY.xattr.* (and LIBARCHIVE.xattr.*, base64) values are kept;
// - GNU sparse members (sparse.ts): the PAX GNU.sparse.* records in order (0.0 repeats its keys),
//   and the old GNU 'S' header's map with its extension blocks, which this stream drops: tar-stream
//   would read them as the member's data and lose its place in the archive;
// - the raw typeflag of a member tar-stream has no type for.
import { Transform, type TransformCallback } from 'node:stream';
import { oldGnuExtension, oldGnuHeader, paxSparse, SparseError, tarNumber, type Run, type SparseInfo } from './sparse.ts';

export type Xattrs = Map<string, Uint8Array>;
export interface MemberInfo {
  xattrs?: Xattrs;
  sparse?: SparseInfo;
  sparseError?: string;
  typeflag?: string;
}
const BLOCK = 512;
const MAX_PAX = 16 << 20;
const KNOWN = new Set(['0', '1', '2', '3', '4', '5', '6', '7', '\0']);

/** PAX records "LEN key=value\n" in order, values as raw bytes. */
export function parsePaxList(buf: Buffer): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  let off = 0;
  while (off < buf.length) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(buf.toString('latin1', off, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || off + len > buf.length) break;
    const rec = buf.subarray(sp + 1, off + len - 1); // drop the trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.push([rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1))]);
    off += len;
  }
  return out;
}

/** The same as a map (a repeated key keeps its last value, as POSIX says). */
export function parsePaxRecords(buf: Buffer): Map<string, Buffer> {
  return new Map(parsePaxList(buf));
}

function xattrsOf(rec: Map<string, Buffer>): Xattrs | undefined {
  let x: Xattrs | undefined;
  for (const [k, v] of rec) {
    if (k.startsWith('SCHILY.xattr.')) (x ??= new Map()).set(k.slice(13), new Uint8Array(v));
    else if (k.startsWith('LIBARCHIVE.xattr.')) {
      let name = k.slice(17);
      try {
        name = decodeURIComponent(name);
      } catch {
        /* as is */
      }
      (x ??= new Map()).set(name, new Uint8Array(Buffer.from(v.toString('latin1'), 'base64')));
    }
  }
  return x;
}

export class TarPrescan extends Transform {
  readonly byMember = new Map<number, MemberInfo>();
  private members = 0;
  private head = Buffer.alloc(BLOCK);
  private headUsed = 0;
  private skip = 0; // data bytes (incl. padding) still to pass over
  private extension: { member: number; runs: Run[]; realSize: number; dataSkip: number } | undefined; // old GNU extension blocks to read and drop
  private collect: { kind: 'x' | 'g'; size: number; parts: Buffer[]; got: number } | undefined;
  private pending: [string, Buffer][] | undefined; // the last 'x' header's records
  private global = new Map<string, Buffer>();
  private broken = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.broken) {
      cb(null, chunk);
      return;
    }
    try {
      cb(null, this.scan(chunk));
    } catch {
      this.broken = true;
      cb(null, chunk);
    } // scanning is best effort; tar-stream reports real errors
  }

  private info(n: number): MemberInfo {
    let i = this.byMember.get(n);
    if (!i) this.byMember.set(n, (i = {}));
    return i;
  }

  /** The chunk without the extension blocks of old GNU sparse headers. */
  private scan(chunk: Buffer): Buffer {
    const keep: Buffer[] = [];
    let off = 0,
      from = 0;
    while (off < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - off);
        if (this.collect && this.collect.got < this.collect.size) {
          const take = Math.min(n, this.collect.size - this.collect.got);
          if (this.collect.size <= MAX_PAX) this.collect.parts.push(Buffer.from(chunk.subarray(off, off + take)));
          this.collect.got += take;
        }
        this.skip -= n;
        off += n;
        if (this.skip === 0 && this.collect) this.endCollect();
        continue;
      }
      const blockStart = off;
      const n = Math.min(BLOCK - this.headUsed, chunk.length - off);
      chunk.copy(this.head, this.headUsed, off, off + n);
      this.headUsed += n;
      off += n;
      if (this.extension) {
        // dropped: what came before it in this chunk is kept
        if (blockStart > from) keep.push(chunk.subarray(from, blockStart));
        from = off;
      }
      if (this.headUsed < BLOCK) break;
      this.headUsed = 0;
      if (this.extension) this.extensionBlock(this.head);
      else this.header(this.head);
    }
    if (from === 0) return chunk;
    if (from < chunk.length) keep.push(chunk.subarray(from));
    return Buffer.concat(keep);
  }

  private header(h: Buffer): void {
    if (h.every((b) => b === 0)) return; // end-of-archive blocks
    const type = String.fromCharCode(h[156]!);
    let size = tarNumber(h.subarray(124, 136));
    if (type === 'x' || type === 'g') {
      this.collect = { kind: type, size, parts: [], got: 0 };
      this.skip = Math.ceil(size / BLOCK) * BLOCK;
      if (this.skip === 0) this.endCollect();
      return;
    }
    if (type === 'L' || type === 'K' || type === 'N') {
      this.skip = Math.ceil(size / BLOCK) * BLOCK;
      return;
    }
    const member = this.members++;
    const own = this.pending;
    this.pending = undefined;
    const rec = own ? new Map([...this.global, ...own]) : this.global;
    const paxSize = rec.get('size');
    if (paxSize) size = parseInt(paxSize.toString('latin1'), 10) || size;
    const x = rec.size ? xattrsOf(rec) : undefined;
    if (x) this.info(member).xattrs = x;
    if (!KNOWN.has(type)) this.info(member).typeflag = type;
    if (own && (type === '0' || type === '\0' || type === '7')) {
      try {
        const sp = paxSparse(own.filter(([k]) => k.startsWith('GNU.sparse.')).map(([k, v]) => [k, v.toString('utf8')]));
        if (sp) this.info(member).sparse = sp;
      } catch (e) {
        if (e instanceof SparseError) this.info(member).sparseError = e.message;
        else throw e;
      }
    }
    if (type === 'S') {
      const s = oldGnuHeader(h);
      if (s.extended) {
        this.extension = { member, runs: s.runs, realSize: s.realSize, dataSkip: Math.ceil(size / BLOCK) * BLOCK };
        return;
      }
      this.info(member).sparse = { format: 'old GNU', realSize: s.realSize, runs: s.runs };
    }
    // as tar-stream does: a directory (also an old-style name ending in '/') has no data; others have `size`
    const nameEnd = h.indexOf(0);
    const name = h.subarray(0, nameEnd < 0 || nameEnd > 100 ? 100 : nameEnd);
    const isDir = type === '5' || ((type === '0' || h[156] === 0) && name[name.length - 1] === 0x2f);
    this.skip = isDir ? 0 : Math.ceil(size / BLOCK) * BLOCK;
  }

  private extensionBlock(b: Buffer): void {
    const e = this.extension!;
    const s = oldGnuExtension(b);
    e.runs.push(...s.runs);
    if (s.extended && e.runs.length < 1 << 20) return; // another one follows
    this.extension = undefined;
    this.info(e.member).sparse = { format: 'old GNU', realSize: e.realSize, runs: e.runs };
    if (s.extended) this.info(e.member).sparseError = 'map has more than 1048576 runs';
    this.skip = e.dataSkip;
  }

  private endCollect(): void {
    const c = this.collect!;
    this.collect = undefined;
    if (c.size > MAX_PAX) return;
    const rec = parsePaxList(Buffer.concat(c.parts));
    if (c.kind === 'g') {
      for (const [k, v] of rec) this.global.set(k, v);
    } else this.pending = rec;
  }
}
