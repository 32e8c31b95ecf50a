// The one field table: every node/profile field once, with its YAML key (Warewulf 4.7 spelling),
// CLI flag, type, validation and help. CLI flags, validation, --help, JSON output, `node list -a`
// names, template docs and the TUI forms are all derived from it by plain functions.
import { isIPv4, isIPv6, isNetmask, normalizeMac } from '../lib/ip.ts';

export type Kind = 'string' | 'bool' | 'ipv4' | 'ipv6' | 'mac' | 'netmask' | 'uint' | 'list' | 'map' | 'yaml';
/** Where a field lives: on the node itself, or inside one network device / disk / partition / filesystem. */
export type Scope = 'node' | 'netdev' | 'disk' | 'partition' | 'filesystem';

export interface Field {
  scope: Scope;
  path: string[]; // camelCase path inside NodeData (or inside the sub-entity for other scopes)
  yaml: string[]; // YAML key path, Warewulf spelling
  yamlAliases?: string[][]; // older spellings accepted on read (e.g. `container name`)
  flag?: string; // long CLI flag (for maps: the stem, giving --<stem>add / --<stem>del)
  short?: string;
  flagAliases?: string[]; // deprecated long flags still accepted
  kind: Kind;
  title: string; // Warewulf-style name shown by `node list -a`
  help: string;
  nodeOnly?: boolean; // not on profiles (discoverable, asset key)
  noInherit?: boolean; // not taken from profiles (comment)
  enumValues?: string[];
  min?: number; // uint: the smallest and largest value accepted
  max?: number;
}

export interface NetDev {
  type?: string;
  onboot?: string;
  device?: string;
  hwaddr?: string;
  ipaddr?: string;
  netmask?: string;
  gateway?: string;
  ipaddr6?: string;
  prefixlen6?: string;
  gateway6?: string;
  mtu?: string;
  tags?: Record<string, string>;
}
export interface Ipmi {
  username?: string;
  password?: string;
  ipaddr?: string;
  gateway?: string;
  netmask?: string;
  port?: string;
  interface?: string;
  escapechar?: string;
  write?: string;
  template?: string;
  driver?: string;
  insecure?: string;
  tags?: Record<string, string>;
}
export interface Partition {
  number?: string;
  sizeMib?: string;
  startMib?: string;
  typeGuid?: string;
  guid?: string;
  wipePartitionEntry?: string;
  shouldExist?: string;
  resize?: string;
}
export interface Disk {
  wipeTable?: string;
  partitions?: Record<string, Partition>;
}
export interface Filesystem {
  format?: string;
  path?: string;
  wipeFilesystem?: string;
  label?: string;
  uuid?: string;
  options?: string[];
  mountOptions?: string;
}
export interface NodeData {
  profiles?: string[];
  comment?: string;
  clusterName?: string;
  imageName?: string;
  ipxeTemplate?: string;
  runtimeOverlay?: string[];
  systemOverlay?: string[];
  kernel?: { version?: string; args?: string[] };
  init?: string;
  root?: string;
  primaryNetwork?: string;
  tags?: Record<string, string>;
  resources?: Record<string, unknown>;
  ipmi?: Ipmi;
  networkDevices?: Record<string, NetDev>;
  disks?: Record<string, Disk>;
  filesystems?: Record<string, Filesystem>;
  discoverable?: string;
  assetKey?: string;
}

/** Collections of sub-entities: camel key in the parent, YAML key, and the scope of their fields. */
export const collections = [
  {
    scope: 'netdev' as const,
    parent: 'node' as const,
    key: 'networkDevices',
    yaml: 'network devices',
    title: 'NetDevs',
    nameFlag: 'netname',
    delFlag: 'netdel',
    defaultName: 'default',
  },
  {
    scope: 'disk' as const,
    parent: 'node' as const,
    key: 'disks',
    yaml: 'disks',
    title: 'Disks',
    nameFlag: 'diskname',
    delFlag: 'diskdel',
  },
  {
    scope: 'partition' as const,
    parent: 'disk' as const,
    key: 'partitions',
    yaml: 'partitions',
    title: 'Partitions',
    nameFlag: 'partname',
    delFlag: 'partdel',
  },
  {
    scope: 'filesystem' as const,
    parent: 'node' as const,
    key: 'filesystems',
    yaml: 'filesystems',
    title: 'FileSystems',
    nameFlag: 'fsname',
    delFlag: 'fsdel',
  },
];

const f = (scope: Scope, path: string, yaml: string, kind: Kind, title: string, help: string, extra: Partial<Field> = {}): Field => ({
  scope,
  path: path.split('.'),
  yaml: yaml.split('.'),
  kind,
  title,
  help,
  ...extra,
});

/** Filesystem formats the ignition overlay makes (with mkfs.<format> or mkswap from the image). */
export const FS_FORMATS = ['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat', 'swap'];

export const fields: Field[] = [
  f('node', 'profiles', 'profiles', 'list', 'Profiles', 'profiles, in order; ~name removes an inherited profile', {
    flag: 'profile',
    short: 'P',
  }),
  f('node', 'comment', 'comment', 'string', 'Comment', 'a free-form comment (not inherited)', { flag: 'comment', noInherit: true }),
  f('node', 'clusterName', 'cluster name', 'string', 'ClusterName', 'name of the cluster the node belongs to', {
    flag: 'cluster',
    short: 'c',
  }),
  f('node', 'imageName', 'image name', 'string', 'ImageName', 'the OCI image the node boots', {
    flag: 'image',
    flagAliases: ['container'],
    short: 'C',
    yamlAliases: [['container name']],
  }),
  f('node', 'ipxeTemplate', 'ipxe template', 'string', 'Ipxe', 'iPXE script template (default, localdisk, or a name in ipxe/)', {
    flag: 'ipxe',
  }),
  f('node', 'runtimeOverlay', 'runtime overlay', 'list', 'RuntimeOverlay', 'overlays refreshed every update interval by the node agent', {
    flag: 'runtime-overlays',
    short: 'R',
    flagAliases: ['runtime'],
  }),
  f('node', 'systemOverlay', 'system overlay', 'list', 'SystemOverlay', 'overlays applied at boot before /sbin/init', {
    flag: 'system-overlays',
    short: 'O',
    flagAliases: ['wwinit'],
  }),
  f('node', 'kernel.version', 'kernel.version', 'string', 'Kernel.Version', 'kernel version prefix, or a path inside the image', {
    flag: 'kernelversion',
    yamlAliases: [['kernel', 'override']],
  }),
  f(
    'node',
    'kernel.args',
    'kernel.args',
    'list',
    'Kernel.Args',
    'kernel command line arguments (comma separated; ~arg removes an inherited one)',
    { flag: 'kernelargs', short: 'A' },
  ),
  f('node', 'init', 'init', 'string', 'Init', 'the init program started after wwinit', { flag: 'init', short: 'i' }),
  f('node', 'root', 'root', 'string', 'Root', 'root filesystem: initramfs, tmpfs, ramfs or a block device', { flag: 'root' }),
  f('node', 'primaryNetwork', 'primary network', 'string', 'PrimaryNetDev', 'the network device that carries the node name', {
    flag: 'primarynet',
    short: 'p',
  }),
  f('node', 'tags', 'tags', 'map', 'Tags', 'free-form key=value tags', { flag: 'tag' }),
  f('node', 'resources', 'resources', 'yaml', 'Resources', 'structured resources for templates (fstab, localusers, ...); edit only'),
  f('node', 'ipmi.username', 'ipmi.username', 'string', 'Ipmi.UserName', 'BMC user name', { flag: 'ipmiuser' }),
  f('node', 'ipmi.password', 'ipmi.password', 'string', 'Ipmi.Password', 'BMC password', { flag: 'ipmipass' }),
  f('node', 'ipmi.ipaddr', 'ipmi.ipaddr', 'ipv4', 'Ipmi.Ipaddr', 'BMC IPv4 address (auto-incremented by node add)', { flag: 'ipmiaddr' }),
  f('node', 'ipmi.gateway', 'ipmi.gateway', 'ipv4', 'Ipmi.Gateway', 'BMC gateway', { flag: 'ipmigateway' }),
  f('node', 'ipmi.netmask', 'ipmi.netmask', 'netmask', 'Ipmi.Netmask', 'BMC netmask', { flag: 'ipminetmask' }),
  f('node', 'ipmi.port', 'ipmi.port', 'uint', 'Ipmi.Port', 'BMC port (IPMI 623, Redfish 443)', { flag: 'ipmiport' }),
  f('node', 'ipmi.interface', 'ipmi.interface', 'string', 'Ipmi.Interface', 'ipmitool interface (lan, lanplus)', { flag: 'ipmiinterface' }),
  f('node', 'ipmi.escapechar', 'ipmi.escapechar', 'string', 'Ipmi.EscapeChar', 'serial-over-LAN escape character', {
    flag: 'ipmiescapechar',
  }),
  f('node', 'ipmi.write', 'ipmi.write', 'bool', 'Ipmi.Write', 'write the IPMI settings to the BMC at boot', { flag: 'ipmiwrite' }),
  f('node', 'ipmi.template', 'ipmi.template', 'string', 'Ipmi.Template', 'ipmitool command template', { flag: 'ipmitemplate' }),
  f('node', 'ipmi.driver', 'ipmi.driver', 'string', 'Ipmi.Driver', 'power driver: ipmitool or redfish', {
    flag: 'ipmidriver',
    enumValues: ['ipmitool', 'redfish'],
  }),
  f('node', 'ipmi.insecure', 'ipmi.insecure', 'bool', 'Ipmi.Insecure', 'skip TLS certificate checks for Redfish', { flag: 'ipmiinsecure' }),
  f('node', 'ipmi.tags', 'ipmi.tags', 'map', 'Ipmi.Tags', 'BMC tags (vlan, bit-rate, system)', { flag: 'ipmitag' }),
  f('netdev', 'type', 'type', 'string', 'Type', 'device type: ethernet, infiniband, bond, vlan (bond members: tag master)', {
    flag: 'type',
    short: 'T',
  }),
  f('netdev', 'onboot', 'onboot', 'bool', 'OnBoot', 'bring the device up at boot (default true)', { flag: 'onboot' }),
  f('netdev', 'device', 'device', 'string', 'Device', 'kernel interface name', { flag: 'netdev', short: 'N' }),
  f('netdev', 'hwaddr', 'hwaddr', 'mac', 'Hwaddr', "MAC address: the node's identity when it boots", { flag: 'hwaddr', short: 'H' }),
  f('netdev', 'ipaddr', 'ipaddr', 'ipv4', 'Ipaddr', 'IPv4 address (auto-incremented by node add)', { flag: 'ipaddr', short: 'I' }),
  f('netdev', 'netmask', 'netmask', 'netmask', 'Netmask', 'IPv4 netmask', { flag: 'netmask', short: 'M' }),
  f('netdev', 'gateway', 'gateway', 'ipv4', 'Gateway', 'IPv4 gateway', { flag: 'gateway', short: 'G' }),
  f('netdev', 'ipaddr6', 'ip6addr', 'ipv6', 'Ipaddr6', 'IPv6 address', { flag: 'ipaddr6', yamlAliases: [['ipaddr6']] }),
  f('netdev', 'prefixlen6', 'prefixlen6', 'uint', 'PrefixLen6', 'IPv6 prefix length', { flag: 'prefixlen6', max: 128 }),
  f('netdev', 'gateway6', 'gateway6', 'ipv6', 'Gateway6', 'IPv6 gateway', { flag: 'gateway6' }),
  f('netdev', 'mtu', 'mtu', 'uint', 'MTU', 'MTU in bytes (68-65535)', { flag: 'mtu', min: 68, max: 65535 }),
  f(
    'netdev',
    'tags',
    'tags',
    'map',
    'Tags',
    "network tags, Warewulf's names (master, mode, miimon, vlan_id, parent_device, route1, DNS1, ...)",
    { flag: 'nettag' },
  ),
  f('disk', 'wipeTable', 'wipe_table', 'bool', 'WipeTable', 'wipe the partition table', { flag: 'diskwipe' }),
  f('partition', 'number', 'number', 'uint', 'Number', 'partition number', { flag: 'partnumber' }),
  f('partition', 'sizeMib', 'size_mib', 'uint', 'SizeMiB', 'partition size in MiB', { flag: 'partsize' }),
  f('partition', 'startMib', 'start_mib', 'uint', 'StartMiB', 'partition start in MiB', { flag: 'partstart' }),
  f('partition', 'typeGuid', 'type_guid', 'string', 'TypeGuid', 'partition type GUID', { flag: 'parttype' }),
  f('partition', 'guid', 'guid', 'string', 'Guid', 'partition GUID', { flag: 'partguid' }),
  f('partition', 'wipePartitionEntry', 'wipe_partition_entry', 'bool', 'WipePartitionEntry', 'wipe the partition entry', {
    flag: 'partwipe',
  }),
  f('partition', 'shouldExist', 'should_exist', 'bool', 'ShouldExist', 'create the partition if missing', { flag: 'partcreate' }),
  f('partition', 'resize', 'resize', 'bool', 'Resize', 'resize the partition', { flag: 'partresize' }),
  f('filesystem', 'format', 'format', 'string', 'Format', 'filesystem type (ext4, xfs, btrfs, swap, ...: what the image can make)', {
    flag: 'fsformat',
    enumValues: FS_FORMATS,
  }),
  f('filesystem', 'path', 'path', 'string', 'Path', 'mount point: an absolute path (swap: "swap" or none)', { flag: 'fspath' }),
  f('filesystem', 'wipeFilesystem', 'wipe_filesystem', 'bool', 'WipeFileSystem', 'wipe the filesystem', { flag: 'fswipe' }),
  f('filesystem', 'label', 'label', 'string', 'Label', 'filesystem label', { flag: 'fslabel' }),
  f('filesystem', 'uuid', 'uuid', 'string', 'Uuid', 'filesystem UUID', { flag: 'fsuuid' }),
  f('filesystem', 'options', 'options', 'list', 'Options', 'mkfs options', { flag: 'fsoptions' }),
  f('filesystem', 'mountOptions', 'mount_options', 'string', 'MountOptions', 'mount options', { flag: 'fsmountoptions' }),
  f('node', 'discoverable', 'discoverable', 'bool', 'Discoverable', 'bind the next unknown MAC that boots to this node', {
    flag: 'discoverable',
    short: 'e',
    nodeOnly: true,
  }),
  f('node', 'assetKey', 'asset key', 'string', 'AssetKey', 'the chassis asset tag the node must present', {
    flag: 'asset',
    nodeOnly: true,
  }),
];

/**
 * The network tags (a netdev's `tags:`, `--nettagadd k=v`) that the network overlays read, spelled as
 * Warewulf spells them. Bonds: type bond with mode/miimon/updelay/downdelay/xmit_hash_policy; a member
 * is any NIC whose `master` names the bond (its netdev name or interface name). VLANs: type vlan with
 * vlan_id and parent_device (a netdev name or interface name of the same node). Routes: route<N> =
 * "destination/prefix,gateway". Other tags are kept as they are and given to templates.
 */
export interface NetTag {
  key: string;
  help: string;
  kind: 'uint' | 'string' | 'mac' | 'route';
  enumValues?: string[];
  min?: number;
  max?: number;
  legacy?: string;
}
export const BOND_MODES = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'];
export const netTags: NetTag[] = [
  { key: 'master', kind: 'string', help: 'bond member: the bond (netdev or interface name) this NIC belongs to' },
  {
    key: 'mode',
    kind: 'string',
    help: 'bond mode (default balance-rr, or 0-6)',
    enumValues: [...BOND_MODES, '0', '1', '2', '3', '4', '5', '6'],
    legacy: 'bond_mode',
  },
  { key: 'miimon', kind: 'uint', help: 'bond: link check interval in ms (default 100)' },
  { key: 'updelay', kind: 'uint', help: 'bond: ms to wait before using a link that came up' },
  { key: 'downdelay', kind: 'uint', help: 'bond: ms to wait before dropping a link that went down' },
  {
    key: 'xmit_hash_policy',
    kind: 'string',
    help: 'bond: transmit hash policy (balance-xor, 802.3ad, balance-tlb)',
    enumValues: ['layer2', 'layer2+3', 'layer3+4', 'encap2+3', 'encap3+4', 'vlan+srcmac'],
  },
  { key: 'cloned-mac-address', kind: 'mac', help: 'bond or NIC: the MAC address the device uses' },
  { key: 'vlan_id', kind: 'uint', help: 'VLAN id (1-4094)', min: 1, max: 4094 },
  { key: 'parent_device', kind: 'string', help: 'VLAN: the device it is on (netdev or interface name)', legacy: 'parent' },
  { key: 'type', kind: 'string', help: 'device type when the type field cannot say it (bond, infiniband, ethernet)' },
  {
    key: 'ipv6_method',
    kind: 'string',
    help: 'NetworkManager: IPv6 method of a device without ipaddr6 (default ignore)',
    enumValues: ['auto', 'dhcp', 'link-local', 'ignore', 'disabled'],
  },
  {
    key: 'transport_mode',
    kind: 'string',
    help: 'InfiniBand (wulf): IPoIB mode, datagram (default) or connected',
    enumValues: ['datagram', 'connected'],
  },
  { key: 'route', kind: 'route', help: 'route<N>: "destination/prefix,gateway" (IPv4 or IPv6; the gateway may be left out)' },
];
/** The known tag a key is (route1, route2… are `route`; an older wulf spelling such as bond_mode is its tag). */
export function netTagOf(key: string): NetTag | undefined {
  if (/^route\d*$/.test(key)) return netTags.find((t) => t.key === 'route');
  return netTags.find((t) => t.key === key || t.legacy === key);
}

/** Check one network tag's value; undefined when fine (or not a tag wulf reads). */
export function checkNetTag(key: string, raw: string): string | undefined {
  const t = netTagOf(key);
  if (!t) return undefined;
  const v = raw.trim();
  if (t.kind === 'uint') {
    if (!/^\d+$/.test(v)) return `tag ${key}: "${raw}" is not a whole number`;
    const n = Number(v);
    if ((t.min !== undefined && n < t.min) || (t.max !== undefined && n > t.max))
      return `tag ${key}: ${v} is not within ${t.min ?? 0}-${t.max}`;
  } else if (t.kind === 'mac') {
    if (!normalizeMac(v)) return `tag ${key}: "${raw}" is not a MAC address`;
  } else if (t.kind === 'route') {
    const [dest = '', gw, ...rest] = v.split(',').map((x) => x.trim());
    const [addr = '', plen, ...more] = dest.split('/');
    const six = addr.includes(':');
    const okAddr = dest === 'default' || (six ? isIPv6(addr) : isIPv4(addr));
    const okLen = plen === undefined || (/^\d+$/.test(plen) && Number(plen) <= (six ? 128 : 32));
    if (!okAddr || !okLen || more.length || rest.length) return `tag ${key}: "${raw}" is not "destination/prefix,gateway"`;
    if (gw && !(six ? isIPv6(gw) : isIPv4(gw))) return `tag ${key}: gateway "${gw}" is not an ${six ? 'IPv6' : 'IPv4'} address`;
  } else if (t.enumValues && !t.enumValues.includes(v)) {
    return `tag ${key}: "${raw}" is not one of ${t.enumValues.join(', ')}`;
  } else if (!v || /[\s"'\\]/.test(v)) {
    return `tag ${key}: "${raw}" is not a single word`;
  }
  return undefined;
}

export const UNSET_WORDS = new Set(['UNSET', 'UNDEF', 'unset', 'undef', 'delete', '--', 'nil']);
const TRUE = new Set(['true', 'yes', 'y', '1', 'on']);
const FALSE = new Set(['false', 'no', 'n', '0', 'off']);

/** Normalise and check one scalar value; returns the stored string or an error text. */
export function checkValue(field: Field, raw: string): { value: string } | { error: string } {
  const v = raw.trim();
  switch (field.kind) {
    case 'bool':
      if (TRUE.has(v.toLowerCase())) return { value: 'true' };
      if (FALSE.has(v.toLowerCase())) return { value: 'false' };
      return { error: `"${raw}" is not a boolean (use true or false)` };
    case 'ipv4':
      return isIPv4(v) ? { value: v } : { error: `"${raw}" is not an IPv4 address` };
    case 'netmask':
      return isNetmask(v) ? { value: v } : { error: `"${raw}" is not a netmask (e.g. 255.255.255.0)` };
    case 'ipv6': {
      const [a, p, ...more] = v.split('/');
      if (!isIPv6(a!) || more.length) return { error: `"${raw}" is not an IPv6 address` };
      if (p !== undefined && !(/^\d+$/.test(p) && Number(p) <= 128)) return { error: `"${raw}": the prefix length /${p} is not 0-128` };
      return { value: v };
    }
    case 'mac': {
      const m = normalizeMac(v);
      return m ? { value: m } : { error: `"${raw}" is not a MAC address` };
    }
    case 'uint': {
      if (!/^\d+$/.test(v) || Number(v) > 2 ** 32) return { error: `"${raw}" is not a whole number` };
      const n = Number(v);
      if ((field.min !== undefined && n < field.min) || (field.max !== undefined && n > field.max))
        return { error: `${n} is not within ${field.min ?? 0}-${field.max ?? 2 ** 32}` };
      return { value: String(n) };
    }
    default:
      if (field.enumValues && !field.enumValues.includes(v)) return { error: `"${raw}" is not one of ${field.enumValues.join(', ')}` };
      if (/[\n\r\0]/.test(v)) return { error: 'value contains a line break' };
      return { value: v };
  }
}

const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const PART_LABEL = /^[A-Za-z0-9._-]{1,36}$/; // a GPT name, also a /dev/disk/by-partlabel/ link
const DEVICE = /^\/dev\/[^\s]+$/;

/**
 * What the disk fields must hold beyond each value's own kind, checked on every write: disks and
 * filesystems are named by their block device, a partition by its GPT label; GUIDs are GUIDs; a
 * mount point is an absolute path (swap takes none, or Warewulf's "swap"). Returns one line, or undefined.
 */
export function checkStorage(d: NodeData): string | undefined {
  for (const [dev, disk] of Object.entries(d.disks ?? {})) {
    if (!DEVICE.test(dev)) return `Disks[${dev}] is not a block device path (/dev/...)`;
    const numbers = new Map<string, string>();
    for (const [label, p] of Object.entries(disk?.partitions ?? {})) {
      const t = `Disks[${dev}].Partitions[${label}]`;
      const n = p?.number && Number(p.number) ? String(Number(p.number)) : '';
      if (n && numbers.has(n)) return `Disks[${dev}]: partitions ${numbers.get(n)} and ${label} both have number ${n}`;
      if (n) numbers.set(n, label);
      if (!PART_LABEL.test(label)) return `${t}: a partition name is its GPT label: 1-36 letters, digits, ".", "_" or "-"`;
      if (p?.typeGuid && !GUID.test(p.typeGuid)) return `${t}.TypeGuid "${p.typeGuid}" is not a GUID`;
      if (p?.guid && !GUID.test(p.guid)) return `${t}.Guid "${p.guid}" is not a GUID`;
    }
  }
  const mounts = new Map<string, string>();
  for (const [dev, fs] of Object.entries(d.filesystems ?? {})) {
    const t = `FileSystems[${dev}]`;
    if (fs?.path?.startsWith('/') && fs.format !== 'swap') {
      if (mounts.has(fs.path)) return `FileSystems[${mounts.get(fs.path)}] and ${t} both mount on ${fs.path}`;
      mounts.set(fs.path, dev);
    }
    if (!DEVICE.test(dev))
      return `${t} is not a block device path (/dev/..., or --fsname equal to --partname for /dev/disk/by-partlabel/NAME)`;
    const path = fs?.path;
    if (path && !(path === 'swap' || path === 'none' || (path.startsWith('/') && !/\s/.test(path) && !path.split('/').includes('..')))) {
      return `${t}.Path "${path}" is not an absolute path${fs?.format === 'swap' ? ' (or "swap")' : ''}`;
    }
    if (fs?.uuid && fs.format !== 'vfat' && !GUID.test(fs.uuid)) return `${t}.Uuid "${fs.uuid}" is not a UUID`;
  }
  return undefined;
}

export function fieldsOf(scope: Scope): Field[] {
  return fields.filter((x) => x.scope === scope);
}

/** Get/set a value at a camelCase path inside a plain object. */
export function getPath(obj: unknown, path: string[]): unknown {
  let cur = obj as Record<string, unknown> | undefined;
  for (const k of path) {
    if (cur == null || typeof cur !== 'object') return undefined;
    cur = cur[k] as Record<string, unknown>;
  }
  return cur;
}
export function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (cur[k] == null || typeof cur[k] !== 'object') cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}
/** Drop empty objects/lists/strings so output and comparisons see only set fields. */
export function prune<T>(v: T): T | undefined {
  if (Array.isArray(v)) return (v.length ? v : undefined) as T | undefined;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = prune(x);
      if (p !== undefined) out[k] = p;
    }
    return (Object.keys(out).length ? out : undefined) as T | undefined;
  }
  return v === '' || v === null ? undefined : v;
}
