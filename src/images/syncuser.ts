// syncuser: merge the controller's passwd and group into an image (src/lib/idmerge.ts: the controller
// wins, an image-only name whose id the controller uses moves to a free id), then re-own the image's
// files so each keeps its logical owner: a file of the image's sshd (uid 100) belongs to sshd's new
// uid, not to the controller's messagebus (uid 100). One report line per conflict.
//
// The tree walk uses lstat/lchown only (a symlink is re-owned itself, never followed) and does not
// enter a directory on another filesystem (a mount inside the image). passwd/group are read and
// written only when they and etc/ are real files/directories inside the image: a symlinked
// etc/passwd could point at the controller's own.
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  lchownSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { writeAll } from '../lib/write-all.ts';
import { join } from 'node:path';
import { BeneathError, parentsBeneath } from '../lib/beneath.ts';
import { WulfError } from '../lib/errors.ts';
import { conflictLine, mergeAccounts, type DbMerge, type IdConflict } from '../lib/idmerge.ts';
import { lgetxattr, lsetxattr } from './sysfs.ts';

export interface SyncResult {
  conflicts: IdConflict[];
  /** one line per conflict, with how many of the image's files it re-owns (or would) */
  lines: string[];
  /** files whose owner or group changes (changed when written) */
  chowned: number;
  /** users and groups the controller has that the image lacked */
  added: number;
  /** passwd/group rewritten (false in report mode, or when already in sync) */
  written: boolean;
}

const CAP = 'security.capability';

/** The text of a file directly under `root`, refusing symlinks and non-files on the way; '' when absent. */
function readInImage(root: string, rel: string, label: string): string {
  const p = checkedPath(root, rel, label);
  // a device node or fifo is not even opened (opening one has effects); a symlink is refused below
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (st && !st.isFile() && !st.isSymbolicLink()) throw new WulfError(`image ${label}: ${rel} is not a regular file; refusing to use it`);
  let fd: number;
  try {
    fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return '';
    if (code === 'ELOOP') throw symlinkRefusal(label, rel);
    throw new WulfError(`image ${label}: cannot read ${rel}: ${code ?? (e as Error).message}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new WulfError(`image ${label}: ${rel} is not a regular file; refusing to use it`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

const symlinkRefusal = (label: string, rel: string) =>
  new WulfError(`image ${label}: ${rel} is a symlink; syncuser refuses to read or write through it (replace it with a regular file)`, {
    code: 'ESYMLINK',
  });

/** root/rel after checking that no directory on the way is a symlink (the last part is opened with O_NOFOLLOW). */
function checkedPath(root: string, rel: string, label: string): string {
  try {
    parentsBeneath(root, rel);
  } catch (e) {
    if (!(e instanceof BeneathError)) throw e;
    throw e.kind === 'symlink' ? symlinkRefusal(label, e.at) : new WulfError(`image ${label}: ${e.at} is not a directory`);
  }
  return join(root, rel);
}

/** Replace root/rel with `text` (temp file + rename: the old file, never a link target, is replaced), keeping its mode and owner. */
function writeInImage(root: string, rel: string, label: string, text: string): void {
  const p = checkedPath(root, rel, label);
  let mode = 0o644,
    uid = 0,
    gid = 0;
  try {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) throw symlinkRefusal(label, rel);
    mode = st.mode & 0o7777;
    uid = st.uid;
    gid = st.gid;
  } catch (e) {
    if (e instanceof WulfError) throw e;
  }
  const tmp = `${p}.wulf-syncuser.${process.pid}`;
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    throw new WulfError(
      `image ${label}: cannot write ${rel}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the image has no etc/ directory' : (e as Error).message}`,
    );
  }
  try {
    const buf = Buffer.from(text);
    writeAll(fd, buf);
    fchownSync(fd, uid, gid);
    fchmodSync(fd, mode);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, p);
}

/** Every path under root (root included) with its lstat; directories on another filesystem are left out, with their contents. */
function walk(root: string, visit: (path: string, st: Stats) => void): void {
  const top = lstatSync(root);
  visit(root, top);
  const dirs = [root];
  while (dirs.length) {
    const d = dirs.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const p = join(d, n);
      let st: Stats;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      // a directory with another st_dev is a mount point (non-directories are not compared:
      // overlayfs reports the layer's device for them)
      if (st.isDirectory() && st.dev !== top.dev) continue;
      visit(p, st);
      if (st.isDirectory()) dirs.push(p);
    }
  }
}

/** lchown one entry, keeping setuid/setgid bits and file capabilities that chown(2) clears. */
function reown(p: string, st: Stats, uid: number, gid: number): void {
  const cap = st.isFile() ? lgetxattr(p, CAP) : undefined;
  lchownSync(p, uid, gid);
  if (st.isFile() && st.mode & 0o6000) {
    const fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      if (fstatSync(fd).ino === st.ino) fchmodSync(fd, st.mode & 0o7777);
    } finally {
      closeSync(fd);
    }
  }
  if (cap) lsetxattr(p, CAP, cap);
}

/**
 * Merge `<controllerEtc>/passwd` and `group` into the image at `root` and re-own its files.
 * With write false nothing changes: the report says what would.
 */
export function syncUsers(root: string, o: { write: boolean; controllerEtc: string; label?: string }): SyncResult {
  const label = o.label ?? root;
  const readCtl = (f: string) => {
    try {
      return readFileSync(join(o.controllerEtc, f), 'utf8');
    } catch (e) {
      throw new WulfError(
        `syncuser: cannot read the controller's ${join(o.controllerEtc, f)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  };
  const ctl = { passwd: readCtl('passwd'), group: readCtl('group') };
  const img = { passwd: readInImage(root, 'etc/passwd', label), group: readInImage(root, 'etc/group', label) };
  let m: { passwd: DbMerge; group: DbMerge };
  try {
    m = mergeAccounts(ctl, img);
  } catch (e) {
    throw new WulfError(`image ${label}: ${(e as Error).message}`, {
      hint: 'free an id on the controller or in the image, then run syncuser again',
    });
  }

  const uids = m.passwd.remap,
    gids = m.group.remap;
  const perUid = new Map<number, number>(),
    perGid = new Map<number, number>();
  let chowned = 0;
  if (uids.size || gids.size) {
    walk(root, (p, st) => {
      const u = uids.get(st.uid),
        g = gids.get(st.gid);
      if (u === undefined && g === undefined) return;
      if (u !== undefined) perUid.set(st.uid, (perUid.get(st.uid) ?? 0) + 1);
      if (g !== undefined) perGid.set(st.gid, (perGid.get(st.gid) ?? 0) + 1);
      chowned++;
      if (o.write) reown(p, st, u ?? st.uid, g ?? st.gid);
    });
  }
  const conflicts = [...m.group.conflicts, ...m.passwd.conflicts];
  const lines = conflicts.map((c) => {
    const remap = c.kind === 'user' ? uids : gids;
    const n = remap.get(c.from) === c.to ? ((c.kind === 'user' ? perUid : perGid).get(c.from) ?? 0) : 0;
    return `${conflictLine(c)} (${n} file${n === 1 ? '' : 's'})`;
  });
  const names = (t: string) =>
    new Set(
      t
        .split('\n')
        .map((l) => l.split(':')[0])
        .filter((x) => x && !x.startsWith('#')),
    );
  const had = { passwd: names(img.passwd), group: names(img.group) };
  const added =
    [...names(ctl.passwd)].filter((n) => !had.passwd.has(n)).length + [...names(ctl.group)].filter((n) => !had.group.has(n)).length;
  const same = m.passwd.text === img.passwd && m.group.text === img.group;
  if (o.write && !same) {
    writeInImage(root, 'etc/group', label, m.group.text);
    writeInImage(root, 'etc/passwd', label, m.passwd.text);
  }
  return { conflicts, lines, chowned, added, written: o.write && !same };
}
