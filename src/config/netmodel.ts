// How a node's network devices refer to each other, as Warewulf models it: a bond is a netdev of
// type bond (or tag type: bond); its members are NICs whose tag `master` names it; a VLAN is a netdev
// of type vlan with tags vlan_id and parent_device (or a device name "parent.id"). A reference is a
// netdev name or an interface name (a netdev's device, or the name wulf derives for a bond or VLAN
// without one: bondN, <parent>.<id> or vlan<id>). One resolution for the checks `node set` makes
// (netcheck.ts) and for the data the network overlays render (src/overlays/netdevs.ts).
import type { NetDev } from './schema.ts';

export interface NetRef {
  name: string;
  kind: 'nic' | 'bond' | 'vlan';
  infiniband: boolean;
  device: string | null;
  /** the kernel name wulf gives or expects: device; for bonds and VLANs a derived one; else null (matched by MAC) */
  ifname: string | null;
  /** NIC: the master tag as written, and the netdev it names (null when none of the node's) */
  masterRef: string | null;
  master: string | null;
  /** VLAN: its id, the parent as written (tag or dotted device), the netdev it names */
  vlanId: string | null;
  parentRef: string | null;
  parent: string | null;
}

const s = (v: string | undefined): string | null => (v === undefined || v === '' ? null : String(v));

/** A name Linux accepts for an interface: 1–15 bytes, no '/', ':' or whitespace, and not ".", "..", "all" or "default" (reserved in /proc/sys/net). */
export function validIfname(n: string): boolean {
  return n.length > 0 && n.length <= 15 && !/[/:\s]/.test(n) && !['.', '..', 'all', 'default'].includes(n);
}

/** A tag by its Warewulf name, else by the older wulf spelling. */
export function netTag(nd: NetDev, key: string, legacy?: string): string | null {
  const t = nd.tags ?? {};
  return s(t[key]) ?? (legacy ? s(t[legacy]) : null);
}

export function kindOf(nd: NetDev): { kind: NetRef['kind']; infiniband: boolean } {
  const t = (nd.type ?? '').toLowerCase(),
    tt = (nd.tags?.type ?? '').toLowerCase();
  const kind = t === 'bond' || tt === 'bond' ? 'bond' : t === 'vlan' || tt === 'vlan' ? 'vlan' : 'nic';
  return { kind, infiniband: t === 'infiniband' || tt === 'infiniband' };
}

/** The netdevs of one node (sorted by name), with bonds, members and VLANs resolved. */
export function resolveNetdevs(devs: Record<string, NetDev>): NetRef[] {
  const refs: NetRef[] = Object.keys(devs)
    .sort()
    .map((name) => {
      const nd = devs[name]!;
      const { kind, infiniband } = kindOf(nd);
      const device = s(nd.device);
      const dotted = kind === 'vlan' && device?.includes('.') ? device : null;
      return {
        name,
        kind,
        infiniband,
        device,
        ifname: device,
        masterRef: kind === 'nic' ? netTag(nd, 'master') : null,
        master: null,
        vlanId: kind === 'vlan' ? (netTag(nd, 'vlan_id') ?? (dotted ? dotted.slice(dotted.lastIndexOf('.') + 1) : null)) : null,
        parentRef:
          kind === 'vlan' ? (netTag(nd, 'parent_device', 'parent') ?? (dotted ? dotted.slice(0, dotted.lastIndexOf('.')) : null)) : null,
        parent: null,
      };
    });
  const find = (ref: string, self: NetRef) => {
    const r = refs.find((v) => v.name === ref) ?? refs.find((v) => v.device === ref || v.ifname === ref);
    return r && r !== self ? r : undefined;
  };
  const taken = new Set(refs.map((v) => v.device).filter((d): d is string => !!d));
  let b = 0;
  for (const v of refs) {
    if (v.kind !== 'bond' || v.ifname) continue;
    while (taken.has(`bond${b}`)) b++;
    v.ifname = `bond${b}`;
    taken.add(v.ifname);
  }
  for (const v of refs) if (v.masterRef) v.master = find(v.masterRef, v)?.name ?? null;
  // VLANs on VLANs resolve in a second pass, once their parent has a name
  for (let pass = 0; pass < 2; pass++) {
    for (const v of refs) {
      if (v.kind !== 'vlan' || !v.parentRef) continue;
      const p = find(v.parentRef, v);
      v.parent = p?.name ?? null;
      if (!v.device && v.vlanId) {
        const pn = p ? p.ifname : v.parentRef;
        const derived = pn ? `${pn}.${v.vlanId}` : '';
        v.ifname = derived && validIfname(derived) ? derived : `vlan${v.vlanId}`;
      }
    }
  }
  return refs;
}
