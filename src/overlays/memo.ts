// Remembers rendered template outputs keyed by exactly what the render read. A render reads a
// set of paths; when another node shows the same values at those paths, the render would take the
// same branches and produce the same bytes, so its output is reused. Paths under server/build/
// allNodes and included files are the same for a whole snapshot and are checked once per snapshot.
import { createHash } from 'node:crypto';
import { compilePath, sigAt, type CompiledPath, type Reads } from './track.ts';
import type { RenderResult } from './render.ts';

export interface MemoSnapshot {
  id: number;
  fileSig: (key: string) => string;
}

interface PathSet {
  local: CompiledPath[];
  global: CompiledPath[];
  globalKey?: { snap: number; key: string };
  outputs: Map<string, RenderResult>;
  /** global paths under allNodes.<i>, by i, relative to that node's view; `other` the rest */
  nodes: Map<number, CompiledPath[]>;
  other: CompiledPath[];
  /** the signature of each allNodes.<i> group on the view object it was computed from (views are kept while a node is unchanged) */
  nodeSigs: Map<number, { view: unknown; sig: string }>;
}

/** Split global paths into those under one allNodes entry (grouped by index) and the rest. */
function splitGlobal(global: CompiledPath[]): { nodes: Map<number, CompiledPath[]>; other: CompiledPath[] } {
  const nodes = new Map<number, CompiledPath[]>(),
    other: CompiledPath[] = [];
  for (const p of global) {
    const i = p.segs[0] === 'allNodes' && p.segs.length >= 2 && /^\d+$/.test(p.segs[1]!) ? Number(p.segs[1]) : -1;
    if (i < 0) {
      other.push(p);
      continue;
    }
    let l = nodes.get(i);
    if (!l) {
      l = [];
      nodes.set(i, l);
    }
    l.push({ ...p, segs: p.segs.slice(2) });
  }
  return { nodes, other };
}

/** The global key from a signature per path: the rest in order, then each allNodes group in index order. */
function globalKeyOf(ps: PathSet, other: (p: CompiledPath) => string, group: (i: number, paths: CompiledPath[]) => string): string {
  let s = '';
  for (const p of ps.other) s += other(p) + '\u0004';
  for (const [i, paths] of ps.nodes) s += i + '\u0006' + group(i, paths);
  return createHash('sha1').update(s).digest('hex');
}

/** A node group's signature, hashed: the global key then hashes 10,000 short digests, not every read value. */
function groupDigest(s: string): string {
  return Bun.SHA1.hash(s, 'hex') as unknown as string;
}

const MAX_SETS = 32;
const MAX_OUTPUTS = 50_000;

export class TemplateMemo {
  private sets = new Map<string, Map<string, PathSet>>(); // template key → (path-set id → set)
  hits = 0;
  misses = 0;

  private globalKey(ps: PathSet, data: object, snap: MemoSnapshot): string {
    if (ps.globalKey?.snap === snap.id) return ps.globalKey.key;
    // a node's group is re-read only when its view changed: after a one-node edit, one group of 10,000
    const all = ps.nodes.size ? (data as { allNodes?: unknown }).allNodes : undefined;
    const list = Array.isArray(all) ? all : [];
    const key = globalKeyOf(
      ps,
      (p) => sigAt(data, p, snap.fileSig),
      (i, paths) => {
        const view = i < list.length ? list[i] : undefined;
        const c = ps.nodeSigs.get(i);
        if (c && c.view === view && view !== undefined) return c.sig;
        let sig = '';
        for (const p of paths) sig += sigAt(view, p) + '\u0004';
        sig = groupDigest(sig);
        if (view !== undefined) ps.nodeSigs.set(i, { view, sig });
        return sig;
      },
    );
    ps.globalKey = { snap: snap.id, key };
    return key;
  }

  private localKey(ps: PathSet, data: object): string {
    let k = '';
    for (const p of ps.local) k += sigAt(data, p) + '\u0004';
    return k;
  }

  lookup(tplKey: string, data: object, snap: MemoSnapshot): RenderResult | undefined {
    const sets = this.sets.get(tplKey);
    if (sets) {
      for (const ps of sets.values()) {
        const r = ps.outputs.get(this.globalKey(ps, data, snap) + '|' + this.localKey(ps, data));
        if (r) {
          this.hits++;
          return r;
        }
      }
    }
    this.misses++;
    return undefined;
  }

  store(tplKey: string, data: object, snap: MemoSnapshot, r: RenderResult): void {
    const reads: Reads = r.reads;
    const local = [...reads.local.keys()];
    const global = [...reads.global.keys()];
    const id =
      local.join('\u0005') +
      '#' +
      global.length +
      ':' +
      (global.length > 64 ? createHash('sha1').update(global.join('\u0005')).digest('hex') : global.join('\u0005'));
    let sets = this.sets.get(tplKey);
    if (!sets) {
      sets = new Map();
      this.sets.set(tplKey, sets);
    }
    let ps = sets.get(id);
    if (!ps) {
      if (sets.size >= MAX_SETS) sets.delete(sets.keys().next().value!);
      const g = global.map(compilePath);
      ps = { local: local.map(compilePath), global: g, outputs: new Map(), ...splitGlobal(g), nodeSigs: new Map() };
      sets.set(id, ps);
    }
    // the key from the values the render saw (not re-read: files may have changed meanwhile)
    let lk = '';
    for (const v of reads.local.values()) lk += v + '\u0004';
    // (a grouped path keeps its full recorded path in .path)
    const seen = (p: CompiledPath) => reads.global.get(p.path) ?? '';
    const all = ps.nodes.size ? (data as { allNodes?: unknown }).allNodes : undefined;
    const list = Array.isArray(all) ? all : [];
    const gk = globalKeyOf(ps, seen, (i, paths) => {
      let s = '';
      for (const p of paths) s += seen(p) + '\u0004';
      s = groupDigest(s);
      // what the render saw of that node is what its view shows (views are not changed once made)
      if (i < list.length && list[i] !== undefined) ps!.nodeSigs.set(i, { view: list[i], sig: s });
      return s;
    });
    if (ps.outputs.size >= MAX_OUTPUTS) ps.outputs.clear();
    ps.outputs.set(gk + '|' + lk, r);
    void snap;
  }

  clear(): void {
    this.sets.clear();
  }
}
