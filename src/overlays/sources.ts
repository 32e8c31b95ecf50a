// Where overlays come from: distribution overlays shipped in the binary (overlays/<name>) and site
// overlays on disk (siteOverlaysDir/<name>), a site overlay shadowing the shipped one as a whole.
// Reads an overlay's tree (files, dirs, symlinks with mode/uid/gid) and names its content by hash.
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { assetPath, buildInfo, compiled } from '../lib/assets.ts';
import { WulfError } from '../lib/errors.ts';

export const NAME_RE = /^[A-Za-z0-9._:-]+$/;

export function checkOverlayName(name: string): string {
  if (!NAME_RE.test(name) || name === '.' || name === '..') {
    throw new WulfError(`invalid overlay name "${name}"`, { hint: 'names use letters, digits and . _ : - only' });
  }
  return name;
}

/** Normalise a path inside an overlay ("/etc/x" or "etc/x") and refuse any that leaves it. */
export function cleanRel(p: string, what = 'path'): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw new WulfError(`${what} "${p}" leaves the overlay`);
    if (seg.includes('\0')) throw new WulfError(`${what} "${p}" contains a NUL byte`);
    parts.push(seg);
  }
  return parts.join('/');
}

export interface SourceFile {
  rel: string; // path inside the overlay root, no leading slash
  type: 'file' | 'dir' | 'symlink';
  mode: number; // permission bits only
  uid: number;
  gid: number;
  data?: Uint8Array; // file content
  target?: string; // symlink target
  mtime: number; // seconds: the file's own (site), wulf's build time (shipped, compiled)
  hash: string; // content + meta
}

export interface OverlaySource {
  name: string;
  site: boolean;
  dir: string; // the overlay dir (holding rootfs/ or the files themselves)
  root: string; // the rootfs dir
  files: SourceFile[]; // sorted by rel
  hash: string; // hash of all files
}

export interface Meta {
  mode?: string | number;
  uid?: number;
  gid?: number;
}

export function distOverlaysDir(): string {
  return assetPath('overlays');
}

function rootOf(dir: string, site = false): string {
  const r = join(dir, 'rootfs');
  if (site && lstatSync(r, { throwIfNoEntry: false })?.isSymbolicLink())
    throw new WulfError(`site overlay ${dir}: rootfs is a symlink; an overlay's files must be under its own directory`);
  return existsSync(r) ? r : dir;
}

/**
 * Warewulf's names for what wulf ships under another name: a profile that names one (Warewulf's stock
 * default profile names wwclient and ignition; its docs name the others) gets wulf's overlay. A site
 * overlay of the alias's own name still shadows it.
 */
export const OVERLAY_ALIASES: Record<string, string> = {
  wwclient: 'wulf-agent',
  sfdisk: 'ignition',
  mkfs: 'ignition',
  mkswap: 'ignition',
  'systemd.mount': 'ignition',
  'systemd.swap': 'ignition',
};

/** The dir of an overlay by name: site first, then distribution, then an alias's; undefined when none exists. */
export function locateOverlay(siteDir: string, name: string): { dir: string; root: string; site: boolean } | undefined {
  checkOverlayName(name);
  const site = join(siteDir, name);
  // a symlinked overlay directory would pack whatever it points to: refused, not followed
  if (lstatSync(site, { throwIfNoEntry: false })?.isSymbolicLink())
    throw new WulfError(`site overlay ${site} is a symlink; make it a real directory`);
  if (existsSync(site)) return { dir: site, root: rootOf(site, true), site: true };
  const dist = join(distOverlaysDir(), name);
  if (existsSync(dist)) return { dir: dist, root: rootOf(dist), site: false };
  const alias = OVERLAY_ALIASES[name];
  return alias ? locateOverlay(siteDir, alias) : undefined;
}

export function listOverlayNames(siteDir: string): { name: string; site: boolean; dist: boolean; alias?: string }[] {
  const names = new Map<string, { name: string; site: boolean; dist: boolean; alias?: string }>();
  const scan = (d: string, site: boolean) => {
    let ents: string[] = [];
    try {
      ents = readdirSync(d);
    } catch {
      return;
    }
    for (const n of ents) {
      if (!NAME_RE.test(n) || n === '.' || n === '..') continue;
      try {
        if (!statSync(join(d, n)).isDirectory()) continue;
      } catch {
        continue;
      }
      const e = names.get(n) ?? { name: n, site: false, dist: false };
      if (site) e.site = true;
      else e.dist = true;
      names.set(n, e);
    }
  };
  scan(distOverlaysDir(), false);
  scan(siteDir, true);
  for (const [alias, target] of Object.entries(OVERLAY_ALIASES)) {
    if (!names.has(alias) && names.has(target)) names.set(alias, { name: alias, site: false, dist: false, alias: target });
  }
  return [...names.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Modes of directories no overlay gives one (parents made implicitly, shipped dirs without a
 * meta.json entry): the initramfs unpacker applies a directory's mode even where the image has
 * the directory already, so /root must stay 0700 and the sticky temp dirs 1777.
 */
export function defaultDirMode(rel: string): number {
  if (rel === 'root' || rel === 'etc/NetworkManager/system-connections' || /(^|\/)\.ssh$/.test(rel)) return 0o700;
  if (rel === 'tmp' || rel === 'var/tmp') return 0o1777;
  return 0o755;
}

/** The mtime shipped overlay files get: wulf's build time when compiled (the embedded files have none), else undefined (the file's own). */
let shippedTime: number | null | undefined;
function shippedMtime(): number | null {
  if (shippedTime === undefined) {
    const t = compiled ? Date.parse(buildInfo().built) : NaN;
    shippedTime = Number.isFinite(t) && t > 0 ? Math.floor(t / 1000) : null;
  }
  return shippedTime;
}

function parseMode(m: string | number | undefined, dflt: number): number {
  if (m === undefined) return dflt;
  return typeof m === 'number' ? m : parseInt(m, 8);
}

/** Stat signature of a site overlay tree (cheap change detection). */
export function treeSignature(root: string): string {
  const h = createHash('sha1');
  const walk = (rel: string) => {
    let ents: string[];
    try {
      ents = readdirSync(join(root, rel)).sort();
    } catch {
      return;
    }
    for (const n of ents) {
      const r = rel ? `${rel}/${n}` : n;
      try {
        const st = lstatSync(join(root, r));
        h.update(`${r}\0${st.mode}\0${st.uid}\0${st.gid}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}\0${st.ino}\n`);
        if (st.isDirectory()) walk(r);
      } catch {
        /* raced */
      }
    }
  };
  walk('');
  return h.digest('hex');
}

/** Read an overlay's whole tree. Distribution files take mode/uid/gid from meta.json (default 0644/0755, root). */
export function readOverlay(siteDir: string, name: string): OverlaySource {
  const loc = locateOverlay(siteDir, name);
  if (!loc) throw new WulfError(`overlay "${name}" does not exist`, { hint: "see 'wulf overlay list'" });
  let meta: Record<string, Meta> = {};
  if (!loc.site) {
    const mp = join(loc.dir, 'meta.json');
    if (existsSync(mp)) {
      try {
        meta = JSON.parse(readFileSync(mp, 'utf8'));
      } catch (e) {
        throw new WulfError(`overlay ${name}: meta.json: ${(e as Error).message}`);
      }
    }
  }
  const files: SourceFile[] = [];
  const walk = (rel: string) => {
    let ents: string[];
    try {
      ents = readdirSync(join(loc.root, rel)).sort();
    } catch {
      return;
    }
    for (const n of ents) {
      const r = rel ? `${rel}/${n}` : n;
      if (!rel && loc.root === loc.dir && n === 'meta.json' && !loc.site) continue;
      const full = join(loc.root, r);
      const st = lstatSync(full);
      const m = meta[r] ?? meta['/' + r];
      if (st.isSymbolicLink()) {
        const target = readlinkSync(full);
        files.push(mk(r, 'symlink', 0o777, st, m, undefined, target, loc.site));
      } else if (st.isDirectory()) {
        files.push(mk(r, 'dir', defaultDirMode(r), st, m, undefined, undefined, loc.site));
        walk(r);
      } else if (st.isFile()) {
        files.push(mk(r, 'file', 0o644, st, m, readFileSync(full), undefined, loc.site));
      }
    }
  };
  walk('');
  const h = createHash('sha256');
  for (const f of files) h.update(f.hash + '\n');
  return { name, site: loc.site, dir: loc.dir, root: loc.root, files, hash: h.digest('hex').slice(0, 32) };
}

function mk(
  rel: string,
  type: SourceFile['type'],
  dflt: number,
  st: { mode: number; uid: number; gid: number; mtimeMs: number },
  m: Meta | undefined,
  data: Uint8Array | undefined,
  target: string | undefined,
  site: boolean,
): SourceFile {
  const mode = site ? st.mode & 0o7777 : parseMode(m?.mode, type === 'file' && st.mode & 0o111 ? 0o755 : dflt);
  const uid = site ? st.uid : (m?.uid ?? 0);
  const gid = site ? st.gid : (m?.gid ?? 0);
  const mtime = (site ? null : shippedMtime()) ?? Math.max(0, Math.floor(st.mtimeMs / 1000));
  const h = createHash('sha256').update(`${rel}\0${type}\0${mode}\0${uid}\0${gid}\0${target ?? ''}\0${mtime}\0`);
  if (data) h.update(data);
  return { rel, type, mode, uid, gid, data, target, mtime, hash: h.digest('hex').slice(0, 32) };
}
