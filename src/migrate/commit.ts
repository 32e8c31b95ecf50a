// Writing an import plan all or nothing. First what differs from wulf's current files is worked out
// (an unchanged target is not touched: a second import changes nothing and copies no image). Then
// new images and overlays are staged beside their final place, and put in place one by one with an
// undo step each: the replaced image/overlay directory moves to <state>/import-backup/<time>/, a
// replaced file keeps its previous bytes in memory, nodes.conf goes through the store's locked,
// validated write. If any step fails every earlier one is undone, in reverse, and nothing changed.
import {
  chmodSync,
  existsSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Paths } from '../config/paths.ts';
import { readNodesConf, updateNodesConf } from '../config/store.ts';
import { acquireLock, writeFileAtomic } from '../lib/atomic.ts';
import { WulfError, errorLine } from '../lib/errors.ts';
import { ensureImageStore, imageDir } from '../images/layout.ts';
import { removeStaleImports } from '../images/import.ts';
import { MARKER, stageChroot } from './chroots.ts';
import type { Plan } from './plan.ts';
import { readTree, sameTree, type TreeEntry } from './trees.ts';

export interface Action {
  kind: 'wulf.conf' | 'nodes.conf' | 'file' | 'overlay' | 'image';
  target: string;
  detail: string;
}

type Obj = Record<string, unknown>;
const canonical = (v: unknown) =>
  JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.keys(x as Obj)
            .sort()
            .map((k) => [k, (x as Obj)[k]]),
        )
      : x,
  );
const readOr = (p: string) => {
  try {
    return readFileSync(p);
  } catch {
    return undefined;
  }
};

/** What the plan would change, target by target. */
export function changesOf(plan: Plan, paths: Paths): Action[] {
  const out: Action[] = [];
  for (const c of plan.images) {
    const m = readOr(join(imageDir(paths, c.name), MARKER));
    const same =
      m &&
      (() => {
        try {
          const j = JSON.parse(m.toString());
          return j.signature === c.signature && j.source === c.rootfs;
        } catch {
          return false;
        }
      })();
    if (!same)
      out.push({
        kind: 'image',
        target: c.name,
        detail: `${existsSync(imageDir(paths, c.name)) ? 'replace' : 'copy'} from ${c.rootfs} (${c.files} entries)`,
      });
  }
  for (const o of plan.overlays) {
    const dir = join(paths.siteOverlaysDir, o.name);
    if (!sameTree(readTree(dir, []), o.entries))
      out.push({
        kind: 'overlay',
        target: o.name,
        detail: `${existsSync(dir) ? 'replace' : 'write'} ${dir} (${o.entries.filter((e) => e.type !== 'dir').length} files)`,
      });
  }
  if (readOr(paths.wulfConf)?.toString() !== plan.wulfConf)
    out.push({
      kind: 'wulf.conf',
      target: paths.wulfConf,
      detail: existsSync(paths.wulfConf) ? 'replace (the previous one is kept as wulf.conf.bak)' : 'write',
    });
  for (const f of plan.files) {
    const cur = readOr(f.dest);
    if (!cur || !cur.equals(f.data) || (lstatSync(f.dest).mode & 0o777) !== f.mode)
      out.push({ kind: 'file', target: f.dest, detail: `${cur ? 'replace' : 'write'} from ${f.from}` });
  }
  const cur = readNodesConf(paths);
  const entries: string[] = [];
  for (const [n, d] of Object.entries(plan.profiles)) if (canonical(cur.profiles[n]) !== canonical(d)) entries.push(`profile ${n}`);
  for (const [n, d] of Object.entries(plan.nodes)) if (canonical(cur.nodes[n]) !== canonical(d)) entries.push(`node ${n}`);
  if (entries.length) out.push({ kind: 'nodes.conf', target: paths.nodesConf, detail: entries.join(', ') });
  return out;
}

/** Write an overlay tree into `dir` (which does not exist): modes, owners and mtimes as the source had them. */
function writeTree(dir: string, entries: TreeEntry[]): void {
  mkdirSync(join(dir, 'rootfs'), { recursive: true, mode: 0o755 });
  const root = join(dir, 'rootfs');
  for (const e of entries) {
    const p = join(root, e.rel);
    if (e.type === 'dir') mkdirSync(p, { mode: 0o700 });
    else if (e.type === 'symlink') symlinkSync(e.target!, p);
    else writeFileSync(p, e.data!, { mode: 0o600 });
    lchownSync(p, e.uid, e.gid);
    if (e.type !== 'symlink') chmodSync(p, e.mode);
  }
  for (const e of [...entries].reverse()) if (e.type !== 'symlink') utimesSync(join(root, e.rel), e.mtime, e.mtime); // dirs after their contents
}

const kept: string[] = [];
/**
 * Undo for a file about to be replaced: a hard link to it now (same inode, bytes, mode and mtime),
 * renamed back on undo; a file that did not exist is removed on undo.
 */
function keepAside(path: string, undo: (() => void)[]): void {
  if (existsSync(path)) {
    const aside = `${path}.import-undo-${process.pid}`;
    rmSync(aside, { force: true });
    linkSync(path, aside);
    kept.push(aside);
    undo.push(() => renameSync(aside, path));
  } else
    undo.push(() => {
      let st;
      try {
        st = lstatSync(path);
      } catch {
        return;
      }
      if (!st.isDirectory()) rmSync(path);
    });
}
/** mkdir -p whose undo removes the directories it made. */
function makeDirs(dir: string, undo: (() => void)[]): void {
  let top: string | undefined;
  for (let d = dir; !existsSync(d); d = dirname(d)) top = d;
  if (!top) return;
  mkdirSync(dir, { recursive: true });
  undo.push(() => rmSync(top!, { recursive: true, force: true }));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};
/** Staging dirs of imports that were killed (their process is gone). */
function removeStaleStaging(stateDir: string): void {
  for (const n of readdirSync(stateDir)) {
    const m = /^\.import-staging-(\d+)-[a-z0-9]+$/.exec(n);
    if (m && !alive(Number(m[1]))) rmSync(join(stateDir, n), { recursive: true, force: true });
  }
}

const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

/** Apply the changes; returns what was done. All or nothing. */
export async function commitPlan(plan: Plan, paths: Paths, changes: Action[], say: (line: string) => void): Promise<{ backup?: string }> {
  const want = (kind: Action['kind'], target: string) => changes.some((c) => c.kind === kind && c.target === target);
  const undo: (() => void)[] = [];
  const staged: string[] = [];
  const backupDir = join(paths.stateDir, 'import-backup', stamp());
  let backedUp = false;
  const moveAside = (path: string, kind: string, name: string) => {
    const to = join(backupDir, kind, name);
    mkdirSync(dirname(to), { recursive: true });
    renameSync(path, to);
    backedUp = true;
    undo.push(() => renameSync(to, path));
  };
  const place = (from: string, to: string, kind: string, name: string) => {
    if (existsSync(to)) moveAside(to, kind, name);
    makeDirs(dirname(to), undo);
    renameSync(from, to);
    undo.push(() => rmSync(to, { recursive: true, force: true }));
  };
  const stageRoot = join(paths.stateDir, `.import-staging-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(paths.stateDir, { recursive: true });
  const lock = await acquireLock(join(paths.runDir, 'import.lock')); // one import at a time
  removeStaleStaging(paths.stateDir);
  try {
    // stage: the slow part, nothing visible yet
    const images = plan.images.filter((c) => want('image', c.name));
    if (images.length) {
      ensureImageStore(paths);
      removeStaleImports(paths);
    }
    const imageStage = new Map<string, string>();
    for (const c of images) {
      const s = join(paths.imagesDir, `.import-${c.name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
      staged.push(s);
      mkdirSync(s, { mode: 0o700 });
      say(`copying image ${c.name} from ${c.rootfs}`);
      await stageChroot(c, s);
      chmodSync(s, 0o755);
      imageStage.set(c.name, s);
    }
    const overlayStage = new Map<string, string>();
    for (const o of plan.overlays.filter((x) => want('overlay', x.name))) {
      const s = join(stageRoot, o.name);
      staged.push(stageRoot);
      writeTree(s, o.entries);
      overlayStage.set(o.name, s);
    }
    // commit, each step with its undo
    for (const [name, s] of imageStage) {
      place(s, imageDir(paths, name), 'images', name);
      say(`image ${name}: imported`);
    }
    for (const [name, s] of overlayStage) {
      place(s, join(paths.siteOverlaysDir, name), 'overlays', name);
      say(`overlay ${name}: written`);
    }
    const files = [
      ...(want('wulf.conf', paths.wulfConf)
        ? [{ dest: paths.wulfConf, data: Buffer.from(plan.wulfConf), mode: 0o640, backup: `${paths.wulfConf}.bak` }]
        : []),
      ...plan.files.filter((f) => want('file', f.dest)).map((f) => ({ ...f, backup: undefined as string | undefined })),
    ];
    for (const f of files) {
      makeDirs(dirname(f.dest), undo);
      keepAside(f.dest, undo);
      if (f.backup) keepAside(f.backup, undo);
      writeFileAtomic(f.dest, f.data, { mode: f.mode, ...(f.backup && existsSync(f.dest) ? { backup: f.backup } : {}) });
      chmodSync(f.dest, f.mode);
      say(`${f.dest}: written`);
    }
    if (changes.some((c) => c.kind === 'nodes.conf')) {
      keepAside(paths.nodesConf, undo);
      keepAside(`${paths.nodesConf}.bak`, undo);
      await updateNodesConf(paths, (conf) => {
        for (const [n, d] of Object.entries(plan.profiles)) if (canonical(conf.profiles[n]) !== canonical(d)) conf.profiles[n] = d;
        for (const [n, d] of Object.entries(plan.nodes)) if (canonical(conf.nodes[n]) !== canonical(d)) conf.nodes[n] = d;
      });
      say(`${paths.nodesConf}: written`);
    }
  } catch (e) {
    const failed: string[] = [];
    for (const u of undo.reverse()) {
      try {
        u();
      } catch (x) {
        failed.push(errorLine(x));
      }
    }
    for (const s of staged) rmSync(s, { recursive: true, force: true });
    if (!failed.length) for (const k of kept) rmSync(k, { force: true });
    if (!failed.length) rmSync(backupDir, { recursive: true, force: true });
    const why = errorLine(e);
    if (failed.length)
      throw new WulfError(`import failed: ${why}; undoing it failed too (${failed[0]}): the replaced files are in ${backupDir}`);
    throw new WulfError(`import failed: ${why}; nothing was changed`, { hint: e instanceof WulfError ? e.hint : undefined });
  } finally {
    lock.release();
  }
  for (const s of staged) rmSync(s, { recursive: true, force: true });
  for (const k of kept) rmSync(k, { force: true });
  return backedUp ? { backup: backupDir } : {};
}
