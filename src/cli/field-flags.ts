// CLI flags for node/profile fields, generated from the field table, and the code that applies
// parsed flags to a NodeData (add/set) or clears fields (unset).
import { WulfError } from '../lib/errors.ts';
import { checkValue, collections, fields, UNSET_WORDS, type Field, type NodeData, type Scope } from '../config/schema.ts';
import type { FlagValues, Flags } from './command.ts';

type Obj = Record<string, unknown>;
/** A field flag's value from the parsed flags (`fields` of a verb: the schema's flags are not typed one by one). */
const str = (flags: FlagValues, name: string): string | undefined => {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
};
const strs = (flags: FlagValues, name: string): string[] | undefined => {
  const v = flags[name];
  return Array.isArray(v) ? v : undefined;
};
const flagFields = (kind: 'node' | 'profile') => fields.filter((f) => f.flag && !(kind === 'profile' && f.nodeOnly));

/** Flags for `add` and `set`. Booleans are string flags so `--onboot=false` works; bare means true. */
export function setFlags(kind: 'node' | 'profile'): Flags {
  const out: Flags = {};
  for (const f of flagFields(kind)) {
    if (f.kind === 'map') {
      out[`${f.flag}add`] = { type: 'string', multiple: true, help: `add ${f.help.split(' (')[0]} (key=value)`, arg: 'KEY=VALUE' };
      out[`${f.flag}del`] = { type: 'string', multiple: true, help: `delete a key from ${f.title}`, arg: 'KEY' };
      continue;
    }
    const where = f.scope === 'node' ? '' : ` [${f.scope}]`;
    // profiles are never auto-incremented (node add does that for a hostlist)
    const help = kind === 'profile' ? f.help.replace(/ \(auto-incremented by node add\)/, '') : f.help;
    out[f.flag!] = {
      type: 'string',
      ...(f.short ? { short: f.short } : {}),
      help: help + where,
      arg: f.kind === 'list' ? 'A,B' : f.kind.toUpperCase(),
    };
    for (const a of f.flagAliases ?? []) out[a] = { type: 'string', help: `deprecated: --${f.flag}`, hidden: true };
  }
  for (const c of collections) {
    out[c.nameFlag] = {
      type: 'string',
      help: `the ${c.scope} that the ${c.scope} flags apply to${c.defaultName ? ` (default "${c.defaultName}")` : ''}`,
      arg: 'NAME',
    };
    out[c.delFlag] = { type: 'boolean', help: `delete the ${c.scope} named by --${c.nameFlag}` };
  }
  return out;
}

/** Flags for `unset`: one boolean per field; tags by key. */
export function unsetFlags(kind: 'node' | 'profile'): Flags {
  const out: Flags = {};
  for (const f of flagFields(kind)) {
    if (f.kind === 'map') {
      out[f.flag!] = { type: 'string', multiple: true, help: `remove the key from ${f.title}`, arg: 'KEY' };
      continue;
    }
    out[f.flag!] = { type: 'boolean', help: `clear ${f.title}` };
  }
  for (const c of collections)
    out[c.nameFlag] = { type: 'string', help: `the ${c.scope} to clear fields of (alone: delete it)`, arg: 'NAME' };
  return out;
}

/**
 * Words that clear a field, as wwctl reads them: unset, undef, delete, nil and `--`, in any case
 * (wwctl lower-cases them), and 0.0.0.0 for an address field.
 */
export function isUnsetWord(raw: string, field?: Field): boolean {
  const t = raw.trim();
  if (UNSET_WORDS.has(t) || /^(unset|undef|delete|nil|--)$/i.test(t)) return true;
  return t === '0.0.0.0' && (field?.kind === 'ipv4' || field?.kind === 'netmask');
}

/** The words a bare boolean flag takes as its value when they follow it (`--onboot nil`, `--onboot false`). */
const BOOL_WORD = /^(true|false|yes|no|y|n|on|off|1|0|unset|undef|delete|nil)$/i;

/**
 * Bare boolean-field flags (`--discoverable`) become `--discoverable=true` before parsing; a following
 * boolean or unset word is the flag's value, never a node pattern. `--` after one stays the end of
 * the flags (write `--onboot=--` to clear with that word).
 */
export function normalizeBoolArgs(argv: string[]): string[] {
  const bools = new Set(
    fields.filter((f) => f.kind === 'bool' && f.flag).flatMap((f) => [`--${f.flag}`, ...(f.short ? [`-${f.short}`] : [])]),
  );
  const out: string[] = [];
  // wwctl's `--netdel NAME` (a name, not a switch) when --netname is not given; the same for disks, partitions, filesystems
  const named = (c: (typeof collections)[number]) => argv.some((x) => x === `--${c.nameFlag}` || x.startsWith(`--${c.nameFlag}=`));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const del = collections.find((c) => a === `--${c.delFlag}` || a.startsWith(`--${c.delFlag}=`));
    if (del && !named(del)) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(eq + 1) : argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-') ? argv[++i] : undefined;
      out.push(`--${del.delFlag}`, ...(name !== undefined ? [`--${del.nameFlag}=${name}`] : []));
      continue;
    }
    if (bools.has(a)) {
      const next = argv[i + 1];
      if (next !== undefined && BOOL_WORD.test(next)) {
        out.push(`${a}=${next}`);
        i++;
      } else out.push(`${a}=true`);
      continue;
    }
    out.push(a);
  }
  return out;
}

/** Split a comma list, keeping quoted parts whole: `"console=ttyS0,115200",quiet`. */
export function splitList(s: string): string[] {
  const out: string[] = [];
  let cur = '',
    q: string | null = null;
  for (const ch of s) {
    if (q) {
      if (ch === q) q = null;
      else cur += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      q = ch;
      continue;
    }
    if (ch === ',') {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur.trim());
  return out.filter(Boolean);
}

/**
 * The filesystem --fsname names. As wwctl: a block device path, or the name given to --partname,
 * which stands for that partition's /dev/disk/by-partlabel/ link (an existing entry of either
 * spelling is found by the short name too).
 */
function fsName(data: Obj, flags: FlagValues): string | undefined {
  const name = str(flags, 'fsname');
  if (name === undefined || name.startsWith('/dev')) return name;
  const byLabel = `/dev/disk/by-partlabel/${name}`;
  if (name === flags.partname || (data.filesystems as Obj | undefined)?.[byLabel]) return byLabel;
  throw new WulfError(`--fsname ${name}: a filesystem is named by its block device (/dev/...), or by the partition named with --partname`);
}

function collName(data: Obj, coll: (typeof collections)[number], flags: FlagValues): string | undefined {
  return coll.scope === 'filesystem' ? fsName(data, flags) : (str(flags, coll.nameFlag) ?? coll.defaultName);
}

function entityFor(data: Obj, scope: Scope, flags: FlagValues, create: boolean): Obj | undefined {
  if (scope === 'node') return data;
  const coll = collections.find((c) => c.scope === scope)!;
  const name = collName(data, coll, flags);
  if (!name) throw new WulfError(`--${coll.nameFlag} is needed with ${scope} flags`);
  let parent: Obj = data;
  if (coll.parent === 'disk') {
    const disk = str(flags, 'diskname');
    if (!disk) throw new WulfError('--diskname is needed with partition flags');
    const disks = (data.disks ??= {}) as Obj;
    parent = (disks[disk] ??= {}) as Obj;
  }
  const items = (parent[coll.key] ??= {}) as Obj;
  if (!items[name]) {
    if (!create) return undefined;
    items[name] = {};
  }
  return items[name] as Obj;
}

function setIn(o: Obj, path: string[], v: unknown) {
  let cur = o;
  for (const k of path.slice(0, -1)) cur = (cur[k] ??= {}) as Obj;
  const last = path[path.length - 1]!;
  if (v === undefined) delete cur[last];
  else cur[last] = v;
}
function getIn(o: Obj, path: string[]): unknown {
  let cur: unknown = o;
  for (const k of path) cur = cur && typeof cur === 'object' ? (cur as Obj)[k] : undefined;
  return cur;
}

const COLLECTION_KEYS = new Set(collections.map((c) => c.key));

/** Drop empty sub-objects and lists left behind by clearing fields; named entities stay. */
export function tidy(o: Obj, keepEmpty = false): void {
  for (const [k, v] of Object.entries(o)) {
    if (Array.isArray(v)) {
      if (v.length === 0) delete o[k];
      continue;
    }
    if (v && typeof v === 'object') {
      tidy(v as Obj, COLLECTION_KEYS.has(k));
      if (!keepEmpty && Object.keys(v).length === 0) delete o[k];
    }
  }
}

/** The value for one field, checked; UNSET words give undefined (clear). */
function parseFieldValue(field: Field, raw: string, who: string): unknown {
  if (isUnsetWord(raw, field)) return undefined;
  if (field.kind === 'list') {
    const items = splitList(raw);
    for (const it of items) if (/[\n\0]/.test(it)) throw new WulfError(`${who}: ${field.title} has a line break`);
    return items;
  }
  const r = checkValue(field, raw);
  // a value outside a list already names the values it may take
  if ('error' in r)
    throw new WulfError(`${who}: ${field.title} ${r.error}`, field.enumValues ? {} : { hint: `--${field.flag}: ${field.help}` });
  return r.value;
}

/**
 * Apply add/set flags to one node or profile. `overrides` replaces single flag values per node
 * (auto-incremented addresses for `node add n[1-4]`).
 */
export function applySetFlags(data: NodeData, flags: FlagValues, who: string, overrides: Record<string, string> = {}): void {
  const d = data as Obj;
  for (const c of collections) {
    if (flags[c.delFlag]) {
      // the name must be given: deleting never falls back to the default entry
      const name = flags[c.nameFlag] === undefined ? undefined : collName(d, c, flags);
      if (!name) throw new WulfError(`--${c.delFlag} needs --${c.nameFlag}`);
      const parent = c.parent === 'disk' ? (getIn(d, ['disks', String(flags.diskname ?? '')]) as Obj | undefined) : d;
      const items = parent?.[c.key] as Obj | undefined;
      if (!items || !(name in items)) throw new WulfError(`${who}: there is no ${c.scope} "${name}"`);
      delete items[name];
    }
  }
  for (const f of fields) {
    if (!f.flag) continue;
    if (f.kind === 'map') {
      const add = strs(flags, `${f.flag}add`);
      const del = strs(flags, `${f.flag}del`);
      if (!add?.length && !del?.length) continue;
      const ent = entityFor(d, f.scope, flags, true)!;
      const map = (getIn(ent, f.path) as Record<string, string> | undefined) ?? {};
      for (const kv of add ?? []) {
        let last: string | undefined;
        for (const item of splitList(kv)) {
          const eq = item.indexOf('=');
          // a value with a comma (route1=192.168.0.0/16,192.168.0.254): the part without "=" continues the value before it
          if (eq < 0 && last !== undefined) {
            map[last] += `,${item}`;
            continue;
          }
          if (eq <= 0) throw new WulfError(`${who}: --${f.flag}add "${item}" is not key=value`);
          last = item.slice(0, eq);
          map[last] = item.slice(eq + 1);
        }
      }
      for (const k of del ?? []) for (const key of splitList(k)) delete map[key];
      setIn(ent, f.path, Object.keys(map).length ? map : undefined);
      continue;
    }
    let raw: string | undefined = overrides[f.flag] ?? str(flags, f.flag);
    for (const a of f.flagAliases ?? []) raw ??= str(flags, a);
    if (raw === undefined) continue;
    const value = parseFieldValue(f, raw, who);
    const ent = entityFor(d, f.scope, flags, value !== undefined);
    if (ent) setIn(ent, f.path, value);
  }
  tidy(d);
}

/** Apply `unset` flags. Returns the number of fields or entities cleared. */
export function applyUnsetFlags(data: NodeData, flags: FlagValues, who: string): number {
  const d = data as Obj;
  let n = 0;
  const scoped = new Set<Scope>();
  for (const f of fields) {
    if (!f.flag) continue;
    const v = flags[f.flag];
    if (v === undefined || v === false) continue;
    const ent = entityFor(d, f.scope, flags, false);
    if (f.scope !== 'node') scoped.add(f.scope);
    if (!ent) continue;
    if (f.kind === 'map') {
      const map = getIn(ent, f.path) as Record<string, string> | undefined;
      for (const k of strs(flags, f.flag) ?? [])
        if (map && k in map) {
          delete map[k];
          n++;
        }
    } else if (getIn(ent, f.path) !== undefined) {
      setIn(ent, f.path, undefined);
      n++;
    }
  }
  for (const c of collections) {
    const name = flags[c.nameFlag] === undefined ? undefined : collName(d, c, flags);
    if (!name || scoped.has(c.scope) || (c.scope === 'disk' && (flags.partname || scoped.has('partition')))) continue;
    const parent = c.parent === 'disk' ? (getIn(d, ['disks', String(flags.diskname ?? '')]) as Obj | undefined) : d;
    const items = parent?.[c.key] as Obj | undefined;
    if (!items || !(name in items)) throw new WulfError(`${who}: there is no ${c.scope} "${name}"`);
    delete items[name];
    n++;
  }
  tidy(d);
  return n;
}
