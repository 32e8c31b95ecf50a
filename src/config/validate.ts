// Whole-config checks run before every write: each value against the field table, unknown
// profiles, and duplicate hwaddr / ipaddr across nodes. Errors name the node and the field.
import { WulfError } from '../lib/errors.ts';
import { checkStorage, checkValue, collections, fields, type Field, type NodeData, type Scope } from './schema.ts';
import type { NodesConf } from './cascade.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkName(kind: 'node' | 'profile', name: string): void {
  if (!NAME.test(name))
    throw new WulfError(`${kind} name "${name}" is not valid`, { hint: 'use letters, digits, ".", "_" and "-" (max 63)' });
}

type Obj = Record<string, unknown>;
/** Per scope, the fields to check (maps and free YAML are not checked) and the sub-collections. */
const CHECKED = new Map<Scope, Field[]>();
const COLLS = new Map<Scope, (typeof collections)[number][]>();
for (const sc of ['node', 'netdev', 'disk', 'partition', 'filesystem'] as Scope[]) {
  CHECKED.set(
    sc,
    fields.filter((f) => f.scope === sc && f.kind !== 'yaml' && f.kind !== 'map'),
  );
  COLLS.set(
    sc,
    collections.filter((c) => c.parent === sc),
  );
}
// values in their usual form pass without the general check (which normalises and allocates)
const QUICK: Partial<Record<Field['kind'], RegExp>> = {
  mac: /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/,
  ipv4: /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/,
  string: /^[^\n\r\0]*$/,
};

/** Every set value of one node/profile against the field table; errors name the field as `node list -a` does. */
function checkFields(who: string, scope: Scope, obj: Obj, title: string): void {
  for (const f of CHECKED.get(scope)!) {
    let v: unknown = obj;
    for (const k of f.path) v = v && typeof v === 'object' ? (v as Obj)[k] : undefined;
    if (v === undefined || v === null || v === '') continue;
    if (f.kind === 'list') {
      if (Array.isArray(v))
        for (const x of v) if (/[\n\0]/.test(String(x))) throw new WulfError(`${who}: ${title}${f.title} has a line break`);
      continue;
    }
    const str = String(v);
    const quick = QUICK[f.kind];
    if (quick && !f.enumValues && quick.test(str)) continue;
    const r = checkValue(f, str);
    if ('error' in r) throw new WulfError(`${who}: ${title}${f.title} ${r.error}`);
  }
  for (const coll of COLLS.get(scope)!) {
    const items = obj[coll.key] as Record<string, Obj> | undefined;
    if (items && typeof items === 'object')
      for (const name of Object.keys(items)) checkFields(who, coll.scope, items[name] ?? {}, `${title}${coll.title}[${name}].`);
  }
}

function checkEntity(kind: 'node' | 'profile', name: string, data: NodeData, profiles: Record<string, NodeData>): void {
  checkFields(`${kind} ${name}`, 'node', data as Obj, '');
  const storage = checkStorage(data);
  if (storage) throw new WulfError(`${kind} ${name}: ${storage}`);
  for (const p of data.profiles ?? []) {
    const pn = p.startsWith('~') ? p.slice(1) : p;
    if (!profiles[pn]) throw new WulfError(`${kind} ${name}: unknown profile "${pn}"`, { hint: "see 'wulf profile list'" });
  }
  if (kind === 'profile' && (data.discoverable !== undefined || data.assetKey !== undefined)) {
    throw new WulfError(`profile ${name}: discoverable and asset key belong on nodes, not profiles`);
  }
}

export function validateConf(conf: Pick<NodesConf, 'profiles' | 'nodes'>): void {
  for (const [n, p] of Object.entries(conf.profiles)) {
    checkName('profile', n);
    checkEntity('profile', n, p, conf.profiles);
  }
  const macs = new Map<string, string>();
  const ips = new Map<string, string>();
  for (const [n, d] of Object.entries(conf.nodes)) {
    checkName('node', n);
    checkEntity('node', n, d, conf.profiles);
    for (const [net, nd] of Object.entries(d.networkDevices ?? {})) {
      if (nd?.hwaddr) {
        const mac = nd.hwaddr.toLowerCase();
        const other = macs.get(mac);
        if (other) throw new WulfError(`node ${n}: hwaddr ${mac} (network ${net}) is already used by ${other}`);
        macs.set(mac, `${n} (network ${net})`);
      }
      if (nd?.ipaddr) {
        const other = ips.get(nd.ipaddr);
        if (other) throw new WulfError(`node ${n}: ipaddr ${nd.ipaddr} (network ${net}) is already used by ${other}`);
        ips.set(nd.ipaddr, `${n} (network ${net})`);
      }
    }
  }
}
