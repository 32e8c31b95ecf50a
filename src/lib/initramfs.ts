// Reads an initramfs the way the Linux kernel unpacks it (init/initramfs.c): a sequence of
// streams, each either a plain newc cpio archive or one compressed stream (one gzip member, one
// zstd frame). The kernel decompresses one stream at a time and requires each to end on a
// complete archive, i.e. on a TRAILER!!! record (zero padding may follow); otherwise it stops with
// "junk at the end of compressed archive" and the node panics. Zero bytes between streams are
// skipped, as the kernel does. Used by the tests and by `wulf sim` on every archive it downloads.
import zlib from 'node:zlib';

export interface InitramfsStream {
  kind: 'cpio' | 'gzip' | 'zstd';
  offset: number;
  compressed: number;
  bytes: number;
  entries: number;
  names?: string[];
}
export interface InitramfsReport {
  streams: InitramfsStream[];
  entries: number;
  bytes: number;
}

export class InitramfsError extends Error {}

const dec = new TextDecoder();
const TRAILER = 'TRAILER!!!';
const JUNK = 'the kernel stops with "junk at the end of compressed archive"';

/** Walk a newc archive sequence; throws unless it ends right after a trailer (+ zero padding). */
function walkCpio(buf: Uint8Array, where: string, names?: string[]): number {
  let off = 0,
    entries = 0,
    afterTrailer = true;
  while (off < buf.length) {
    if (afterTrailer) {
      while (off < buf.length && buf[off] === 0) off++;
      if (off >= buf.length) break;
    }
    if (off + 110 > buf.length) throw new InitramfsError(`${where}: ends inside a cpio header at byte ${off}: ${JUNK}`);
    const magic = dec.decode(buf.subarray(off, off + 6));
    if (magic !== '070701' && magic !== '070702')
      throw new InitramfsError(`${where}: no cpio header at byte ${off} (found ${JSON.stringify(magic)})`);
    const field = (i: number) => parseInt(dec.decode(buf.subarray(off + 6 + i * 8, off + 14 + i * 8)), 16);
    const size = field(6),
      namesize = field(11);
    if (!Number.isFinite(size) || !Number.isFinite(namesize) || namesize < 1)
      throw new InitramfsError(`${where}: bad cpio header at byte ${off}`);
    const nameEnd = off + 110 + namesize;
    if (nameEnd > buf.length) throw new InitramfsError(`${where}: ends inside a cpio name at byte ${off}: ${JUNK}`);
    const name = dec.decode(buf.subarray(off + 110, nameEnd - 1));
    let p = nameEnd + ((4 - (nameEnd % 4)) % 4);
    if (p + size > buf.length) throw new InitramfsError(`${where}: ends inside the data of ${name}: ${JUNK}`);
    p += size;
    p += (4 - (p % 4)) % 4;
    off = p;
    afterTrailer = name === TRAILER;
    if (!afterTrailer) {
      entries++;
      names?.push(name);
    }
  }
  if (!afterTrailer) throw new InitramfsError(`${where}: ends inside a cpio archive (no TRAILER!!! record): ${JUNK}`);
  return entries;
}

/** Length of the gzip header at off (RFC 1952), or throws. */
function gzipHeaderLength(b: Uint8Array, off: number): number {
  if (b[off + 2] !== 8) throw new InitramfsError(`gzip member at byte ${off}: not deflate`);
  const flg = b[off + 3]!;
  let p = off + 10;
  if (flg & 4) p += 2 + (b[p]! | (b[p + 1]! << 8));
  if (flg & 8) {
    while (p < b.length && b[p] !== 0) p++;
    p++;
  }
  if (flg & 16) {
    while (p < b.length && b[p] !== 0) p++;
    p++;
  }
  if (flg & 2) p += 2;
  if (p > b.length) throw new InitramfsError(`gzip member at byte ${off}: truncated header`);
  return p - off;
}

/** Length of the zstd frame at off (RFC 8878), skippable frames included, or throws. */
export function zstdFrameLength(b: Uint8Array, off: number): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint32(off, true);
  if ((magic & 0xfffffff0) === 0x184d2a50) return 8 + dv.getUint32(off + 4, true);
  const fhd = b[off + 4]!;
  const fcsFlag = fhd >> 6,
    single = (fhd >> 5) & 1,
    checksum = (fhd >> 2) & 1,
    dictFlag = fhd & 3;
  let p = off + 5 + (single ? 0 : 1) + [0, 1, 2, 4][dictFlag]! + [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  for (;;) {
    if (p + 3 > b.length) throw new InitramfsError(`zstd frame at byte ${off}: truncated`);
    const h = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
    const last = h & 1,
      type = (h >> 1) & 3,
      size = h >>> 3;
    if (type === 3) throw new InitramfsError(`zstd frame at byte ${off}: reserved block type`);
    p += 3 + (type === 1 ? 1 : size);
    if (last) break;
  }
  p += checksum ? 4 : 0;
  if (p > b.length) throw new InitramfsError(`zstd frame at byte ${off}: truncated`);
  return p - off;
}

/**
 * Check a whole initramfs image as the kernel would unpack it. Returns the streams found; throws an
 * InitramfsError naming the first stream that the kernel would refuse.
 */
export function checkInitramfs(buf: Uint8Array, opts: { names?: boolean } = {}): InitramfsReport {
  const streams: InitramfsStream[] = [];
  let off = 0,
    total = 0,
    bytes = 0;
  while (off < buf.length) {
    if (buf[off] === 0) {
      off++;
      continue;
    }
    const where = `stream ${streams.length + 1} at byte ${off}`;
    let data: Uint8Array, used: number, kind: InitramfsStream['kind'];
    if (buf[off] === 0x1f && buf[off + 1] === 0x8b) {
      kind = 'gzip';
      const h = gzipHeaderLength(buf, off);
      let r: { buffer: Buffer; engine: { bytesWritten: number } };
      try {
        r = zlib.inflateRawSync(buf.subarray(off + h), { info: true }) as unknown as typeof r;
      } catch (e) {
        throw new InitramfsError(`${where}: gzip data is corrupt (${(e as Error).message})`);
      }
      data = r.buffer;
      used = h + r.engine.bytesWritten + 8;
      if (off + used > buf.length) throw new InitramfsError(`${where}: gzip member is truncated`);
      const crc = new DataView(buf.buffer, buf.byteOffset + off + used - 8, 8);
      if (crc.getUint32(0, true) >>> 0 !== Bun.hash.crc32(data) >>> 0) throw new InitramfsError(`${where}: gzip CRC mismatch`);
      if (crc.getUint32(4, true) !== data.length >>> 0) throw new InitramfsError(`${where}: gzip length mismatch`);
    } else if (buf[off] === 0x28 && buf[off + 1] === 0xb5 && buf[off + 2] === 0x2f && buf[off + 3] === 0xfd) {
      kind = 'zstd';
      used = zstdFrameLength(buf, off);
      try {
        data = Bun.zstdDecompressSync(buf.subarray(off, off + used));
      } catch (e) {
        throw new InitramfsError(`${where}: zstd frame is corrupt (${(e as Error).message})`);
      }
    } else if (buf[off] === 0x30 && dec.decode(buf.subarray(off, off + 6)).startsWith('07070')) {
      // an uncompressed archive runs to its trailer
      kind = 'cpio';
      data = buf.subarray(off);
      used = cpioLength(data, where);
      data = data.subarray(0, used);
    } else {
      throw new InitramfsError(`${where}: invalid magic (neither gzip, zstd nor cpio)`);
    }
    const names = opts.names ? ([] as string[]) : undefined;
    const entries = walkCpio(data, where, names);
    streams.push({ kind, offset: off, compressed: used, bytes: data.length, entries, ...(names ? { names } : {}) });
    total += entries;
    bytes += data.length;
    off += used;
  }
  if (!streams.length) throw new InitramfsError('empty initramfs');
  return { streams, entries: total, bytes };
}

/** Bytes up to and including the first trailer record of an uncompressed archive. */
function cpioLength(b: Uint8Array, where: string): number {
  let off = 0;
  while (off + 110 <= b.length) {
    const field = (i: number) => parseInt(dec.decode(b.subarray(off + 6 + i * 8, off + 14 + i * 8)), 16);
    const size = field(6),
      namesize = field(11);
    const nameEnd = off + 110 + namesize;
    const name = dec.decode(b.subarray(off + 110, nameEnd - 1));
    let p = nameEnd + ((4 - (nameEnd % 4)) % 4);
    p += size;
    p += (4 - (p % 4)) % 4;
    off = p;
    if (name === TRAILER) return Math.min(off, b.length);
  }
  throw new InitramfsError(`${where}: cpio archive without a TRAILER!!! record`);
}
