// `wulf clean` (wwctl clean): what is left behind and no longer used — the registry blob cache
// (image imports fill it; wwctl removes its OCI cache too), the overlay archives of nodes that are
// no longer in nodes.conf, and the temp files and dirs of imports, builds and overlay writes whose
// process is gone (kill -9, power loss). Live nodes' archives, images and their builds are never touched,
// and the blob cache is kept while an import is running.
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Paths } from '../config/paths.ts';

export interface Removal {
  path: string;
  bytes: number;
  why: string;
}
export interface CleanResult {
  removed: Removal[];
  kept: { path: string; why: string }[];
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** Bytes under a path (links counted as themselves, never followed). */
export function sizeOf(p: string): number {
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of list(p)) n += sizeOf(join(p, e));
  return n;
}

/** What clean would remove (nothing is removed). `nodes`: the node names nodes.conf has. */
export function planClean(paths: Paths, nodes: Set<string>): CleanResult {
  const removed: Removal[] = [],
    kept: CleanResult['kept'] = [];
  const add = (path: string, why: string) => removed.push({ path, bytes: sizeOf(path), why });
  // imports, copies and deletes in flight, or dead: .import-NAME-PID-RAND / .trash-NAME-PID-RAND
  const running: string[] = [];
  for (const n of list(paths.imagesDir)) {
    const m = /^\.(import|trash)-(.*)-(\d+)-[a-z0-9]+$/.exec(n);
    if (!m) continue;
    if (pidAlive(Number(m[3]))) running.push(n);
    else
      add(
        join(paths.imagesDir, n),
        `unfinished image ${m[1] === 'import' ? 'import or copy' : 'delete'} of ${m[2]} (process ${m[3]} is gone)`,
      );
  }
  // image builds cut off: images/NAME/build/.tmp-PID-RAND.img.gz
  for (const img of list(paths.imagesDir)) {
    if (img.startsWith('.')) continue;
    const b = join(paths.imagesDir, img, 'build');
    for (const f of list(b)) {
      const m = /^\.tmp-(\d+)-/.exec(f);
      if (m && !pidAlive(Number(m[1]))) add(join(b, f), `unfinished build of image ${img} (process ${m[1]} is gone)`);
    }
  }
  const blobs = join(paths.cacheDir, 'blobs');
  if (existsSync(blobs)) {
    if (running.some((n) => n.startsWith('.import-')))
      kept.push({ path: blobs, why: `an image import is running (${running.join(', ')})` });
    else add(blobs, 'registry blob cache (layers are downloaded again by the next import)');
  }
  const ov = join(paths.cacheDir, 'overlays');
  for (const node of list(ov)) {
    const dir = join(ov, node);
    if (!nodes.has(node)) {
      add(dir, `overlay archives of ${node}, which is no longer in nodes.conf`);
      continue;
    }
    for (const f of list(dir)) {
      const m = /\.(\d+)(?:\.[a-z0-9]+)?\.tmp$/.exec(f);
      if (m && !pidAlive(Number(m[1]))) add(join(dir, f), `unfinished overlay archive of ${node} (process ${m[1]} is gone)`);
    }
  }
  return { removed, kept };
}

/** Remove what planClean finds; returns what it removed. */
export function clean(paths: Paths, nodes: Set<string>): CleanResult {
  const plan = planClean(paths, nodes);
  for (const r of plan.removed) rmSync(r.path, { recursive: true, force: true });
  return plan;
}
