// Whole-config checks run before every write: each value against the field table, unknown
// profiles, and duplicate hwaddr / ipaddr across nodes. Errors name the node and the field.
import { WulfError } from '../lib/errors.ts';
import { checkValue, type NodeData } from './schema.ts';
import { leavesOf, type NodesConf } from './cascade.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkName(kind: 'node' | 'profile', name: string): void {
  if (!NAME.test(name)) throw new WulfError(`${kind} name "${name}" is not valid`, { hint: 'use letters, digits, ".", "_" and "-" (max 63)' });
}

function checkEntity(kind: 'node' | 'profile', name: string, data: NodeData, profiles: Record<string, NodeData>): void {
  for (const leaf of leavesOf(data)) {
    const f = leaf.field;
    if (f.kind === 'yaml' || f.kind === 'map') continue;
    const vals = f.kind === 'list' ? (leaf.value as string[]) : [String(leaf.value)];
    for (const v of vals) {
      if (f.kind === 'list') { if (/[\n\0]/.test(v)) throw new WulfError(`${kind} ${name}: ${leaf.title} has a line break`); continue; }
      const r = checkValue(f, v);
      if ('error' in r) throw new WulfError(`${kind} ${name}: ${leaf.title} ${r.error}`);
    }
  }
  for (const p of data.profiles ?? []) {
    const pn = p.startsWith('~') ? p.slice(1) : p;
    if (!profiles[pn]) throw new WulfError(`${kind} ${name}: unknown profile "${pn}"`, { hint: "see 'wulf profile list'" });
  }
  if (kind === 'profile' && (data.discoverable !== undefined || data.assetKey !== undefined)) {
    throw new WulfError(`profile ${name}: discoverable and asset key belong on nodes, not profiles`);
  }
}

export function validateConf(conf: Pick<NodesConf, 'profiles' | 'nodes'>): void {
  for (const [n, p] of Object.entries(conf.profiles)) { checkName('profile', n); checkEntity('profile', n, p, conf.profiles); }
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
