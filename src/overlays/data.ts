// The data a template sees: the merged node (camelCase fields, every schema field present, absent
// ones null so strict variables catch typos but `{% if x %}` works), netdevs with CIDR helpers,
// the server (wulf.conf), build facts, and allNodes loaded lazily on first read.
import { hostname as osHostname } from 'node:os';
import type { NodeData } from '../config/schema.ts';
import type { WulfConf } from '../config/wulfconf.ts';
import { Drop } from 'liquidjs';
import { isNetmask, maskToPrefix, prefixToMask } from '../lib/ip.ts';
import { mergeAccounts, mergeDb } from '../lib/idmerge.ts';
import { MapDrop, deepDrop } from './drops.ts';
import { netdevViews, type NetdevView } from './netdevs.ts';

export { MapDrop, deepDrop };
export type { NetdevView };

const s = (v: string | undefined): string | null => (v === undefined || v === '' ? null : v);
const bool = (v: string | undefined, d: boolean) => (v === undefined || v === '' ? d : v === 'true');

export interface NodeInput {
  id: string;
  data: NodeData;
  primary?: string;
}

/** The node part of the template data (also each allNodes entry). */
export function nodeView(m: NodeInput): Record<string, unknown> {
  const d = m.data;
  const netdevs = netdevViews(m.id, d.networkDevices ?? {}, m.primary);
  const byName: Record<string, NetdevView> = {};
  for (const nd of netdevs) byName[nd.name] = nd;
  const ipmi = d.ipmi ?? {};
  const primary = m.primary ? (byName[m.primary] ?? null) : null;
  return {
    id: m.id,
    hostname: m.id,
    comment: s(d.comment),
    clusterName: s(d.clusterName),
    imageName: s(d.imageName),
    ipxeTemplate: s(d.ipxeTemplate),
    profiles: d.profiles ?? [],
    runtimeOverlay: d.runtimeOverlay ?? [],
    systemOverlay: d.systemOverlay ?? [],
    kernel: { version: s(d.kernel?.version), args: d.kernel?.args ?? [], argsString: (d.kernel?.args ?? []).join(' ') },
    init: d.init || '/sbin/init',
    root: d.root || 'initramfs',
    primaryNetdev: m.primary ?? null,
    primary,
    tags: new MapDrop(d.tags ?? {}),
    resources: deepDrop(d.resources ?? {}),
    ipmi: {
      username: s(ipmi.username),
      password: s(ipmi.password),
      ipaddr: s(ipmi.ipaddr),
      gateway: s(ipmi.gateway),
      netmask: s(ipmi.netmask),
      port: s(ipmi.port),
      interface: s(ipmi.interface),
      escapechar: s(ipmi.escapechar),
      write: bool(ipmi.write, false),
      template: s(ipmi.template),
      driver: s(ipmi.driver),
      insecure: bool(ipmi.insecure, false),
      tags: new MapDrop(ipmi.tags ?? {}),
    },
    netdevs,
    netdev: byName,
    disks: deepDrop(d.disks ?? {}),
    filesystems: deepDrop(d.filesystems ?? {}),
    discoverable: bool(d.discoverable, false),
    assetKey: s(d.assetKey),
  };
}

/**
 * A function for templates, which can index but not call: each `[text]` adds an argument, and the
 * `need`-th returns fn's result. Its result depends only on those texts, which the template read
 * through tracked tags (include_file, include_image) or node values, so memo keys stay right.
 */
class ArgsDrop extends Drop {}
function argsDrop(need: number, fn: (args: string[]) => string, args: string[] = []): Drop {
  const d = new ArgsDrop();
  // a closure, not fields: the first drop is reached through the read-tracking Proxy
  d.liquidMethodMissing = (key: unknown) => {
    const a = [...args, key === undefined || key === null ? '' : String(key)];
    return a.length === need ? fn(a) : argsDrop(need, fn, a);
  };
  return d;
}

/**
 * server.syncuser (not enumerable: not in `server | json`): the merge `wulf image syncuser` writes into an
 * image (src/lib/idmerge.ts), so a node's passwd/group never give one id two names.
 *   server.syncuser.passwd[ctl_passwd][image_passwd][ctl_group][image_group][extra_passwd_lines]
 *   server.syncuser.group[ctl_group][image_group]
 */
const SYNCUSER = {
  passwd: argsDrop(
    5,
    ([cp, ip, cg, ig, extra]) => mergeAccounts({ passwd: cp!, group: cg! }, { passwd: ip!, group: ig! }, { passwd: extra }).passwd.text,
  ),
  group: argsDrop(2, ([cg, ig]) => mergeDb('group', cg!, ig!).text),
};

export function serverView(c: WulfConf): Record<string, unknown> {
  const view = serverFields(c);
  // configurable: the read-tracking Proxy hands out wrapped values
  Object.defineProperty(view, 'syncuser', { value: SYNCUSER, enumerable: false, configurable: true });
  return view;
}

function serverFields(c: WulfConf): Record<string, unknown> {
  const prefix = c.netmask && isNetmask(c.netmask) ? maskToPrefix(c.netmask) : null;
  return {
    ipaddr: c.ipaddr || null,
    netmask: c.netmask || null,
    network: c.network || null,
    prefix,
    ipCIDR: c.ipaddr && prefix !== null ? `${c.ipaddr}/${prefix}` : null,
    networkCIDR: c.network && prefix !== null ? `${c.network}/${prefix}` : null,
    ipaddr6: c.ipaddr6 ?? null,
    prefixlen6: c.prefixlen6 ?? null,
    ipCIDR6: c.ipaddr6 ? `${c.ipaddr6}/${c.prefixlen6 ?? 64}` : null,
    fqdn: c.fqdn ?? null,
    port: c.warewulf.port,
    secure: c.warewulf.secure,
    updateInterval: c.warewulf.updateInterval,
    tls: c.warewulf.tls,
    tlsPort: c.warewulf.tlsPort,
    dhcp: { ...c.dhcp, rangeStart: c.dhcp.rangeStart ?? null, rangeEnd: c.dhcp.rangeEnd ?? null, interface: c.dhcp.interface ?? null },
    tftp: { ...c.tftp },
    nfs: { enabled: c.nfs.enabled, exportPaths: c.nfs.exportPaths.map((e) => ({ ...e })) },
    ssh: { keyTypes: [...c.ssh.keyTypes] },
    dns: { servers: [...c.dns.servers], search: [...c.dns.search] },
    // the agent's fallbacks after ipaddr (PostgreSQL: the service address, then each registered controller by name)
    servers: [...(c.servers ?? [])],
  };
}

export interface BuildInfoView {
  host: string;
  time: string;
  unix: number;
  source: string;
  overlay: string;
}

let host: string | undefined;
export function buildView(overlay: string, source: string, now = new Date(), fixedHost?: string): BuildInfoView {
  return {
    host: fixedHost || (host ??= osHostname()),
    time: now.toISOString().replace('T', ' ').slice(0, 19) + ' UTC',
    unix: Math.floor(now.getTime() / 1000),
    source,
    overlay,
  };
}

/**
 * The server settings as templates see them on a store several controllers share (PostgreSQL):
 * build.host is the cluster's name for its controllers — wulf.conf `fqdn`, else "wulf" — not this
 * host's name, so every controller renders a node's overlays byte for byte the same.
 */
export function clusterWide(wulf: WulfConf, shared: boolean): WulfConf {
  return shared && !wulf.buildHost ? { ...wulf, buildHost: wulf.fqdn || 'wulf' } : wulf;
}

export { prefixToMask };
