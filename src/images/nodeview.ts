// `image shell|exec IMAGE --node N`: a read-only view of the image as node N would see it — the
// node's system and runtime overlays (rendered by the overlay service, handed in by the caller:
// overlays/preview.ts nodeOverlayFiles) on top of the rootfs.
// Inside private mount/PID/UTS namespaces: overlayfs with two lower layers (overlay files over the
// rootfs, no upper, so the view is read-only by construction); where overlayfs is not available,
// a read-only bind of the rootfs with each overlay file bound over its existing path. /tmp and
// /run are fresh tmpfs. No session lock, no exit script, no rebuild: nothing can reach the image.
import {
  chownSync,
  chmodSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Paths } from '../config/paths.ts';
import { WulfError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { rootfsDir } from './layout.ts';
import { parseBind, type SessionResult } from './shell.ts';

export interface ViewFile {
  rel: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  data?: Uint8Array;
  target?: string;
}

/** Write the overlay files under dir, refusing to write through a symlink made by an earlier entry. */
function materialise(dir: string, files: ViewFile[]): { rel: string; type: ViewFile['type'] }[] {
  const written: { rel: string; type: ViewFile['type'] }[] = [];
  const sorted = [...files].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const safeParent = (rel: string) => {
    const parts = rel.split('/');
    let cur = dir;
    for (let i = 0; i < parts.length - 1; i++) {
      cur = join(cur, parts[i]!);
      let st;
      try {
        st = lstatSync(cur);
      } catch {
        mkdirSync(cur, { mode: 0o755 });
        continue;
      }
      if (!st.isDirectory()) return false;
    }
    return true;
  };
  for (const f of sorted) {
    const rel = f.rel
      .split('/')
      .filter((p) => p && p !== '.')
      .join('/');
    if (!rel || rel.split('/').includes('..') || !safeParent(rel)) continue;
    const p = join(dir, rel);
    if (f.type === 'dir') {
      try {
        if (!lstatSync(p).isDirectory()) continue;
      } catch {
        mkdirSync(p);
      }
      chownSync(p, f.uid, f.gid);
      chmodSync(p, f.mode & 0o7777);
    } else if (f.type === 'symlink') {
      rmSync(p, { force: true });
      symlinkSync(f.target ?? '', p);
      lchownSync(p, f.uid, f.gid);
    } else {
      try {
        if (lstatSync(p).isDirectory()) continue;
      } catch {
        /* new */
      }
      rmSync(p, { force: true });
      writeFileSync(p, f.data ?? new Uint8Array(), { mode: 0o600 });
      chownSync(p, f.uid, f.gid);
      chmodSync(p, f.mode & 0o7777);
    }
    written.push({ rel, type: f.type });
  }
  return written;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Without overlayfs: a tmpfs holds the overlay files; along every directory that has overlay files
 * below it, the image's other entries are bound in read-only (files and directories) or copied
 * (symlinks, devices); the tmpfs is then made read-only too. Shell lines for the session script.
 */
function bindView(root: string, ovl: string, mnt: string, written: { rel: string; type: ViewFile['type'] }[]): string[] {
  const mixed = new Set<string>(['']),
    fromOverlay = new Set<string>();
  for (const w of written) {
    fromOverlay.add(w.rel);
    if (w.type === 'dir') mixed.add(w.rel);
    const parts = w.rel.split('/');
    for (let i = 1; i < parts.length; i++) mixed.add(parts.slice(0, i).join('/'));
  }
  const lines = [`mount -t tmpfs -o mode=0755 wulf-view ${q(mnt)}`, `cp -a ${q(ovl + '/.')} ${q(mnt + '/')}`];
  const binds: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(join(root, dir)).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const rel = dir ? `${dir}/${n}` : n;
      const src = join(root, rel),
        dst = join(mnt, rel);
      const st = lstatSync(src);
      if (mixed.has(rel)) {
        if (st.isDirectory()) walk(rel);
        continue;
      } // a directory both have: merged
      if (fromOverlay.has(rel)) continue; // the overlay's file wins
      if (st.isDirectory()) {
        lines.push(`mkdir ${q(dst)}`);
        binds.push(`mount --bind ${q(src)} ${q(dst)}`, `mount -o remount,bind,ro ${q(dst)}`);
      } else if (st.isFile()) {
        lines.push(`: > ${q(dst)}`);
        binds.push(`mount --bind ${q(src)} ${q(dst)}`, `mount -o remount,bind,ro ${q(dst)}`);
      } else lines.push(`cp -a ${q(src)} ${q(dst)}`);
    }
  };
  walk('');
  return [...lines, ...binds, `mount -o remount,ro ${q(mnt)}`];
}

export interface ViewOpts {
  node: string;
  /** the node's overlay files, system then runtime (later wins) */
  files: ViewFile[];
  cmd: string[];
  binds: string[];
  env: Record<string, string | undefined>;
  log: Logger;
  stdio?: 'inherit' | 'pipe';
  /** skip overlayfs and use the bind-mount fallback (tests; or set WULF_VIEW_NO_OVERLAYFS=1) */
  noOverlayfs?: boolean;
}

export async function nodeViewSession(paths: Paths, name: string, o: ViewOpts): Promise<SessionResult & { method?: string }> {
  const root = rootfsDir(paths, name);
  const work = mkdtempSync(join(tmpdir(), 'wulf-view-'));
  try {
    const ovl = join(work, 'overlay'),
      mnt = join(work, 'view');
    mkdirSync(ovl, { mode: 0o755 });
    mkdirSync(mnt);
    const written = materialise(ovl, o.files);
    const binds = o.binds.map(parseBind);
    const lines = ['set -e', `hostname ${q(o.node)} 2>/dev/null || true`, 'method=overlayfs'];
    // overlayfs reads ':' and ',' in lowerdir as separators
    const overlayOk = !o.noOverlayfs && !/[:,\\]/.test(ovl + root);
    const fallback = [...bindView(root, ovl, mnt, written), 'method=bind'];
    if (overlayOk)
      lines.push(
        `if ! mount -t overlay wulf-view -o ${q(`lowerdir=${ovl}:${root}`)} ${q(mnt)} 2>/dev/null; then`,
        ...fallback.map((l) => '  ' + l),
        'fi',
      );
    else lines.push(...fallback);
    for (const [dir, type] of [
      ['proc', 'proc'],
      ['sys', 'sysfs'],
      ['run', 'tmpfs'],
      ['tmp', 'tmpfs'],
    ] as const) {
      lines.push(`if [ -d ${q(join(mnt, dir))} ] && [ ! -L ${q(join(mnt, dir))} ]; then mount -t ${type} ${type} ${q(join(mnt, dir))}; fi`);
    }
    lines.push(
      `if [ -d ${q(join(mnt, 'dev'))} ] && [ ! -L ${q(join(mnt, 'dev'))} ]; ` +
        `then mount -t devtmpfs devtmpfs ${q(join(mnt, 'dev'))} 2>/dev/null || mount --rbind /dev ${q(join(mnt, 'dev'))}; fi`,
    );
    for (const b of binds) {
      if (!existsSync(b.source)) throw new WulfError(`bind source ${b.source} does not exist`, { code: 'ENOENT' });
      if (b.copy) throw new WulfError('--bind …:copy is not available with --node (the view is read-only)', { code: 'EARG' });
      const target = join(mnt, b.dest);
      const kind = statSync(b.source).isDirectory() ? '-d' : '-f';
      lines.push(
        `if [ ! -L ${q(target)} ] && [ ${kind} ${q(target)} ]; then mount --bind ${q(b.source)} ${q(target)}; ` +
          `${b.readonly ? `mount -o remount,bind,ro ${q(target)}` : ''}`,
        `else echo ${q(`wulf: bind target ${b.dest} must already exist in the read-only view`)} >&2; exit 125; fi`,
      );
    }
    if (o.stdio === 'pipe') lines.push('echo "wulf-view-method=$method" >&2');
    else if (!o.cmd.length)
      lines.push(
        `echo "wulf: read-only view of image ${name.replace(/[^\w.-]/g, '')} as node ${o.node.replace(/[^\w.-]/g, '')} ($method); ` +
          `changes are discarded on exit" >&2`,
      );
    const inner = o.cmd.length ? o.cmd.map(q).join(' ') : '/bin/sh -i';
    lines.push('set +e', `exec chroot ${q(mnt)} /bin/sh -c ${q('cd / && exec ' + inner)}`);
    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      TERM: o.env.TERM ?? 'dumb',
      PS1: `[wulf:${name}@${o.node} (read-only)] \\w# `,
      WULF_IMAGE_SHELL: name,
      WULF_VIEW_NODE: o.node,
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
    const method = stderr ? /wulf-view-method=(\w+)/.exec(stderr)?.[1] : undefined;
    return {
      exit,
      changedUsers: false,
      ...(pipe ? { stdout, stderr: stderr!.replace(/^wulf-view-method=\w+\n/m, '') } : {}),
      ...(method ? { method } : {}),
    };
  } finally {
    // the mounts lived in the session's namespace and are gone with it; only plain files remain
    // never recurse into the view if something is still mounted there (it would be the image)
    const mnt = join(work, 'view');
    let empty = true;
    try {
      empty = readdirSync(mnt).length === 0;
    } catch {
      /* not made */
    }
    if (empty) rmSync(work, { recursive: true, force: true });
    else o.log.warn('image', `left ${work} in place: ${mnt} is not empty (still mounted?)`);
  }
}
