// Builds one node's system or runtime archive: walks its overlays in order (later files win),
// renders .ww templates (memoised by what they read) and packs the files as one newc archive in one
// gzip member (archive-pack.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readBeneath } from '../lib/beneath.ts';
import { join } from 'node:path';
import type { NodesConf } from '../config/cascade.ts';
import { mergeNode, naturalCompare } from '../config/cascade.ts';
import type { WulfConf } from '../config/wulfconf.ts';
import type { Paths } from '../config/paths.ts';
import { WulfError } from '../lib/errors.ts';
import { DEFAULT_HOST_ALLOW } from '../config/wulfconf.ts';
import { buildView, nodeView, serverView } from './data.ts';
import { TemplateMemo, type MemoSnapshot } from './memo.ts';
import { fillSlots, renderTemplate, type RenderResult, type RenderedFile } from './render.ts';
import { fileSig, type RenderEnv } from './template-files.ts';
import { newReads } from './track.ts';
import { Packer, type Entry, type Packed } from './archive-pack.ts';
import { FILE_PREFIX } from './track.ts';
import { checkOverlayName, locateOverlay, readOverlay, treeSignature, type OverlaySource } from './sources.ts';

export type Kind = 'system' | 'runtime';
export const KINDS: Kind[] = ['system', 'runtime'];

/** Exactly 'system' or 'runtime' (a kind may come from a peer's request: no other value picks an overlay list). */
export function checkKind(kind: unknown): Kind {
  if (kind === 'system' || kind === 'runtime') return kind;
  throw new WulfError(
    `unknown overlay kind ${typeof kind === 'string' ? JSON.stringify(kind.slice(0, 40)) : typeof kind} (system or runtime)`,
  );
}

/** A render that read only build-wide data (server, build, allNodes, controller files): the same for every node of a snapshot. */
export interface SharedRender {
  key: string;
  files: RenderedFile[];
  nobackup: boolean;
}

export { DEFAULT_HOST_ALLOW } from '../config/wulfconf.ts';

const enc = new TextEncoder();
const sha = (s: string | Uint8Array) => createHash('sha1').update(s).digest('hex');

/**
 * include_image's reader: the image's tree, or — on a controller serving an image by the PostgreSQL
 * store's digest from a build it fetched (src/serve/artifacts.ts) — the /etc extracted from that
 * build (<artifacts>/images/<name> names the digest, <artifacts>/files/<digest>/ holds the files).
 */
export function defaultImageFile(imagesDir: string, artifactsDir?: string) {
  return (image: string, path: string): Uint8Array | undefined => {
    if (!/^[A-Za-z0-9._:-]+$/.test(image) || image === '.' || image === '..') return undefined;
    const parts = path.split('/').filter((x) => x && x !== '.');
    if (parts.includes('..')) return undefined;
    if (!parts.length) return undefined;
    let base = join(imagesDir, image, 'rootfs');
    if (artifactsDir) {
      try {
        const digest = readFileSync(join(artifactsDir, 'images', image), 'utf8').trim();
        if (/^[0-9a-f]{64}$/.test(digest)) base = join(artifactsDir, 'files', digest);
      } catch {
        /* no fetched build: the tree */
      }
    }
    // no link followed, and only a regular file opened (a device node would read the controller's disk, a FIFO hangs)
    try {
      return readBeneath(base, parts.join('/'));
    } catch {
      return undefined;
    }
  };
}

/** Everything fixed for one build generation: config, server, sources, included files. */
export class Snapshot implements MemoSnapshot {
  private static next = 1;
  readonly id = Snapshot.next++;
  readonly created = new Date();
  private merged = new Map<string, Record<string, unknown> | null>();
  private all?: Record<string, unknown>[];
  private fileSigs = new Map<string, string>();
  readonly server: Record<string, unknown>;
  constructor(
    readonly conf: NodesConf,
    readonly wulf: WulfConf,
    private builder: Builder,
  ) {
    this.server = serverView(wulf);
  }
  fileSig = (key: string): string => {
    let s = this.fileSigs.get(key);
    if (s === undefined) {
      s = fileSig(key, this.builder.env);
      this.fileSigs.set(key, s);
    }
    return s;
  };
  view(id: string): Record<string, unknown> | undefined {
    if (!this.conf.nodes[id]) return undefined;
    let v = this.merged.get(id);
    if (v === undefined) {
      v = this.builder.viewOf(this, id);
      this.merged.set(id, v);
    }
    return v ?? undefined;
  }
  /** How many nodes the snapshot holds (the render time limit grows with it); counted once, not per render. */
  get nodeCount(): number {
    return (this._nodeCount ??= Object.keys(this.conf.nodes).length);
  }
  private _nodeCount?: number;
  /** JSON of the profiles (views are reused across snapshots while it and the node's JSON are unchanged). */
  get profilesJson(): string {
    return (this._profilesJson ??= JSON.stringify(this.conf.profiles));
  }
  private _profilesJson?: string;
  allNodes(): Record<string, unknown>[] {
    if (!this.all) this.all = this.builder.sortedIds(Object.keys(this.conf.nodes)).map((id) => this.view(id)!);
    return this.all;
  }
  overlayList(id: string, kind: Kind): string[] {
    const v = this.view(id);
    if (!v) throw new WulfError(`node "${id}" does not exist`);
    return (checkKind(kind) === 'system' ? v.systemOverlay : v.runtimeOverlay) as string[];
  }
  /** Template data for one node: its view plus server, build and a lazy allNodes. */
  rootFor(id: string): Record<string, unknown> {
    const root: Record<string, unknown> = { ...this.view(id)!, server: this.server, build: null };
    const snap = this;
    Object.defineProperty(root, 'allNodes', {
      enumerable: true,
      get() {
        return snap.allNodes();
      },
    });
    return root;
  }
}

export interface BuilderOptions {
  paths: Paths;
  imageFile?: (image: string, path: string) => Uint8Array | undefined;
  hostAllow?: string[];
}

export class Builder {
  readonly env: RenderEnv;
  readonly memo = new TemplateMemo();
  private sources = new Map<string, { sig: string; src: OverlaySource; snap: number }>();
  private readonly packer = new Packer();
  renders = 0;
  private files = new Set<string>();
  /** every included file key seen so far (their changes start a new snapshot) */
  fileKeys(): Iterable<string> {
    return this.files;
  }
  /** included files read by a build elsewhere (the build thread) */
  addFileKeys(keys: Iterable<string>): void {
    for (const k of keys) this.files.add(k);
  }
  constructor(readonly opts: BuilderOptions) {
    this.env = {
      confDir: opts.paths.confDir,
      hostRoot: opts.paths.hostRoot,
      hostAllow: opts.hostAllow ?? DEFAULT_HOST_ALLOW,
      imageFile: opts.imageFile ?? defaultImageFile(opts.paths.imagesDir, join(opts.paths.stateDir, 'artifacts')),
    };
  }

  /** A snapshot; the include allow list is wulf.conf's (`overlay include paths`) unless given to the Builder. */
  snapshot(conf: NodesConf, wulf: WulfConf): Snapshot {
    this.env.hostAllow = this.opts.hostAllow ?? wulf.warewulf.includePaths ?? DEFAULT_HOST_ALLOW;
    return new Snapshot(conf, wulf, this);
  }

  // node views kept across snapshots: a node whose YAML data and profiles are unchanged keeps its view
  private views = new Map<string, { json: string; view: Record<string, unknown> }>();
  private viewsProfiles = '';
  private order?: { key: string; ids: string[] };

  /** The merged view of a node, reused from an earlier snapshot when its data and the profiles are equal. */
  viewOf(snap: Snapshot, id: string): Record<string, unknown> {
    if (snap.profilesJson !== this.viewsProfiles) {
      this.views.clear();
      this.viewsProfiles = snap.profilesJson;
    }
    const json = JSON.stringify(snap.conf.nodes[id]);
    const c = this.views.get(id);
    if (c && c.json === json) return c.view;
    const view = nodeView(mergeNode(snap.conf, id));
    this.views.set(id, { json, view });
    return view;
  }

  /** Node ids in natural order (n2 before n10), as mergeAll lists them; re-sorted only when the set changes. */
  sortedIds(ids: string[]): string[] {
    const key = ids.join('\0');
    if (this.order?.key !== key) this.order = { key, ids: [...ids].sort(naturalCompare) };
    return this.order.ids;
  }

  /** The overlay's source tree, re-read only when its stat signature changed (checked once per snapshot). */
  overlay(name: string, snap: Snapshot): OverlaySource {
    checkOverlayName(name);
    const c = this.sources.get(name);
    if (c && c.snap === snap.id) return c.src;
    const loc = locateOverlay(this.opts.paths.siteOverlaysDir, name);
    if (!loc) throw new WulfError(`overlay "${name}" does not exist`, { hint: "see 'wulf overlay list'" });
    const sig = `${loc.dir}\0${treeSignature(loc.dir)}`;
    if (c && c.sig === sig) {
      c.snap = snap.id;
      return c.src;
    }
    const src = readOverlay(this.opts.paths.siteOverlaysDir, name);
    this.sources.set(name, { sig, src, snap: snap.id });
    return src;
  }

  // renders that read no node-own data, per template key, for one snapshot: every node of the snapshot
  // gets the same output, so it is taken from here without a memo lookup (whose key over all nodes'
  // values costs as much as the render itself), and buildMany hands them to its workers
  private shared = new Map<string, { snap: number; r: RenderResult }>();

  /** Render one template for one node (memoised). */
  render(snap: Snapshot, root: Record<string, unknown>, src: OverlaySource, rel: string, data: Uint8Array, fileHash: string): RenderResult {
    root.build = buildView(src.name, `${src.name}/${rel}`, snap.created, snap.wulf.buildHost);
    const key = `${src.name}\0${rel}\0${fileHash}`;
    const sh = this.shared.get(key);
    if (sh?.snap === snap.id) {
      this.memo.hits++;
      return sh.r;
    }
    const hit = this.memo.lookup(key, root, snap);
    if (hit) {
      if (isShared(hit)) this.shared.set(key, { snap: snap.id, r: hit });
      return hit;
    }
    this.renders++;
    const r = renderTemplate(src.name, rel, this.source(fileHash, data), root, this.env, snap.nodeCount);
    for (const k of r.reads.global.keys()) if (k.startsWith(FILE_PREFIX)) this.files.add(k);
    this.memo.store(key, root, snap, r);
    if (isShared(r)) this.shared.set(key, { snap: snap.id, r });
    return r;
  }

  // template sources as text, by their file hash: one string per template, so the parse cache's
  // lookup hashes it once (a node-own template renders for every node)
  private sourceText = new Map<string, string>();
  private source(fileHash: string, data: Uint8Array): string {
    let t = this.sourceText.get(fileHash);
    if (t === undefined) {
      if (this.sourceText.size > 5000) this.sourceText.clear();
      t = new TextDecoder().decode(data);
      this.sourceText.set(fileHash, t);
    }
    return t;
  }

  /** The renders of this snapshot that are the same for every node (to hand to workers on the same data). */
  sharedRenders(snap: Snapshot): SharedRender[] {
    const out: SharedRender[] = [];
    for (const [key, { snap: id, r }] of this.shared)
      if (id === snap.id)
        out.push({ key, files: r.files.map(({ rel, data, symlink, abort }) => ({ rel, data, symlink, abort })), nobackup: r.nobackup });
    return out;
  }

  /** Take renders made by another Builder on a snapshot of the same data (same conf, server, sources, files). */
  adoptShared(snap: Snapshot, list: SharedRender[]): void {
    for (const s of list)
      this.shared.set(s.key, { snap: snap.id, r: { files: s.files, nobackup: s.nobackup, reads: newReads(), slots: [] } });
  }

  /** Pack entries as one gzip member (archive-pack.ts). */
  pack(entries: Map<string, Entry>): Packed {
    return this.packer.pack(entries);
  }

  /** The final file list for a node and kind (later overlays overwrite earlier files). */
  entries(snap: Snapshot, id: string, kind: Kind): Map<string, Entry> {
    const list = snap.overlayList(id, kind);
    const root = snap.rootFor(id);
    const out = new Map<string, Entry>();
    for (const name of list) {
      const src = this.overlay(name, snap);
      for (const f of src.files) {
        if (f.type === 'file' && f.rel.endsWith('.ww')) {
          const r = this.render(snap, root, src, f.rel, f.data!, f.hash);
          const local = r.reads.local.size > 0;
          for (const o of fillSlots(r, root)) {
            if (o.abort) continue;
            let h = (o as { hash?: string }).hash;
            // bytes and hash are kept on the output object: shared by every node a memoised render serves
            const bytes = o.symlink ? undefined : ((o as { bytes?: Uint8Array }).bytes ??= enc.encode(o.data));
            if (!h) {
              h = sha(`${o.rel}\0${f.mode}\0${f.uid}\0${f.gid}\0${f.mtime}\0${o.symlink ?? ''}\0${o.data}`);
              (o as { hash?: string }).hash = h;
            }
            out.delete(o.rel);
            out.set(
              o.rel,
              o.symlink
                ? {
                    rel: o.rel,
                    type: 'symlink',
                    mode: 0o777,
                    uid: f.uid,
                    gid: f.gid,
                    mtime: f.mtime,
                    target: o.symlink,
                    hash: h,
                    local,
                    origin: `${name}/${f.rel}`,
                  }
                : {
                    rel: o.rel,
                    type: 'file',
                    mode: f.mode,
                    uid: f.uid,
                    gid: f.gid,
                    mtime: f.mtime,
                    data: bytes,
                    hash: h,
                    local,
                    origin: `${name}/${f.rel}`,
                  },
            );
          }
        } else {
          out.delete(f.rel);
          out.set(f.rel, {
            rel: f.rel,
            type: f.type,
            mode: f.mode,
            uid: f.uid,
            gid: f.gid,
            mtime: f.mtime,
            data: f.data,
            target: f.target,
            hash: f.hash,
            local: false,
            origin: `${name}/${f.rel}`,
          });
        }
      }
    }
    return out;
  }
}

/** Read nothing of the node itself, so the same for every node of a snapshot. */
function isShared(r: RenderResult): boolean {
  return r.reads.local.size === 0 && r.slots.length === 0;
}
