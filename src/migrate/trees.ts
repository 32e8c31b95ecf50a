// Reading a Warewulf site overlay (or an iPXE template) for the import: the tree with modes,
// owners and mtimes, never following a link; `.ww` Go templates converted to wulf's Liquid. What
// cannot be carried over — a template the converter cannot convert, a link that climbs out of the
// overlay, a device file, FIFO or socket — is left out and reported `file:line: why`, never guessed.
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { NAME_RE } from '../overlays/sources.ts';
import type { Problem } from './wwconf.ts';

export interface ConvertProblem {
  line: number;
  message: string;
}
/** src/overlays/gotemplate's convertGoTemplate: an overlay template, or (kind ipxe) an iPXE script with Warewulf's iPXE data names */
export type Convert = (source: string, opts?: { kind?: 'overlay' | 'ipxe' }) => { liquid: string; problems: ConvertProblem[] };

export interface TreeEntry {
  rel: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  data?: Buffer;
  target?: string;
}

/** Include/IncludeBlock paths a Go template names relative to the Warewulf config dir. */
const INCLUDE_RE = /\b(?:Include|IncludeBlock)\s+"([^"]+)"/g;

/**
 * Rewrite Include/IncludeBlock paths that name the Warewulf config dir absolutely as relative ones
 * (Warewulf reads a relative path from that dir, wulf from its own), and collect the relative ones.
 */
export function relativeIncludes(source: string, confDirName: string, found: Set<string>): string {
  const prefix = confDirName.endsWith('/') ? confDirName : confDirName + '/';
  return source.replace(INCLUDE_RE, (m, p: string) => {
    let rel = p;
    if (p.startsWith(prefix)) rel = p.slice(prefix.length);
    if (rel.startsWith('/')) return m;
    const clean = posix.normalize(rel);
    if (!clean.startsWith('..')) found.add(clean);
    return m.replace(`"${p}"`, `"${rel}"`);
  });
}

const kindOf = (st: { isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }) =>
  st.isFIFO()
    ? 'a FIFO'
    : st.isSocket()
      ? 'a socket'
      : st.isBlockDevice()
        ? 'a block device'
        : st.isCharacterDevice()
          ? 'a character device'
          : 'not a regular file';

/** Convert one Go template; undefined (and problems) when it cannot be. */
export function convertTemplate(
  file: string,
  source: string,
  convert: Convert,
  confDirName: string,
  includes: Set<string>,
  problems: Problem[],
): string | undefined {
  const r = convert(relativeIncludes(source, confDirName, includes));
  if (r.problems.length) {
    for (const p of r.problems) problems.push({ file, line: p.line, why: `${p.message}; template left out` });
    return undefined;
  }
  return r.liquid;
}

/**
 * Read the overlay at `dir` (its rootfs/, else the dir itself). `convert` undefined: read as it is
 * (for comparing with what an import wrote). Undefined when the overlay itself cannot be taken.
 */
export function readTree(
  dir: string,
  problems: Problem[],
  convert?: { fn: Convert; confDirName: string; includes: Set<string> },
): TreeEntry[] | undefined {
  const top = lstatSync(dir, { throwIfNoEntry: false });
  if (!top) return undefined;
  if (!top.isDirectory()) {
    problems.push({ file: dir, line: 0, why: `${top.isSymbolicLink() ? 'a symlink' : 'not a directory'}: overlay left out` });
    return undefined;
  }
  let root = dir;
  const rs = lstatSync(join(dir, 'rootfs'), { throwIfNoEntry: false });
  if (rs?.isSymbolicLink()) {
    problems.push({ file: join(dir, 'rootfs'), line: 0, why: 'a symlink: overlay left out (its files must be under its own directory)' });
    return undefined;
  }
  if (rs?.isDirectory()) root = join(dir, 'rootfs');
  const out: TreeEntry[] = [];
  const walk = (rel: string) => {
    for (const n of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const full = join(root, r);
      const st = lstatSync(full);
      const meta = { rel: r, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
      if (st.isDirectory()) {
        out.push({ ...meta, type: 'dir' });
        walk(r);
        continue;
      }
      if (st.isSymbolicLink()) {
        const target = readlinkSync(full);
        if (!target.startsWith('/') && posix.normalize(posix.join(posix.dirname(r), target)).startsWith('..')) {
          problems.push({ file: full, line: 0, why: `a symlink to ${target}, which leaves the overlay: left out` });
          continue;
        }
        out.push({ ...meta, type: 'symlink', target, mode: 0o777 });
        continue;
      }
      if (!st.isFile()) {
        problems.push({ file: full, line: 0, why: `${kindOf(st)}: left out` });
        continue;
      }
      let data = readFileSync(full);
      if (convert && r.endsWith('.ww')) {
        const liquid = convertTemplate(full, data.toString('utf8'), convert.fn, convert.confDirName, convert.includes, problems);
        if (liquid === undefined) continue;
        data = Buffer.from(liquid);
      }
      out.push({ ...meta, type: 'file', data });
    }
  };
  walk('');
  return out;
}

/** Names of the overlays in a Warewulf overlay dir (valid names only; others reported). */
export function overlayNames(dir: string, problems: Problem[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.filter((n) => {
    if (NAME_RE.test(n) && n !== '.' && n !== '..' && !n.startsWith('.')) return true;
    problems.push({ file: join(dir, n), line: 0, why: 'not a valid overlay name: left out' });
    return false;
  });
}

/** Equal trees (what is on disk already is what the import would write). */
export function sameTree(a: TreeEntry[] | undefined, b: TreeEntry[]): boolean {
  if (!a || a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]!;
    return (
      x.rel === y.rel &&
      x.type === y.type &&
      x.mode === y.mode &&
      x.uid === y.uid &&
      x.gid === y.gid &&
      x.target === y.target &&
      (x.type !== 'file' || (x.mtime === y.mtime && !!x.data && !!y.data && x.data.equals(y.data)))
    );
  });
}
