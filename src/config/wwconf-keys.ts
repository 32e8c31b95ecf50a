// The fate of every warewulf.conf key in wulf: honoured, upgraded (an older spelling read as the
// current one), or without effect — those are named once per process, one line per key, when a
// file sets them to something wulf does not do. `wulf import-warewulf` leaves them out of the
// wulf.conf it writes and lists them as lines it could not carry over. Pure: values in, notes out.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const truthy = (v: unknown) => v === true || /^(1|t|true|yes|y|on)$/i.test(String(v ?? ''));
const falsy = (v: unknown) => v === false || /^(0|f|false|no|n|off)$/i.test(String(v ?? ''));

export type Fate = 'honoured' | 'upgraded' | 'no effect' | 'meta';
export interface KeyFate {
  key: string; // dotted path, Warewulf spelling
  fate: Fate;
  why: string;
  /** for 'no effect': is this value one wulf's behaviour already matches (then nothing is said)? */
  harmless?: (v: unknown) => boolean;
}

const k = (key: string, fate: Fate, why: string, harmless?: (v: unknown) => boolean): KeyFate => ({ key, fate, why, harmless });

export const WWCONF_KEYS: KeyFate[] = [
  k('WW_INTERNAL', 'meta', 'the file format version; not needed'),
  k('comment', 'honoured', ''),
  k('ipaddr', 'honoured', ''),
  k('netmask', 'honoured', ''),
  k('network', 'honoured', ''),
  k('ipaddr6', 'honoured', ''),
  k('prefixlen6', 'honoured', ''),
  k('fqdn', 'honoured', ''),
  k('ipv6net', 'upgraded', 'read as ipaddr6 and prefixlen6'),
  k('warewulf.port', 'honoured', ''),
  k('warewulf.tls port', 'honoured', ''),
  k('warewulf.secure', 'honoured', ''),
  k('warewulf.tls', 'honoured', ''),
  k('warewulf.update interval', 'honoured', ''),
  k('warewulf.secure files', 'no effect', 'wulf has no /files/ route', () => false),
  k('warewulf.autobuild overlays', 'no effect', "wulf always rebuilds a node's overlays when their inputs change (content hashes)", truthy),
  k(
    'warewulf.host overlay',
    'honoured',
    "false: 'wulf overlay build' leaves the controller's /etc/hosts and /etc/exports alone (--host writes them)",
  ),
  k('warewulf.grubboot', 'no effect', 'wulf boots through iPXE only (no shim/GRUB)', falsy),
  k('warewulf.systemd name', 'no effect', "wulf runs as wulf.service ('wulf configure systemd')", () => false),
  k('warewulf.syslog', 'upgraded', 'obsolete since Warewulf 4.6 (logs go to stdout/stderr)'),
  k('warewulf.datastore', 'upgraded', 'obsolete since Warewulf 4.5 (paths.datadir)'),
  k('dhcp.enabled', 'honoured', 'false: dhcp.mode off'),
  k('dhcp.template', 'no effect', 'wulf answers known nodes with their nodes.conf address either way', (v) =>
    ['default', 'static', ''].includes(String(v ?? '')),
  ),
  k('dhcp.range start', 'honoured', ''),
  k('dhcp.range end', 'honoured', ''),
  k('dhcp.range6 start', 'no effect', 'wulf gives IPv6 no DHCPv6 range (router advertisements only)', () => false),
  k('dhcp.range6 end', 'no effect', 'wulf gives IPv6 no DHCPv6 range (router advertisements only)', () => false),
  k('dhcp.systemd name', 'no effect', 'wulf serve is the DHCP server', () => false),
  k('tftp.enabled', 'honoured', ''),
  k('tftp.tftproot', 'honoured', 'TFTP also serves <tftproot>/warewulf/ and <tftproot>'),
  k('tftp.systemd name', 'no effect', 'wulf serve is the TFTP server', () => false),
  k('tftp.ipxe', 'honoured', 'the build offered per DHCP architecture, when wulf can serve that file (else its own, said once)'),
  k('nfs.enabled', 'honoured', 'the host overlay writes /etc/exports only when true'),
  k('nfs.export paths', 'honoured', 'path and export options'),
  k('nfs.exports', 'upgraded', 'read as export paths'),
  k('nfs.systemd name', 'no effect', "wulf does not restart the NFS server (run 'exportfs -ra')", () => false),
  k('ssh.key types', 'honoured', ''),
  k('image mounts', 'honoured', 'source, dest, readonly, copy'),
  k('container mounts', 'upgraded', 'read as image mounts'),
  k(
    'paths',
    'no effect',
    "wulf's paths come from --root, WULF_ROOT or a wulf-data/ folder ('wulf import-warewulf' reads them to find the site)",
    () => false,
  ),
  k('wwclient.port', 'no effect', 'the wulf agent picks a privileged source port itself', (v) => Number(v ?? 0) === 0),
  k('api', 'no effect', 'wulf has no REST API (the status routes are read-only)', (v) => !(isObj(v) && truthy(v.enabled))),
];

const BY_KEY = new Map(WWCONF_KEYS.map((f) => [f.key, f]));

export interface KeyNote {
  key: string;
  fate: Fate;
  why: string;
}

/** Keys of a parsed warewulf.conf/wulf.conf with no effect in wulf, set to a value wulf does not already match. */
export function ineffectiveKeys(top: unknown): KeyNote[] {
  const out: KeyNote[] = [];
  if (!isObj(top)) return out;
  const check = (path: string, v: unknown) => {
    const f = BY_KEY.get(path);
    if (!f) return false;
    if ((f.fate === 'no effect' && !(f.harmless?.(v) ?? false)) || (f.fate === 'upgraded' && path.startsWith('warewulf.')))
      out.push({ key: path, fate: f.fate, why: f.why });
    return true;
  };
  for (const [key, v] of Object.entries(top)) {
    if (check(key, v) || !isObj(v)) continue;
    for (const [sk, sv] of Object.entries(v)) check(`${key}.${sk}`, sv);
  }
  // per-export keys older files have
  const nfs = isObj(top.nfs) ? top.nfs : undefined;
  for (const e of Array.isArray(nfs?.['export paths']) ? (nfs['export paths'] as unknown[]) : []) {
    if (isObj(e) && (e.mount !== undefined || e['mount options'] !== undefined)) {
      out.push({
        key: 'nfs.export paths[].mount',
        fate: 'no effect',
        why: "node mounts are fstab resources in nodes.conf ('wulf upgrade nodes --with-warewulfconf FILE' moves them there)",
      });
      break;
    }
  }
  return out;
}

const warned = new Set<string>();
/** Where the once-per-key lines go (stderr; tests swap it). */
export const keyNotice = {
  write: (line: string) => {
    process.stderr.write(line + '\n');
  },
};

/** Say once per process, per key, that a key set in `file` has no effect. */
export function warnIneffective(top: unknown, file: string): void {
  for (const n of ineffectiveKeys(top)) {
    if (warned.has(n.key)) continue;
    warned.add(n.key);
    keyNotice.write(`wulf: note: ${file}: ${n.key} has no effect in wulf: ${n.why}`);
  }
}
