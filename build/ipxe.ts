// Where the build takes the iPXE binaries from: WULF_IPXE_DIR, else Debian's ipxe package when it
// is installed (/usr/lib/ipxe), else the same package fetched with `apt-get download` and unpacked
// with `dpkg -x` into a cache beside the checkout's user cache (no root, nothing installed).
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const IPXE_FILES = ['undionly.kpxe', 'ipxe.efi', 'snponly.efi'];

export interface IpxeSource {
  dir: string;
  files: Map<string, string>;
  licence?: string;
  from: string;
}

/** A file inside an unpacked package: absolute symlinks (ipxe.efi → /boot/ipxe.efi) resolve inside root. */
function inRoot(root: string, rel: string, depth = 0): string | undefined {
  const p = join(root, rel);
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return undefined;
  }
  if (!st.isSymbolicLink()) return st.isFile() ? p : undefined;
  if (depth > 8) return undefined;
  const t = readlinkSync(p);
  return inRoot(root, t.startsWith('/') ? t : join(rel, '..', t), depth + 1);
}

function collect(dir: string, root?: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of IPXE_FILES) {
    const p = root ? inRoot(root, join(dir.slice(root.length), f)) : existsSync(join(dir, f)) ? join(dir, f) : undefined;
    if (p) m.set(f, p);
  }
  return m;
}

export const ipxeCacheDir = () => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'wulf', 'ipxe');

/**
 * apt options for package lists of the build's own, in the cache: on a fresh machine apt has read no
 * package lists yet, and the build does not change the system's apt state for them.
 */
function privateApt(cache: string): string[] | string {
  const lists = join(cache, 'apt', 'lists'),
    pkgcache = join(cache, 'apt', 'cache');
  mkdirSync(join(lists, 'partial'), { recursive: true });
  mkdirSync(join(pkgcache, 'archives', 'partial'), { recursive: true });
  const opts = [
    '-o',
    `Dir::State::Lists=${lists}`,
    '-o',
    `Dir::Cache=${pkgcache}`,
    '-o',
    'Debug::NoLocking=1',
    '-o',
    'APT::Sandbox::User=root',
  ];
  const u = spawnSync('apt-get', [...opts, '-qq', 'update'], { encoding: 'utf8' });
  if (u.status !== 0) return `apt-get update (into ${lists}) failed: ${(u.stderr || u.stdout).trim().split('\n').pop()}`;
  return opts;
}

const candidate = (opts: string[]) =>
  spawnSync('apt-cache', [...opts, 'policy', 'ipxe'], { encoding: 'utf8' }).stdout?.match(/Candidate:\s*(\S+)/)?.[1];

/**
 * Fetch Debian's ipxe package into the cache (once per package version) and return its tree. Uses the
 * system's package lists when they know ipxe, else lists of its own in the cache (`own: true` forces that).
 */
export function fetchIpxePackage(o: { own?: boolean } = {}): IpxeSource | string {
  for (const t of ['apt-get', 'dpkg-deb'])
    if (spawnSync('which', [t]).status !== 0) return `${t} is not available to fetch Debian's ipxe package`;
  const cache = ipxeCacheDir();
  let opts: string[] = [];
  let ver = o.own ? undefined : candidate(opts);
  if (!ver || ver === '(none)') {
    const p = privateApt(cache);
    if (typeof p === 'string') return p;
    opts = p;
    ver = candidate(opts);
    if (!ver || ver === '(none)') return 'apt knows no ipxe package, even after apt-get update (is a Debian archive in sources.list?)';
  }
  const root = join(cache, ver.replace(/[^A-Za-z0-9.+~-]/g, '_'));
  if (!existsSync(join(root, '.complete'))) {
    mkdirSync(cache, { recursive: true });
    const tmp = mkdtempSync(join(cache, '.tmp-'));
    try {
      const dl = spawnSync('apt-get', [...opts, 'download', `ipxe=${ver}`], { cwd: tmp, encoding: 'utf8' });
      const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
      if (dl.status !== 0 || !deb)
        return `apt-get download ipxe failed: ${
          (dl.stderr || dl.stdout)
            .trim()
            .split('\n')
            .filter((l) => !l.startsWith('W:'))
            .pop() ?? 'no .deb'
        }`;
      const x = spawnSync('dpkg-deb', ['-x', join(tmp, deb), join(tmp, 'root')], { encoding: 'utf8' });
      if (x.status !== 0) return `dpkg-deb -x ${deb} failed: ${x.stderr.trim()}`;
      writeFileSync(join(tmp, 'root', '.complete'), `${deb}\n`);
      rmSync(root, { recursive: true, force: true });
      renameSync(join(tmp, 'root'), root);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const files = collect(join(root, 'usr/lib/ipxe'), root);
  const licence = join(root, 'usr/share/doc/ipxe/copyright');
  return { dir: root, files, from: `Debian's ipxe ${ver} (fetched into ${root})`, ...(existsSync(licence) ? { licence } : {}) };
}

/** The iPXE binaries to embed, or one line saying why there are none. */
export function findIpxe(): IpxeSource | string {
  const env = process.env.WULF_IPXE_DIR;
  if (env) {
    const files = collect(env);
    return files.size === IPXE_FILES.length
      ? { dir: env, files, from: env }
      : `WULF_IPXE_DIR=${env} lacks ${IPXE_FILES.filter((f) => !files.has(f)).join(', ')}`;
  }
  const sys = collect('/usr/lib/ipxe');
  if (sys.size === IPXE_FILES.length)
    return {
      dir: '/usr/lib/ipxe',
      files: sys,
      from: '/usr/lib/ipxe',
      ...(existsSync('/usr/share/doc/ipxe/copyright') ? { licence: '/usr/share/doc/ipxe/copyright' } : {}),
    };
  const pkg = fetchIpxePackage();
  if (typeof pkg === 'string') return pkg;
  return pkg.files.size === IPXE_FILES.length
    ? pkg
    : `Debian's ipxe package lacks ${IPXE_FILES.filter((f) => !pkg.files.has(f)).join(', ')}`;
}
