// GNU sparse tar members, rebuilt with their holes. Four encodings of one idea (a list of data runs
// — offset, size — stored one after the other; the rest of the file is a hole; the file is
// `realSize` long), as GNU tar's manual describes them (Tar Internals, Sparse Formats):
//   old GNU   typeflag 'S'; 4 runs in the header at 386, more in 512-byte extension blocks that follow
//             the header (21 runs each, "another follows" at 504); real size at 483
//   PAX 0.0   GNU.sparse.size, GNU.sparse.numblocks, then GNU.sparse.offset / GNU.sparse.numbytes
//             repeated in order (so the records must be read as a list, not a map)
//   PAX 0.1   GNU.sparse.map = "off,size,off,size…"; GNU.sparse.name is the real name
//   PAX 1.0   GNU.sparse.major=1 minor=0, GNU.sparse.name, GNU.sparse.realsize; the map is the start of
//             the member's data: decimal numbers one per line (count, then off/size pairs), padded to 512
import { ftruncateSync } from 'node:fs';
import { writeAll } from '../lib/write-all.ts';

export interface Run {
  offset: number;
  size: number;
}
export interface SparseInfo {
  format: 'old GNU' | '0.0' | '0.1' | '1.0';
  realSize: number;
  runs?: Run[];
  name?: string;
}

/** A bad sparse member; the applier names the entry. */
export class SparseError extends Error {}

const MAX_RUNS = 1 << 20;

/** A numeric header field: octal text, or base-256 when the top bit of its first byte is set. */
export function tarNumber(f: Buffer): number {
  if (f[0]! & 0x80) {
    let n = f[0]! & 0x7f;
    for (let i = 1; i < f.length; i++) n = n * 256 + f[i]!;
    return n;
  }
  const s = f.toString('latin1').replace(/\0.*$/s, '').trim();
  return s ? parseInt(s, 8) : 0;
}

/** `count` runs of 24 bytes from `at`; an empty offset field ends the list. */
function runsAt(b: Buffer, at: number, count: number): Run[] {
  const out: Run[] = [];
  for (let i = 0; i < count; i++) {
    const o = at + i * 24;
    if (b[o] === 0) break;
    out.push({ offset: tarNumber(b.subarray(o, o + 12)), size: tarNumber(b.subarray(o + 12, o + 24)) });
  }
  return out;
}

/** The old GNU 'S' header: its runs, its real size, and whether an extension block follows. */
export function oldGnuHeader(h: Buffer): { runs: Run[]; realSize: number; extended: boolean } {
  return { runs: runsAt(h, 386, 4), realSize: tarNumber(h.subarray(483, 495)), extended: h[482] !== 0 };
}

/** One old GNU extension block. */
export function oldGnuExtension(b: Buffer): { runs: Run[]; extended: boolean } {
  return { runs: runsAt(b, 0, 21), extended: b[504] !== 0 };
}

const num = (v: string | undefined, what: string): number => {
  if (v === undefined || !/^\d{1,16}$/.test(v.trim()))
    throw new SparseError(`${what} is ${v === undefined ? 'missing' : `"${v.slice(0, 20)}", not a number`}`);
  return Number(v.trim());
};

/** The sparse description in a member's PAX records (in their order), or undefined for a plain member. */
export function paxSparse(records: [string, string][]): SparseInfo | undefined {
  const get = (k: string) => {
    let v: string | undefined;
    for (const [key, val] of records) if (key === k) v = val;
    return v;
  };
  const major = get('GNU.sparse.major'),
    map = get('GNU.sparse.map');
  const name = get('GNU.sparse.name');
  if (major !== undefined) {
    if (major !== '1' || (get('GNU.sparse.minor') ?? '0') !== '0')
      throw new SparseError(`format ${major}.${get('GNU.sparse.minor') ?? '?'} is not one wulf knows (0.0, 0.1, 1.0)`);
    return {
      format: '1.0',
      realSize: num(get('GNU.sparse.realsize') ?? get('GNU.sparse.size'), 'GNU.sparse.realsize'),
      ...(name ? { name } : {}),
    };
  }
  if (map !== undefined) {
    const f = map === '' ? [] : map.split(',');
    if (f.length % 2) throw new SparseError('map GNU.sparse.map has an odd number of fields');
    if (f.length / 2 > MAX_RUNS) throw new SparseError(`map has more than ${MAX_RUNS} runs`);
    const runs: Run[] = [];
    for (let i = 0; i < f.length; i += 2) runs.push({ offset: num(f[i], 'a map offset'), size: num(f[i + 1], 'a map size') });
    return {
      format: '0.1',
      realSize: num(get('GNU.sparse.size') ?? get('GNU.sparse.realsize'), 'GNU.sparse.size'),
      runs,
      ...(name ? { name } : {}),
    };
  }
  if (!records.some(([k]) => k === 'GNU.sparse.offset' || k === 'GNU.sparse.numblocks')) return undefined;
  const runs: Run[] = [];
  let offset: number | undefined;
  for (const [k, v] of records) {
    if (k === 'GNU.sparse.offset') offset = num(v, 'GNU.sparse.offset');
    else if (k === 'GNU.sparse.numbytes') {
      if (offset === undefined) throw new SparseError('map has a GNU.sparse.numbytes without its offset');
      runs.push({ offset, size: num(v, 'GNU.sparse.numbytes') });
      offset = undefined;
      if (runs.length > MAX_RUNS) throw new SparseError(`map has more than ${MAX_RUNS} runs`);
    }
  }
  return { format: '0.0', realSize: num(get('GNU.sparse.size'), 'GNU.sparse.size'), runs, ...(name ? { name } : {}) };
}

/** Runs must be in order, not overlap, lie within the file and add up to the data stored. */
export function checkRuns(runs: Run[], realSize: number, stored: number): void {
  if (!Number.isSafeInteger(realSize)) throw new SparseError(`real size ${realSize} is too large`);
  let end = 0,
    sum = 0;
  for (const r of runs) {
    if (r.offset < end) throw new SparseError(`map has runs out of order or overlapping (offset ${r.offset} before ${end})`);
    end = r.offset + r.size;
    if (end > realSize) throw new SparseError(`map reaches offset ${end}, past the file's real size ${realSize}`);
    sum += r.size;
  }
  if (sum !== stored) throw new SparseError(`map describes ${sum} bytes of data but the member stores ${stored}`);
}

/** Reads the 1.0 map at the start of the data: numbers, one per line, then padding to 512. */
class MapReader {
  private nums: number[] = [];
  private digits = '';
  private used = 0;
  /** padding bytes after the map, still to skip once it is complete */
  skip = 0;
  /** Feed a chunk; returns the rest of the chunk after the padded map once it is complete. */
  feed(chunk: Buffer): Buffer | undefined {
    let i = 0;
    for (; i < chunk.length && !this.done; i++) {
      const c = chunk[i]!;
      if (c === 0x0a) {
        if (!this.digits) throw new SparseError('map (format 1.0) has an empty line');
        this.nums.push(Number(this.digits));
        this.digits = '';
        if (this.nums.length === 1 && this.nums[0]! > MAX_RUNS) throw new SparseError(`map has more than ${MAX_RUNS} runs`);
      } else if (c >= 0x30 && c <= 0x39 && this.digits.length < 16) this.digits += String.fromCharCode(c);
      else throw new SparseError('map (format 1.0) is not decimal numbers one per line');
    }
    this.used += i;
    if (!this.done) return undefined;
    this.skip = this.bytes - this.used;
    return chunk.subarray(i);
  }
  get done(): boolean {
    return this.nums.length > 0 && this.nums.length === 1 + 2 * this.nums[0]!;
  }
  get bytes(): number {
    return Math.ceil(this.used / 512) * 512;
  }
  runs(): Run[] {
    const r: Run[] = [];
    for (let i = 1; i < this.nums.length; i += 2) r.push({ offset: this.nums[i]!, size: this.nums[i + 1]! });
    return r;
  }
}

/**
 * Write a sparse member's data runs at their offsets into fd (a new, empty file) and give it its
 * real size; the holes are never written. `stored` is the member's data size in the archive.
 * Returns the bytes written.
 */
export async function writeSparse(fd: number, body: AsyncIterable<Buffer>, info: SparseInfo, stored: number): Promise<number> {
  try {
    return await place(fd, body, info, stored);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EFBIG' || code === 'EINVAL')
      throw new SparseError(`real size ${info.realSize} is more than the image's filesystem allows (${code})`);
    throw e;
  }
}

async function place(fd: number, body: AsyncIterable<Buffer>, info: SparseInfo, stored: number): Promise<number> {
  let runs: Run[] = info.runs ?? [];
  let map = info.format === '1.0' ? new MapReader() : undefined;
  if (!map) checkRuns(runs, info.realSize, stored);
  let ri = 0,
    left = 0,
    pos = 0,
    skip = 0,
    written = 0;
  const next = () => {
    while (ri < runs.length && runs[ri]!.size === 0) ri++;
    if (ri < runs.length) {
      pos = runs[ri]!.offset;
      left = runs[ri]!.size;
      ri++;
    }
  };
  next();
  for await (let chunk of body) {
    if (map) {
      const rest = map.feed(chunk);
      if (!rest) continue;
      if (map.bytes > stored) throw new SparseError('map (format 1.0) is longer than the member');
      runs = map.runs();
      checkRuns(runs, info.realSize, stored - map.bytes);
      skip = map.skip; // the padding after the map
      map = undefined;
      chunk = rest;
      next();
    }
    let off = 0;
    if (skip) {
      const n = Math.min(skip, chunk.length);
      skip -= n;
      off = n;
    }
    while (off < chunk.length && left > 0) {
      const n = Math.min(left, chunk.length - off);
      writeAll(fd, chunk.subarray(off, off + n), pos);
      pos += n;
      left -= n;
      off += n;
      written += n;
      if (left === 0) next();
    }
  }
  if (map) throw new SparseError('map (format 1.0) ends before its runs do');
  ftruncateSync(fd, info.realSize);
  return written;
}
