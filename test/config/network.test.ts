// Warewulf's network tags through the compiled CLI: a nodes.conf written as Warewulf writes one
// (bond, members naming it in tag master, a VLAN with vlan_id and parent_device, routes) is read
// as it is, listed under Warewulf's names, rendered, and left byte for byte as it was by writes to
// other entries; --nettagadd/--nettagdel write Warewulf's names; bad bonds, VLANs, MTUs and IPv6
// prefixes are refused at `node set` with one line, nothing written.
import { test, expect, describe, beforeAll, afterAll } from 'bun:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';

const WW = `nodeprofiles:
  default:
    comment: This profile is automatically included for each node
nodes:
  n1:
    profiles:
    - default
    network devices:
      bond0:
        type: Bond
        device: bond0
        ipaddr: 10.0.1.1
        netmask: 255.255.255.0
        mtu: 9000
        tags:
          mode: 802.3ad
          miimon: 100
          xmit_hash_policy: layer3+4
          updelay: 200
          downdelay: 200
      en1:
        device: en1
        hwaddr: e6:92:39:49:7b:03
        tags:
          master: bond0
      en2:
        device: en2
        hwaddr: 9a:77:29:73:14:f1
        tags:
          master: bond0
      tagged:
        type: vlan
        device: bond0.902
        ipaddr: 192.168.9.1
        netmask: 255.255.255.0
        tags:
          vlan_id: 902
          parent_device: bond0
          route1: 192.168.1.0/24,192.168.9.254
  n2:
    profiles:
    - default
    network devices:
      default:
        hwaddr: e6:92:39:49:7b:10
        ipaddr: 10.0.1.2
        netmask: 255.255.255.0
`;

const mode = modes[0]!; // compiled
const t = tempRoot('wulf-net-');
const conf = join(t.dir, 'etc/wulf/nodes.conf');
const wulf = (...a: string[]) => runWulf(mode, t.dir, a);

beforeAll(() => {
  requireCompiled();
  mkdirSync(join(t.dir, 'etc/wulf'), { recursive: true });
  writeFileSync(join(t.dir, 'etc/wulf/wulf.conf'), 'ipaddr: 10.0.0.1\nnetmask: 255.255.0.0\n');
  writeFileSync(conf, WW);
});
afterAll(() => t.cleanup());

describe('a Warewulf nodes.conf with a bond and a VLAN', () => {
  test("is read as it is: node list -a shows the tags under Warewulf's names", () => {
    const r = wulf('node', 'list', '-a', 'n1');
    expect(r.code).toBe(0);
    for (const l of [
      'NetDevs[bond0].Tags[mode]',
      'NetDevs[bond0].Tags[xmit_hash_policy]',
      'NetDevs[bond0].Tags[updelay]',
      'NetDevs[bond0].Tags[downdelay]',
      'NetDevs[en1].Tags[master]',
      'NetDevs[tagged].Tags[parent_device]',
      'NetDevs[tagged].Tags[vlan_id]',
      'NetDevs[tagged].Tags[route1]',
    ]) {
      expect(r.out).toContain(l);
    }
    expect(r.out).toMatch(/NetDevs\[bond0\]\.Tags\[mode\]\s+--\s+802\.3ad/);
  });

  test('renders: the bond with its options and members, the VLAN on it (overlay show --render)', () => {
    const nd = wulf('overlay', 'show', '--render', 'n1', 'systemd.networkd', 'etc/systemd/network/wulf.ww');
    expect([nd.code, nd.err]).toEqual([0, '']);
    expect(nd.out).toContain(
      '[Bond]\nMode=802.3ad\nMIIMonitorSec=100ms\nUpDelaySec=200ms\nDownDelaySec=200ms\nTransmitHashPolicy=layer3+4\n',
    );
    expect(nd.out).toContain('[Match]\nPermanentMACAddress=e6:92:39:49:7b:03\nType=ether\n');
    expect(nd.out).toContain('Bond=bond0\n');
    expect(nd.out).toContain('[VLAN]\nId=902\n');
    expect(nd.out).toContain('VLAN=bond0.902\n');
    const nm = wulf('overlay', 'show', '--render', 'n1', 'NetworkManager', 'etc/NetworkManager/system-connections/wulf.ww');
    expect(nm.out).toContain('[bond]\nmode=802.3ad\nmiimon=100\nupdelay=200\ndowndelay=200\nxmit_hash_policy=layer3+4\n');
  });

  test('a write to another node leaves n1 byte for byte as Warewulf wrote it', () => {
    expect(wulf('node', 'set', 'n2', '--comment', 'changed', '--yes').code).toBe(0);
    const after = readFileSync(conf, 'utf8');
    expect(after.slice(0, after.indexOf('  n2:'))).toBe(WW.slice(0, WW.indexOf('  n2:')));
  });

  test("--nettagadd and --nettagdel write Warewulf's names; the other tags keep their values", () => {
    expect(
      wulf('node', 'set', 'n1', '--netname', 'bond0', '--nettagadd', 'mode=active-backup', '--nettagdel', 'xmit_hash_policy', '--yes').code,
    ).toBe(0);
    const text = readFileSync(conf, 'utf8');
    const n1 = text.slice(text.indexOf('  n1:'), text.indexOf('  n2:'));
    expect(n1).toContain('          mode: active-backup\n');
    expect(n1).not.toContain('xmit_hash_policy');
    const j = JSON.parse(wulf('node', 'list', '-j', 'n1').out) as Record<
      string,
      { 'network devices': Record<string, { tags?: Record<string, string> }> }
    >;
    const nets = j.n1!['network devices'];
    expect(nets.bond0!.tags).toEqual({ mode: 'active-backup', miimon: '100', updelay: '200', downdelay: '200' });
    expect(nets.tagged!.tags).toEqual({ vlan_id: '902', parent_device: 'bond0', route1: '192.168.1.0/24,192.168.9.254' });
    expect(nets.en1!.tags).toEqual({ master: 'bond0' });
  });

  test("a route tag's comma stays in its value (--nettagadd route2=DEST,GW as Warewulf writes it)", () => {
    expect(
      wulf('node', 'set', 'n1', '--netname', 'tagged', '--nettagadd', 'route2=10.9.0.0/16,192.168.9.253,DNS1=10.0.0.53', '--yes').code,
    ).toBe(0);
    const j = JSON.parse(wulf('node', 'list', '-j', 'n1').out) as Record<
      string,
      { 'network devices': Record<string, { tags?: Record<string, string> }> }
    >;
    expect(j.n1!['network devices'].tagged!.tags).toMatchObject({ route2: '10.9.0.0/16,192.168.9.253', DNS1: '10.0.0.53' });
    expect(wulf('node', 'set', 'n1', '--netname', 'tagged', '--nettagdel', 'route2,DNS1', '--yes').code).toBe(0);
  });
});

describe('the checks see the node merged with its profiles', () => {
  test('a member may name a bond its profile defines; the profile cannot then drop that bond', () => {
    expect(
      wulf(
        'profile',
        'set',
        'default',
        '--netname',
        'bond9',
        '--type',
        'bond',
        '--netdev',
        'bond9',
        '--nettagadd',
        'mode=active-backup',
        '--yes',
      ).code,
    ).toBe(0);
    expect(wulf('node', 'set', 'n2', '--netname', 'en9', '--netdev', 'en9', '--nettagadd', 'master=bond9', '--yes').code).toBe(0);
    const before = readFileSync(conf, 'utf8');
    const r = wulf('profile', 'set', 'default', '--netname', 'bond9', '--netdel', '--yes');
    expect(r.code).not.toBe(0);
    expect(r.err.split('\n')[0]).toBe('wulf: node n2: network en9: master "bond9" is not one of the node\'s network devices');
    expect(readFileSync(conf, 'utf8')).toBe(before);
    expect(wulf('node', 'set', 'n2', '--netname', 'en9', '--netdel', '--yes').code).toBe(0);
    expect(wulf('profile', 'set', 'default', '--netname', 'bond9', '--netdel', '--yes').code).toBe(0);
  });
});

describe('bad network input is refused at node set: one line, nothing written', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'a VLAN whose parent does not exist',
      ['--netname', 'v7', '--type', 'vlan', '--nettagadd', 'vlan_id=7,parent_device=eth9'],
      /^wulf: node n1: network v7: VLAN parent "eth9" is not one of the node's network devices/,
    ],
    [
      'a VLAN without an id',
      ['--netname', 'v8', '--type', 'vlan', '--nettagadd', 'parent_device=bond0'],
      /^wulf: node n1: network v8: a VLAN needs a vlan_id tag/,
    ],
    [
      'a VLAN id out of range',
      ['--netname', 'tagged', '--nettagadd', 'vlan_id=4095'],
      /^wulf: node n1: network tagged: tag vlan_id: 4095 is not within 1-4094/,
    ],
    [
      'a bond member on two bonds',
      ['--netname', 'en1b', '--netdev', 'en1', '--nettagadd', 'master=bond1'],
      /^wulf: node n1: network en1b: /,
    ],
    [
      'a member whose master is not a bond',
      ['--netname', 'en3', '--netdev', 'en3', '--nettagadd', 'master=en1'],
      /^wulf: node n1: network en3: master "en1" is not a bond/,
    ],
    [
      'a member whose master does not exist',
      ['--netname', 'en3', '--netdev', 'en3', '--nettagadd', 'master=bond7'],
      /^wulf: node n1: network en3: master "bond7" is not one of the node's network devices/,
    ],
    [
      'an unknown bond mode',
      ['--netname', 'bond0', '--nettagadd', 'mode=fastest'],
      /^wulf: node n1: network bond0: tag mode: "fastest" is not one of balance-rr, active-backup/,
    ],
    [
      'a miimon that is not a number',
      ['--netname', 'bond0', '--nettagadd', 'miimon=often'],
      /^wulf: node n1: network bond0: tag miimon: "often" is not a whole number/,
    ],
    [
      'a route that is not destination,gateway',
      ['--netname', 'bond0', '--nettagadd', 'route2=somewhere'],
      /^wulf: node n1: network bond0: tag route2: "somewhere" is not "destination\/prefix,gateway"/,
    ],
    ['an MTU too large', ['--netname', 'bond0', '--mtu', '70000'], /^wulf: node n1: MTU 70000 is not within 68-65535/],
    ['an MTU too small', ['--netname', 'bond0', '--mtu', '20'], /^wulf: node n1: MTU 20 is not within 68-65535/],
    ['an MTU that is not a number', ['--netname', 'bond0', '--mtu', 'jumbo'], /^wulf: node n1: MTU "jumbo" is not a whole number/],
    [
      'an IPv6 address with a bad prefix',
      ['--netname', 'bond0', '--ipaddr6', 'fd00::1/129'],
      /^wulf: node n1: Ipaddr6 "fd00::1\/129": the prefix length \/129 is not 0-128/,
    ],
    [
      'an IPv6 prefix length out of range',
      ['--netname', 'bond0', '--ipaddr6', 'fd00::1', '--prefixlen6', '200'],
      /^wulf: node n1: PrefixLen6 200 is not within 0-128/,
    ],
  ];
  for (const [what, args, re] of cases) {
    test(what, () => {
      // a second bond for the two-bonds case
      if (what.includes('two bonds'))
        expect(wulf('node', 'set', 'n1', '--netname', 'bond1', '--type', 'bond', '--netdev', 'bond1', '--yes').code).toBe(0);
      const before = readFileSync(conf, 'utf8');
      const r = wulf('node', 'set', 'n1', ...args, '--yes');
      expect(r.code).not.toBe(0);
      expect(r.err.split('\n')[0]).toMatch(re);
      if (what.includes('two bonds')) expect(r.err).toContain('is already a member of bond0 (as en1)');
      expect(r.out).toBe('');
      expect(readFileSync(conf, 'utf8')).toBe(before);
    });
  }
});
