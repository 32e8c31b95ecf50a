// Remembers rendered template outputs keyed by exactly what the render read. A render reads a
// set of paths; when another node shows the same values at those paths, the render would take the
// same branches and produce the same bytes, so its output is reused. Paths under server/build/
// allNodes and included files are the same for a whole snapshot and are checked once per snapshot.
import { createHash } from 'node:crypto';
import { compilePath, sigAt, type CompiledPath, type Reads } from './track.ts';
import type { RenderResult } from './render.ts';

export interface MemoSnapshot { id: number; fileSig: (key: string) => string }

interface PathSet {
  local: CompiledPath[];
  global: CompiledPath[];
  globalKey?: { snap: number; key: string };
  outputs: Map<string, RenderResult>;
}

const MAX_SETS = 32;
const MAX_OUTPUTS = 50_000;

export class TemplateMemo {
  private sets = new Map<string, Map<string, PathSet>>();   // template key → (path-set id → set)
  hits = 0;
  misses = 0;

  private globalKey(ps: PathSet, data: object, snap: MemoSnapshot): string {
    if (ps.globalKey?.snap === snap.id) return ps.globalKey.key;
    let s = '';
    for (const p of ps.global) s += sigAt(data, p, snap.fileSig) + '\u0004';
    const key = createHash('sha1').update(s).digest('hex');
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
        if (r) { this.hits++; return r; }
      }
    }
    this.misses++;
    return undefined;
  }

  store(tplKey: string, data: object, snap: MemoSnapshot, r: RenderResult): void {
    const reads: Reads = r.reads;
    const local = [...reads.local.keys()];
    const global = [...reads.global.keys()];
    const id = local.join('\u0005') + '#' + global.length + ':' + (global.length > 64 ? createHash('sha1').update(global.join('\u0005')).digest('hex') : global.join('\u0005'));
    let sets = this.sets.get(tplKey);
    if (!sets) { sets = new Map(); this.sets.set(tplKey, sets); }
    let ps = sets.get(id);
    if (!ps) {
      if (sets.size >= MAX_SETS) sets.delete(sets.keys().next().value!);
      ps = { local: local.map(compilePath), global: global.map(compilePath), outputs: new Map() };
      sets.set(id, ps);
    }
    // the key from the values the render saw (not re-read: files may have changed meanwhile)
    let lk = '';
    for (const v of reads.local.values()) lk += v + '\u0004';
    let s = '';
    for (const v of reads.global.values()) s += v + '\u0004';
    const gk = createHash('sha1').update(s).digest('hex');
    if (ps.outputs.size >= MAX_OUTPUTS) ps.outputs.clear();
    ps.outputs.set(gk + '|' + lk, r);
    void data; void snap;
  }

  clear(): void { this.sets.clear(); }
}
