// Packs a node's overlay files as ONE newc archive in ONE gzip member (the kernel wants each
// compressed stream to be a whole archive), assembled from deflate segments: [dirs][files shared by
// all nodes][node's own files + trailer], parent directories synthesised. The shared segments are
// deflated once (sync-flushed, so they can be followed) and reused; the gzip trailer's CRC is
// combined from the segments' CRCs.
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { crc32Combine } from '../lib/crc32.ts';
import { S_IFDIR, S_IFLNK, S_IFREG, cpioHeader, cpioPadding } from '../lib/cpio.ts';
import { defaultDirMode } from './sources.ts';

/** One file, directory or link of a node's archive. */
export interface Entry {
  rel: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  /** seconds: the source file's (a rendered file: its template's); a made-up parent dir: its newest entry's */
  mtime: number;
  data?: Uint8Array;
  target?: string;
  hash: string;
  /** true when the bytes depend on this node (else the same for every node of the snapshot) */
  local: boolean;
  origin: string; // overlay/file it came from
}

export interface Packed {
  members: Uint8Array[];
  hash: string;
  size: number;
}
/** A deflated piece of the archive, with the CRC and length of what it holds. */
interface Segment {
  z: Uint8Array;
  crc: number;
  len: number;
}
// gzip header: deflate, no flags, mtime 0, OS unix
const GZIP_HEADER = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3);

const enc = new TextEncoder();
const sha = (s: string | Uint8Array) => createHash('sha1').update(s).digest('hex');

/** The deflated segments already made (dirs, shared files), by content key, and the CRCs of their pairs. */
export class Packer {
  private members = new Map<string, Segment>();
  private prefixCrc = new Map<string, number>();
  private memberBytes = 0;

  private member(key: string, make: () => Uint8Array): Segment {
    let m = this.members.get(key);
    if (m) return m;
    const raw = make();
    m = {
      z: zlib.deflateRawSync(raw, { level: 6, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
      crc: Bun.hash.crc32(raw) >>> 0,
      len: raw.length,
    };
    if (this.memberBytes + m.z.length > 512 * 1024 * 1024) {
      this.members.clear();
      this.memberBytes = 0;
    }
    this.members.set(key, m);
    this.memberBytes += m.z.length;
    return m;
  }

  /** Pack entries as one gzip member: [dirs][shared files][node files + trailer] deflate segments. */
  pack(entries: Map<string, Entry>): Packed {
    const dirs = new Map<string, Entry>();
    const made = new Map<string, Entry>();
    const shared: Entry[] = [],
      own: Entry[] = [];
    for (const e of entries.values()) {
      if (e.type === 'dir') {
        dirs.set(e.rel, e);
        continue;
      }
      (e.local ? own : shared).push(e);
      // synthesise missing parents (sane modes: /root 0700…; the newest mtime below them)
      let i = e.rel.lastIndexOf('/');
      while (i > 0) {
        const d = e.rel.slice(0, i);
        if (!entries.has(d)) {
          const have = made.get(d);
          if (!have)
            made.set(d, {
              rel: d,
              type: 'dir',
              mode: defaultDirMode(d),
              uid: 0,
              gid: 0,
              mtime: e.mtime,
              hash: '',
              local: false,
              origin: '',
            });
          else if (have.mtime < e.mtime) have.mtime = e.mtime;
        }
        i = d.lastIndexOf('/');
      }
    }
    for (const [d, e] of made) if (!dirs.has(d)) dirs.set(d, e);
    const dirList = [...dirs.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    shared.sort((a, b) => (a.rel < b.rel ? -1 : 1));
    own.sort((a, b) => (a.rel < b.rel ? -1 : 1));
    const dk = sha(dirList.map((d) => `${d.rel}\0${d.mode}\0${d.uid}\0${d.gid}\0${d.mtime}`).join('\n'));
    const sk = sha(shared.map((e) => e.hash).join('\n'));
    const ok = sha(own.map((e) => e.hash).join('\n'));
    const d = this.member('d' + dk, () => segment(dirList, false));
    const s = this.member('s' + sk, () => segment(shared, false));
    // the node's own files: small and made for every node, where level 1 costs a third of level 6 for ~10 % more bytes;
    // the last segment, so libdeflate's final block (several times faster than node:zlib here) may end the stream
    const ownRaw = segment(own, true);
    // the CRC of [dirs][shared] is combined once per pair of segments; the node's own bytes continue it
    const dsKey = d.crc + ':' + d.len + ':' + s.crc + ':' + s.len;
    let dsCrc = this.prefixCrc.get(dsKey);
    if (dsCrc === undefined) {
      if (this.prefixCrc.size > 100_000) this.prefixCrc.clear();
      dsCrc = crc32Combine(d.crc, s.crc, s.len);
      this.prefixCrc.set(dsKey, dsCrc);
    }
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(zlib.crc32(ownRaw, dsCrc) >>> 0, 0);
    tail.writeUInt32LE((d.len + s.len + ownRaw.length) >>> 0, 4);
    const members = [GZIP_HEADER, d.z, s.z, Bun.deflateSync(ownRaw as Uint8Array<ArrayBuffer>, { level: 1 }), tail];
    const hash = sha(`${dk}\n${sk}\n${ok}`).slice(0, 24);
    return { members, hash, size: members.reduce((n, m) => n + m.length, 0) };
  }
}

function ino(rel: string): number {
  return Bun.hash.crc32(rel) >>> 0 || 1;
}

/** newc records for entries, optionally with the trailer; every record ends 4-aligned. */
export function segment(entries: Entry[], trailer: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  const push = (b: Uint8Array) => {
    if (b.length) {
      parts.push(b);
      n += b.length;
    }
  };
  for (const e of entries) {
    const type = e.type === 'dir' ? S_IFDIR : e.type === 'symlink' ? S_IFLNK : S_IFREG;
    const data = e.type === 'symlink' ? enc.encode(e.target!) : e.type === 'file' ? (e.data ?? new Uint8Array(0)) : new Uint8Array(0);
    push(
      cpioHeader(
        { name: e.rel, mode: type | (e.type === 'symlink' ? 0o777 : e.mode), uid: e.uid, gid: e.gid, mtime: e.mtime, ino: ino(e.rel) },
        0,
        data.length,
      ),
    );
    push(data);
    push(cpioPadding(data.length));
  }
  if (trailer) push(cpioHeader({ name: 'TRAILER!!!', mode: 0, nlink: 1, ino: 0 }, 0, 0));
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
