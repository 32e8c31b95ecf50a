// Where TFTP files come from: a root folder on disk that no request can leave, in-memory
// buffers (the iPXE binaries embedded in dist/wulf), and a chain of both.
import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { ErrorCode } from './packet.ts';

export interface TftpFile {
  size: number;
  /** copy `length` bytes at file `offset` into `target` at `at` */
  readInto(target: Uint8Array, at: number, offset: number, length: number): void;
  close(): void;
}
export type Resolved = { file: TftpFile } | { error: { code: number; message: string } };
export type TftpProvider = (filename: string) => Resolved;

const CHUNK = 256 * 1024;
const notFound: Resolved = { error: { code: ErrorCode.NotFound, message: 'file not found' } };
const denied = (why: string): Resolved => ({ error: { code: ErrorCode.AccessViolation, message: why } });

/**
 * Clean a requested name into a relative path, or explain why not. A leading '/' is taken as
 * relative to the root (PXE ROMs often ask for '/undionly.kpxe'); '..', backslashes, NUL and
 * control characters are refused outright.
 */
export function cleanName(name: string): { rel: string } | { reason: string } {
  if (name.length === 0) return { reason: 'empty file name' };
  if (name.length > 255) return { reason: 'file name too long' };
  if (/[\0-\x1f\\]/.test(name)) return { reason: 'bad character in file name' };
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return { reason: 'path leaves the TFTP root' };
  if (!parts.length) return { reason: 'empty file name' };
  return { rel: parts.join('/') };
}

/** Files under `root`; symlinks are followed only while they stay inside it. */
export function rootProvider(root: string): TftpProvider {
  let realRoot: string | undefined;
  return (filename) => {
    const c = cleanName(filename);
    if ('reason' in c) return denied(c.reason);
    try { realRoot ??= realpathSync(root); } catch { return notFound; }
    let real: string;
    try { real = realpathSync(join(realRoot, c.rel)); } catch { return notFound; }
    if (!real.startsWith(realRoot + sep)) return denied('path leaves the TFTP root');
    let fd: number;
    try { fd = openSync(real, 'r'); } catch { return notFound; }
    const st = fstatSync(fd);
    if (!st.isFile()) { closeSync(fd); return notFound; }
    let closed = false;
    const chunk = Buffer.allocUnsafe(CHUNK);
    let chunkStart = 0, chunkLen = 0;
    return {
      file: {
        size: st.size,
        // Read ahead in 256 KiB chunks: one syscall serves ~180 blocks of a sequential transfer.
        readInto(target, at, offset, length) {
          if (length === 0) return;
          if (offset < chunkStart || offset + length > chunkStart + chunkLen) {
            chunkStart = offset;
            chunkLen = 0;
            const want = Math.min(CHUNK, st.size - offset);
            while (chunkLen < want) {
              const n = readSync(fd, chunk, chunkLen, want - chunkLen, offset + chunkLen);
              if (n <= 0) throw new Error('file shrank during transfer');
              chunkLen += n;
            }
          }
          target.set(chunk.subarray(offset - chunkStart, offset - chunkStart + length), at);
        },
        close() { if (!closed) { closed = true; closeSync(fd); } },
      },
    };
  };
}

/** Files held in memory, by exact (cleaned) name. */
export function bufferProvider(files: Record<string, Uint8Array> | ((name: string) => Uint8Array | undefined)): TftpProvider {
  const get = typeof files === 'function' ? files : (n: string) => files[n];
  return (filename) => {
    const c = cleanName(filename);
    if ('reason' in c) return denied(c.reason);
    const data = get(c.rel);
    if (!data) return notFound;
    return { file: { size: data.length, readInto: (t, at, o, l) => t.set(data.subarray(o, o + l), at), close() {} } };
  };
}

/** The first provider that has the file wins; a refusal (access violation) stops the chain. */
export function chainProviders(...providers: TftpProvider[]): TftpProvider {
  return (filename) => {
    let last: Resolved = notFound;
    for (const p of providers) {
      const r = p(filename);
      if ('file' in r) return r;
      if (r.error.code === ErrorCode.AccessViolation) return r;
      last = r;
    }
    return last;
  };
}
