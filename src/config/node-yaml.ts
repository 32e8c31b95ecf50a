// Between the YAML shape of nodes.conf (Warewulf 4.5–4.7 spelling) and the camelCase NodeData,
// driven by the field table. Unknown keys are an error that names the node and the key.
import { WulfError } from '../lib/errors.ts';
import { collections, fieldsOf, type Field, type NodeData, type Scope } from './schema.ts';
import { isLegacyEntry, upgradeEntry } from './legacy-nodes.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

function scalar(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Where a value is, for error messages; a function so that the text is built only for an error. */
type Where = string | (() => string);
const at = (w: Where) => (typeof w === 'string' ? w : w());

function decodeValue(field: Field, v: unknown, where: Where): unknown {
  switch (field.kind) {
    case 'list':
      if (Array.isArray(v)) {
        const out: string[] = [];
        for (const x of v) if (x != null) out.push(scalar(x));
        return out;
      }
      if (typeof v === 'string')
        return field.path.join('.') === 'kernel.args'
          ? v.split(/\s+/).filter(Boolean)
          : v
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean);
      return [scalar(v)];
    case 'map': {
      if (!isObj(v)) throw new WulfError(`${at(where)}: "${field.yaml.join('.')}" must be a map of key: value`);
      const out: Record<string, string> = {};
      for (const [k, x] of Object.entries(v)) if (x != null) out[k] = scalar(x);
      return out;
    }
    case 'yaml':
      return v && typeof v === 'object' ? structuredClone(v) : v; // never shared through a YAML alias
    default:
      return typeof v === 'string' ? v : scalar(v);
  }
}

interface ScopeIndex {
  direct: Map<string, Field>;
  groups: Map<string, Map<string, Field>>;
  colls: Map<string, (typeof collections)[number]>;
}
const INDEX = new Map<Scope, ScopeIndex>();
function indexOf(scope: Scope): ScopeIndex {
  let ix = INDEX.get(scope);
  if (ix) return ix;
  ix = { direct: new Map(), groups: new Map(), colls: new Map() };
  for (const f of fieldsOf(scope)) {
    for (const p of [f.yaml, ...(f.yamlAliases ?? [])]) {
      if (p.length === 1) ix.direct.set(p[0]!, f);
      else {
        const g = ix.groups.get(p[0]!) ?? new Map<string, Field>();
        if (!g.has(p[1]!)) g.set(p[1]!, f);
        ix.groups.set(p[0]!, g);
      }
    }
  }
  for (const c of collections) if (c.parent === scope) ix.colls.set(c.yaml, c);
  INDEX.set(scope, ix);
  return ix;
}

function put(out: Obj, field: Field, v: unknown, where: Where): void {
  if (v == null) return;
  let cur = out;
  const path = field.path,
    last = path.length - 1;
  for (let i = 0; i < last; i++) cur = (cur[path[i]!] ??= {}) as Obj;
  const key = path[last]!;
  if (cur[key] !== undefined && field.yamlAliases?.length) return; // the current spelling wins over an alias
  cur[key] = decodeValue(field, v, where);
}

function decodeEntity(scope: Scope, obj: unknown, where: Where): Obj {
  const out: Obj = {};
  if (obj == null) return out;
  if (!isObj(obj)) throw new WulfError(`${at(where)}: expected a map of fields`);
  const ix = indexOf(scope);
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v == null) continue;
    const coll = ix.colls.get(k);
    if (coll) {
      if (!isObj(v)) throw new WulfError(`${at(where)}: "${k}" must be a map of names`);
      const items: Obj = {};
      for (const name of Object.keys(v)) items[name] = decodeEntity(coll.scope, v[name], () => `${at(where)} ${coll.yaml} ${name}`);
      out[coll.key] = items;
      continue;
    }
    if (scope === 'netdev' && k === 'primary') {
      if (String(v) === 'true') out.__primary = true;
      continue;
    }
    const direct = ix.direct.get(k);
    if (direct) {
      put(out, direct, v, where);
      continue;
    }
    const group = ix.groups.get(k);
    if (group && isObj(v)) {
      for (const sk of Object.keys(v)) {
        const fld = group.get(sk);
        if (!fld) throw new WulfError(`${at(where)}: unknown field "${k}.${sk}"`, { hint: "see 'wulf node set --help' for the fields" });
        put(out, fld, v[sk], where);
      }
      continue;
    }
    throw new WulfError(`${at(where)}: unknown field "${k}"`, { hint: "see 'wulf node set --help' for the fields" });
  }
  return out;
}

/** YAML-shaped node or profile → NodeData. `where` names it in errors, e.g. `node n01` (or makes that text). */
export function nodeFromYaml(obj: unknown, where: Where): NodeData {
  // an older Warewulf spelling (`keys:`, `kernel args`...: a 4.4 `node export`) reads as its upgrade
  const data = decodeEntity('node', isLegacyEntry(obj) ? upgradeEntry(obj, 'node', {}, () => {}) : obj, where) as NodeData & Obj;
  const nets = data.networkDevices as Record<string, Obj> | undefined;
  if (nets)
    for (const [name, nd] of Object.entries(nets)) {
      if (nd.__primary) {
        delete nd.__primary;
        data.primaryNetwork ??= name;
      }
    }
  return data;
}

function encodeEntity(scope: Scope, data: Obj): Obj {
  const out: Obj = {};
  for (const field of fieldsOf(scope)) {
    let v: unknown = data;
    for (const k of field.path) v = isObj(v) ? v[k] : undefined;
    if (
      v === undefined ||
      v === '' ||
      (Array.isArray(v) && v.length === 0) ||
      (isObj(v) && Object.keys(v).length === 0 && field.kind !== 'yaml')
    )
      continue;
    let cur = out;
    for (const k of field.yaml.slice(0, -1)) cur = (cur[k] ??= {}) as Obj;
    cur[field.yaml[field.yaml.length - 1]!] = v;
  }
  for (const coll of collections.filter((c) => c.parent === scope)) {
    const items = data[coll.key] as Record<string, Obj> | undefined;
    if (!items || !Object.keys(items).length) continue;
    const enc: Obj = {};
    for (const [name, sub] of Object.entries(items)) enc[name] = encodeEntity(coll.scope, sub ?? {});
    // keep the collection where Warewulf puts it: right after the scalar fields
    out[coll.yaml] = enc;
  }
  return out;
}

/** NodeData → YAML-shaped object with Warewulf key names, only set fields. */
export function nodeToYaml(data: NodeData): Obj {
  return encodeEntity('node', data as Obj);
}
