// The profile cascade, as Warewulf merges: profiles expanded depth-first (nested first, visited
// skipped so cycles break), `~name` drops a profile, scalars take the right-most value, lists
// append, the node wins; `~item` removes an inherited list item. Every value keeps its origin.
import { collections, fields, type Field, type NodeData, type Scope } from './schema.ts';

export interface NodesConf {
  profiles: Record<string, NodeData>;
  nodes: Record<string, NodeData>;
  revision: string;
}

export interface Leaf {
  key: string;
  path: string[];
  title: string;
  field: Field;
  value: unknown;
}
export interface MergedNode {
  id: string;
  data: NodeData;
  /** name of the primary network device, if any */
  primary?: string;
  /** title → origin: a profile name, a comma list for appended lists, `--` (node only) or SUPERSEDED */
  origins: Map<string, string>;
  /** title → merged value, in schema order (for `node list -a`) */
  leaves: Leaf[];
}

const NEGATABLE = new Set(['profiles', 'systemOverlay', 'runtimeOverlay', 'kernel.args']);
type Obj = Record<string, unknown>;

/** Expand a profile list depth-first; nested profiles come before the profile that names them. */
export function expandProfiles(list: string[], profiles: Record<string, NodeData>): string[] {
  const out: string[] = [];
  const visited = new Set<string>();
  const walk = (names: string[]) => {
    for (const n of names) {
      if (n.startsWith('~')) {
        out.push(n);
        continue;
      }
      if (visited.has(n)) continue;
      visited.add(n);
      walk(profiles[n]?.profiles ?? []);
      out.push(n);
    }
  };
  walk(list);
  return cleanList(out);
}

/** Remove `~x` entries and every `x` they negate. */
export function cleanList(list: string[]): string[] {
  const neg = new Set(list.filter((x) => x.startsWith('~')).map((x) => x.slice(1)));
  return list.filter((x) => !x.startsWith('~') && !neg.has(x));
}

const SCOPE_FIELDS = new Map<Scope, Field[]>();
const SCOPE_COLLS = new Map<Scope, typeof collections>();
for (const sc of ['node', 'netdev', 'disk', 'partition', 'filesystem'] as Scope[]) {
  SCOPE_FIELDS.set(
    sc,
    fields.filter((f) => f.scope === sc),
  );
  SCOPE_COLLS.set(
    sc,
    collections.filter((c) => c.parent === sc),
  );
}
const scopeFields = (scope: Scope) => SCOPE_FIELDS.get(scope)!;
const profileLeaves = new WeakMap<NodeData, Leaf[]>();
/** Leaves of a profile, computed once per profile object (profiles are shared by many nodes). */
function cachedLeaves(data: NodeData): Leaf[] {
  let l = profileLeaves.get(data);
  if (!l) {
    l = leavesOf(data);
    profileLeaves.set(data, l);
  }
  return l;
}

/** Every set value of a node/profile as a flat list of leaves (maps split per key). */
export function leavesOf(data: NodeData): Leaf[] {
  const out: Leaf[] = [];
  const walk = (scope: Scope, obj: Obj, prefix: string[], titlePrefix: string) => {
    for (const field of scopeFields(scope)) {
      let v: unknown = obj;
      for (const k of field.path) v = v && typeof v === 'object' ? (v as Obj)[k] : undefined;
      if (v === undefined || v === null || v === '') continue;
      const path = [...prefix, ...field.path];
      const title = titlePrefix + field.title;
      if ((field.kind === 'map' || field.kind === 'yaml') && typeof v === 'object' && !Array.isArray(v)) {
        for (const [k, x] of Object.entries(v as Obj)) {
          {
            const t = `${title}[${k}]`;
            out.push({ key: t, path: [...path, k], title: t, field, value: x });
          }
        }
      } else if (!(Array.isArray(v) && v.length === 0)) {
        out.push({ key: title, path, title, field, value: v });
      }
    }
    for (const coll of SCOPE_COLLS.get(scope)!) {
      const items = obj[coll.key] as Record<string, Obj> | undefined;
      if (!items) continue;
      for (const [name, sub] of Object.entries(items)) {
        const before = out.length;
        walk(coll.scope, sub ?? {}, [...prefix, coll.key, name], `${titlePrefix}${coll.title}[${name}].`);
        if (out.length === before) {
          // an entity with no fields still exists (e.g. a netdev to be filled later)
          out.push({
            key: `${titlePrefix}${coll.title}[${name}]`,
            path: [...prefix, coll.key, name],
            title: `${titlePrefix}${coll.title}[${name}]`,
            field: { scope: coll.scope, path: [], yaml: [], kind: 'yaml', title: coll.title, help: '' },
            value: {},
          });
        }
      }
    }
  };
  walk('node', data as Obj, [], '');
  return out;
}

function setIn(obj: Obj, path: string[], value: unknown) {
  let cur = obj;
  for (const k of path.slice(0, -1)) cur = (cur[k] ??= {}) as Obj;
  cur[path[path.length - 1]!] = value;
}

/** Merge one node with its profiles. */
export function mergeNode(conf: Pick<NodesConf, 'profiles' | 'nodes'>, id: string): MergedNode {
  const node = conf.nodes[id] ?? {};
  return mergeData(conf.profiles, id, node);
}

type Origin = { names: string[]; fromProfile: boolean; superseded: boolean };
interface ChainState {
  values: Map<string, Leaf>;
  origin: Map<string, Origin>;
}
const chainCache = new WeakMap<Record<string, NodeData>, Map<string, ChainState>>();

function applyLeaves(st: ChainState, src: string, leaves: Leaf[], isNode: boolean): void {
  for (const leaf of leaves) {
    const top = leaf.field.path[0];
    if (leaf.field.scope === 'node' && (top === 'profiles' || (!isNode && (leaf.field.noInherit || leaf.field.nodeOnly)))) continue;
    const prev = st.values.get(leaf.key);
    const o = st.origin.get(leaf.key);
    const appendList = leaf.field.kind === 'list' && prev && Array.isArray(prev.value);
    const appendYaml = leaf.field.kind === 'yaml' && prev && Array.isArray(prev.value) && Array.isArray(leaf.value);
    if (appendList || appendYaml) {
      st.values.set(leaf.key, { ...leaf, value: [...(prev!.value as unknown[]), ...(leaf.value as unknown[])] });
      st.origin.set(leaf.key, { ...o!, names: [...o!.names, src] });
    } else {
      st.values.set(leaf.key, leaf);
      st.origin.set(leaf.key, { names: [src], fromProfile: !isNode, superseded: !!o && o.fromProfile && isNode });
    }
  }
}

/** The merged state of a profile chain, computed once per distinct chain (many nodes share one). */
function chainState(profiles: Record<string, NodeData>, chain: string[]): ChainState {
  let cache = chainCache.get(profiles);
  if (!cache) {
    cache = new Map();
    chainCache.set(profiles, cache);
  }
  const key = chain.join('\u0000');
  let st = cache.get(key);
  if (!st) {
    st = { values: new Map(), origin: new Map() };
    for (const p of chain) if (profiles[p]) applyLeaves(st, p, cachedLeaves(profiles[p]!), false);
    cache.set(key, st);
  }
  return st;
}

export function mergeData(profiles: Record<string, NodeData>, id: string, node: NodeData): MergedNode {
  const chain = expandProfiles(node.profiles ?? [], profiles);
  const base = chainState(profiles, chain);
  const st: ChainState = { values: new Map(base.values), origin: new Map(base.origin) };
  applyLeaves(st, id, leavesOf(node), true);
  const { values, origin } = st;

  const data: Obj = {};
  const leaves: Leaf[] = [];
  const origins = new Map<string, string>();
  if (node.profiles?.length) {
    const pl = cleanList(node.profiles);
    data.profiles = pl;
    const leaf = { key: 'profiles', path: ['profiles'], title: 'Profiles', field: fields[0]!, value: pl };
    leaves.push(leaf);
    origins.set('Profiles', '--');
  }
  for (const leaf of values.values()) {
    let value = leaf.value;
    const fieldPath = leaf.field.path.join('.');
    if (leaf.field.scope === 'node' && NEGATABLE.has(fieldPath) && Array.isArray(value)) value = cleanList(value as string[]);
    if (Array.isArray(value) && value.length === 0 && leaf.field.kind === 'list') continue;
    setIn(data, leaf.path, value);
    leaves.push({ ...leaf, value });
    const o = origin.get(leaf.key)!;
    const names = [...new Set(o.names)];
    origins.set(leaf.title, o.superseded ? 'SUPERSEDED' : names.length === 1 && names[0] === id ? '--' : names.join(','));
  }
  const merged = data as NodeData;
  const nets = Object.keys(merged.networkDevices ?? {});
  const primary = merged.primaryNetwork && nets.includes(merged.primaryNetwork) ? merged.primaryNetwork : nets.sort()[0];
  return { id, data: merged, primary, origins, leaves };
}

export function mergeAll(conf: Pick<NodesConf, 'profiles' | 'nodes'>): MergedNode[] {
  return Object.keys(conf.nodes)
    .sort(naturalCompare)
    .map((id) => mergeNode(conf, id));
}

/** n2 before n10. */
const collator = new Intl.Collator(undefined, { numeric: true });
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b);
}
