// Safe file writes: temp file in the same directory + fsync + rename + directory fsync, so a
// reader sees the old or the new content, never a torn one; and a lock file for writers.
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
} from 'node:fs';
import { writeAll } from './write-all.ts';
import { basename, dirname, join } from 'node:path';
import { dlopen, FFIType } from 'bun:ffi';
import { WulfError } from './errors.ts';

const TMP_MARK = '.wulf-tmp-';

/** A process's start time (clock ticks since boot, /proc/PID/stat field 22): with the pid it names one process, reuse or not. */
function startTime(pid: number | 'self'): string | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
let selfStart: string | undefined;

/** Is the writer that made a temp still running? The pid alone can have been reused by now. */
function writerAlive(pid: number, start: string | undefined): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (start && existsSync('/proc/self/stat')) return startTime(pid) === start;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove temp files left by writers that were killed (their process is gone). */
export function removeStaleTemps(path: string): void {
  const dir = dirname(path),
    base = basename(path);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(`.${base}${TMP_MARK}`)) continue;
    const [pid, start] = n.slice(`.${base}${TMP_MARK}`.length).split('.')[0]!.split('-');
    if (!writerAlive(Number(pid), start)) {
      try {
        unlinkSync(join(dir, n));
      } catch {
        /* raced */
      }
    }
  }
}

/**
 * Write `data` to `path` atomically. With `backup`, the previous content stays reachable as
 * `backup` (a hard link taken before the rename, itself swapped in atomically).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: { mode?: number; backup?: string } = {}): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  selfStart ??= startTime('self') ?? '';
  const tmp = join(
    dir,
    `.${basename(path)}${TMP_MARK}${process.pid}${selfStart ? `-${selfStart}` : ''}.${Math.random().toString(36).slice(2, 8)}`,
  );
  const fd = openSync(tmp, 'wx', opts.mode ?? 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    writeAll(fd, buf);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* ignore */
    }
    throw e;
  }
  closeSync(fd);
  if (opts.backup) {
    const btmp = `${tmp}.bak`;
    try {
      linkSync(path, btmp);
      renameSync(btmp, opts.backup);
    } catch {
      try {
        unlinkSync(btmp);
      } catch {
        /* none */
      }
    }
  }
  renameSync(tmp, path);
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* best effort */
  }
}

export interface Lock {
  release(): void;
}

const LOCK_EX = 2,
  LOCK_NB = 4,
  LOCK_UN = 8;
let flockFn: ((fd: number, op: number) => number) | undefined;
function flock(fd: number, op: number): number {
  if (!flockFn) {
    const lib = dlopen('libc.so.6', { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
    flockFn = lib.symbols.flock as (fd: number, op: number) => number;
  }
  return flockFn(fd, op);
}

/**
 * An exclusive lock: flock(2) on a lock file, so the kernel releases it when the holder dies
 * (kill -9 included). Waits up to `timeoutMs`, then fails with a one-line error.
 */
export async function acquireLock(lockPath: string, timeoutMs = 15_000): Promise<Lock> {
  mkdirSync(dirname(lockPath), { recursive: true });
  const fd = openSync(lockPath, 'a', 0o600);
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  while (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    if (Date.now() > deadline) {
      closeSync(fd);
      throw new WulfError(`${lockPath} is held by another wulf process`, {
        hint: 'another wulf command is writing; try again',
        code: 'ELOCKED',
      });
    }
    await Bun.sleep(delay);
    delay = Math.min(25, delay * 2);
  }
  let released = false;
  return {
    release() {
      if (!released) {
        released = true;
        flock(fd, LOCK_UN);
        closeSync(fd);
      }
    },
  };
}
