// `image shell` / `image exec`: run inside an image with new mount, PID and UTS namespaces
// (util-linux unshare) and chroot, with bind mounts, one session per image, and the image's
// exit script. Mount points missing in the image are created for the session and removed after.
import { constants, copyFileSync, existsSync, lstatSync, mkdirSync, rmSync, rmdirSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import type { Paths } from '../config/paths.ts';
import { acquireLock } from '../lib/atomic.ts';
import { lstatBeneath, parentsBeneath, setDirTimesBeneath } from '../lib/beneath.ts';
import { WulfError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { ensureImageStore, imageDir, rootfsDir } from './layout.ts';
import { resolveInRoot } from './kernels.ts';

export interface Bind {
  source: string;
  dest: string;
  readonly: boolean;
  copy: boolean;
}

export function parseBind(s: string): Bind {
  const [source, dest, opt, ...rest] = s.split(':');
  if (!source || rest.length || (opt && opt !== 'ro' && opt !== 'copy' && opt !== 'rw'))
    throw new WulfError(`invalid --bind "${s}"`, { hint: 'use SRC[:DST[:ro|copy]]', code: 'EARG' });
  return { source, dest: dest || source, readonly: opt === 'ro', copy: opt === 'copy' };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface SessionOpts {
  cmd: string[];
  binds: string[];
  env: Record<string, string | undefined>;
  log?: Logger;
  interactive: boolean;
  imageMounts?: Bind[];
  stdio?: 'inherit' | 'pipe';
}
export interface SessionResult {
  exit: number;
  changedUsers: boolean;
  stdout?: string;
  stderr?: string;
}

const mtimeOf = (p: string) => {
  try {
    return lstatSync(p).mtimeMs;
  } catch {
    return 0;
  }
};

/**
 * Make the mount point (or the copy) of one bind inside the image, for the session only. The target
 * is found as the image sees it (its own links followed inside the image, never out of it); every
 * write is to a path whose directories are real ones, and never through a link. The undo steps check
 * that again: the session ran the image's code as root in between. Returns the mount lines.
 */
function prepareBind(root: string, b: Bind, undo: (() => void)[]): string[] {
  if (!existsSync(b.source)) throw new WulfError(`bind source ${b.source} does not exist`, { code: 'ENOENT' });
  const srcDir = statSync(b.source).isDirectory();
  const dest = posix.normalize('/' + b.dest);
  if (dest === '/') throw new WulfError(`bind target ${b.dest}: cannot bind over the image root`, { code: 'EARG' });
  // the deepest existing ancestor; the missing ones are made for the session only
  const missing: string[] = [];
  let anc = dirname(dest);
  let ancRel = resolveInRoot(root, anc);
  while (ancRel === undefined) {
    missing.unshift(basename(anc));
    anc = dirname(anc);
    ancRel = resolveInRoot(root, anc);
  }
  const ancSt = lstatBeneath(root, ancRel);
  if (!ancSt?.isDirectory()) throw new WulfError(`bind target ${b.dest}: ${anc} is not a directory in the image`, { code: 'EARG' });
  let parentRel = ancRel;
  const made: string[] = [];
  for (const m of missing) {
    parentRel = parentRel ? `${parentRel}/${m}` : m;
    if (lstatBeneath(root, parentRel))
      throw new WulfError(
        `bind target ${b.dest}: ${posix.join(anc, ...missing.slice(0, missing.indexOf(m) + 1))} is a symlink to a path the image does not have`,
        { code: 'EARG' },
      );
    mkdirSync(join(root, parentRel)); // mkdir never follows: parentRel's parents are real directories
    made.unshift(parentRel);
  }
  if (made.length) {
    undo.push(() => {
      for (const d of made) {
        if (!parentsBeneath(root, d) || !lstatBeneath(root, d)?.isDirectory()) return;
        try {
          rmdirSync(join(root, d));
        } catch {
          return;
        }
      }
      setDirTimesBeneath(root, ancRel!, ancSt.atimeMs / 1000, ancSt.mtimeMs / 1000);
    });
  }
  const targetRel = parentRel ? `${parentRel}/${basename(dest)}` : basename(dest);
  const target = join(root, targetRel);
  const pm = lstatSync(join(root, parentRel));
  const restoreParent = () => setDirTimesBeneath(root, parentRel, pm.atimeMs / 1000, pm.mtimeMs / 1000);
  const had = lstatBeneath(root, targetRel);
  if (had?.isSymbolicLink()) throw new WulfError(`bind target ${b.dest} is a symlink in the image`, { code: 'EARG' });
  // undo steps act only while the path is still reached through real directories
  const still = () => {
    try {
      return parentsBeneath(root, targetRel);
    } catch {
      return false;
    }
  };
  if (b.copy) {
    if (srcDir) throw new WulfError(`--bind ${b.source}:…:copy needs a file`, { code: 'EARG' });
    const saved = had ? `${target}.wulf-orig-${process.pid}` : undefined;
    if (saved) renameSync(target, saved); // rename moves the entry itself, never a link's target
    copyFileSync(b.source, target, constants.COPYFILE_EXCL);
    const t = lstatSync(target).mtimeMs;
    undo.push(() => {
      if (!still()) return;
      const now = lstatBeneath(root, targetRel);
      if (now?.mtimeMs !== t) {
        if (saved) rmSync(saved, { force: true });
        return;
      } // edited: keep it
      rmSync(target, { force: true });
      if (saved) renameSync(saved, target);
      restoreParent();
    });
    return [];
  }
  if (!had) {
    if (srcDir) mkdirSync(target);
    else writeFileSync(target, '', { flag: 'wx' });
    undo.push(() => {
      if (!still()) return;
      try {
        if (srcDir) rmdirSync(target);
        else if (lstatBeneath(root, targetRel)?.isFile()) rmSync(target);
        restoreParent();
      } catch {
        /* kept: something was written */
      }
    });
  }
  return [`mount --bind ${q(b.source)} ${q(target)}`, ...(b.readonly ? [`mount -o remount,bind,ro ${q(target)}`] : [])];
}

export async function imageSession(paths: Paths, name: string, o: SessionOpts): Promise<SessionResult> {
  const root = rootfsDir(paths, name);
  ensureImageStore(paths);
  const lock = await acquireLock(join(imageDir(paths, name), 'session.lock'), 0).catch(() => {
    throw new WulfError(`image "${name}" already has a shell/exec session open`, {
      hint: 'only one session per image at a time',
      code: 'EBUSY',
    });
  });
  const undo: (() => void)[] = [];
  try {
    let mounts = o.imageMounts;
    if (!mounts) {
      try {
        // image mounts are cluster-wide: on PostgreSQL the store's (src/config/cluster-settings.ts), else wulf.conf's
        mounts = (await (await import('../store/settings-pg.ts')).readTemplateConf(paths, o.env)).imageMounts;
      } catch {
        mounts = [{ source: '/etc/resolv.conf', dest: '/etc/resolv.conf', readonly: true, copy: false }];
      }
    }
    const binds = [...mounts.filter((m) => m.source && existsSync(m.source)), ...o.binds.map(parseBind)];
    const users = [join(root, 'etc/passwd'), join(root, 'etc/group')].map(mtimeOf);
    const lines = ['set -e', `hostname ${q(name)} 2>/dev/null || true`];
    for (const [dir, type] of [
      ['proc', 'proc'],
      ['sys', 'sysfs'],
      ['run', 'tmpfs'],
    ] as const) {
      if (existsSync(join(root, dir)) && lstatSync(join(root, dir)).isDirectory())
        lines.push(`mount -t ${type} ${type} ${q(join(root, dir))}`);
    }
    if (existsSync(join(root, 'dev')) && lstatSync(join(root, 'dev')).isDirectory())
      lines.push(`mount -t devtmpfs devtmpfs ${q(join(root, 'dev'))} 2>/dev/null || mount --rbind /dev ${q(join(root, 'dev'))}`);
    for (const b of binds) lines.push(...prepareBind(root, b, undo));
    const exitScripts = ['/etc/warewulf/image_exit.sh', '/etc/warewulf/container_exit.sh', '/etc/wulf/image_exit.sh'];
    const inner = o.cmd.length ? o.cmd.map(q).join(' ') : '/bin/sh -i';
    lines.push('set +e', `chroot ${q(root)} /bin/sh -c ${q('cd / && exec ' + inner)}`, 'rc=$?');
    for (const s of exitScripts) lines.push(`if [ -f ${q(root + s)} ]; then chroot ${q(root)} /bin/sh ${q(s)}; fi`);
    lines.push('exit $rc');
    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      TERM: o.env.TERM ?? 'dumb',
      PS1: `[wulf:${name}] \\w# `,
      WULF_IMAGE_SHELL: name,
      WW_IMAGE_SHELL: name,
      WW_CONTAINER_SHELL: name,
    };
    const pipe = o.stdio === 'pipe';
    const p = Bun.spawn(
      ['unshare', '--mount', '--pid', '--uts', '--fork', '--propagation', 'private', '--', '/bin/sh', '-c', lines.join('\n')],
      {
        env,
        stdin: pipe ? 'ignore' : 'inherit',
        stdout: pipe ? 'pipe' : 'inherit',
        stderr: pipe ? 'pipe' : 'inherit',
      },
    );
    const [stdout, stderr] = pipe
      ? await Promise.all([new Response(p.stdout as ReadableStream).text(), new Response(p.stderr as ReadableStream).text()])
      : [undefined, undefined];
    const exit = await p.exited;
    const after = [join(root, 'etc/passwd'), join(root, 'etc/group')].map(mtimeOf);
    return { exit, changedUsers: after[0] !== users[0] || after[1] !== users[1], ...(pipe ? { stdout, stderr } : {}) };
  } finally {
    for (const u of undo.reverse()) {
      try {
        u();
      } catch (e) {
        o.log?.warn('image', `cleanup after session: ${(e as Error).message}`);
      }
    }
    lock.release();
  }
}
