// The node detail page as data: one line per schema field (merged value + origin, from the
// cascade), netdevs, and the edit of one field — validated with the same schema checks as the CLI,
// applied to the node's own data. Pure; the writing happens through config/store.ts.
import type { MergedNode } from '../../config/cascade.ts';
import { checkValue, collections, fields, getPath, prune, setPath, UNSET_WORDS, type Field, type NodeData } from '../../config/schema.ts';

export interface DetailLine {
  key: string;
  title: string;
  value: string;
  origin: string; // '' (unset), '--' (the node itself), profile name(s) or SUPERSEDED
  field?: Field; // set when the line is editable
  netdev?: string; // the network device the field belongs to
  section?: string; // a heading line
}

const show = (v: unknown): string => {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',');
  if (typeof v === 'object')
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}=${typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
      .join(',');
  return String(v);
};

/** Origin of a field: for maps, the origins of its keys joined. */
function originOf(m: MergedNode, title: string, kind: Field['kind']): string {
  const o = m.origins.get(title);
  if (o !== undefined) return o;
  if (kind === 'map' || kind === 'yaml') {
    const set = new Set<string>();
    for (const [t, x] of m.origins) if (t.startsWith(title + '[')) set.add(x);
    return [...set].join(',');
  }
  return '';
}

export function detailLines(m: MergedNode): DetailLine[] {
  const out: DetailLine[] = [{ key: '#fields', title: 'Fields', value: '', origin: '', section: 'Fields' }];
  for (const f of fields) {
    if (f.scope !== 'node') continue;
    const v = getPath(m.data, f.path);
    out.push({
      key: f.title,
      title: f.title,
      value: show(v),
      origin: originOf(m, f.title, f.kind),
      field: f.kind === 'yaml' ? undefined : f,
    });
  }
  const nets = m.data.networkDevices ?? {};
  const netColl = collections.find((c) => c.scope === 'netdev')!;
  for (const name of Object.keys(nets).sort()) {
    out.push({
      key: `#net-${name}`,
      title: `NetDevs[${name}]${name === m.primary ? ' (primary)' : ''}`,
      value: '',
      origin: '',
      section: 'net',
    });
    for (const f of fields) {
      if (f.scope !== 'netdev') continue;
      const title = `${netColl.title}[${name}].${f.title}`;
      const v = getPath(nets[name], f.path);
      out.push({ key: title, title: `  ${f.title}`, value: show(v), origin: originOf(m, title, f.kind), field: f, netdev: name });
    }
  }
  // disks, filesystems and resources: shown, edited with the CLI
  const other = m.leaves.filter(
    (l) => l.field.scope === 'disk' || l.field.scope === 'partition' || l.field.scope === 'filesystem' || l.field.kind === 'yaml',
  );
  if (other.length)
    out.push({ key: '#other', title: 'Disks, filesystems, resources (edit with the CLI)', value: '', origin: '', section: 'other' });
  for (const l of other) out.push({ key: l.key, title: `  ${l.title}`, value: show(l.value), origin: m.origins.get(l.title) ?? '' });
  return out;
}

/** The text an edit starts from: the node's own value (not the inherited one). */
export function ownValue(own: NodeData | undefined, line: DetailLine): string {
  if (!line.field) return '';
  const base = line.netdev ? own?.networkDevices?.[line.netdev] : own;
  return show(getPath(base, line.field.path));
}

export type EditResult = { ok: true; value: unknown } | { ok: false; error: string };

/** Validate the typed text for a field (empty or an UNSET word clears the node's own value). */
export function parseEdit(field: Field, text: string): EditResult {
  const t = text.trim();
  if (t === '' || UNSET_WORDS.has(t)) return { ok: true, value: undefined };
  if (field.kind === 'list') {
    const items = t
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    if (items.some((x) => /[\n\r\0]/.test(x))) return { ok: false, error: `${field.title}: a value has a line break` };
    return { ok: true, value: items };
  }
  if (field.kind === 'map') {
    const map: Record<string, string> = {};
    for (const item of t
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      const eq = item.indexOf('=');
      if (eq <= 0) return { ok: false, error: `${field.title}: "${item}" is not key=value` };
      map[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return { ok: true, value: map };
  }
  const r = checkValue(field, t);
  return 'error' in r ? { ok: false, error: `${field.title}: ${r.error}` } : { ok: true, value: r.value };
}

/** Apply a checked value to a node's own data (a copy is changed in place by the store's mutate). */
export function applyEdit(node: NodeData, field: Field, netdev: string | undefined, value: unknown): void {
  const obj = node as Record<string, unknown>;
  if (netdev) {
    const nets = (obj.networkDevices ??= {}) as Record<string, Record<string, unknown>>;
    const nd = (nets[netdev] ??= {});
    setPath(nd, field.path, value);
  } else setPath(obj, field.path, value);
  // drop emptied sub-objects (kernel: {}, ipmi: {}) but keep named netdevs
  for (const k of ['kernel', 'ipmi', 'tags'] as const) {
    if (obj[k] && typeof obj[k] === 'object' && prune(obj[k]) === undefined) delete obj[k];
  }
}
