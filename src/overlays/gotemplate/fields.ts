// Warewulf's template data names → wulf's overlay template data (src/overlays/data.ts). Only the
// fields listed here convert; any other is reported by the converter, never guessed.

export type Ty =
  | { k: 'root' } // the template's dot: server/build fields plus the node's own
  | { k: 'node' } // a merged node (an .AllNodes entry, .ThisNode)
  | { k: 'struct'; fields: Record<string, Field> }
  | { k: 'netdevs' } // map of netdev name → netdev: Liquid `netdev` (by name) and `netdevs` (sorted list)
  | { k: 'netdev' }
  | { k: 'map'; of: Ty } // free-form map (tags; resources)
  | { k: 'list'; of: Ty }
  | { k: 'str' }
  | { k: 'bool'; methods?: string[] }
  | { k: 'num' }
  | { k: 'any' };

/** Liquid key relative to the value's own path, (leading '=') an absolute path from the data root, or (leading '"') a constant string. */
export type Field = [string, Ty];

export const STR: Ty = { k: 'str' };
export const BOOL: Ty = { k: 'bool' };
export const NUM: Ty = { k: 'num' };
export const ANY: Ty = { k: 'any' };
export const NODE: Ty = { k: 'node' };
export const NETDEV: Ty = { k: 'netdev' };
const TAGS: Ty = { k: 'map', of: STR };
const list = (of: Ty): Ty => ({ k: 'list', of });

export const NETDEV_FIELDS: Record<string, Field> = {
  // wulf's onboot already reads as true when unset: Warewulf's OnBoot.BoolDefaultTrue
  Type: ['type', STR],
  OnBoot: ['onboot', { k: 'bool', methods: ['BoolDefaultTrue'] }],
  Device: ['device', STR],
  Hwaddr: ['hwaddr', STR],
  Ipaddr: ['ipaddr', STR],
  Netmask: ['netmask', STR],
  Gateway: ['gateway', STR],
  Ipaddr6: ['ipaddr6', STR],
  PrefixLen6: ['prefixlen6', STR],
  Gateway6: ['gateway6', STR],
  MTU: ['mtu', STR],
  Tags: ['tags', TAGS],
  Primary: ['primary', BOOL],
  IpCIDR: ['ipCIDR', STR],
  IpCIDR6: ['ipCIDR6', STR],
};

export const NODE_FIELDS: Record<string, Field> = {
  Id: ['id', STR],
  Comment: ['comment', STR],
  ClusterName: ['clusterName', STR],
  ImageName: ['imageName', STR],
  Ipxe: ['ipxeTemplate', STR],
  RuntimeOverlay: ['runtimeOverlay', list(STR)],
  SystemOverlay: ['systemOverlay', list(STR)],
  Profiles: ['profiles', list(STR)],
  Init: ['init', STR],
  Root: ['root', STR],
  PrimaryNetDev: ['primaryNetdev', STR],
  AssetKey: ['assetKey', STR],
  Discoverable: ['discoverable', BOOL],
  Tags: ['tags', TAGS],
  NetDevs: ['', { k: 'netdevs' }],
  Resources: ['resources', { k: 'map', of: ANY }],
  Kernel: ['kernel', { k: 'struct', fields: { Version: ['version', STR], Args: ['args', list(STR)] } }],
  Ipmi: [
    'ipmi',
    {
      k: 'struct',
      fields: {
        UserName: ['username', STR],
        Password: ['password', STR],
        Ipaddr: ['ipaddr', STR],
        Gateway: ['gateway', STR],
        Netmask: ['netmask', STR],
        Port: ['port', STR],
        Interface: ['interface', STR],
        EscapeChar: ['escapechar', STR],
        Write: ['write', { k: 'bool', methods: ['Bool', 'BoolDefaultFalse'] }],
        Template: ['template', STR],
        Tags: ['tags', TAGS],
      },
    },
  ],
};

export const ROOT_FIELDS: Record<string, Field> = {
  Id: ['id', STR],
  Hostname: ['hostname', STR],
  Container: ['imageName', STR],
  ContainerName: ['imageName', STR],
  BuildHost: ['=build.host', STR],
  BuildTime: ['=build.time', STR],
  BuildTimeUnix: ['=build.unix', STR],
  BuildSource: ['=build.source', STR],
  Overlay: ['=build.overlay', STR],
  Ipaddr: ['=server.ipaddr', STR],
  IpCIDR: ['=server.ipCIDR', STR],
  Netmask: ['=server.netmask', STR],
  Network: ['=server.network', STR],
  NetworkCIDR: ['=server.networkCIDR', STR],
  Ipaddr6: ['=server.ipaddr6', STR],
  PrefixLen6: ['=server.prefixlen6', STR],
  IpCIDR6: ['=server.ipCIDR6', STR],
  AllNodes: ['=allNodes', list(NODE)],
  ThisNode: ['=', NODE],
  Ssh: ['=', { k: 'struct', fields: { KeyTypes: ['=server.ssh.keyTypes', list(STR)] } }],
  Warewulf: [
    '=',
    {
      k: 'struct',
      fields: { Port: ['=server.port', STR], Secure: ['=server.secure', BOOL], UpdateInterval: ['=server.updateInterval', STR] },
    },
  ],
  Dhcp: [
    '=',
    {
      k: 'struct',
      fields: {
        Enabled: ['=server.dhcp.enabled', BOOL],
        RangeStart: ['=server.dhcp.rangeStart', STR],
        RangeEnd: ['=server.dhcp.rangeEnd', STR],
      },
    },
  ],
  Nfs: ['=', { k: 'struct', fields: { Enabled: ['=server.nfs.enabled', BOOL] } }],
  // the controller's configuration dir: wulf reads the controller's own files (passwd, group…) from its /etc
  Paths: ['=', { k: 'struct', fields: { Sysconfdir: ['"/etc', STR] } }],
};

/** Warewulf's iPXE template variables → wulf's iPXE template data (src/http/ipxe.ts). */
export const IPXE_FIELDS: Record<string, Field> = {
  Id: ['id', STR],
  Hostname: ['hostname', STR],
  Fqdn: ['id', STR],
  Cluster: ['cluster', STR],
  ImageName: ['image', STR],
  Hwaddr: ['hwaddr', STR],
  Ipaddr: ['ipaddr', STR],
  Authority: ['authority', STR],
  KernelArgs: ['kernelArgs', STR],
  KernelVersion: ['kernelVersion', STR],
  Tags: ['tags', TAGS],
  Root: ['root', STR],
  TLS: ['tls', BOOL],
  Port: ['port', STR],
};

/** Warewulf's BMC template variables (IpmiConf and .Cmd) → wulf's command template data (src/power/ipmitool-template.ts). */
export const BMC_FIELDS: Record<string, Field> = {
  Cmd: ['cmd', STR],
  Ipaddr: ['ipaddr', STR],
  Port: ['port', STR],
  UserName: ['username', STR],
  Interface: ['interface', STR],
  EscapeChar: ['escapechar', STR],
  Gateway: ['gateway', STR],
  Netmask: ['netmask', STR],
  Tags: ['tags', TAGS],
};

export type TemplateKind = 'overlay' | 'ipxe' | 'bmc';

/** The dot of a template of each kind. */
export const ROOT_TY: Record<TemplateKind, Ty> = {
  overlay: { k: 'root' },
  ipxe: { k: 'struct', fields: IPXE_FIELDS },
  bmc: { k: 'struct', fields: BMC_FIELDS },
};

/** Why a Warewulf variable wulf does not give a template of this kind is missing (else the generic message). */
export const MISSING_WHY: Record<string, string> = {
  Password: 'the BMC password is not a template variable in wulf: use -E (ipmitool reads IPMI_PASSWORD) or {{ passwordfile }}',
};

/** Top-level names of wulf's template data: Go variables are renamed so they never shadow these. */
export const IPXE_BMC_KEYS = [
  'hwaddr',
  'authority',
  'secure',
  'image',
  'kernelArgs',
  'kernelVersion',
  'cluster',
  'ipaddr',
  'tls',
  'cmd',
  'port',
  'username',
  'interface',
  'escapechar',
  'gateway',
  'netmask',
  'haspassword',
  'passwordfile',
  'node',
];
export const ROOT_KEYS = new Set([
  'id',
  'hostname',
  'comment',
  'clusterName',
  'imageName',
  'ipxeTemplate',
  'profiles',
  'runtimeOverlay',
  'systemOverlay',
  'kernel',
  'init',
  'root',
  'primaryNetdev',
  'primary',
  'tags',
  'resources',
  'ipmi',
  'netdevs',
  'netdev',
  'disks',
  'filesystems',
  'discoverable',
  'assetKey',
  'server',
  'build',
  'allNodes',
  // Liquid's own words
  'forloop',
  'tablerowloop',
  'empty',
  'blank',
  'nil',
  'null',
  'true',
  'false',
  'and',
  'or',
  'not',
  'contains',
  'in',
  'with',
  'as',
]);
