// The one door for nodes.conf. Reads use the fast built-in parser; writes take an exclusive
// lock, re-read, check the revision, apply the change to the YAML Document (operator comments
// and key order kept), validate, and replace the file atomically keeping a backup.
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isMap, parseDocument, YAMLMap, Scalar, type Document } from 'yaml';
import { WulfError } from '../lib/errors.ts';
import { acquireLock, removeStaleTemps, writeFileAtomic } from '../lib/atomic.ts';
import type { Paths } from './paths.ts';
import { nodeFromYaml, nodeToYaml } from './node-yaml.ts';
import { validateConf } from './validate.ts';
import type { NodesConf } from './cascade.ts';
import type { NodeData } from './schema.ts';

export type { NodesConf } from './cascade.ts';

export const revisionOf = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** Parse nodes.conf text (Warewulf 4.5–4.7 files accepted unchanged). */
export function parseNodesConf(text: string, file = 'nodes.conf'): NodesConf {
  let raw: unknown;
  try { raw = text.trim() ? Bun.YAML.parse(text) : {}; }
  catch (e) { throw new WulfError(`${file}: YAML syntax error: ${(e as Error).message.split('\n')[0]}`); }
  if (raw == null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new WulfError(`${file}: expected "nodeprofiles:" and "nodes:" maps`);
  const top = raw as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (k !== 'nodeprofiles' && k !== 'nodes' && k !== 'WW_INTERNAL') throw new WulfError(`${file}: unknown top-level key "${k}"`);
  }
  const section = (key: string, kind: string): Record<string, NodeData> => {
    const s = top[key];
    if (s == null) return {};
    if (typeof s !== 'object' || Array.isArray(s)) throw new WulfError(`${file}: "${key}" must be a map`);
    const out: Record<string, NodeData> = {};
    for (const [name, v] of Object.entries(s as Record<string, unknown>)) out[name] = nodeFromYaml(v, `${file}: ${kind} ${name}`);
    return out;
  };
  return { profiles: section('nodeprofiles', 'profile'), nodes: section('nodes', 'node'), revision: revisionOf(text) };
}

/** Fast read-only load; an absent file is an empty configuration. */
export function readNodesConf(paths: Paths): NodesConf {
  if (!existsSync(paths.nodesConf)) return { profiles: {}, nodes: {}, revision: 'none' };
  return parseNodesConf(readFileSync(paths.nodesConf, 'utf8'), paths.nodesConf);
}

const clone = <T>(v: T): T => structuredClone(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function makeNode(doc: Document, v: unknown) {
  const n = doc.createNode(v, { flow: false });
  // MAC addresses are quoted so YAML 1.1 readers do not see base-60 numbers.
  const quoteMacs = (x: unknown) => {
    if (x instanceof Scalar && typeof x.value === 'string' && /^[0-9a-f]{2}(:[0-9a-f]{2}){5,19}$/i.test(x.value)) x.type = Scalar.QUOTE_DOUBLE;
    if (isMap(x)) for (const it of x.items) quoteMacs(it.value);
  };
  quoteMacs(n);
  return n;
}

/** Make the map at `path` in `doc` equal `want`, touching only what differs. */
function syncMap(doc: Document, path: string[], want: Record<string, unknown>) {
  const cur = doc.getIn(path, true);
  if (!isMap(cur)) { doc.setIn(path, makeNode(doc, want)); return; }
  for (const item of [...cur.items]) {
    const k = String((item.key as Scalar)?.value ?? item.key);
    if (!(k in want)) cur.delete(item.key);
  }
  for (const [k, v] of Object.entries(want)) {
    const have = doc.getIn([...path, k], true);
    const haveJs = have && typeof (have as { toJSON?: () => unknown }).toJSON === 'function' ? (have as { toJSON: () => unknown }).toJSON() : have;
    if (same(haveJs, v)) continue;
    if (v && typeof v === 'object' && !Array.isArray(v) && isMap(have)) syncMap(doc, [...path, k], v as Record<string, unknown>);
    else doc.setIn([...path, k], makeNode(doc, v));
  }
}

export interface UpdateResult<T> { result: T; revision: string; changed: boolean }

/**
 * Run `mutate` on a fresh copy of the configuration under the lock and write the result.
 * `expectedRevision` (from an earlier read, e.g. an editor session) makes a stale writer fail.
 */
export async function updateNodesConf<T>(paths: Paths, mutate: (conf: NodesConf) => T | Promise<T>, opts: { expectedRevision?: string } = {}): Promise<UpdateResult<T>> {
  const lock = await acquireLock(`${paths.nodesConf}.lock`);
  try {
    removeStaleTemps(paths.nodesConf);
    const text = existsSync(paths.nodesConf) ? readFileSync(paths.nodesConf, 'utf8') : '';
    const before = parseNodesConf(text, paths.nodesConf);
    if (opts.expectedRevision && opts.expectedRevision !== before.revision) {
      throw new WulfError(`${paths.nodesConf} changed since it was read (revision ${opts.expectedRevision} → ${before.revision})`, { hint: 'nothing was written; read it again and redo the change', code: 'ESTALE' });
    }
    const conf = clone(before);
    const result = await mutate(conf);
    validateConf(conf);
    if (same(conf.nodes, before.nodes) && same(conf.profiles, before.profiles)) return { result, revision: before.revision, changed: false };

    const doc = parseDocument(text || 'nodeprofiles: {}\nnodes: {}\n', { keepSourceTokens: false });
    if (!isMap(doc.contents)) (doc as Document).contents = new YAMLMap();
    for (const [section, key] of [['nodeprofiles', 'profiles'], ['nodes', 'nodes']] as const) {
      const want = conf[key], had = before[key];
      if (!isMap(doc.getIn([section], true))) doc.setIn([section], new YAMLMap());
      for (const name of Object.keys(had)) if (!(name in want)) doc.deleteIn([section, name]);
      for (const [name, data] of Object.entries(want)) {
        if (name in had && same(had[name], data)) continue;
        syncMap(doc, [section, name], nodeToYaml(data));
      }
      const secNode = doc.getIn([section], true);
      if (isMap(secNode) && secNode.items.length === 0) secNode.flow = true; else if (isMap(secNode)) secNode.flow = false;
    }
    const out = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
    writeFileAtomic(paths.nodesConf, out, { backup: `${paths.nodesConf}.bak`, mode: 0o640 });
    return { result, revision: revisionOf(out), changed: true };
  } finally {
    lock.release();
  }
}
