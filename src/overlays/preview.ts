// What a node would get, before it gets it: one overlay file as stored or rendered for a node
// (`wulf overlay show`, the TUI's file pane), what changed since the node was last served
// (`wulf overlay diff`, the TUI's diff pane), and all the files it gets (`image shell --node`). Functions return data; the *Lines helpers give the
// text both faces print, so the CLI and the TUI show the same lines.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Paths } from '../config/paths.ts';
import { readCpio } from '../lib/cpio.ts';
import { fail, WulfError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { configuredSpec, readConfigured } from '../store/open.ts';
import { readTemplateConf } from '../store/settings-pg.ts';
import { archivePath, servedHash } from './archive-file.ts';
import { Builder, KINDS, type Kind } from './build.ts';
import type { Entry } from './archive-pack.ts';
import { buildView, clusterWide } from './data.ts';
import { renderTemplate, type RenderedFile } from './render.ts';
import { createOverlayService, type OverlayService } from './service.ts';
import { checkOverlayName, cleanRel, readOverlay } from './sources.ts';

type Env = Record<string, string | undefined>;

/** One overlay file: a link, its text as stored, or the files its template renders for a node. */
export type ShownFile =
  | { type: 'symlink'; rel: string; target: string }
  | { type: 'text'; text: string }
  | { type: 'rendered'; files: RenderedFile[] };

/**
 * An overlay file (FILE or FILE.ww) as stored, or, given a node and a template, rendered for that
 * node with the data a build would give it ("host" works without being in nodes.conf).
 */
/**
 * wulf.conf as templates see it: on the PostgreSQL store, the store's cluster-wide settings over the local ones
 * (store/settings-pg.ts), WWSERVERS, and the cluster-wide build.host every controller renders (data.ts clusterWide).
 */
export async function serverConf(paths: Paths, env: Env) {
  return clusterWide(await readTemplateConf(paths, env), configuredSpec(paths, env).kind === 'postgres');
}

export async function showFile(paths: Paths, env: Env, overlay: string, file: string, node?: string): Promise<ShownFile> {
  const src = readOverlay(paths.siteOverlaysDir, checkOverlayName(overlay));
  const rel = cleanRel(file);
  const f = src.files.find((x) => x.rel === rel) ?? src.files.find((x) => x.rel === rel + '.ww');
  if (f?.type === 'symlink') return { type: 'symlink', rel: f.rel, target: f.target! };
  if (f?.type === 'dir') fail(`/${rel} is a directory in overlay ${overlay}`, `wulf overlay list -a ${overlay}`);
  if (!f || f.type !== 'file') fail(`overlay ${overlay} has no file ${rel}`);
  if (!node || !f.rel.endsWith('.ww')) return { type: 'text', text: new TextDecoder().decode(f.data) };
  const b = new Builder({ paths });
  const conf = await readConfigured(paths, env);
  const snap = b.snapshot(
    node === 'host' && !conf.nodes.host ? { ...conf, nodes: { ...conf.nodes, host: {} } } : conf,
    await serverConf(paths, env),
  );
  if (!snap.view(node)) fail(`node "${node}" does not exist`);
  const root = snap.rootFor(node);
  root.build = buildView(overlay, `${overlay}/${f.rel}`, undefined, snap.wulf.buildHost);
  return { type: 'rendered', files: renderTemplate(overlay, f.rel, new TextDecoder().decode(f.data), root, b.env).files };
}

/** The text of a shown file, one string per write; `quiet` leaves out the "# ----" line naming each file. */
export function shownLines(s: ShownFile, quiet = false): string[] {
  if (s.type === 'symlink') return [`/${s.rel} -> ${s.target}`];
  if (s.type === 'text') return [s.text];
  const out: string[] = [];
  for (const o of s.files) {
    if (!quiet && (s.files.length > 1 || o.symlink || o.abort))
      out.push(`# ---- /${o.rel}${o.symlink ? ` -> ${o.symlink}` : ''}${o.abort ? ' (aborted: not written)' : ''}`);
    if (!o.symlink) out.push(o.data);
  }
  return out;
}

/** Type, mode and owner of an entry: what a diff compares besides the content. */
export interface EntryMeta {
  type: string;
  mode: number;
  uid?: number;
  gid?: number;
}

/** One difference between what a node's archive would hold now and what it was last served. */
export type ServedChange =
  | { kind: Kind; change: 'never served' }
  | { kind: Kind; change: 'added'; rel: string; now: EntryMeta }
  | { kind: Kind; change: 'meta'; rel: string; was: EntryMeta; now: EntryMeta }
  | { kind: Kind; change: 'content'; rel: string; removed: string[]; added: string[] }
  | { kind: Kind; change: 'removed'; rel: string };

export function describeEntry(e: Entry | EntryMeta): string {
  return `${e.type} ${e.mode.toString(8)} ${e.uid ?? 0}:${e.gid ?? 0}`;
}

/**
 * What changed for a node since it was last served, system then runtime, one change at a time (a
 * render error in the runtime overlay comes after the system overlay's changes). Files added to
 * an archive never served are not listed one by one: the archive is.
 */
export function* servedChanges(svc: OverlayService, paths: Paths, node: string): Generator<ServedChange> {
  for (const kind of KINDS as Kind[]) {
    const now = svc.entries(node, kind);
    const hash = servedHash(paths, node, kind);
    const path = hash ? archivePath(paths, node, kind, hash) : undefined;
    const old = new Map<string, EntryMeta & { data?: Uint8Array }>();
    if (path && existsSync(path)) {
      for (const e of readCpio(gunzipSync(readFileSync(path)))) {
        const t = (e.mode & 0o170000) === 0o040000 ? 'dir' : (e.mode & 0o170000) === 0o120000 ? 'symlink' : 'file';
        old.set(e.name, { type: t, mode: t === 'symlink' ? 0o777 : e.mode & 0o7777, uid: e.uid, gid: e.gid, data: e.data });
      }
    } else yield { kind, change: 'never served' };
    for (const [rel, e] of now) {
      const o = old.get(rel);
      const data = e.type === 'symlink' ? new TextEncoder().encode(e.target) : (e.data ?? new Uint8Array(0));
      if (!o) {
        if (old.size) yield { kind, change: 'added', rel, now: e };
        continue;
      }
      old.delete(rel);
      if (e.type === 'dir') continue;
      if (describeEntry(e) !== describeEntry(o)) yield { kind, change: 'meta', rel, was: o, now: e };
      if (Buffer.compare(Buffer.from(data), Buffer.from(o.data ?? new Uint8Array(0))) !== 0) {
        const a = new TextDecoder().decode(o.data).split('\n'),
          b = new TextDecoder().decode(data).split('\n');
        yield { kind, change: 'content', rel, removed: a.filter((l) => !b.includes(l)), added: b.filter((l) => !a.includes(l)) };
      }
    }
    for (const [rel, o] of old) if (o.type !== 'dir') yield { kind, change: 'removed', rel };
  }
}

/** servedChanges for a node of the configured store (nodes.conf, or PostgreSQL per env). */
export async function diffSinceServed(paths: Paths, env: Env, log: Logger, node: string): Promise<Generator<ServedChange>> {
  const conf = await readConfigured(paths, env);
  const wulf = await serverConf(paths, env);
  const svc = createOverlayService({ paths, getConf: () => conf, getWulfConf: () => wulf, log });
  return servedChanges(svc, paths, node);
}

/** The text of a diff, one line at a time as the changes come; a line saying so when there are none. */
export function* diffLines(node: string, changes: Iterable<ServedChange>): Generator<string> {
  let n = 0;
  for (const c of changes) {
    n++;
    if (c.change === 'never served') yield `${c.kind}: never served`;
    else if (c.change === 'added') yield `${c.kind}: + /${c.rel} (${describeEntry(c.now)})`;
    else if (c.change === 'meta') yield `${c.kind}: ~ /${c.rel} ${describeEntry(c.was)} -> ${describeEntry(c.now)}`;
    else if (c.change === 'content') {
      yield `${c.kind}: ~ /${c.rel} content changed`;
      for (const l of c.removed) yield `    - ${l}`;
      for (const l of c.added) yield `    + ${l}`;
    } else yield `${c.kind}: - /${c.rel}`;
  }
  if (!n) yield `${node}: no changes since last served`;
}

/** The files node `node` receives, system overlays first, runtime ones on top (later wins). */
export async function nodeOverlayFiles(paths: Paths, node: string, log: Logger, env: Env = {}): Promise<Entry[]> {
  const conf = await readConfigured(paths, env); // nodes.conf, or PostgreSQL (WULF_STORE / "store:")
  if (!conf.nodes[node]) throw new WulfError(`node "${node}" does not exist`, { hint: "see 'wulf node list'", code: 'ENOENT' });
  const wulf = await serverConf(paths, env);
  const svc = createOverlayService({ paths, getConf: () => conf, getWulfConf: () => wulf, log });
  const out = new Map<string, Entry>();
  for (const kind of KINDS) {
    for (const [rel, e] of svc.entries(node, kind)) {
      out.delete(rel);
      out.set(rel, e);
    }
  }
  return [...out.values()];
}
