// The network devices as templates see them. A netdev's NAME (default, ib, mgmt…) is a label in
// nodes.conf, never an interface name: a physical NIC without `device` has no name wulf knows, so
// every renderer matches it by MAC and renames nothing. Virtual devices (bond, vlan) must be
// created with a name: their `device`, else one derived (bondN; parent.id or vlanID). Bonds, members
// and VLANs are resolved as Warewulf models them (src/config/netmodel.ts: type bond + the members'
// `master` tag; type vlan + vlan_id and parent_device), and the tags renderers need are given as
// plain values (bond options with their defaults, routes, DNS servers), so templates only lay them out.
import { createHash } from 'node:crypto';
import type { NetDev } from '../config/schema.ts';
import { netTag, resolveNetdevs } from '../config/netmodel.ts';
import { isIPv4, isNetmask, maskToPrefix, networkOf } from '../lib/ip.ts';
import { MapDrop } from './drops.ts';

export interface BondView {
  mode: string;
  miimon: string;
  updelay: string | null;
  downdelay: string | null;
  xmitHashPolicy: string | null;
  /** the members' netdev names */
  members: string[];
}
export interface RouteView {
  to: string;
  via: string | null;
  ipv6: boolean;
  default: boolean;
}

export interface NetdevView {
  name: string;
  type: string;
  onboot: boolean;
  /** the configured interface name, or null (then the device is matched by hwaddr) */
  device: string | null;
  /** the kernel name wulf gives or expects: device; for bonds and VLANs a derived name; else null */
  ifname: string | null;
  /** a config identifier for it: ifname, else wulf-<netdev> (ifupdown logical interface, netplan id) */
  label: string;
  /** a NIC (ethernet or infiniband, bond member or not) that exists by itself and is matched (by MAC, or by device) */
  physical: boolean;
  /** a bond member (its tag master names one of the node's bonds) */
  member: boolean;
  /** a stable UUID for this node and netdev (NetworkManager connections, ifcfg) */
  uuid: string;
  hwaddr: string | null;
  ipaddr: string | null;
  netmask: string | null;
  gateway: string | null;
  ipaddr6: string | null;
  prefixlen6: string | null;
  gateway6: string | null;
  mtu: string | null;
  tags: MapDrop;
  primary: boolean;
  prefix: number | null;
  ipCIDR: string | null;
  network: string | null;
  networkCIDR: string | null;
  ipCIDR6: string | null;
  /** vlan: its id; parent (netdev name when the parent is one of the node's netdevs), its kernel name when known, its uuid */
  vlanId: string | null;
  parent: string | null;
  parentIfname: string | null;
  parentUuid: string | null;
  /** bond member: the bond's netdev name and its interface name */
  master: string | null;
  masterIfname: string | null;
  /** bond: its options (Warewulf's tags mode, miimon, updelay, downdelay, xmit_hash_policy) and members */
  bond: BondView | null;
  /** VLANs on this device (netdev names) */
  vlans: string[];
  /** tags route<N> in order, the gateways as routes to default; DNS<N> tags in order; cloned-mac-address */
  routes: RouteView[];
  dns: string[];
  clonedMac: string | null;
  /**
   * The MAC address the device has on every boot: cloned-mac-address; a NIC's hwaddr; a bond's first member's
   * (what the kernel gives a bond); a VLAN its parent's. Renderers that would otherwise derive one from the
   * machine id (systemd-networkd, netplan) set it, since a stateless node gets a new machine id at each boot.
   */
  mac: string | null;
  /** wulf can configure it: a NIC it can match (hwaddr or device), a bond, a VLAN with an id and a parent */
  usable: boolean;
}

const s = (v: string | undefined): string | null => (v === undefined || v === '' ? null : String(v));
const bool = (v: string | undefined, d: boolean) => (v === undefined || v === '' ? d : v === 'true');
const num = (k: string) => Number(/\d+$/.exec(k)?.[0] ?? 0);

/** A UUID derived from node and netdev (name-based, SHA-1, RFC 4122 variant): the same on every build. */
export function netdevUuid(node: string, netdev: string): string {
  const h = createHash('sha1').update(`wulf\0${node}\0${netdev}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

function routesOf(n: NetDev): RouteView[] {
  const keys = Object.keys(n.tags ?? {})
    .filter((k) => /^route\d*$/.test(k))
    .sort((a, b) => num(a) - num(b));
  return keys.map((k) => {
    const [to = '', via] = String(n.tags![k])
      .split(',')
      .map((x) => x.trim());
    const ipv6 = to.includes(':');
    const def = to === 'default';
    return { to: def ? (ipv6 ? '::/0' : '0.0.0.0/0') : to, via: via || null, ipv6, default: def };
  });
}

/** The views of a node's netdevs (sorted by name), with derived interface names and resolved references. */
export function netdevViews(node: string, devs: Record<string, NetDev>, primary?: string): NetdevView[] {
  const refs = resolveNetdevs(devs);
  const byName = new Map(refs.map((r) => [r.name, r]));
  const views = refs.map((r): NetdevView => {
    const n = devs[r.name]!;
    const mask = n.netmask && isNetmask(n.netmask) ? n.netmask : null;
    const ip = n.ipaddr && isIPv4(n.ipaddr) ? n.ipaddr : null;
    const prefix = mask ? maskToPrefix(mask) : null;
    const network = ip && mask ? networkOf(ip, mask) : null;
    let ip6 = s(n.ipaddr6),
      pl6 = s(n.prefixlen6);
    if (ip6?.includes('/')) {
      const [a, p] = ip6.split('/');
      ip6 = a!;
      pl6 ??= p!;
    }
    const type = r.kind === 'nic' ? (r.infiniband ? 'infiniband' : 'ethernet') : r.kind;
    const parent = r.parent ? byName.get(r.parent)! : undefined;
    const master = r.master ? byName.get(r.master)! : undefined;
    const dns = Object.keys(n.tags ?? {})
      .filter((k) => /^DNS\d*$/.test(k))
      .sort((a, b) => num(a) - num(b))
      .map((k) => String(n.tags![k]));
    return {
      name: r.name,
      type,
      onboot: bool(n.onboot, true),
      device: r.device,
      ifname: r.ifname,
      label: r.ifname ?? `wulf-${r.name}`,
      physical: r.kind === 'nic',
      member: !!master && master.kind === 'bond',
      uuid: netdevUuid(node, r.name),
      hwaddr: s(n.hwaddr)?.toLowerCase() ?? null,
      ipaddr: ip ?? s(n.ipaddr),
      netmask: s(n.netmask),
      gateway: s(n.gateway),
      ipaddr6: ip6,
      prefixlen6: pl6,
      gateway6: s(n.gateway6),
      mtu: s(n.mtu),
      tags: new MapDrop(n.tags ?? {}),
      primary: r.name === primary,
      prefix,
      ipCIDR: ip && prefix !== null ? `${ip}/${prefix}` : null,
      network,
      networkCIDR: network && prefix !== null ? `${network}/${prefix}` : null,
      ipCIDR6: ip6 ? `${ip6}/${pl6 ?? '64'}` : null,
      vlanId: r.vlanId,
      parent: parent?.name ?? null,
      parentIfname: parent ? parent.ifname : r.parentRef,
      parentUuid: parent ? netdevUuid(node, parent.name) : null,
      master: master?.kind === 'bond' ? master.name : null,
      masterIfname: master?.kind === 'bond' ? master.ifname : null,
      bond:
        r.kind !== 'bond'
          ? null
          : {
              mode: netTag(n, 'mode', 'bond_mode') ?? 'balance-rr',
              miimon: netTag(n, 'miimon') ?? '100',
              updelay: netTag(n, 'updelay'),
              downdelay: netTag(n, 'downdelay'),
              xmitHashPolicy: netTag(n, 'xmit_hash_policy'),
              members: refs.filter((m) => m.master === r.name).map((m) => m.name),
            },
      vlans: refs.filter((v) => v.kind === 'vlan' && v.parent === r.name).map((v) => v.name),
      routes: routesOf(n),
      dns,
      clonedMac: netTag(n, 'cloned-mac-address')?.toLowerCase() ?? null,
      mac: null,
      usable: false,
    };
  });
  const byView = new Map(views.map((v) => [v.name, v]));
  for (const v of views) if (v.physical) v.mac = v.clonedMac ?? (v.type === 'ethernet' ? v.hwaddr : null);
  for (const v of views) {
    if (v.type !== 'bond') continue;
    v.mac = v.clonedMac ?? v.bond!.members.map((m) => byView.get(m)!).find((m) => m.type === 'ethernet' && m.hwaddr)?.hwaddr ?? null;
  }
  for (let pass = 0; pass < 2; pass++)
    for (const v of views) if (v.type === 'vlan') v.mac = v.clonedMac ?? (v.parent ? byView.get(v.parent)!.mac : null);
  for (const v of views) {
    v.usable = v.physical ? !!(v.hwaddr || v.device) : v.type === 'vlan' ? !!(v.vlanId && v.ifname && v.parent) : !!v.ifname;
  }
  return views;
}
