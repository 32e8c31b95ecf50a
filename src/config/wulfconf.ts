// wulf.conf: the server's own settings. Accepts Warewulf 4.5–4.7 warewulf.conf files unchanged
// (same keys; `container mounts` alias); wulf's additions are dhcp.mode/interface, ports and dns
// (the name servers and search domains nodes get when their network tags name none).
import { existsSync, readFileSync } from 'node:fs';
import { WulfError } from '../lib/errors.ts';
import { isIPv4, isIPv6, isNetmask, networkOf, parseIPv4, prefixToMask } from '../lib/ip.ts';
import type { Paths } from './paths.ts';
import { readYaml } from './yaml-read.ts';
import { warnIneffective } from './wwconf-keys.ts';

export interface ExportPath {
  path: string;
  exportOptions: string;
}
export interface ImageMount {
  source: string;
  dest: string;
  readonly: boolean;
  copy: boolean;
}
export interface WulfConf {
  ipaddr: string;
  netmask: string;
  network: string;
  ipaddr6?: string;
  prefixlen6?: number;
  fqdn?: string;
  comment?: string;
  warewulf: {
    port: number;
    secure: boolean;
    updateInterval: number;
    autobuildOverlays: boolean;
    hostOverlay: boolean;
    /** HTTPS listener for the runtime overlay (the agent pins wulf's CA); default on */
    tls: boolean;
    tlsPort: number;
    /** overlays of a node served only to that node's address (default: as secure; off behind NAT) */
    secureAddress: boolean;
    /** `overlay render timeout` (seconds): wall-clock limit of one overlay archive build; unset: 10 s + 2 ms per node + 5 s */
    renderTimeoutMs?: number;
    /** `overlay include paths`: absolute controller files (a trailing / for a directory) include_file may read besides the config dir */
    includePaths: string[];
  };
  dhcp: {
    enabled: boolean;
    mode: 'full' | 'proxy' | 'off';
    rangeStart?: string;
    rangeEnd?: string;
    interface?: string;
    port: number;
    leaseTime: number;
  };
  tftp: { enabled: boolean; tftproot: string; port: number; ipxe: Record<string, string> };
  nfs: { enabled: boolean; exportPaths: ExportPath[] };
  ssh: { keyTypes: string[] };
  /** name servers and search domains for nodes (the resolv overlay); empty: the controller's own */
  dns: { servers: string[]; search: string[] };
  imageMounts: ImageMount[];
  /** where nodes and profiles live: "files" (nodes.conf, the default) or a postgres:// URL (src/store/) */
  store?: string;
  /**
   * not a wulf.conf key: the name overlay templates see as build.host. Unset: this host's name (one
   * controller). On a store several controllers share, the cluster's (src/overlays/data.ts clusterWide).
   */
  buildHost?: string;
  /**
   * not a wulf.conf key: the controllers a node's agent may fall back to after `ipaddr` (WWSERVERS): on
   * PostgreSQL the service address, then every registered controller's address by name; on the files none.
   */
  servers?: string[];
  revision: string;
}

const KNOWN_TOP = new Set([
  'WW_INTERNAL',
  'ipaddr',
  'netmask',
  'network',
  'ipaddr6',
  'prefixlen6',
  'fqdn',
  'comment',
  'warewulf',
  'dhcp',
  'tftp',
  'nfs',
  'ssh',
  'dns',
  'image mounts',
  'container mounts',
  'paths',
  'wwclient',
  'api',
  'syslog',
  'datastore',
  'ipv6net',
  'store',
]);

/** include_file's default allow list; private keys among them only when listed by full path. */
export const DEFAULT_HOST_ALLOW = [
  '/etc/passwd',
  '/etc/group',
  '/root/.ssh/',
  '/etc/localtime',
  '/etc/timezone',
  '/etc/hosts',
  '/etc/exports',
  '/etc/resolv.conf',
  '/run/systemd/resolve/resolv.conf',
  '/etc/munge/munge.key',
  '/etc/slurm/',
];

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const bool = (v: unknown, d: boolean) => (v === undefined || v === null ? d : v === true || v === 'true' || v === 'yes');
const words = (v: unknown): string[] =>
  (Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : String(v).split(/[\s,]+/)).filter((x) => x);
const num = (v: unknown, d: number) => (v === undefined || v === null || v === '' ? d : Number(v));

export function defaultWulfConf(): WulfConf {
  return parseWulfConf('', 'defaults');
}

export function parseWulfConf(text: string, file = 'wulf.conf', opts: { warn?: boolean } = {}): WulfConf {
  return parseWulfConfValue(obj(readYaml(text, file).value), file, Bun.hash(text).toString(16), opts);
}

/** The raw settings of wulf.conf as YAML gives them (wulf.conf's keys and spelling), and its text. */
export function readWulfConfRaw(paths: Paths): { top: Record<string, unknown>; text: string } {
  if (!existsSync(paths.wulfConf)) return { top: {}, text: '' };
  const text = readFileSync(paths.wulfConf, 'utf8');
  return { top: obj(readYaml(text, paths.wulfConf).value), text };
}

/** wulf.conf's parser on settings already read (the local file merged with the store's cluster-wide part). */
export function parseWulfConfValue(top: Record<string, unknown>, file: string, revision: string, opts: { warn?: boolean } = {}): WulfConf {
  for (const k of Object.keys(top)) if (!KNOWN_TOP.has(k)) throw new WulfError(`${file}: unknown key "${k}"`);
  if (opts.warn) warnIneffective(top, file);
  let ipaddr = String(top.ipaddr ?? '');
  let netmask = String(top.netmask ?? '');
  if (ipaddr.includes('/')) {
    const [ip, p] = ipaddr.split('/');
    ipaddr = ip!;
    netmask ||= prefixToMask(Number(p));
  }
  if (ipaddr && !isIPv4(ipaddr)) throw new WulfError(`${file}: ipaddr "${ipaddr}" is not an IPv4 address`);
  if (netmask && !isNetmask(netmask)) throw new WulfError(`${file}: netmask "${netmask}" is not a netmask`);
  const network = String(top.network ?? (ipaddr && netmask ? networkOf(ipaddr, netmask) : ''));
  const ww = obj(top.warewulf),
    dh = obj(top.dhcp),
    tf = obj(top.tftp),
    nf = obj(top.nfs),
    ss = obj(top.ssh),
    dn = obj(top.dns);
  const dnsServers = words(dn.servers ?? dn.nameservers);
  for (const a of dnsServers) if (!isIPv4(a) && !isIPv6(a)) throw new WulfError(`${file}: dns.servers "${a}" is not an IP address`);
  let ip6 = top.ipaddr6 ? String(top.ipaddr6) : top.ipv6net ? String(top.ipv6net) : undefined; // ipv6net: Warewulf 4.4's CIDR spelling
  let pl6 = top.prefixlen6 !== undefined ? Number(top.prefixlen6) : undefined;
  if (ip6?.includes('/')) {
    const [a, p] = ip6.split('/');
    ip6 = a;
    pl6 ??= Number(p);
  }
  const mode = String(dh.mode ?? (bool(dh.enabled, true) ? 'full' : 'off'));
  if (!['full', 'proxy', 'off'].includes(mode)) throw new WulfError(`${file}: dhcp.mode "${mode}" is not one of full, proxy, off`);
  for (const k of ['range start', 'range end'] as const) {
    if (dh[k] != null && !isIPv4(String(dh[k]))) throw new WulfError(`${file}: dhcp.${k} "${dh[k]}" is not an IPv4 address`);
  }
  if (dh['range start'] && dh['range end'] && parseIPv4(String(dh['range start']))! > parseIPv4(String(dh['range end']))!) {
    throw new WulfError(`${file}: dhcp range start ${dh['range start']} is after range end ${dh['range end']}`);
  }
  const port = num(ww.port, 9873);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new WulfError(`${file}: warewulf.port "${ww.port}" is not a port number`);
  const tlsPort = num(ww['tls port'], port + 1);
  if (!Number.isInteger(tlsPort) || tlsPort < 1 || tlsPort > 65535)
    throw new WulfError(`${file}: warewulf.tls port "${ww['tls port']}" is not a port number`);
  const secure = bool(ww.secure, false);
  const inc = ww['overlay include paths'];
  if (inc != null && (!Array.isArray(inc) || inc.some((x) => typeof x !== 'string' || !x.startsWith('/') || x.split('/').includes('..')))) {
    throw new WulfError(`${file}: warewulf.overlay include paths must be a list of absolute paths (a trailing / for a directory)`);
  }
  const rto = ww['overlay render timeout'];
  if (rto != null && !(Number(rto) > 0 && Number(rto) <= 3600))
    throw new WulfError(`${file}: warewulf.overlay render timeout "${rto}" is not a number of seconds (0 < s ≤ 3600)`);
  const mounts = (top['image mounts'] ??
    top['container mounts'] ?? [{ source: '/etc/resolv.conf', dest: '/etc/resolv.conf' }]) as unknown[];
  return {
    ipaddr,
    netmask,
    network,
    ipaddr6: ip6,
    prefixlen6: pl6,
    fqdn: top.fqdn ? String(top.fqdn) : undefined,
    comment: top.comment ? String(top.comment) : undefined,
    warewulf: {
      port,
      secure,
      updateInterval: num(ww['update interval'], 60) || 60,
      autobuildOverlays: bool(ww['autobuild overlays'], true),
      hostOverlay: bool(ww['host overlay'], true),
      tls: bool(ww.tls, true),
      tlsPort,
      secureAddress: bool(ww['secure address'], secure),
      renderTimeoutMs: rto != null ? Math.round(Number(rto) * 1000) : undefined,
      includePaths: Array.isArray(inc) ? inc.map(String) : DEFAULT_HOST_ALLOW,
    },
    dhcp: {
      enabled: mode !== 'off',
      mode: mode as WulfConf['dhcp']['mode'],
      rangeStart: dh['range start'] ? String(dh['range start']) : undefined,
      rangeEnd: dh['range end'] ? String(dh['range end']) : undefined,
      interface: dh.interface ? String(dh.interface) : undefined,
      port: num(dh.port, 67),
      leaseTime: num(dh['lease time'], 3600),
    },
    tftp: {
      enabled: bool(tf.enabled, true),
      tftproot: String(tf.tftproot ?? ''),
      port: num(tf.port, 69),
      ipxe: Object.fromEntries(Object.entries(obj(tf.ipxe)).map(([k, v]) => [k, String(v)])),
    },
    nfs: {
      enabled: bool(nf.enabled, true),
      exportPaths: [
        ...(Array.isArray(nf.exports) ? nf.exports : []).map((p) => ({ path: String(p), exportOptions: 'rw,sync,no_subtree_check' })), // Warewulf 4.3's list
        ...(Array.isArray(nf['export paths']) ? nf['export paths'] : []).map((e) => {
          const o = obj(e);
          return { path: String(o.path ?? ''), exportOptions: String(o['export options'] ?? 'rw,sync,no_subtree_check') };
        }),
      ],
    },
    ssh: { keyTypes: Array.isArray(ss['key types']) ? ss['key types'].map(String) : ['ed25519', 'ecdsa', 'rsa'] },
    dns: { servers: dnsServers, search: words(dn.search) },
    imageMounts: (Array.isArray(mounts) ? mounts : []).map((m) => {
      const o = obj(m);
      return {
        source: String(o.source ?? ''),
        dest: String(o.dest ?? o.source ?? ''),
        readonly: bool(o.readonly, false),
        copy: bool(o.copy, false),
      };
    }),
    store: top.store != null ? String(top.store) : undefined,
    revision,
  };
}

export function readWulfConf(paths: Paths): WulfConf {
  if (!existsSync(paths.wulfConf)) return defaultWulfConf();
  return parseWulfConf(readFileSync(paths.wulfConf, 'utf8'), paths.wulfConf, { warn: true });
}
