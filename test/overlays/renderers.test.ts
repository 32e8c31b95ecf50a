// The network renderers and the small node overlays rendered for the sample nodes of fixtures.ts
// (one NIC with no device, two NICs, one with a device, a VLAN on the second NIC): a golden file
// per overlay, and what must hold whatever a golden file says — no interface is ever named after a
// netdev, NICs without a device are matched by MAC, nothing is renamed without a device name, the
// VLAN hangs off its parent however that is matched. ifupdown's file is parsed by Debian's own
// ifquery, and netplan's file by netplan's own generator, when they are installed (or WULF_IFQUERY and
// WULF_NETPLAN_GENERATE name them, e.g. unpacked from `apt-get download ifupdown netplan.io libnetplan0`).
import { test, expect, describe, afterAll } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathsFor } from '../../src/config/paths.ts';
import { parseWulfConf, type WulfConf } from '../../src/config/wulfconf.ts';
import { Builder } from '../../src/overlays/build.ts';
import type { NodeData } from '../../src/config/schema.ts';
import { rendererNodes } from './fixtures.ts';

const tmp = mkdtempSync('/tmp/woverlay-renderers-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const GOLDEN = join(import.meta.dir, 'golden', 'renderers');
const SERVER = parseWulfConf('ipaddr: 10.0.0.1\nnetmask: 255.255.0.0\n', 'test');

// the controller's own files: systemd-resolved's stub in /etc/resolv.conf, the real servers under /run
const root = join(tmp, 'root');
mkdirSync(join(root, 'etc'), { recursive: true });
mkdirSync(join(root, 'run/systemd/resolve'), { recursive: true });
writeFileSync(join(root, 'etc/resolv.conf'), 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lab.example\n');
writeFileSync(join(root, 'run/systemd/resolve/resolv.conf'), 'nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch lab.example\n');
const paths = pathsFor(root, root);

const profile: NodeData = {
  resources: {
    fstab: [
      { spec: 'warewulf:/home', file: '/home', vfstype: 'nfs' },
      { spec: 'warewulf:/opt', file: '/opt', vfstype: 'nfs', mntops: 'defaults,ro' },
      { spec: '/dev/sda1', file: '/scratch', vfstype: 'ext4' },
    ],
  },
};

/** node → (path → content) of one overlay rendered for the sample nodes */
function render(
  overlay: string,
  wulf: WulfConf = SERVER,
  nodes: Record<string, NodeData> = rendererNodes,
): Map<string, Map<string, string>> {
  const conf = {
    profiles: { p: profile },
    nodes: Object.fromEntries(
      Object.entries(structuredClone(nodes)).map(([id, d]) => [
        id,
        { ...d, profiles: ['p'], systemOverlay: [overlay], runtimeOverlay: [] },
      ]),
    ),
    revision: 'r',
  };
  const b = new Builder({ paths });
  const snap = b.snapshot(conf, wulf);
  const out = new Map<string, Map<string, string>>();
  for (const id of Object.keys(nodes)) {
    const files = new Map<string, string>();
    for (const e of b.entries(snap, id, 'system').values()) if (e.type === 'file') files.set('/' + e.rel, new TextDecoder().decode(e.data));
    out.set(id, files);
  }
  return out;
}
const all = (r: Map<string, Map<string, string>>, id: string) => [...r.get(id)!.values()].join('\n');

const RENDERERS = [
  'NetworkManager',
  'systemd.networkd',
  'systemd.netname',
  'udev.netname',
  'ifupdown',
  'netplan',
  'ifcfg',
  'wicked',
  'issue',
  'resolv',
  'fstab',
  'hosts',
];

describe('golden renders for the sample nodes', () => {
  for (const ov of RENDERERS) {
    test(ov, () => {
      const r = render(ov);
      const text = [...r]
        .map(([id, files]) =>
          [...files]
            .sort()
            .map(([p, t]) => `==== ${id} ${p}\n${t}`)
            .join(''),
        )
        .join('')
        .replace(/^(10\.0\.0\.1) \S+ wulf warewulf$/m, '$1 BUILDHOST wulf warewulf');
      const f = join(GOLDEN, `${ov}.txt`);
      if (process.env.UPDATE_GOLDEN === '1' || !existsSync(f)) {
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(f, text);
      }
      expect(text).toBe(readFileSync(f, 'utf8'));
    });
  }
});

describe('no interface is named after a netdev; NICs without a device are matched by MAC', () => {
  // the netdev names of the sample nodes that set no device: none may appear where an interface name goes
  const named = [
    /interface-name=(default|data)$/m,
    /^Name=(default|data)$/m,
    /NAME="(default|data)"/,
    /^(auto|iface|allow-hotplug) (default|data)\b/m,
    /^DEVICE=(default|data)$/m,
    /^ {4}(default|data):$/m,
    /set-name: (default|data)$/m,
    / dev "?(default|data)"?\b/,
    /\/ifcfg-(default|data)$/m,
  ];
  for (const ov of RENDERERS.slice(0, 8)) {
    test(ov, () => {
      const r = render(ov);
      for (const id of ['r-one', 'r-two', 'r-vlan']) {
        const text = all(r, id) + '\n' + [...r.get(id)!.keys()].join('\n');
        for (const re of named) expect([ov, id, re.exec(text)?.[0]]).toEqual([ov, id, undefined]);
      }
    });
  }

  test('NetworkManager: mac-address= for every NIC, interface-name= only for a device (and the VLAN it creates), the VLAN parent by connection UUID', () => {
    const r = render('NetworkManager');
    const one = r.get('r-one')!.get('/etc/NetworkManager/system-connections/wulf-default.nmconnection')!;
    expect(one).toContain('mac-address=52:54:00:00:00:01\n');
    expect(one).not.toContain('interface-name=');
    expect(r.get('r-dev')!.get('/etc/NetworkManager/system-connections/wulf-default.nmconnection')).toContain('interface-name=eno1\n');
    const v = r.get('r-vlan')!;
    const parentUuid = /^uuid=(.*)$/m.exec(v.get('/etc/NetworkManager/system-connections/wulf-data.nmconnection')!)![1];
    const vlan = v.get('/etc/NetworkManager/system-connections/wulf-vlan100.nmconnection')!;
    expect(vlan).toContain(`[vlan]\nid=100\nparent=${parentUuid}\n`);
    expect(vlan).toContain('interface-name=vlan100\n');
    // the same UUID on every build: NetworkManager keeps one connection per netdev across boots
    expect(render('NetworkManager').get('r-vlan')!.get('/etc/NetworkManager/system-connections/wulf-data.nmconnection')).toContain(
      `uuid=${parentUuid}\n`,
    );
    expect(r.get('r-one')!.get('/etc/NetworkManager/conf.d/wulf.conf')).toMatch(/^no-auto-default=\*$/m); // no "Wired connection 1" DHCP
  });

  test("systemd-networkd: [Match] PermanentMACAddress= (a VLAN shares its parent's MAC), the VLAN attached in its parent's file", () => {
    const v = render('systemd.networkd').get('r-vlan')!;
    expect(v.get('/etc/systemd/network/50-wulf-default.network')).toContain('[Match]\nPermanentMACAddress=52:54:00:00:00:04\nType=ether\n');
    expect(v.get('/etc/systemd/network/50-wulf-data.network')).toContain('PermanentMACAddress=52:54:00:00:01:04\nType=ether\n');
    expect(v.get('/etc/systemd/network/50-wulf-data.network')).toContain('[Network]\nVLAN=vlan100\n');
    expect(v.get('/etc/systemd/network/50-wulf-vlan100.netdev')).toContain(
      '[NetDev]\nName=vlan100\nKind=vlan\nMACAddress=52:54:00:00:01:04\n\n[VLAN]\nId=100\n',
    );
    expect(v.get('/etc/systemd/network/50-wulf-vlan100.network')).toContain('[Match]\nName=vlan100\n');
  });

  test('systemd.netname and udev.netname name a NIC only when its netdev sets a device', () => {
    const links = render('systemd.netname');
    for (const id of ['r-one', 'r-two', 'r-vlan']) expect([...links.get(id)!.keys()]).toEqual([]);
    expect(links.get('r-dev')!.get('/etc/systemd/network/10-wulf-default.link')).toContain(
      '[Match]\nPermanentMACAddress=52:54:00:00:00:03\nType=ether\n\n[Link]\nName=eno1\n',
    );
    const rules = render('udev.netname');
    for (const id of ['r-one', 'r-two', 'r-vlan']) expect(all(rules, id)).not.toContain('NAME=');
    expect(all(rules, 'r-dev')).toContain('ATTR{address}=="52:54:00:00:00:03", ATTR{type}=="1", NAME="eno1"');
  });

  test(
    'ifupdown: "auto mac/<mac>/=wulf-<netdev>" without a device, the device name with one; the parent raises the VLAN; ' +
      'no DHCP stanza of the image survives',
    () => {
      const r = render('ifupdown');
      expect(r.get('r-one')!.get('/etc/network/interfaces.d/wulf-default')).toBe(
        '# written by wulf for r-one\nauto mac/52:54:00:00:00:01/=wulf-default\niface wulf-default inet static\n    address 10.0.1.1/16\n',
      );
      expect(r.get('r-dev')!.get('/etc/network/interfaces.d/wulf-default')).toContain('auto eno1\niface eno1 inet static\n');
      const v = r.get('r-vlan')!;
      expect(v.get('/etc/network/interfaces.d/wulf-data')).toContain('post-up ip link add link "$IFACE" name vlan100 type vlan id 100');
      expect(v.get('/etc/network/interfaces.d/wulf-vlan100')).not.toMatch(/^auto /m);
      expect(v.get('/etc/network/interfaces.d/wulf-vlan100')).toContain('iface vlan100 inet static\n    address 192.168.100.4/24\n');
      const interfaces = v.get('/etc/network/interfaces')!;
      expect(interfaces).toContain('source /etc/network/interfaces.d/*\n');
      expect(interfaces.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
        'source /etc/network/interfaces.d/*',
        'auto lo',
        'iface lo inet loopback',
      ]);
      expect(v.get('/etc/systemd/system/ifupdown-pre.service.d/wulf.conf')).toContain('ExecStart=\nExecStart=-/bin/udevadm settle\n');
    },
  );

  const ifquery = process.env.WULF_IFQUERY ?? ['/usr/sbin/ifquery', '/sbin/ifquery'].find((p) => existsSync(p));
  test("ifupdown: Debian's ifquery reads the files (logical interfaces, options; the bond, its members, the VLAN on it)", () => {
    if (!ifquery) throw new Error('ifquery missing: apt-get install ifupdown (build/test-deps.ts)');
    for (const [id, files] of render('ifupdown')) {
      const d = join(tmp, `ifq-${id}`);
      mkdirSync(join(d, 'interfaces.d'), { recursive: true });
      for (const [p, t] of files)
        if (p.startsWith('/etc/network/interfaces.d/')) writeFileSync(join(d, 'interfaces.d', p.split('/').pop()!), t);
      writeFileSync(
        join(d, 'interfaces'),
        files.get('/etc/network/interfaces')!.replace('/etc/network/interfaces.d/*', join(d, 'interfaces.d/*')),
      );
      const q = (...a: string[]) => spawnSync(ifquery!, ['-i', join(d, 'interfaces'), '--state-dir', d, ...a], { encoding: 'utf8' });
      const list = q('--list', '--allow', 'auto');
      expect([id, list.status, list.stderr]).toEqual([id, 0, '']);
      const logical = id === 'r-dev' ? 'eno1' : 'wulf-default';
      const opts = q(logical);
      expect([id, opts.status]).toEqual([id, 0]);
      expect(opts.stdout).toStartWith(`address: ${rendererNodes[id]!.networkDevices!.default!.ipaddr}\n`);
      expect(opts.stdout).toContain('\nnetmask: 255.255.0.0\n');
    }
    const d = join(tmp, 'ifq-r-vlan');
    const vlan = spawnSync(ifquery!, ['-i', join(d, 'interfaces'), '--state-dir', d, 'vlan100'], { encoding: 'utf8' });
    expect(vlan.stdout).toContain('address: 192.168.100.4\n');
    const parent = spawnSync(ifquery!, ['-i', join(d, 'interfaces'), '--state-dir', d, 'wulf-data'], { encoding: 'utf8' });
    expect(parent.stdout).toContain('up: ifup vlan100 || true\n'); // post-up is ifupdown's other name for up
    // r-full: the bond with Warewulf's options, members by MAC naming it, the VLAN raised by the bond, IPv6 routes in inet6
    const f = join(tmp, 'ifq-r-full');
    const fq = (...a: string[]) => spawnSync(ifquery!, ['-i', join(f, 'interfaces'), '--state-dir', f, ...a], { encoding: 'utf8' }).stdout;
    // (the NICs found by MAC are listed only when such a NIC exists: their auto lines are patterns)
    expect(fq('--list', '--allow', 'auto').split('\n').filter(Boolean).sort()).toEqual(['bond0', 'ib0', 'lo']);
    const bond = fq('bond0');
    for (const l of [
      'address: 10.1.1.5',
      'netmask: 255.255.255.0',
      'mtu: 9000',
      'bond-slaves: none',
      'bond-mode: 802.3ad',
      'bond-miimon: 100',
      'bond-updelay: 200',
      'bond-downdelay: 200',
      'bond-xmit-hash-policy: layer3+4',
      'up: ifup bond0.200 || true',
    ])
      expect(bond).toContain(l + '\n');
    expect(fq('wulf-data1')).toBe('bond-master: bond0\n');
    expect(fq('bond0.200')).toContain('address: 192.168.200.5\n');
    expect(fq('bond0.200')).toContain('up: ip route add 192.168.0.0/16 via 192.168.200.1 dev "$IFACE"\n');
    expect(fq('ib0')).toContain('mtu: 2044\n');
  });

  test("netplan: match by macaddress, set-name only for a device, the VLAN linked to its parent's id", () => {
    const r = render('netplan');
    const doc = (id: string) =>
      Bun.YAML.parse(r.get(id)!.get('/etc/netplan/50-wulf.yaml')!) as { network: Record<string, Record<string, Record<string, unknown>>> };
    expect(doc('r-one').network.ethernets).toEqual({
      'wulf-default': { match: { macaddress: '52:54:00:00:00:01' }, dhcp4: false, dhcp6: false, addresses: ['10.0.1.1/16'] },
    });
    expect(doc('r-dev').network.ethernets!.eno1).toMatchObject({ match: { macaddress: '52:54:00:00:00:03' }, 'set-name': 'eno1' });
    expect(doc('r-vlan').network.vlans!.vlan100).toMatchObject({ id: 100, link: 'wulf-data', addresses: ['192.168.100.4/24'] });
    expect(Object.keys(doc('r-vlan').network.ethernets!).sort()).toEqual(['wulf-data', 'wulf-default']);
  });

  // netplan's own generator (netplan.io; WULF_NETPLAN_GENERATE names one, e.g. from `apt-get download netplan.io libnetplan0`)
  const generate =
    process.env.WULF_NETPLAN_GENERATE ?? ['/usr/libexec/netplan/generate', '/lib/netplan/generate'].find((p) => existsSync(p));
  test('netplan: netplan generate turns the files into networkd files that match by MAC and name only the device', () => {
    if (!generate) throw new Error("netplan's generator missing: apt-get install netplan.io (build/test-deps.ts)");
    for (const [id, files] of render('netplan')) {
      const d = join(tmp, `netplan-${id}`);
      mkdirSync(join(d, 'etc/netplan'), { recursive: true });
      writeFileSync(join(d, 'etc/netplan/50-wulf.yaml'), files.get('/etc/netplan/50-wulf.yaml')!, { mode: 0o600 });
      const g = spawnSync(generate!, ['--root-dir', d], { encoding: 'utf8' });
      expect([id, g.status, g.stderr]).toEqual([id, 0, '']);
      const net = join(d, 'run/systemd/network');
      const out = Object.fromEntries(readdirSync(net).map((f) => [f, readFileSync(join(net, f), 'utf8')]));
      const links = Object.keys(out).filter((f) => f.endsWith('.link') && /^Name=/m.test(out[f]!));
      expect([id, links]).toEqual([id, id === 'r-dev' ? ['10-netplan-eno1.link'] : id === 'r-full' ? ['10-netplan-ib0.link'] : []]);
      const mac = rendererNodes[id]!.networkDevices!.default!.hwaddr!;
      const main = Object.values(out).find((t) => t.includes(`PermanentMACAddress=${mac}`) && t.includes('[Network]'));
      expect(main).toContain(`Address=${rendererNodes[id]!.networkDevices!.default!.ipaddr}/16`);
      if (id !== 'r-full') continue;
      // the bond with Warewulf's options and its first member's MAC (not a machine-id one: new at each stateless
      // boot), the members found by MAC joining it, the VLAN on it, IPoIB, routes, IPv6
      expect(out['10-netplan-bond0.netdev']).toContain(
        '[NetDev]\nName=bond0\nMACAddress=52:54:00:00:01:05\nMTUBytes=9000\nKind=bond\n\n[Bond]\nMode=802.3ad\nMIIMonitorSec=100ms\n' +
          'TransmitHashPolicy=layer3+4\nUpDelaySec=200ms\nDownDelaySec=200ms\n',
      );
      for (const m of ['52:54:00:00:01:05', '52:54:00:00:02:05'])
        expect(Object.values(out).find((t) => t.includes(`PermanentMACAddress=${m}`))).toContain('Bond=bond0\n');
      expect(out['10-netplan-bond0.200.netdev']).toContain('Kind=vlan\n\n[VLAN]\nId=200\n');
      expect(out['10-netplan-bond0.network']).toContain('VLAN=bond0.200\n');
      expect(out['10-netplan-bond0.network']).toContain('Address=fd01::5/64\n');
      expect(out['10-netplan-bond0.200.network']).toContain('[Route]\nDestination=192.168.0.0/16\nGateway=192.168.200.1\n');
      expect(main).toContain('[Route]\nDestination=fd10::/48\nGateway=fd00::fe\n');
      expect(out['10-netplan-ib0.network']).toContain('MTUBytes=2044');
    }
  });

  // NetworkManager's own keyfile reader and checks: `nmcli --offline connection modify` reads a keyfile on stdin,
  // verifies and normalises the connection, and prints it: every key wulf wrote must come back with its value
  // (NetworkManager replaces a value it does not accept, e.g. an unknown bond mode, by its default)
  const nmcli = ['/usr/bin/nmcli', '/bin/nmcli'].find((p) => existsSync(p));
  test('NetworkManager: nmcli --offline reads every keyfile back with each value wulf wrote (bond options, VLAN parent, IPoIB, routes, IPv6)', () => {
    if (!nmcli) throw new Error('nmcli missing: apt-get install network-manager (build/test-deps.ts)');
    const ini = (t: string) => {
      const out = new Map<string, string>();
      let sec = '';
      for (const l of t.split('\n')) {
        const m = /^\[(.*)\]$/.exec(l);
        if (m) {
          sec = m[1]!;
          continue;
        }
        const eq = l.indexOf('=');
        if (eq > 0 && !l.startsWith('#')) out.set(`${sec}.${l.slice(0, eq)}`, l.slice(eq + 1));
      }
      return out;
    };
    let n = 0;
    for (const [id, files] of render('NetworkManager')) {
      for (const [p, t] of files) {
        if (!p.endsWith('.nmconnection')) continue;
        const r = spawnSync(
          nmcli,
          ['--offline', 'connection', 'modify', 'connection.autoconnect', /^autoconnect=false$/m.test(t) ? 'no' : 'yes'],
          { input: t, encoding: 'utf8' },
        );
        expect([id, p, r.status, r.stderr]).toEqual([id, p, 0, '']);
        const back = ini(r.stdout);
        // keys NetworkManager writes only when they differ from its default
        const dflt: Record<string, string> = { 'connection.autoconnect': 'true', 'ipv6.method': 'auto' };
        const norm = (k: string, v: string | undefined) => (k.endsWith('mac-address') ? v?.toLowerCase() : v);
        for (const [k, v] of ini(t)) if (!(dflt[k] === v && !back.has(k))) expect([id, p, k, norm(k, back.get(k))]).toEqual([id, p, k, v]);
        n++;
      }
    }
    expect(n).toBe(13);
    // the check can fail: a bond mode NetworkManager does not know comes back as its default
    const bond = render('NetworkManager').get('r-full')!.get('/etc/NetworkManager/system-connections/wulf-bond.nmconnection')!;
    const bad = spawnSync(nmcli, ['--offline', 'connection', 'modify', 'connection.autoconnect', 'yes'], {
      input: bond.replace('mode=802.3ad', 'mode=fast'),
      encoding: 'utf8',
    });
    expect(ini(bad.stdout).get('bond.mode')).toBe('balance-rr');
  });

  // systemd-networkd itself reads the files: started in a mount and network namespace of its own (nothing on the
  // host is touched) with every sample node's files in place of /etc/systemd/network, it names each line it does
  // not accept ("FILE:LINE: Unknown key …", "Invalid …"), and loads each .netdev it can create
  const networkd = ['/lib/systemd/systemd-networkd', '/usr/lib/systemd/systemd-networkd'].find((p) => existsSync(p));
  test('systemd-networkd: the daemon reads every .network and .netdev without a complaint and loads the bond and the VLANs', () => {
    if (!networkd) throw new Error('systemd-networkd missing: apt-get install systemd (build/test-deps.ts)');
    if (process.getuid?.() !== 0) throw new Error('this check runs systemd-networkd in namespaces of its own: run as root');
    const d = join(tmp, 'networkd-files');
    mkdirSync(d, { recursive: true });
    let n = 0;
    for (const [id, files] of render('systemd.networkd'))
      for (const [p, t] of files) {
        writeFileSync(join(d, `${id}-${p.split('/').pop()}`), t);
        n++;
      }
    // a file with mistakes, which must be reported: the check can fail
    writeFileSync(join(d, 'zz-bad.network'), '[Match]\nName=x\n\n[Network]\nAdress=10.0.0.1/24\n\n[Bond]\nMode=fast\n');
    const script =
      `mount -t tmpfs wulf /etc/systemd/network && cp ${d}/* /etc/systemd/network/ && mount -t tmpfs wulf /run && ` +
      `mkdir -p /run/systemd/netif && exec timeout -s TERM 4 ${networkd}`;
    const r = spawnSync('unshare', ['-m', '-n', 'sh', '-c', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, SYSTEMD_LOG_LEVEL: 'debug', SYSTEMD_LOG_TARGET: 'console' },
    });
    const log = r.stdout + r.stderr;
    const about = (f: string) => log.split('\n').filter((l) => l.startsWith(`/etc/systemd/network/${f}`));
    expect(about('r-')).toEqual([]);
    expect(about('zz-bad.network').length).toBe(2);
    for (const [dev, kind] of [
      ['bond0', 'bond'],
      ['bond0.200', 'vlan'],
      ['vlan100', 'vlan'],
    ])
      expect(log).toContain(`${dev}: loaded "${kind}"`);
    expect(n).toBe(16); // r-one 1, r-two 2, r-dev 1, r-vlan 4, r-full 8 files
  });

  // wicked is not in Debian: its files are checked as XML by libxml2 (well-formed; wicked's own ipv4:/ipv6:
  // element prefixes are undeclared, as in wicked's files, which libxml2 reports as namespace warnings only)
  // and read back element by element
  const xmllint = ['/usr/bin/xmllint'].find((p) => existsSync(p));
  test('wicked: well-formed interface files; NICs by permanent MAC, the bond with its options, members naming it, the VLAN on it, routes, IPv6', () => {
    if (!xmllint) throw new Error('xmllint missing: apt-get install libxml2-utils (build/test-deps.ts)');
    const r = render('wicked');
    for (const [id, files] of r)
      for (const [p, t] of files) {
        const f = join(tmp, `wicked-${id}-${p.split('/').pop()}`);
        writeFileSync(f, t);
        const x = spawnSync(xmllint, ['--noout', f], { encoding: 'utf8' });
        expect([
          id,
          p,
          x.status,
          x.stderr
            .split('\n')
            .filter((l) => /error/.test(l) && !/namespace error : Namespace prefix ipv[46] on (static|dhcp|auto) is not defined/.test(l)),
        ]).toEqual([id, p, 0, []]);
      }
    const q = (file: string, xpath: string) =>
      spawnSync(xmllint!, ['--xpath', xpath, join(tmp, `wicked-r-full-${file}`)], { encoding: 'utf8' }).stdout.trim();
    expect(q('wulf-default.xml', 'string(/interface/name[@namespace="ethernet"]/permanent-address)')).toBe('52:54:00:00:00:05');
    expect(q('wulf-default.xml', 'string(//*[name()="ipv4:static"]/address/local)')).toBe('10.0.1.5/16');
    expect(q('wulf-default.xml', 'string(//*[name()="ipv4:static"]/route[destination="172.16.0.0/12"]/nexthop/gateway)')).toBe(
      '10.0.0.254',
    );
    expect(q('wulf-default.xml', 'string(//*[name()="ipv6:static"]/route[destination="fd10::/48"]/nexthop/gateway)')).toBe('fd00::fe');
    expect(q('wulf-default.xml', 'string(//*[name()="ipv6:static"]/address/local)')).toBe('fd00::5/64');
    expect(
      q(
        'wulf-bond.xml',
        'concat(/interface/name, " ", /interface/bond/mode, " ", /interface/bond/miimon/frequency, " ", /interface/bond/miimon/updelay, " ", ' +
          '/interface/bond/miimon/downdelay, " ", /interface/bond/xmit-hash-policy, " ", /interface/link/mtu)',
      ),
    ).toBe('bond0 802.3ad 100 200 200 layer3+4 9000');
    for (const m of ['data1', 'data2'])
      expect(
        q(`wulf-${m}.xml`, 'concat(/interface/link/master, " ", /interface/link/port/@type, " ", count(//*[name()="ipv4:static"]))'),
      ).toBe('bond0 bond 0');
    expect(q('wulf-vlan200.xml', 'concat(/interface/name, " ", /interface/vlan/device, " ", /interface/vlan/tag)')).toBe(
      'bond0.200 bond0 200',
    );
    expect(q('wulf-ib.xml', 'concat(/interface/name, " ", /interface/infiniband/mode, " ", /interface/link/mtu)')).toBe(
      'ib0 datagram 2044',
    );
    // the check can fail: a file that is not well-formed
    writeFileSync(join(tmp, 'wicked-bad.xml'), '<interface><name>x</interface>\n');
    expect(spawnSync(xmllint, ['--noout', join(tmp, 'wicked-bad.xml')]).status).not.toBe(0);
  });

  test('ifcfg: ifcfg-wulf-<netdev> with HWADDR= and no DEVICE= without a device; ifcfg-<device> with one', () => {
    const r = render('ifcfg');
    const one = r.get('r-one')!.get('/etc/sysconfig/network-scripts/ifcfg-wulf-default')!;
    expect(one).toContain('HWADDR=52:54:00:00:00:01\n');
    expect(one).not.toContain('DEVICE=');
    expect(r.get('r-dev')!.get('/etc/sysconfig/network-scripts/ifcfg-eno1')).toContain('DEVICE=eno1\n');
    const uuid = /^UUID=(.*)$/m.exec(r.get('r-vlan')!.get('/etc/sysconfig/network-scripts/ifcfg-wulf-data')!)![1];
    expect(r.get('r-vlan')!.get('/etc/sysconfig/network-scripts/ifcfg-vlan100')).toContain(`VLAN_ID=100\nPHYSDEV=${uuid}\n`);
  });
});

describe("ifcfg files read as the shell reads them (network-scripts sources them; RHEL's tools are not in Debian)", () => {
  test("every ifcfg file sources with sh -e and gives r-full's bond, members, VLAN, IPoIB, IPv6 and route files", () => {
    const r = render('ifcfg');
    const vars = (t: string) => {
      const f = join(tmp, 'ifcfg-probe');
      writeFileSync(f, t);
      const x = spawnSync('sh', ['-ec', `set -a; . "${f}"; set +a; env`], { encoding: 'utf8', env: {} });
      expect([x.status, x.stderr]).toEqual([0, '']);
      return Object.fromEntries(
        x.stdout
          .split('\n')
          .filter((l) => /^[A-Z0-9_]+=/.test(l))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
    };
    for (const [, files] of r) for (const [p, t] of files) if (/\/ifcfg-/.test(p)) vars(t);
    const f = r.get('r-full')!;
    const at = (n: string) => f.get(`/etc/sysconfig/network-scripts/${n}`)!;
    expect(vars(at('ifcfg-bond0'))).toMatchObject({
      DEVICE: 'bond0',
      TYPE: 'Bond',
      BONDING_MASTER: 'yes',
      BONDING_OPTS: 'mode=802.3ad miimon=100 updelay=200 downdelay=200 xmit_hash_policy=layer3+4',
      IPADDR: '10.1.1.5',
      PREFIX: '24',
      MTU: '9000',
      IPV6INIT: 'yes',
      IPV6ADDR: 'fd01::5/64',
    });
    for (const [n, mac] of [
      ['data1', '52:54:00:00:01:05'],
      ['data2', '52:54:00:00:02:05'],
    ]) {
      const v = vars(at(`ifcfg-wulf-${n}`));
      expect(v).toMatchObject({ HWADDR: mac, MASTER: 'bond0', SLAVE: 'yes', BOOTPROTO: 'none' });
      expect(v.DEVICE).toBeUndefined();
      expect(v.IPADDR).toBeUndefined();
    }
    expect(vars(at('ifcfg-bond0.200'))).toMatchObject({
      DEVICE: 'bond0.200',
      VLAN: 'yes',
      VLAN_ID: '200',
      PHYSDEV: 'bond0',
      IPADDR: '192.168.200.5',
    });
    expect(vars(at('ifcfg-ib0'))).toMatchObject({ DEVICE: 'ib0', TYPE: 'InfiniBand', CONNECTED_MODE: 'no', MTU: '2044' });
    expect(vars(at('ifcfg-wulf-default'))).toMatchObject({
      IPV6ADDR: 'fd00::5/64',
      IPV6_DEFAULTGW: 'fd00::1',
      GATEWAY: '10.0.0.1',
      DNS1: '10.0.0.53',
    });
    expect(at('route-wulf-default')).toBe('# written by wulf\n172.16.0.0/12 via 10.0.0.254\n');
    expect(at('route6-wulf-default')).toBe('# written by wulf\nfd10::/48 via fd00::fe\n');
    expect(at('route-bond0.200')).toBe('# written by wulf\n192.168.0.0/16 via 192.168.200.1 dev bond0.200\n');
  });
});

describe('the small node overlays', () => {
  test("/etc/issue prints each netdev's addresses and how the NIC is found", () => {
    const r = render('issue');
    expect(r.get('r-one')!.get('/etc/issue')).toContain('network default: 10.0.1.1/16 (52:54:00:00:00:01)\n');
    expect(r.get('r-two')!.get('/etc/issue')).toContain('network default: 10.0.1.2/16 fd00::2/64 (52:54:00:00:00:02)\n');
    expect(r.get('r-dev')!.get('/etc/issue')).toContain('network default: 10.0.1.3/16 (eno1 52:54:00:00:00:03)\n');
    expect(r.get('r-vlan')!.get('/etc/issue')).toContain('network data: no address (52:54:00:00:01:04)\n');
  });

  test("resolv.conf: the DNS tags; else wulf.conf dns; else the controller's servers — resolved's upstream ones behind its 127.0.0.53 stub", () => {
    const r = render('resolv');
    expect(r.get('r-one')!.get('/etc/resolv.conf')).toBe(
      '# written by wulf\nsearch lab.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n',
    );
    expect(r.get('r-two')!.get('/etc/resolv.conf')).toBe('# written by wulf\nsearch lab.example\nnameserver 10.0.0.53\n');
    const conf = parseWulfConf(
      'ipaddr: 10.0.0.1\nnetmask: 255.255.0.0\ndns:\n  servers: [10.0.0.2, 10.0.0.3]\n  search: cluster.example\n',
      'test',
    );
    expect(render('resolv', conf).get('r-one')!.get('/etc/resolv.conf')).toBe(
      '# written by wulf\nsearch cluster.example\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n',
    );
    // a controller with plain name servers: those, loopback ones left out
    writeFileSync(join(root, 'etc/resolv.conf'), '# site\nnameserver 127.0.0.1\nnameserver 198.51.100.7\n');
    try {
      expect(render('resolv').get('r-one')!.get('/etc/resolv.conf')).toBe(
        '# written by wulf\nsearch lab.example\nnameserver 198.51.100.7\n',
      );
    } finally {
      writeFileSync(join(root, 'etc/resolv.conf'), 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lab.example\n');
    }
    expect(() => parseWulfConf('dns:\n  servers: [not-an-ip]\n', 'w')).toThrow(/dns.servers "not-an-ip" is not an IP address/);
  });

  test('fstab: a network mount without options is a nofail automount (see fstab.test.ts); given options are kept; the server is "warewulf" in hosts', () => {
    const f = render('fstab').get('r-one')!.get('/etc/fstab')!;
    expect(f).toContain(
      '\nwarewulf:/home /home nfs defaults,nofail,x-systemd.automount 0 0\nwarewulf:/opt /opt nfs defaults,ro 0 0\n/dev/sda1 /scratch ext4 defaults 0 0',
    );
    expect(render('hosts').get('r-one')!.get('/etc/hosts')).toMatch(/^10\.0\.0\.1 \S+ wulf warewulf$/m);
  });
});
