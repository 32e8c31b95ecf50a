// Writing beneath a root whose links are meant for another machine (an image tree, an overlay):
// what openat(2) with RESOLVE_NO_SYMLINKS does, with lstat. Every directory on the way from the
// root is lstat'ed and must be a real directory — a symlink is refused, never followed — and the
// last component is opened with O_NOFOLLOW (or only lstat'ed), so no write lands outside the root.
// `rel` is a clean relative path (no '', '.', '..' components: callers check names first).
import {
  closeSync,
  constants,
  fstatSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  utimesSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { WulfError } from './errors.ts';

/** A path under the root crosses a symlink (or a non-directory) at `at` (relative to the root). */
export class BeneathError extends WulfError {
  constructor(
    readonly at: string,
    readonly kind: 'symlink' | 'notdir',
  ) {
    super(`/${at} is ${kind === 'symlink' ? 'a symlink' : 'not a directory'}`, { code: kind === 'symlink' ? 'ESYMLINK' : 'ENOTDIR' });
  }
}

const isMissing = (e: unknown) => {
  const c = (e as NodeJS.ErrnoException).code;
  return c === 'ENOENT' || c === 'ENOTDIR';
};

/**
 * Check rel's parent directories under root, one component at a time. A missing one is made
 * (mode `create`) when asked, else the answer is false. `known` caches directories already checked
 * (the caller clears it when it removes or replaces anything).
 */
export function parentsBeneath(root: string, rel: string, o: { create?: number; known?: Set<string> } = {}): boolean {
  const parts = rel.split('/');
  let cur = '';
  for (let i = 0; i < parts.length - 1; i++) {
    cur = cur ? `${cur}/${parts[i]}` : parts[i]!;
    if (o.known?.has(cur)) continue;
    let st: Stats | undefined;
    try {
      st = lstatSync(join(root, cur));
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
    if (!st) {
      if (o.create === undefined) return false;
      mkdirSync(join(root, cur), { mode: o.create });
    } else if (st.isSymbolicLink()) throw new BeneathError(cur, 'symlink');
    else if (!st.isDirectory()) throw new BeneathError(cur, 'notdir');
    o.known?.add(cur);
  }
  return true;
}

/** lstat of root/rel (never following a link on the way); undefined when it or a parent is missing. */
export function lstatBeneath(root: string, rel: string, known?: Set<string>): Stats | undefined {
  if (rel === '') return lstatSync(root);
  if (!parentsBeneath(root, rel, { known })) return undefined;
  try {
    return lstatSync(join(root, rel));
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

/** open(2) root/rel with O_NOFOLLOW after checking its parents; a symlink as the last part is a BeneathError. */
export function openBeneath(
  root: string,
  rel: string,
  flags: number,
  mode?: number,
  o: { create?: number; known?: Set<string> } = {},
): number {
  if (rel !== '' && !parentsBeneath(root, rel, o)) {
    const e = new Error(`${join(root, rel)}: a parent directory is missing`) as NodeJS.ErrnoException;
    e.code = 'ENOENT';
    throw e;
  }
  try {
    return openSync(rel ? join(root, rel) : root, flags | constants.O_NOFOLLOW, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new BeneathError(rel, 'symlink');
    throw e;
  }
}

/**
 * The bytes of the regular file root/rel, never read through a link; undefined when it is missing
 * or not a regular file (a device node or fifo is not even opened: opening one has effects).
 */
export function readBeneath(root: string, rel: string): Buffer | undefined {
  let st: Stats | undefined, fd: number;
  try {
    st = lstatBeneath(root, rel);
    if (!st?.isFile()) return undefined;
    fd = openBeneath(root, rel, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if (e instanceof BeneathError || isMissing(e)) return undefined;
    throw e;
  }
  try {
    const now = fstatSync(fd);
    return now.isFile() && now.ino === st.ino ? readFileSync(fd) : undefined;
  } finally {
    closeSync(fd);
  }
}

/** Set the times of the directory root/rel if it still is a real directory reached through real ones; false otherwise. */
export function setDirTimesBeneath(root: string, rel: string, atime: number, mtime: number): boolean {
  let fd: number;
  try {
    fd = openBeneath(root, rel, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e) {
    if (e instanceof BeneathError || isMissing(e)) return false;
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
    // not root and a directory without read permission: its parents were checked, it is no link
    const p = rel ? join(root, rel) : root;
    if (!lstatSync(p).isDirectory()) return false;
    utimesSync(p, atime, mtime);
    return true;
  }
  try {
    futimesSync(fd, atime, mtime);
    return true;
  } finally {
    closeSync(fd);
  }
}
