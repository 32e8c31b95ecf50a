// newc ("070701") cpio records, as the Linux initramfs unpacker and GNU cpio read them.
// Pure: entries in, bytes out. The caller must emit directories before their children
// (the kernel's unpacker does not create missing parents).

export const S_IFMT = 0o170000,
  S_IFDIR = 0o040000,
  S_IFREG = 0o100000,
  S_IFLNK = 0o120000,
  S_IFCHR = 0o020000,
  S_IFBLK = 0o060000,
  S_IFIFO = 0o010000;

export interface CpioEntry {
  name: string; // relative path without leading '/', e.g. 'etc/hostname'
  mode: number; // type bits | permission bits
  uid?: number;
  gid?: number;
  mtime?: number; // seconds
  nlink?: number;
  ino?: number;
  devmajor?: number;
  devminor?: number;
  rdevmajor?: number;
  rdevminor?: number;
  data?: Uint8Array; // file content, or the symlink target for S_IFLNK
}

const enc = new TextEncoder();
const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;
const ZEROS = new Uint8Array(4);

/** The header and name of one record (with padding); data and its padding follow separately. */
export function cpioHeader(e: CpioEntry, ino: number, size: number): Uint8Array {
  const name = enc.encode(e.name + '\0');
  const isDir = (e.mode & S_IFMT) === S_IFDIR;
  const hdr =
    '070701' +
    [
      e.ino ?? ino,
      e.mode,
      e.uid ?? 0,
      e.gid ?? 0,
      e.nlink ?? (isDir ? 2 : 1),
      e.mtime ?? 0,
      size,
      e.devmajor ?? 0,
      e.devminor ?? 0,
      e.rdevmajor ?? 0,
      e.rdevminor ?? 0,
      name.length,
      0,
    ]
      .map(hex8)
      .join('');
  const out = new Uint8Array(110 + name.length + pad4(110 + name.length));
  out.set(enc.encode(hdr), 0);
  out.set(name, 110);
  return out;
}

export function cpioPadding(size: number): Uint8Array {
  return ZEROS.subarray(0, pad4(size));
}

/** Collects records in memory; `finish()` appends the trailer and returns one buffer. */
export class CpioWriter {
  private parts: Uint8Array[] = [];
  private ino = 1;
  private length = 0;
  add(e: CpioEntry): void {
    const data = e.data ?? new Uint8Array(0);
    this.push(cpioHeader(e, this.ino++, data.length));
    if (data.length) {
      this.push(data);
      this.push(cpioPadding(data.length));
    }
  }
  private push(b: Uint8Array) {
    if (b.length) {
      this.parts.push(b);
      this.length += b.length;
    }
  }
  finish(): Uint8Array {
    this.add({ name: 'TRAILER!!!', mode: 0, nlink: 1, ino: 0 });
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    this.parts = [];
    return out;
  }
}

/** Parse a newc archive back into entries (tests, `overlay diff`). Throws on a malformed archive. */
export function readCpio(buf: Uint8Array): CpioEntry[] {
  const dec = new TextDecoder();
  const out: CpioEntry[] = [];
  let off = 0;
  while (off + 110 <= buf.length) {
    const magic = dec.decode(buf.subarray(off, off + 6));
    if (magic !== '070701' && magic !== '070702') throw new Error(`cpio: bad magic at ${off}`);
    const f = (i: number) => parseInt(dec.decode(buf.subarray(off + 6 + i * 8, off + 14 + i * 8)), 16);
    const [ino, mode, uid, gid, nlink, mtime, size, devmajor, devminor, rdevmajor, rdevminor, namesize] = [
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    ].map(f) as number[];
    const nameStart = off + 110;
    const name = dec.decode(buf.subarray(nameStart, nameStart + namesize! - 1));
    let p = nameStart + namesize!;
    p += pad4(p);
    if (p + size! > buf.length) throw new Error(`cpio: truncated entry ${name}`);
    const data = buf.slice(p, p + size!);
    p += size!;
    p += pad4(p);
    off = p;
    if (name === 'TRAILER!!!') break;
    out.push({ name, mode: mode!, uid, gid, nlink, mtime, ino, devmajor, devminor, rdevmajor, rdevminor, data });
  }
  return out;
}
