// What a node's archive holds beyond template text: /warewulf/init.d/30-network picking the image's
// one network stack (run on fake image trees), sane modes for directories no overlay gives one,
// real mtimes (and byte-identical archives for identical inputs), and the controller files read
// from the real host unless WULF_HOST_ROOT says otherwise.
import { test, expect, describe, afterAll } from 'bun:test';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { pathsFor } from '../../src/config/paths.ts';
import { readCpio } from '../../src/lib/cpio.ts';
import { Builder } from '../../src/overlays/build.ts';
import { defaultRuntimeOverlays, defaultSystemOverlays } from '../../src/overlays/defaults.ts';
import { rendererNodes, wulfConf } from './fixtures.ts';

const tmp = mkdtempSync('/tmp/woverlay-nodefiles-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const NETWORK = join(import.meta.dir, '../../overlays/wwinit/rootfs/warewulf/init.d/30-network');

/** The default profile's system overlay for a node, unpacked into a fake image tree holding `image` files. */
function imageTree(name: string, image: string[], node = 'r-vlan'): string {
  const dir = join(tmp, name);
  for (const f of image) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), f.endsWith('.service') || f.endsWith('.socket') ? '[Unit]\n' : '#!/bin/sh\n');
  }
  const root = join(tmp, `${name}-ctl`);
  const b = new Builder({ paths: pathsFor(root, root) });
  const nodes = { [node]: { ...structuredClone(rendererNodes[node]!), systemOverlay: [...defaultSystemOverlays], runtimeOverlay: [] } };
  const snap = b.snapshot({ profiles: {}, nodes, revision: 'r' }, wulfConf);
  for (const e of b.entries(snap, node, 'system').values()) {
    const p = join(dir, e.rel);
    if (e.type === 'dir') {
      mkdirSync(p, { recursive: true });
      continue;
    }
    mkdirSync(dirname(p), { recursive: true });
    if (e.type === 'symlink') symlinkSync(e.target!, p);
    else writeFileSync(p, e.data!);
  }
  return dir;
}
function runNetwork(dir: string): string {
  const r = spawnSync('sh', [NETWORK], { env: { PATH: process.env.PATH, WULF_NET_ROOT: dir }, encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout;
}
const ls = (d: string) => (existsSync(d) ? readdirSync(d).sort() : []);
const wants = (dir: string, target: string) =>
  ls(join(dir, 'etc/systemd/system', `${target}.wants`)).map(
    (n) => `${n} -> ${readlinkSync(join(dir, 'etc/systemd/system', `${target}.wants`, n))}`,
  );

describe('30-network: exactly one network stack configures the NICs', () => {
  const NM = [
    'usr/sbin/NetworkManager',
    'usr/lib/systemd/system/NetworkManager.service',
    'usr/lib/systemd/system/NetworkManager-wait-online.service',
  ];
  const IFUPDOWN = [
    'usr/sbin/ifup',
    'usr/sbin/ifquery',
    'usr/lib/systemd/system/networking.service',
    'usr/lib/systemd/system/ifupdown-wait-online.service',
  ];
  const NETWORKD = [
    'usr/lib/systemd/systemd-networkd',
    'usr/lib/systemd/system/systemd-networkd.service',
    'usr/lib/systemd/system/systemd-networkd.socket',
    'usr/lib/systemd/system/systemd-networkd-wait-online.service',
  ];

  test(
    'NetworkManager (with ifupdown and systemd-networkd also installed, networkd enabled): only its keyfiles stay, its services are enabled, ' +
      'networkd is disabled',
    () => {
      const d = imageTree('nm', [...NM, ...IFUPDOWN, ...NETWORKD]);
      mkdirSync(join(d, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
      symlinkSync(
        '/usr/lib/systemd/system/systemd-networkd.service',
        join(d, 'etc/systemd/system/multi-user.target.wants/systemd-networkd.service'),
      );
      writeFileSync(join(d, 'etc/network/interfaces.d/site-eth9'), 'iface eth9 inet manual\n'); // the image's own: kept
      const out = runNetwork(d);
      expect(out).toContain('wulf: network: NetworkManager configures the network');
      expect(ls(join(d, 'etc/NetworkManager/system-connections'))).toEqual([
        'wulf-data.nmconnection',
        'wulf-default.nmconnection',
        'wulf-vlan100.nmconnection',
      ]);
      expect(existsSync(join(d, 'etc/NetworkManager/conf.d/wulf.conf'))).toBe(true);
      expect(ls(join(d, 'etc/network/interfaces.d'))).toEqual(['site-eth9']);
      expect(ls(join(d, 'etc/systemd/network'))).toEqual([]);
      expect(ls(join(d, 'etc/netplan'))).toEqual([]);
      expect(ls(join(d, 'etc/sysconfig/network-scripts'))).toEqual([]);
      expect(ls(join(d, 'etc/wicked/ifconfig'))).toEqual([]);
      expect(existsSync(join(d, 'etc/systemd/system/ifupdown-pre.service.d/wulf.conf'))).toBe(false);
      expect(wants(d, 'multi-user.target')).toEqual([
        'NetworkManager.service -> /usr/lib/systemd/system/NetworkManager.service',
        'wulf-agent.service -> /etc/systemd/system/wulf-agent.service',
      ]);
      expect(wants(d, 'network-online.target')).toEqual([
        'NetworkManager-wait-online.service -> /usr/lib/systemd/system/NetworkManager-wait-online.service',
      ]);
      expect(out).toContain('disabled systemd-networkd.service');
    },
  );

  test('wicked (SUSE; systemd-networkd also installed): only its interface files stay, wicked is enabled and is network.service, networkd is disabled', () => {
    const WICKED = ['usr/sbin/wicked', 'usr/lib/systemd/system/wicked.service', 'usr/lib/systemd/system/wickedd.service'];
    const d = imageTree('wicked', [...WICKED, ...NETWORKD]);
    mkdirSync(join(d, 'etc/wicked/ifconfig'), { recursive: true });
    writeFileSync(join(d, 'etc/wicked/ifconfig/site.xml'), '<interface><name>eth9</name></interface>\n'); // the image's own: kept
    const out = runNetwork(d);
    expect(out).toContain('wulf: network: wicked configures the network');
    // (no file for vlan100: its parent is a NIC found by MAC, and wicked names a VLAN's parent by interface)
    expect(ls(join(d, 'etc/wicked/ifconfig'))).toEqual(['site.xml', 'wulf-data.xml', 'wulf-default.xml']);
    for (const gone of [
      'etc/NetworkManager/system-connections',
      'etc/network/interfaces.d',
      'etc/systemd/network',
      'etc/netplan',
      'etc/sysconfig/network-scripts',
    ])
      expect([gone, ls(join(d, gone))]).toEqual([gone, []]);
    expect(wants(d, 'multi-user.target')).toEqual([
      'wicked.service -> /usr/lib/systemd/system/wicked.service',
      'wickedd.service -> /usr/lib/systemd/system/wickedd.service',
      'wulf-agent.service -> /etc/systemd/system/wulf-agent.service',
    ]);
    expect(readlinkSync(join(d, 'etc/systemd/system/network.service'))).toBe('/usr/lib/systemd/system/wicked.service');
  });

  test('ifupdown: its files stay, networking.service is enabled; a second run changes nothing', () => {
    const d = imageTree('ifupdown', [...IFUPDOWN, ...NETWORKD]);
    runNetwork(d);
    expect(ls(join(d, 'etc/network/interfaces.d'))).toEqual(['wulf-data', 'wulf-default', 'wulf-vlan100']);
    expect(existsSync(join(d, 'etc/systemd/system/ifupdown-pre.service.d/wulf.conf'))).toBe(true);
    expect(ls(join(d, 'etc/NetworkManager/system-connections'))).toEqual([]);
    expect(ls(join(d, 'etc/systemd/network'))).toEqual([]);
    expect(wants(d, 'multi-user.target')).toContain('networking.service -> /usr/lib/systemd/system/networking.service');
    expect(wants(d, 'network-online.target')).toEqual([
      'ifupdown-wait-online.service -> /usr/lib/systemd/system/ifupdown-wait-online.service',
      'networking.service -> /usr/lib/systemd/system/networking.service',
    ]);
    expect(runNetwork(d)).toBe('wulf: network: ifupdown configures the network\n');
  });

  test('systemd-networkd alone (a stock Debian image without ifupdown): its files stay and it is enabled', () => {
    const d = imageTree('networkd', NETWORKD);
    runNetwork(d);
    expect(ls(join(d, 'etc/systemd/network'))).toEqual([
      '50-wulf-data.network',
      '50-wulf-default.network',
      '50-wulf-vlan100.netdev',
      '50-wulf-vlan100.network',
    ]);
    expect(ls(join(d, 'etc/network/interfaces.d'))).toEqual([]);
    expect(wants(d, 'multi-user.target')).toContain('systemd-networkd.service -> /usr/lib/systemd/system/systemd-networkd.service');
    expect(wants(d, 'sockets.target')).toEqual(['systemd-networkd.socket -> /usr/lib/systemd/system/systemd-networkd.socket']);
    expect(wants(d, 'network-online.target')).toEqual([
      'systemd-networkd-wait-online.service -> /usr/lib/systemd/system/systemd-networkd-wait-online.service',
    ]);
    expect(readlinkSync(join(d, 'etc/systemd/system/dbus-org.freedesktop.network1.service'))).toBe(
      '/usr/lib/systemd/system/systemd-networkd.service',
    );
  });

  test('no stack at all (busybox): every file is left as it is', () => {
    const d = imageTree('busybox', ['bin/busybox', 'bin/ifup']);
    expect(runNetwork(d)).toContain('files left as they are');
    expect(ls(join(d, 'etc/network/interfaces.d'))).toEqual(['wulf-data', 'wulf-default', 'wulf-vlan100']);
    expect(ls(join(d, 'etc/NetworkManager/system-connections')).length).toBe(3);
  });
});

describe('archive entries', () => {
  const root = join(tmp, 'ctl');
  const paths = pathsFor(root, root);
  mkdirSync(join(root, 'root/.ssh'), { recursive: true });
  writeFileSync(join(root, 'root/.ssh/authorized_keys'), 'ssh-ed25519 AAAAx admin@ctl\n');
  const conf = () => ({
    profiles: {},
    nodes: {
      n1: {
        ...structuredClone(rendererNodes['r-one']!),
        systemOverlay: [...defaultSystemOverlays],
        runtimeOverlay: [...defaultRuntimeOverlays],
      },
    },
    revision: 'r',
  });
  const archive = (b: Builder, kind: 'system' | 'runtime') => {
    const s = b.snapshot(conf(), wulfConf);
    return b.pack(b.entries(s, 'n1', kind));
  };
  const unpack = (members: Uint8Array[]) => readCpio(gunzipSync(Buffer.concat(members)));

  test('/root is 0700 and .ssh 0700 with authorized_keys 0600; implicit parents are 0755', () => {
    const e = new Map(unpack(archive(new Builder({ paths }), 'runtime').members).map((x) => [x.name, x]));
    expect((e.get('root')!.mode & 0o7777).toString(8)).toBe('700');
    expect((e.get('root/.ssh')!.mode & 0o7777).toString(8)).toBe('700');
    expect((e.get('root/.ssh/authorized_keys')!.mode & 0o7777).toString(8)).toBe('600');
    const sys = new Map(unpack(archive(new Builder({ paths }), 'system').members).map((x) => [x.name, x]));
    expect((sys.get('etc/NetworkManager/system-connections')!.mode & 0o7777).toString(8)).toBe('700');
    for (const d of ['etc', 'etc/network', 'warewulf', 'warewulf/init.d'])
      expect([d, (sys.get(d)!.mode & 0o7777).toString(8)]).toEqual([d, '755']);
  });

  test("every entry has a real mtime (its source file's), and the same inputs give byte-identical archives", () => {
    const a = archive(new Builder({ paths }), 'system');
    const since2020 = Date.UTC(2020, 0, 1) / 1000;
    const entries = unpack(a.members);
    const template = Math.floor(lstatSync(join(import.meta.dir, '../../overlays/hostname/rootfs/etc/hostname.ww')).mtimeMs / 1000);
    for (const x of entries) expect([x.name, x.mtime! > since2020]).toEqual([x.name, true]);
    expect(entries.find((x) => x.name === 'etc/hostname')!.mtime).toBe(template);
    const b = archive(new Builder({ paths }), 'system');
    expect(b.hash).toBe(a.hash);
    expect(Buffer.concat(b.members).equals(Buffer.concat(a.members))).toBe(true);
  });
});

describe("the controller's own files", () => {
  const root = join(tmp, 'relocated');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nrelocatedonly:x:4321:4321::/home/r:/bin/sh\n');
  const passwd = (hostRoot?: string) => {
    const b = new Builder({ paths: pathsFor(root, hostRoot) });
    const s = b.snapshot({ profiles: {}, nodes: { n1: { runtimeOverlay: ['syncuser'], systemOverlay: [] } }, revision: 'r' }, wulfConf);
    const e = b.entries(s, 'n1', 'runtime').get('etc/passwd');
    return e ? new TextDecoder().decode(e.data) : '';
  };
  test.skipIf(!existsSync('/etc/passwd'))('come from the real host with a relocated root, from WULF_HOST_ROOT when set', () => {
    const host = readFileSync('/etc/passwd', 'utf8').split('\n')[0]!;
    expect(passwd()).toStartWith(host + '\n');
    expect(passwd()).not.toContain('relocatedonly');
    expect(passwd(root)).toContain('relocatedonly:x:4321');
    expect(pathsFor(root, '/').hostRoot).toBe('');
  });
});
