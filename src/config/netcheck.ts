// The checks a node's network devices must pass before a write (node set/add/edit/import, profile
// set): the tags the network overlays read have usable values, a VLAN has an id and a parent that is
// one of the node's devices, a member's master is one of its bonds, and no NIC is a member of two
// bonds. Run on the merged node (profiles + node) for the entries a write changes, so a file that
// Warewulf wrote is read as it is and only what is being changed must be right.
import { WulfError } from '../lib/errors.ts';
import { expandProfiles, type NodesConf } from './cascade.ts';
import { checkNetTag, netTagOf, type NetDev, type NodeData } from './schema.ts';
import { resolveNetdevs } from './netmodel.ts';

/** The tag values of each netdev of one node or profile (no cross references). */
function checkTags(who: string, devs: Record<string, NetDev>): void {
  for (const [name, nd] of Object.entries(devs)) {
    for (const [k, v] of Object.entries(nd?.tags ?? {})) {
      const e = checkNetTag(k, String(v));
      if (e) throw new WulfError(`${who}: network ${name}: ${e}`);
    }
  }
}

/** Cross references of a merged node's netdevs. */
export function checkNodeNetwork(who: string, devs: Record<string, NetDev>): void {
  checkTags(who, devs);
  const refs = resolveNetdevs(devs);
  const byName = new Map(refs.map((r) => [r.name, r]));
  const memberOf = new Map<string, string>(); // NIC identity (mac: / dev:) → "netdev (bond)"
  for (const r of refs) {
    const nd = devs[r.name]!;
    if (r.kind === 'vlan') {
      if (!r.vlanId) throw new WulfError(`${who}: network ${r.name}: a VLAN needs a vlan_id tag (1-4094) or a device named <parent>.<id>`);
      if (!/^\d+$/.test(r.vlanId) || Number(r.vlanId) < 1 || Number(r.vlanId) > 4094)
        throw new WulfError(`${who}: network ${r.name}: VLAN id "${r.vlanId}" is not within 1-4094`);
      if (!r.parentRef)
        throw new WulfError(
          `${who}: network ${r.name}: a VLAN needs a parent_device tag (a network device of ${who.replace(/^\S+ /, '')})`,
        );
      if (!r.parent)
        throw new WulfError(
          `${who}: network ${r.name}: VLAN parent "${r.parentRef}" is not one of the node's network devices (a netdev name or its device)`,
        );
    }
    if (r.masterRef) {
      const m = r.master ? byName.get(r.master) : undefined;
      if (!m) throw new WulfError(`${who}: network ${r.name}: master "${r.masterRef}" is not one of the node's network devices`);
      if (m.kind !== 'bond') throw new WulfError(`${who}: network ${r.name}: master "${r.masterRef}" is not a bond (type bond)`);
      if (nd.ipaddr || nd.ipaddr6)
        throw new WulfError(`${who}: network ${r.name}: a bond member has no address of its own (set it on ${m.name})`);
      for (const id of [nd.hwaddr ? `mac:${nd.hwaddr.toLowerCase()}` : '', r.device ? `dev:${r.device}` : ''].filter(Boolean)) {
        const other = memberOf.get(id);
        const mine = `${m.ifname ?? m.name} (as ${r.name})`;
        if (other && other.split(' ')[0] !== mine.split(' ')[0])
          throw new WulfError(`${who}: network ${r.name}: ${id.slice(4)} is already a member of ${other}`);
        memberOf.set(id, mine);
      }
    }
  }
}

/** A node's netdevs merged with its profiles' as the cascade merges them (scalars: the last wins; tags: per key). */
function mergedNetdevs(chain: string[], conf: Pick<NodesConf, 'profiles'>, d: NodeData): Record<string, NetDev> {
  const out: Record<string, NetDev> = {};
  for (const devs of [...chain.map((p) => conf.profiles[p]?.networkDevices), d.networkDevices]) {
    for (const [name, nd] of Object.entries(devs ?? {})) {
      const cur = (out[name] ??= {});
      for (const [k, v] of Object.entries(nd ?? {})) {
        if (v === undefined || v === null || v === '') continue;
        if (k === 'tags') cur.tags = { ...cur.tags, ...(v as Record<string, string>) };
        else (cur as Record<string, unknown>)[k] = v;
      }
    }
  }
  return out;
}

/** Whether a netdev set has anything these checks look at (most nodes: one plain NIC). */
const interesting = (devs: Record<string, NetDev> | undefined) =>
  !!devs &&
  Object.values(devs).some((nd) => nd && (nd.type || nd.device?.includes('.') || Object.keys(nd.tags ?? {}).some((k) => netTagOf(k))));

/** Check the changed nodes, and every node that takes a changed profile. */
export function checkNetworks(conf: Pick<NodesConf, 'profiles' | 'nodes'>, nodes: string[], profiles: string[]): void {
  for (const p of profiles) if (conf.profiles[p]) checkTags(`profile ${p}`, conf.profiles[p]!.networkDevices ?? {});
  // per distinct profile list (most nodes share a few): does its chain take a changed profile, has it netdevs to check
  const chains = new Map<string, { chain: string[]; takesChanged: boolean; interesting: boolean }>();
  const changed = new Set(profiles);
  const chainOf = (d: NodeData) => {
    const key = (d.profiles ?? []).join('\0');
    let c = chains.get(key);
    if (!c) {
      const chain = expandProfiles(d.profiles ?? [], conf.profiles);
      c = {
        chain,
        takesChanged: chain.some((p) => changed.has(p)),
        interesting: chain.some((p) => interesting(conf.profiles[p]?.networkDevices)),
      };
      chains.set(key, c);
    }
    return c;
  };
  const todo = new Set(nodes.filter((n) => conf.nodes[n]));
  if (profiles.length) for (const n in conf.nodes) if (!todo.has(n) && chainOf(conf.nodes[n]!).takesChanged) todo.add(n);
  for (const n of todo) {
    const d: NodeData = conf.nodes[n]!;
    if (!interesting(d.networkDevices) && !chainOf(d).interesting) continue;
    checkNodeNetwork(`node ${n}`, mergedNetdevs(chainOf(d).chain, conf, d));
  }
}
