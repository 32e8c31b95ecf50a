// The network devices as templates see them. A netdev's NAME (default, ib, mgmt…) is a label in
// nodes.conf, never an interface name: a physical NIC without `device` has no name wulf knows, so
// every renderer matches it by MAC and renames nothing. Virtual devices (bond, vlan) must be
// created with a name: their `device`, else one derived here (bondN; parent.id or vlanID).
// VLAN parents and bond masters may be given as a netdev name or an interface name; both are
// resolved here so renderers can refer to the other device by whatever they can match.
import { createHash } from 'node:crypto';
import type { NetDev } from '../config/schema.ts';
import { isIPv4, isNetmask, maskToPrefix, networkOf } from '../lib/ip.ts';
import { MapDrop } from './drops.ts';

export interface NetdevView {
  name: string; type: string; onboot: boolean;
  /** the configured interface name, or null (then the device is matched by hwaddr) */
  device: string | null;
  /** the kernel name wulf gives or expects: device; for bonds and VLANs a derived name; else null */
  ifname: string | null;
  /** a config identifier for it: ifname, else wulf-<netdev> (ifupdown logical interface, netplan id) */
  label: string;
  /** ethernet, infiniband or bond-slave: a NIC that exists by itself and is matched (by MAC, or by device) */
  physical: boolean;
  /** a stable UUID for this node and netdev (NetworkManager connections, ifcfg) */
  uuid: string;
  hwaddr: string | null; ipaddr: string | null;
  netmask: string | null; gateway: string | null; ipaddr6: string | null; prefixlen6: string | null;
  gateway6: string | null; mtu: string | null; tags: MapDrop; primary: boolean;
  prefix: number | null; ipCIDR: string | null; network: string | null; networkCIDR: string | null; ipCIDR6: string | null;
  /** vlan: its id; parent (netdev name when the parent is one of the node's netdevs), its kernel name when known, its uuid */
  vlanId: string | null; parent: string | null; parentIfname: string | null; parentUuid: string | null;
  /** bond-slave: the bond's netdev name (when one of the node's) and its interface name */
  master: string | null; masterIfname: string | null;
  /** wulf can configure it: a NIC it can match (hwaddr or device), a bond, a VLAN with an id and a parent */
  usable: boolean;
}

const s = (v: string | undefined): string | null => (v === undefined || v === '' ? null : v);
const bool = (v: string | undefined, d: boolean) => (v === undefined || v === '' ? d : v === 'true');
const PHYSICAL = new Set(['ethernet', 'infiniband', 'bond-slave']);

/** A name Linux accepts for an interface: 1–15 bytes, no '/', ':' or whitespace, and not ".", "..", "all" or "default" (reserved in /proc/sys/net). */
export function validIfname(n: string): boolean {
  return n.length > 0 && n.length <= 15 && !/[/:\s]/.test(n) && !['.', '..', 'all', 'default'].includes(n);
}

/** A UUID derived from node and netdev (name-based, SHA-1, RFC 4122 variant): the same on every build. */
export function netdevUuid(node: string, netdev: string): string {
  const h = createHash('sha1').update(`wulf\0${node}\0${netdev}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

function base(node: string, name: string, n: NetDev, primary: boolean): NetdevView {
  const mask = n.netmask && isNetmask(n.netmask) ? n.netmask : null;
  const ip = n.ipaddr && isIPv4(n.ipaddr) ? n.ipaddr : null;
  const prefix = mask ? maskToPrefix(mask) : null;
  const network = ip && mask ? networkOf(ip, mask) : null;
  let ip6 = s(n.ipaddr6), pl6 = s(n.prefixlen6);
  if (ip6?.includes('/')) { const [a, p] = ip6.split('/'); ip6 = a!; pl6 ??= p!; }
  const type = (n.type || 'ethernet').toLowerCase();
  const device = s(n.device);
  return {
    name, type, onboot: bool(n.onboot, true), device, ifname: device, label: device ?? `wulf-${name}`, physical: PHYSICAL.has(type), uuid: netdevUuid(node, name),
    hwaddr: s(n.hwaddr)?.toLowerCase() ?? null, ipaddr: ip ?? s(n.ipaddr), netmask: s(n.netmask), gateway: s(n.gateway),
    ipaddr6: ip6, prefixlen6: pl6, gateway6: s(n.gateway6), mtu: s(n.mtu), tags: new MapDrop(n.tags ?? {}), primary,
    prefix, ipCIDR: ip && prefix !== null ? `${ip}/${prefix}` : null, network,
    networkCIDR: network && prefix !== null ? `${network}/${prefix}` : null,
    ipCIDR6: ip6 ? `${ip6}/${pl6 ?? '64'}` : null,
    vlanId: null, parent: null, parentIfname: null, parentUuid: null, master: null, masterIfname: null, usable: false,
  };
}

/** The views of a node's netdevs (sorted by name), with derived interface names and resolved references. */
export function netdevViews(node: string, devs: Record<string, NetDev>, primary?: string): NetdevView[] {
  const names = Object.keys(devs).sort();
  const views = names.map((n) => base(node, n, devs[n]!, n === primary));
  const tag = (v: NetdevView, k: string) => s((devs[v.name]!.tags ?? {})[k]);
  const find = (ref: string) => views.find((v) => v.name === ref) ?? views.find((v) => v.device === ref || v.ifname === ref);
  const taken = new Set(views.map((v) => v.device).filter((d): d is string => !!d));
  // bonds first: slaves and VLANs refer to them
  let b = 0;
  for (const v of views) {
    if (v.type !== 'bond' || v.ifname) continue;
    while (taken.has(`bond${b}`)) b++;
    v.ifname = `bond${b}`; taken.add(v.ifname);
  }
  for (const v of views) {
    if (v.type === 'bond-slave') {
      const m = tag(v, 'master');
      const t = m ? find(m) : undefined;
      v.master = t?.name ?? null;
      v.masterIfname = t ? t.ifname : m;
    }
    if (v.type !== 'vlan') continue;
    const dotted = v.device?.includes('.') ? v.device : null;
    v.vlanId = tag(v, 'vlan_id') ?? (dotted ? dotted.slice(dotted.lastIndexOf('.') + 1) : null);
    const p = tag(v, 'parent') ?? tag(v, 'parent_device') ?? (dotted ? dotted.slice(0, dotted.lastIndexOf('.')) : null);
    const t = p ? find(p) : undefined;
    v.parent = t && t !== v ? t.name : null;
    v.parentIfname = t && t !== v ? t.ifname : p;
    v.parentUuid = t && t !== v ? t.uuid : null;
    if (!v.ifname && v.vlanId) {
      const derived = v.parentIfname ? `${v.parentIfname}.${v.vlanId}` : '';
      v.ifname = derived && validIfname(derived) ? derived : `vlan${v.vlanId}`;
    }
  }
  for (const v of views) {
    v.label = v.ifname ?? `wulf-${v.name}`;
    v.usable = v.physical ? !!(v.hwaddr || v.device) : v.type === 'vlan' ? !!(v.vlanId && v.ifname && (v.parent || v.parentIfname)) : !!v.ifname;
  }
  return views;
}
