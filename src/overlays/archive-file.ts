// Archive files on disk: cacheDir/overlays/<node>/<kind>-<hash>.img.gz, written as temp + rename
// (no fsync: a cache file can always be rebuilt), plus the hash last handed out for serving.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writevSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Paths } from '../config/paths.ts';
import { WulfError } from '../lib/errors.ts';
import type { Kind } from './build.ts';
import type { Packed } from './archive-pack.ts';

export interface ArchiveInfo {
  path: string;
  size: number;
  hash: string;
}

const NODE_RE = /^[A-Za-z0-9._:-]+$/;

export function nodeCacheDir(paths: Paths, node: string): string {
  if (!NODE_RE.test(node) || node === '.' || node === '..') throw new WulfError(`invalid node name "${node}"`);
  return join(paths.cacheDir, 'overlays', node);
}

export function archivePath(paths: Paths, node: string, kind: Kind, hash: string): string {
  return join(nodeCacheDir(paths, node), `${kind}-${hash}.img.gz`);
}

/** Write the members as one file unless the same content is already there. */
export function writeArchive(paths: Paths, node: string, kind: Kind, p: Packed): ArchiveInfo {
  const path = archivePath(paths, node, kind, p.hash);
  const dir = nodeCacheDir(paths, node);
  // a node dir this process has not seen yet is made here; when it had to be made, no archive is in it
  let fresh = false;
  if (!knownDirs.has(dir)) {
    fresh = mkdirSync(dir, { recursive: true }) !== undefined;
    rememberDir(dir);
  }
  if (!fresh) {
    try {
      if (statSync(path).size === p.size) return { path, size: p.size, hash: p.hash };
    } catch {
      /* absent */
    }
  }
  const tmp = join(dir, `.${kind}-${p.hash}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  let fd: number | undefined;
  try {
    try {
      fd = openSync(tmp, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      knownDirs.delete(dir);
      mkdirSync(dir, { recursive: true });
      fd = openSync(tmp, 'wx', 0o600);
    }
    let n = 0;
    while (n < p.size) n += writevSync(fd, n ? [concat(p.members).subarray(n)] : p.members);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* none */
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* none */
    }
    throw e;
  }
  return { path, size: p.size, hash: p.hash };
}

// node dirs known to exist (a dir removed behind our back is made again when the open fails)
const knownDirs = new Set<string>();
function rememberDir(d: string) {
  if (knownDirs.size > 200_000) knownDirs.clear();
  knownDirs.add(d);
}
function concat(ms: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(ms.reduce((n, m) => n + m.length, 0));
  let off = 0;
  for (const m of ms) {
    out.set(m, off);
    off += m.length;
  }
  return out;
}

// last served hashes, remembered per process so the serving path does not touch the disk
const served = new Map<string, string | undefined>();

export function servedHash(paths: Paths, node: string, kind: Kind): string | undefined {
  const key = `${paths.cacheDir}\0${node}\0${kind}`;
  if (served.has(key)) return served.get(key);
  let h: string | undefined;
  try {
    h = readFileSync(join(nodeCacheDir(paths, node), `${kind}.served`), 'utf8').trim() || undefined;
  } catch {
    h = undefined;
  }
  served.set(key, h);
  return h;
}

export function markServed(paths: Paths, node: string, kind: Kind, hash: string): void {
  if (servedHash(paths, node, kind) === hash) return;
  served.set(`${paths.cacheDir}\0${node}\0${kind}`, hash);
  const dir = nodeCacheDir(paths, node);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${kind}.served.${process.pid}.tmp`);
  writeFileSync(tmp, hash + '\n');
  renameSync(tmp, join(dir, `${kind}.served`));
}

/** Remove a node's old archives of a kind, keeping `keep` hashes. */
export function pruneArchives(paths: Paths, node: string, kind: Kind, keep: (string | undefined)[]): void {
  const dir = nodeCacheDir(paths, node);
  if (!existsSync(dir)) return;
  for (const n of readdirSync(dir)) {
    const m = new RegExp(`^${kind}-([0-9a-f]+)\\.img\\.gz$`).exec(n);
    if (m && !keep.includes(m[1])) {
      try {
        unlinkSync(join(dir, n));
      } catch {
        /* raced */
      }
    }
  }
}
