// Which wulf.conf settings are cluster-wide — held by the PostgreSQL store and equal on every controller —
// and which stay each controller's own. The one place the split is written down: `wulf store settings`,
// `store copy`, the server and the overlay previews all take it from here. Settings are handled raw, with
// wulf.conf's keys and spelling (what YAML gives), and always validated by wulf.conf's own parser.
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import { WulfError } from '../lib/errors.ts';
import { parseWulfConfValue, type WulfConf } from './wulfconf.ts';

type Obj = Record<string, unknown>;

/** Cluster-wide: a top-level key whole, or one key under `warewulf:`. Each group with its reason. */
export const CLUSTER_WIDE: { keys: string[]; why: string }[] = [
  {
    keys: ['ipaddr', 'netmask', 'network', 'ipaddr6', 'prefixlen6', 'ipv6net'],
    why: 'the service address nodes are told (hosts, fstab, agent)',
  },
  { keys: ['fqdn'], why: "the controllers' name in the nodes' /etc/hosts and build.host" },
  {
    keys: ['warewulf.port', 'warewulf.secure', 'warewulf.tls', 'warewulf.tls port', 'warewulf.update interval'],
    why: "what the nodes' agent fetches from and how often (the system overlay's config)",
  },
  { keys: ['warewulf.overlay include paths'], why: 'which controller files templates may include: the same files everywhere' },
  { keys: ['dns', 'nfs', 'ssh'], why: 'what templates render into every node (resolv.conf, fstab and exports, ssh host keys)' },
  { keys: ['image mounts', 'container mounts'], why: 'what `image shell|exec` binds into an image, the same on every controller' },
];

/**
 * Per controller, never from the store (listed for the docs and `store settings`; everything not in
 * CLUSTER_WIDE is local): where this controller listens and what it serves on its own segment.
 */
export const PER_CONTROLLER: { keys: string[]; why: string }[] = [
  { keys: ['dhcp', 'tftp'], why: "this controller's segment: interface, range, ports, lease time, tftproot" },
  { keys: ['store'], why: 'the pointer to the store itself' },
  {
    keys: ['warewulf.overlay render timeout', 'warewulf.secure address', 'warewulf.autobuild overlays', 'warewulf.host overlay'],
    why: "this controller's own work and network position (NAT in front of it)",
  },
  { keys: ['comment'], why: 'a note about this file' },
];

const CLUSTER_KEYS = CLUSTER_WIDE.flatMap((g) => g.keys);
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

/** The cluster-wide part of raw wulf.conf settings, in the file's order. */
export function clusterPart(top: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(top)) {
    if (k === 'warewulf') {
      const ww = Object.fromEntries(Object.entries(obj(v)).filter(([sub]) => CLUSTER_KEYS.includes(`warewulf.${sub}`)));
      if (Object.keys(ww).length) out.warewulf = ww;
    } else if (CLUSTER_KEYS.includes(k)) out[k] = v;
  }
  return out;
}

/** The local settings with every cluster-wide key taken from `shared` (a key absent there is absent here). */
export function withShared(local: Obj, shared: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(local)) {
    if (k === 'warewulf') {
      out.warewulf = Object.fromEntries(Object.entries(obj(v)).filter(([sub]) => !CLUSTER_KEYS.includes(`warewulf.${sub}`)));
    } else if (!CLUSTER_KEYS.includes(k)) out[k] = v;
  }
  for (const [k, v] of Object.entries(shared)) {
    if (k === 'warewulf') out.warewulf = { ...obj(out.warewulf), ...obj(v) };
    else out[k] = v;
  }
  return out;
}

/** The cluster-wide keys (`fqdn`, `warewulf.update interval`) on which two sets of raw settings differ. */
export function differingKeys(a: Obj, b: Obj): string[] {
  const pa = clusterPart(a),
    pb = clusterPart(b);
  const at = (o: Obj, key: string) => (key.startsWith('warewulf.') ? obj(o.warewulf)[key.slice(9)] : o[key]);
  return CLUSTER_KEYS.filter((k) => !isDeepStrictEqual(at(pa, k) ?? null, at(pb, k) ?? null));
}

/** Check the cluster-wide settings whole with wulf.conf's parser (a bad value: one line naming `file`). */
export function checkShared(shared: Obj, file: string): void {
  for (const k of Object.keys(shared)) {
    const sub = k === 'warewulf' ? Object.keys(obj(shared[k])).map((s) => `warewulf.${s}`) : [k];
    for (const key of sub) if (!CLUSTER_KEYS.includes(key)) throw new WulfError(`${file}: "${key}" is not a cluster-wide setting`);
  }
  parseWulfConfValue(shared, file, '');
}

/** This controller's wulf.conf with the store's cluster-wide settings over it (none in the store: the local file as is). */
export function effectiveConf(local: Obj, localText: string, file: string, shared?: { settings: Obj; revision: string }): WulfConf {
  if (!shared) return parseWulfConfValue(local, file, Bun.hash(localText).toString(16));
  return parseWulfConfValue(
    withShared(local, shared.settings),
    `${file} with the store's cluster-wide settings`,
    Bun.hash(`${localText}\0${shared.revision}`).toString(16),
  );
}

/** Raw settings as wulf.conf YAML (the same keys and spelling). */
export function settingsYaml(settings: Obj): string {
  return Object.keys(settings).length ? stringify(settings, { lineWidth: 0 }) : '{}\n';
}
