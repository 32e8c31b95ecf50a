// The server-side `host` overlay (Warewulf's `wwctl overlay build -H` / `configure hostfile`):
// renders its files for the controller itself and writes them into the controller's root — `/`,
// WULF_HOST_ROOT when set, else the relocation root with --root DIR (so a relocated wulf never
// writes the real /etc unless told to). Its templates read the files they rewrite from there too. Every template is
// rendered before anything is written: a template error leaves every file as it was. Each file is
// written as temp + rename; a file it replaces keeps its mode and owner, and the first version it
// replaces is kept as FILE.wwbackup unless the template says {% nobackup %}. Unchanged files are
// not touched.
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { NodesConf } from '../config/cascade.ts';
import type { WulfConf } from '../config/wulfconf.ts';
import type { Paths } from '../config/paths.ts';
import { WulfError } from '../lib/errors.ts';
import { Builder } from './build.ts';
import { buildView } from './data.ts';
import { renderTemplate } from './render.ts';

export const HOST_OVERLAY = 'host';
/** The node whose data the host templates see: a node named `host` when there is one, else an empty one. */
export const HOST_NODE = 'host';
export const BACKUP_SUFFIX = '.wwbackup';

export interface HostFile {
  rel: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  data?: Uint8Array;
  target?: string;
  backup: boolean;
  origin: string;
}
export interface HostResult {
  path: string;
  type: HostFile['type'];
  action: 'written' | 'unchanged' | 'created';
  backup?: string;
}

/** The controller root files are written under: WULF_HOST_ROOT, else the relocation root, else `/`. */
export function hostTarget(paths: Paths): string {
  return paths.hostRoot || paths.root || '/';
}

/** Render the host overlay for the controller (nothing written). Throws on the first template error. */
export function renderHostOverlay(paths: Paths, conf: NodesConf, wulf: WulfConf, overlay = HOST_OVERLAY): HostFile[] {
  // the files it keeps the admin's lines of (/etc/hosts, /etc/exports) are read where they are written
  const target = hostTarget(paths);
  const b = new Builder({ paths: { ...paths, hostRoot: target === '/' ? '' : target } });
  const c = conf.nodes[HOST_NODE] ? conf : { ...conf, nodes: { ...conf.nodes, [HOST_NODE]: {} } };
  const snap = b.snapshot(c, wulf);
  const src = b.overlay(overlay, snap);
  const out = new Map<string, HostFile>();
  const enc = new TextEncoder();
  for (const f of src.files) {
    if (f.type === 'file' && f.rel.endsWith('.ww')) {
      const root = snap.rootFor(HOST_NODE);
      root.build = buildView(overlay, `${overlay}/${f.rel}`, snap.created);
      const r = renderTemplate(overlay, f.rel, new TextDecoder().decode(f.data), root, b.env);
      for (const o of r.files) {
        if (o.abort) continue;
        out.set(
          o.rel,
          o.symlink
            ? {
                rel: o.rel,
                type: 'symlink',
                mode: 0o777,
                uid: f.uid,
                gid: f.gid,
                target: o.symlink,
                backup: !r.nobackup,
                origin: `${overlay}/${f.rel}`,
              }
            : {
                rel: o.rel,
                type: 'file',
                mode: f.mode,
                uid: f.uid,
                gid: f.gid,
                data: enc.encode(o.data),
                backup: !r.nobackup,
                origin: `${overlay}/${f.rel}`,
              },
        );
      }
    } else {
      out.set(f.rel, {
        rel: f.rel,
        type: f.type,
        mode: f.mode,
        uid: f.uid,
        gid: f.gid,
        data: f.data,
        target: f.target,
        backup: true,
        origin: `${overlay}/${f.rel}`,
      });
    }
  }
  return [...out.values()].sort((a, b2) => (a.rel < b2.rel ? -1 : a.rel > b2.rel ? 1 : 0));
}

const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

/** Write rendered host files under `target` (atomically each; unchanged files untouched). */
export function writeHostFiles(target: string, files: HostFile[]): HostResult[] {
  const res: HostResult[] = [];
  for (const f of files) {
    const path = join(target, f.rel);
    if (!path.startsWith(target.endsWith('/') ? target : target + '/')) throw new WulfError(`host overlay file ${f.rel} leaves ${target}`);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (f.type === 'dir') {
      if (st?.isDirectory()) {
        res.push({ path, type: f.type, action: 'unchanged' });
        continue;
      }
      mkdirSync(path, { recursive: true, mode: f.mode });
      res.push({ path, type: f.type, action: 'created' });
      continue;
    }
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    const tmp = join(dirname(path), `.${f.rel.split('/').pop()}.wulf-${process.pid}-${Math.random().toString(36).slice(2, 8)}.tmp`);
    if (f.type === 'symlink') {
      if (st?.isSymbolicLink() && readlinkSync(path) === f.target) {
        res.push({ path, type: f.type, action: 'unchanged' });
        continue;
      }
      symlinkSync(f.target!, tmp);
    } else {
      // a symlink at the target is replaced by the file (what rename does); its backup is the link's target content
      if (st?.isFile() && same(readFileSync(path), f.data!)) {
        res.push({ path, type: f.type, action: 'unchanged' });
        continue;
      }
      const keep = st?.isFile() ? statSync(path) : undefined;
      try {
        writeFileSync(tmp, f.data!, { mode: 0o600 });
        chmodSync(tmp, keep ? keep.mode & 0o7777 : f.mode);
        try {
          chownSync(tmp, keep ? keep.uid : f.uid, keep ? keep.gid : f.gid);
        } catch {
          /* not root: the writer's own */
        }
      } catch (e) {
        try {
          unlinkSync(tmp);
        } catch {
          /* none */
        }
        throw e;
      }
    }
    let backup: string | undefined;
    if (st && f.backup && !existsSync(path + BACKUP_SUFFIX) && (st.isFile() || st.isSymbolicLink())) {
      backup = path + BACKUP_SUFFIX;
      try {
        if (st.isSymbolicLink()) symlinkSync(readlinkSync(path), backup);
        else copyFileSync(path, backup);
      } catch (e) {
        try {
          unlinkSync(tmp);
        } catch {
          /* none */
        }
        throw e;
      }
    }
    try {
      renameSync(tmp, path);
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        /* none */
      }
      throw e;
    }
    res.push({ path, type: f.type, action: st ? 'written' : 'created', backup });
  }
  return res;
}

/** Render the host overlay and write it into the controller root; nothing is written when a template fails. */
export function buildHostOverlay(paths: Paths, conf: NodesConf, wulf: WulfConf, overlay = HOST_OVERLAY): HostResult[] {
  return writeHostFiles(hostTarget(paths), renderHostOverlay(paths, conf, wulf, overlay));
}
