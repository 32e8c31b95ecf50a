// Editing nodes.conf as a YAML Document, keeping operator comments, key order, quoting and flow
// style: make one entry's map equal the wanted value touching only what differs; expand anchors,
// aliases and merge keys into plain copies (so no two entries share a node); and the whole-file
// rewrite used when an entry cannot be replaced in place (see yaml-splice.ts).
import { isAlias, isCollection, isMap, isNode, isPair, isScalar, isSeq, Pair, Scalar, YAMLMap, type Document, type Node } from 'yaml';
import { WulfError } from '../lib/errors.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5,19}$/i;

export const STRINGIFY = { lineWidth: 0, flowCollectionPadding: false } as const;

/** Every node under `root` (keys and values), depth first. (yaml's own visit freezes a path array per node: slow.) */
export function eachNode(root: unknown, fn: (n: Node) => void): void {
  if (!isNode(root)) return;
  fn(root);
  if (isMap(root))
    for (const p of root.items) {
      eachNode(p.key, fn);
      eachNode(p.value, fn);
    }
  else if (isSeq(root)) for (const x of root.items) eachNode(x, fn);
}

/** A section (`nodeprofiles` / `nodes`) entry to write: its YAML-shaped value, or undefined to delete it. */
export interface Change {
  section: string;
  name: string;
  value?: Obj;
}

/** A new YAML node for `v`, block style; MAC addresses quoted so YAML 1.1 readers do not see base-60 numbers. */
export function makeNode(doc: Document, v: unknown): Node {
  const n = doc.createNode(v, { flow: false }) as Node;
  const quoteMacs = (x: unknown) => {
    if (x instanceof Scalar && typeof x.value === 'string' && MAC.test(x.value)) x.type = Scalar.QUOTE_DOUBLE;
    if (isMap(x) || isSeq(x)) for (const it of x.items) quoteMacs(isPair(it) ? it.value : it);
  };
  quoteMacs(n);
  return n;
}

const keyOf = (p: Pair): string => (isScalar(p.key) ? String(p.key.value) : String(p.key));

/** Scalars as the strings wulf keeps them as (a YAML `mtu: 9000` equals the value "9000"). */
function loose(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(loose);
  if (isObj(v)) {
    const o: Obj = {};
    for (const k of Object.keys(v).sort()) o[k] = loose(v[k]);
    return o;
  }
  return v == null ? v : typeof v === 'object' ? v : String(v);
}
const sameValue = (node: unknown, want: unknown) => {
  const js = isNode(node) ? node.toJSON() : node;
  return JSON.stringify(loose(js)) === JSON.stringify(loose(want));
};

/** Make `map` equal `want`, touching only what differs (comments and styles of the rest stay). */
export function syncMap(doc: Document, map: YAMLMap, want: Obj): void {
  map.items = map.items.filter((p) => Object.hasOwn(want, keyOf(p)));
  for (const [k, v] of Object.entries(want)) {
    const pair = map.items.find((p) => keyOf(p) === k);
    if (!pair) {
      map.items.push(doc.createPair(k, makeNode(doc, v)) as Pair);
      continue;
    }
    const have = pair.value;
    if (sameValue(have, v)) continue;
    if (isObj(v) && isMap(have) && !(have.flow && !have.items.length)) {
      syncMap(doc, have, v);
      continue;
    }
    if (isScalar(have) && !have.tag && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
      have.value = v;
      if (typeof v === 'string' && MAC.test(v)) have.type = Scalar.QUOTE_DOUBLE;
      continue;
    }
    const n = makeNode(doc, v);
    if (isCollection(have) && have.flow && have.items.length && isCollection(n)) n.flow = true;
    pair.value = n;
  }
}

/**
 * Replace every alias by a copy of its anchor's node and every merge key (`<<: *base`) by the
 * pairs it brings in (explicit keys win, earlier sources win), then drop the anchors. Returns how
 * many aliases and merge keys were expanded.
 */
export function expandAliases(doc: Document): number {
  const anchors = new Map<string, Node>();
  let count = 0;
  const walk = (node: unknown): unknown => {
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (!target) throw new WulfError(`alias *${node.source} refers to no anchor before it`);
      count++;
      const copy = target.clone(); // the target is already expanded
      eachNode(copy, (n) => {
        n.comment = undefined;
        n.commentBefore = undefined;
      }); // its notes stay with it
      return copy;
    }
    if (isMap(node)) {
      const items: (Pair | Pair[])[] = [];
      for (const pair of node.items) {
        pair.key = walk(pair.key);
        pair.value = walk(pair.value);
        const k = pair.key;
        if (isScalar(k) && k.value === '<<' && (!k.type || k.type === Scalar.PLAIN) && !k.tag) {
          count++;
          const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
          const merged: Pair[] = [];
          for (const s of sources) {
            if (!isMap(s)) throw new WulfError('a merge key (<<) must refer to a map');
            for (const p of s.items)
              merged.push(new Pair(isNode(p.key) ? p.key.clone() : p.key, isNode(p.value) ? p.value.clone() : p.value));
          }
          items.push(merged);
        } else items.push(pair);
      }
      const taken = new Set(items.filter((x): x is Pair => !Array.isArray(x)).map(keyOf));
      node.items = items.flatMap((x) => {
        if (!Array.isArray(x)) return [x];
        return x.filter((p) => {
          const k = keyOf(p);
          if (taken.has(k)) return false;
          taken.add(k);
          return true;
        });
      });
    } else if (isSeq(node)) {
      node.items = node.items.map(walk);
    }
    if (isNode(node) && node.anchor) anchors.set(node.anchor, node);
    return node;
  };
  doc.contents = walk(doc.contents) as typeof doc.contents;
  eachNode(doc.contents, (n) => {
    if (n.anchor) n.anchor = undefined;
  });
  return count;
}

/** Apply `changes` to the whole document (aliases already expanded) and render it. */
export function rewriteDocument(doc: Document, changes: Change[]): string {
  if (!isMap(doc.contents)) doc.contents = new YAMLMap() as typeof doc.contents;
  const top = doc.contents as YAMLMap;
  const bySection = new Map<string, Change[]>();
  for (const c of changes) bySection.set(c.section, [...(bySection.get(c.section) ?? []), c]);
  for (const section of ['nodeprofiles', 'nodes']) {
    let pair = top.items.find((p) => keyOf(p) === section);
    if (!pair) {
      pair = doc.createPair(section, new YAMLMap()) as Pair;
      top.items.push(pair);
    }
    if (!isMap(pair.value)) pair.value = new YAMLMap();
    const map = pair.value as YAMLMap;
    const list = bySection.get(section) ?? [];
    const gone = new Set(list.filter((c) => !c.value).map((c) => c.name));
    if (gone.size) map.items = map.items.filter((p) => !gone.has(keyOf(p)));
    const index = new Map(map.items.map((p) => [keyOf(p), p]));
    for (const c of list) {
      if (!c.value) continue;
      const p = index.get(c.name);
      if (p && isMap(p.value) && !(p.value.flow && !p.value.items.length)) syncMap(doc, p.value, c.value);
      else if (p) p.value = makeNode(doc, c.value);
      else {
        const np = doc.createPair(c.name, makeNode(doc, c.value)) as Pair;
        map.items.push(np);
        index.set(c.name, np);
      }
    }
    map.flow = map.items.length === 0;
  }
  return doc.toString(STRINGIFY);
}
