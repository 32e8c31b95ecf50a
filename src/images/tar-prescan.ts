// tar-stream decodes PAX records as UTF-8 text, which corrupts binary xattr values such as
// security.capability. This pass-through stream reads the tar headers itself (before tar-stream
// sees the bytes) and keeps the raw SCHILY.xattr.* (and LIBARCHIVE.xattr.*, base64) values of
// each member, numbered in the order tar-stream will emit members.
import { Transform, type TransformCallback } from 'node:stream';

export type Xattrs = Map<string, Uint8Array>;
const BLOCK = 512;
const MAX_PAX = 16 << 20;

function parseSize(h: Buffer): number {
  const f = h.subarray(124, 136);
  if (f[0]! & 0x80) { // base-256
    let n = 0;
    for (let i = 1; i < f.length; i++) n = n * 256 + f[i]!;
    return n;
  }
  const s = f.toString('latin1').replace(/\0.*$/s, '').trim();
  return s ? parseInt(s, 8) : 0;
}

/** PAX records: "LEN key=value\n", values kept as raw bytes. */
export function parsePaxRecords(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(buf.toString('latin1', off, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || off + len > buf.length) break;
    const rec = buf.subarray(sp + 1, off + len - 1); // drop the trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}

function xattrsOf(rec: Map<string, Buffer>): Xattrs | undefined {
  let x: Xattrs | undefined;
  for (const [k, v] of rec) {
    if (k.startsWith('SCHILY.xattr.')) (x ??= new Map()).set(k.slice(13), new Uint8Array(v));
    else if (k.startsWith('LIBARCHIVE.xattr.')) {
      let name = k.slice(17);
      try { name = decodeURIComponent(name); } catch { /* as is */ }
      (x ??= new Map()).set(name, new Uint8Array(Buffer.from(v.toString('latin1'), 'base64')));
    }
  }
  return x;
}

export class PaxXattrScanner extends Transform {
  /** member ordinal (0-based, as tar-stream emits them) → its xattrs */
  readonly byMember = new Map<number, Xattrs>();
  private members = 0;
  private head = Buffer.alloc(BLOCK);
  private headUsed = 0;
  private skip = 0;                                   // data bytes (incl. padding) still to pass over
  private collect: { kind: 'x' | 'g'; size: number; parts: Buffer[]; got: number } | undefined;
  private pending: Map<string, Buffer> | undefined;   // the last 'x' header's records
  private global = new Map<string, Buffer>();

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try { this.scan(chunk); } catch { /* scanning is best effort; tar-stream reports real errors */ }
    cb(null, chunk);
  }

  private scan(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - off);
        if (this.collect && this.collect.got < this.collect.size) {
          const take = Math.min(n, this.collect.size - this.collect.got);
          if (this.collect.size <= MAX_PAX) this.collect.parts.push(Buffer.from(chunk.subarray(off, off + take)));
          this.collect.got += take;
        }
        this.skip -= n; off += n;
        if (this.skip === 0 && this.collect) this.endCollect();
        continue;
      }
      const n = Math.min(BLOCK - this.headUsed, chunk.length - off);
      chunk.copy(this.head, this.headUsed, off, off + n);
      this.headUsed += n; off += n;
      if (this.headUsed < BLOCK) return;
      this.headUsed = 0;
      this.header(this.head);
    }
  }

  private header(h: Buffer): void {
    if (h.every((b) => b === 0)) return; // end-of-archive blocks
    const type = String.fromCharCode(h[156]!);
    let size = parseSize(h);
    if (type === 'x' || type === 'g') {
      this.collect = { kind: type, size, parts: [], got: 0 };
      this.skip = Math.ceil(size / BLOCK) * BLOCK;
      if (this.skip === 0) this.endCollect();
      return;
    }
    if (type === 'L' || type === 'K') { this.skip = Math.ceil(size / BLOCK) * BLOCK; return; }
    const rec = this.pending ? new Map([...this.global, ...this.pending]) : this.global;
    this.pending = undefined;
    const paxSize = rec.get('size');
    if (paxSize) size = parseInt(paxSize.toString('latin1'), 10) || size;
    const x = rec.size ? xattrsOf(rec) : undefined;
    if (x) this.byMember.set(this.members, x);
    this.members++;
    // as tar-stream does: a directory (also an old-style name ending in '/') has no data; others have `size`
    const nameEnd = h.indexOf(0); const name = h.subarray(0, nameEnd < 0 || nameEnd > 100 ? 100 : nameEnd);
    const isDir = type === '5' || ((type === '0' || h[156] === 0) && name[name.length - 1] === 0x2f);
    this.skip = isDir ? 0 : Math.ceil(size / BLOCK) * BLOCK;
  }

  private endCollect(): void {
    const c = this.collect!;
    this.collect = undefined;
    if (c.size > MAX_PAX) return;
    const rec = parsePaxRecords(Buffer.concat(c.parts));
    if (c.kind === 'g') { for (const [k, v] of rec) this.global.set(k, v); }
    else this.pending = rec;
  }
}
