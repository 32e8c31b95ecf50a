// Representative nodes for the overlay tests and benchmark: one NIC static, bond + VLAN,
// InfiniBand, IPv6, several NICs with routes and DNS, and a node with almost nothing set.
import type { NodesConf } from '../../src/config/cascade.ts';
import type { NodeData } from '../../src/config/schema.ts';
import { parseWulfConf, type WulfConf } from '../../src/config/wulfconf.ts';
import { defaultRuntimeOverlays, defaultSystemOverlays } from '../../src/overlays/defaults.ts';

export const wulfConf: WulfConf = parseWulfConf(
  [
    'ipaddr: 10.0.0.1',
    'netmask: 255.255.0.0',
    'warewulf:',
    '  port: 9873',
    '  secure: true',
    '  update interval: 60',
    'nfs:',
    '  enabled: true',
    '  export paths:',
    '    - path: /home',
    '      export options: rw,sync',
    '    - path: /opt',
    '      export options: ro,sync,no_root_squash',
  ].join('\n'),
  'test-wulf.conf',
);

export const defaultProfile: NodeData = {
  systemOverlay: [...defaultSystemOverlays],
  runtimeOverlay: [...defaultRuntimeOverlays],
  kernel: { args: ['quiet', 'crashkernel=no'] },
  init: '/sbin/init',
  root: 'initramfs',
  imageName: 'rocky-9',
  clusterName: 'c1',
  resources: { fstab: [{ spec: '10.0.0.1:/home', file: '/home', vfstype: 'nfs', mntops: 'defaults,nofail' }] },
};

export const goldenNodes: Record<string, NodeData> = {
  'n-static': {
    profiles: ['default'],
    networkDevices: {
      default: {
        device: 'eth0',
        hwaddr: '02:00:00:00:00:01',
        ipaddr: '10.0.1.1',
        netmask: '255.255.0.0',
        gateway: '10.0.0.1',
        tags: { DNS1: '10.0.0.1', DNSSEARCH: 'cluster,example.org' },
      },
    },
  },
  'n-bond': {
    profiles: ['default'],
    primaryNetwork: 'bond0',
    networkDevices: {
      bond0: {
        type: 'bond',
        device: 'bond0',
        ipaddr: '10.0.1.2',
        netmask: '255.255.0.0',
        gateway: '10.0.0.1',
        mtu: '9000',
        tags: { mode: '802.3ad' },
      },
      eth0: { device: 'eth0', hwaddr: '02:00:00:00:00:02', tags: { master: 'bond0' } },
      eth1: { device: 'eth1', hwaddr: '02:00:00:00:01:02', tags: { master: 'bond0' } },
      vlan100: {
        type: 'vlan',
        device: 'bond0.100',
        ipaddr: '192.168.100.2',
        netmask: '255.255.255.0',
        tags: { vlan_id: '100', parent_device: 'bond0' },
      },
    },
  },
  'n-ib': {
    profiles: ['default'],
    networkDevices: {
      default: { device: 'eth0', hwaddr: '02:00:00:00:00:03', ipaddr: '10.0.1.3', netmask: '255.255.0.0' },
      ib: {
        type: 'infiniband',
        device: 'ib0',
        hwaddr: '80:00:02:08:fe:80:00:00:00:00:00:00:00:11:75:01:01:64:02:03',
        ipaddr: '10.20.1.3',
        netmask: '255.255.0.0',
        mtu: '65520',
        tags: { transport_mode: 'connected' },
      },
    },
  },
  'n-ipv6': {
    profiles: ['default'],
    networkDevices: {
      default: {
        device: 'eth0',
        hwaddr: '02:00:00:00:00:04',
        ipaddr: '10.0.1.4',
        netmask: '255.255.0.0',
        ipaddr6: 'fd00::4',
        prefixlen6: '64',
        gateway6: 'fd00::1',
      },
    },
  },
  'n-multi': {
    profiles: ['default'],
    primaryNetwork: 'mgmt',
    tags: { localtime: 'Europe/Paris', ntp_servers: 'ntp1.example.org, ntp2.example.org' },
    networkDevices: {
      mgmt: {
        device: 'eno1',
        hwaddr: '02:00:00:00:00:05',
        ipaddr: '10.0.1.5',
        netmask: '255.255.0.0',
        gateway: '10.0.0.1',
        tags: { route1: '172.16.0.0/12,10.0.0.254', DNS1: '10.0.0.1', DNS2: '10.0.0.2' },
      },
      data: { device: 'eno2', hwaddr: '02:00:00:00:01:05', ipaddr: '10.1.1.5', netmask: '255.255.255.0', mtu: '9000', onboot: 'false' },
      ipmi: { device: 'eno3', hwaddr: '02:00:00:00:02:05' },
    },
    ipmi: { ipaddr: '10.2.1.5', netmask: '255.255.0.0', username: 'admin', password: 'secret', write: 'true', tags: { vlan: '7' } },
  },
  'n-bare': { systemOverlay: [...defaultSystemOverlays], runtimeOverlay: [...defaultRuntimeOverlays] },
};

export function goldenConf(): NodesConf {
  return { profiles: { default: defaultProfile }, nodes: structuredClone(goldenNodes), revision: 'golden-1' };
}

/** n nodes named n00001.. on one profile, one NIC each. */
export function bigConf(n: number): NodesConf {
  const nodes: Record<string, NodeData> = {};
  for (let i = 1; i <= n; i++) {
    const id = `n${String(i).padStart(5, '0')}`;
    nodes[id] = {
      profiles: ['default'],
      networkDevices: {
        default: {
          device: 'eth0',
          hwaddr:
            `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:` +
            `${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
          ipaddr: `10.0.${(i >> 8) & 255}.${i & 255}`,
          netmask: '255.255.0.0',
          gateway: '10.0.0.1',
          tags: { DNS1: '10.0.0.1' },
        },
      },
    };
  }
  return { profiles: { default: defaultProfile }, nodes, revision: `big-${n}` };
}

/**
 * Sample nodes for the network renderers' golden tests, each as `wulf node add` makes them: one NIC
 * with no device (the README's `node add n1 --hwaddr … --ipaddr … --netmask …`); two NICs, no
 * devices (a gateway, a route, IPv6, MTU); one NIC with its device set; a VLAN on the second NIC; and
 * r-full, a bond of two NICs with a VLAN on it, IPoIB, MTU, routes and IPv6 (Warewulf's tag names).
 */
export const rendererNodes: Record<string, NodeData> = {
  'r-one': { networkDevices: { default: { hwaddr: '52:54:00:00:00:01', ipaddr: '10.0.1.1', netmask: '255.255.0.0' } } },
  'r-two': {
    networkDevices: {
      default: {
        hwaddr: '52:54:00:00:00:02',
        ipaddr: '10.0.1.2',
        netmask: '255.255.0.0',
        gateway: '10.0.0.1',
        ipaddr6: 'fd00::2',
        prefixlen6: '64',
        tags: { route1: '172.16.0.0/12,10.0.0.254', DNS1: '10.0.0.53' },
      },
      data: { hwaddr: '52:54:00:00:01:02', ipaddr: '10.1.1.2', netmask: '255.255.255.0', mtu: '9000' },
    },
  },
  'r-dev': {
    networkDevices: {
      default: { device: 'eno1', hwaddr: '52:54:00:00:00:03', ipaddr: '10.0.1.3', netmask: '255.255.0.0', gateway: '10.0.0.1' },
    },
  },
  'r-vlan': {
    networkDevices: {
      default: { hwaddr: '52:54:00:00:00:04', ipaddr: '10.0.1.4', netmask: '255.255.0.0' },
      data: { hwaddr: '52:54:00:00:01:04' },
      vlan100: { type: 'vlan', ipaddr: '192.168.100.4', netmask: '255.255.255.0', tags: { vlan_id: '100', parent_device: 'data' } },
    },
  },
  // everything at once, in Warewulf's spelling: a bond of two NICs found by MAC (their tag master names
  // the bond's device) with its options, a VLAN on the bond, IPoIB, MTU, static routes (IPv4, IPv6), IPv6
  'r-full': {
    networkDevices: {
      default: {
        hwaddr: '52:54:00:00:00:05',
        ipaddr: '10.0.1.5',
        netmask: '255.255.0.0',
        gateway: '10.0.0.1',
        ipaddr6: 'fd00::5',
        prefixlen6: '64',
        gateway6: 'fd00::1',
        tags: { route1: '172.16.0.0/12,10.0.0.254', route2: 'fd10::/48,fd00::fe', DNS1: '10.0.0.53' },
      },
      bond: {
        type: 'bond',
        device: 'bond0',
        ipaddr: '10.1.1.5',
        netmask: '255.255.255.0',
        mtu: '9000',
        ipaddr6: 'fd01::5',
        prefixlen6: '64',
        tags: { mode: '802.3ad', miimon: '100', updelay: '200', downdelay: '200', xmit_hash_policy: 'layer3+4' },
      },
      data1: { hwaddr: '52:54:00:00:01:05', tags: { master: 'bond0' } },
      data2: { hwaddr: '52:54:00:00:02:05', tags: { master: 'bond0' } },
      vlan200: {
        type: 'vlan',
        device: 'bond0.200',
        ipaddr: '192.168.200.5',
        netmask: '255.255.255.0',
        tags: { vlan_id: '200', parent_device: 'bond0', route1: '192.168.0.0/16,192.168.200.1' },
      },
      ib: {
        type: 'infiniband',
        device: 'ib0',
        hwaddr: '80:00:02:08:fe:80:00:00:00:00:00:00:00:11:75:01:01:64:02:05',
        ipaddr: '10.20.1.5',
        netmask: '255.255.0.0',
        mtu: '2044',
      },
    },
  },
};
