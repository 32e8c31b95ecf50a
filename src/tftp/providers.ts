// Where TFTP files come from: a root folder on disk that no request can leave, in-memory
// buffers (the iPXE binaries embedded in dist/wulf), and a chain of both.
import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { ErrorCode } from './packet.ts';

export interface TftpFile {
  size: number;
  /** copy `length` bytes at file `offset` into `target` at `at` */
  readInto(target: Uint8Array, at: number, offset: number, length: number): void;
  close(): void;
  /** where the bytes are, for a transfer served by a worker thread (a descriptor is shared by threads) */
  source?: { fd: number } | { bytes: Uint8Array };
}
export type Resolved = { file: TftpFile } | { error: { code: number; message: string } };
/** `client` is "ip:port" of the requester (for per-node files); providers may ignore it. */
export type TftpProvider = (filename: string, client?: string) => Resolved;

const CHUNK = 256 * 1024;
const notFound: Resolved = { error: { code: ErrorCode.NotFound, message: 'file not found' } };
const denied = (why: string): Resolved => ({ error: { code: ErrorCode.AccessViolation, message: why } });

/**
 * Clean a requested name into a relative path, or explain why not. A leading '/' is taken as
 * relative to the root (PXE ROMs and iPXE scripts often ask for '/undionly.kpxe', and tftpd-hpa -s
 * does the same), so '/etc/passwd' means <root>/etc/passwd. '..' segments, backslashes, NUL and
 * control characters are refused outright; '%2f' is not decoded (TFTP has no URL escaping).
 */
export function cleanName(name: string): { rel: string } | { reason: string } {
  if (name.length === 0) return { reason: 'empty file name' };
  if (name.length > 255) return { reason: 'file name too long' };
  if (/[\0-\x1f\x7f\\]/.test(name)) return { reason: 'bad character in file name' };
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return { reason: 'path leaves the TFTP root' };
  if (!parts.length) return { reason: 'empty file name' };
  return { rel: parts.join('/') };
}

const inside = (root: string, p: string) => (p === root ? false : p.startsWith(root.endsWith(sep) ? root : root + sep));

/**
 * Regular files under `root`. Symlinks are followed only while they stay inside it: the path is
 * resolved with realpath, opened without blocking (a FIFO cannot hang the server), and the open
 * descriptor is checked again through /proc/self/fd so a link swapped in between cannot escape.
 * A file is never loaded whole (see fdFile).
 */
export function rootProvider(root: string): TftpProvider {
  let realRoot: string | undefined;
  return (filename) => {
    const c = cleanName(filename);
    if ('reason' in c) return denied(c.reason);
    try {
      realRoot ??= realpathSync(root);
    } catch {
      return notFound;
    }
    let real: string;
    try {
      real = realpathSync(join(realRoot, c.rel));
    } catch {
      return notFound;
    }
    if (!inside(realRoot, real)) return denied('path leaves the TFTP root');
    let fd: number;
    try {
      fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch {
      return notFound;
    }
    let size: number;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) {
        closeSync(fd);
        return notFound;
      }
      let opened = real;
      try {
        opened = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        /* no /proc: realpath check stands */
      }
      if (!inside(realRoot, opened)) {
        closeSync(fd);
        return denied('path leaves the TFTP root');
      }
      size = st.size;
    } catch {
      closeSync(fd);
      return notFound;
    }
    return { file: fdFile(fd, size, true) };
  };
}

/**
 * A regular file by descriptor, read with pread in 256 KiB read-ahead chunks (one syscall serves
 * ~180 blocks of 1468 bytes of a sequential transfer). `owned`: close() closes the descriptor.
 */
export function fdFile(fd: number, size: number, owned: boolean): TftpFile {
  let closed = false;
  const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(CHUNK, size)));
  let chunkStart = 0,
    chunkLen = 0;
  return {
    size,
    source: { fd },
    readInto(target, at, offset, length) {
      if (length === 0) return;
      if (offset < chunkStart || offset + length > chunkStart + chunkLen) {
        chunkStart = offset;
        chunkLen = 0;
        const want = Math.min(chunk.length, size - offset);
        while (chunkLen < want) {
          const n = readSync(fd, chunk, chunkLen, want - chunkLen, offset + chunkLen);
          if (n <= 0) throw new Error('file shrank during transfer');
          chunkLen += n;
        }
      }
      chunk.copy(target, at, offset - chunkStart, offset - chunkStart + length);
    },
    close() {
      if (!closed) {
        closed = true;
        if (owned) closeSync(fd);
      }
    },
  };
}

/** An in-memory file (embedded assets, generated content). */
export function bufferFile(data: Uint8Array): TftpFile {
  return { size: data.length, source: { bytes: data }, readInto: (t, at, o, l) => t.set(data.subarray(o, o + l), at), close() {} };
}

/** Files held in memory, by exact cleaned name ('/ipxe.efi' finds 'ipxe.efi'). */
export function bufferProvider(
  files: Record<string, Uint8Array> | ((name: string, client?: string) => Uint8Array | undefined),
): TftpProvider {
  const get = typeof files === 'function' ? files : (n: string) => (Object.hasOwn(files, n) ? files[n] : undefined);
  return (filename, client) => {
    const c = cleanName(filename);
    if ('reason' in c) return denied(c.reason);
    const data = get(c.rel, client);
    return data ? { file: bufferFile(data) } : notFound;
  };
}

/** The first provider that has the file wins; a refusal (access violation) stops the chain. */
export function chainProviders(...providers: TftpProvider[]): TftpProvider {
  return (filename, client) => {
    let last: Resolved = notFound;
    for (const p of providers) {
      const r = p(filename, client);
      if ('file' in r) return r;
      if (r.error.code === ErrorCode.AccessViolation) return r;
      last = r;
    }
    return last;
  };
}
