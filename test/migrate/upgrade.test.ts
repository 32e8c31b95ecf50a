// The legacy `keys:` nodes.conf read everywhere (upgraded in memory, one note), `wulf upgrade
// nodes|config` (compiled) as `wwctl upgrade` does, and warewulf.conf keys without effect in wulf
// named once per key.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';
import { upgradeNodes, replaceOverlay, WWINIT_SPLIT } from '../../src/config/legacy-nodes.ts';
import { parseWulfConf } from '../../src/config/wulfconf.ts';
import { ineffectiveKeys } from '../../src/config/wwconf-keys.ts';
import { fixture } from './site.ts';
import { upgradeConfText } from '../../src/migrate/wwconf.ts';

const bin = modes[0]!;
const t = tempRoot('wulf-upgrade-');
const w = (...a: string[]) => runWulf(bin, t.dir, a);
const legacy = join(fixture, 'etc/warewulf/nodes.conf');
const nodesConf = join(t.dir, 'etc/wulf/nodes.conf');

beforeAll(() => {
  requireCompiled();
  expect(w('init', '--address', '127.0.0.1/8', '--interface', 'lo').code).toBe(0);
});
afterAll(() => t.cleanup());

test('a legacy keys: nodes.conf is read upgraded by every command, with one note to run wulf upgrade nodes', () => {
  copyFileSync(legacy, nodesConf);
  const r = w('node', 'list', '-j');
  expect(r.code).toBe(0);
  expect(r.err.trim().split('\n')).toEqual([
    expect.stringMatching(
      /^wulf: note: .*nodes\.conf uses an older Warewulf spelling \(profile compute\); it is read as upgraded: run 'wulf upgrade nodes' to rewrite it$/,
    ),
  ]);
  const n1 = JSON.parse(r.out).n1;
  expect(n1.tags).toEqual({ rack: 'r01', scheduler: 'slurm', role: 'login' }); // keys → tags, tagsdel applied, node over profile
  expect(n1.ipmi).toMatchObject({ ipaddr: '10.0.2.1', username: 'admin', password: 'secret', write: 'true' });
  expect(n1['primary network']).toBe('eth0');
  expect(n1['network devices'].ib0).toMatchObject({ ipaddr: '10.10.1.1', netmask: '255.255.0.0' });
  expect(n1['system overlay']).toEqual(expect.arrayContaining(['site-motd', 'site-net']));
  expect(n1['image name']).toBe('tiny');
  // a write keeps working: the changed entry is written in the current spelling, the others stay
  const s = w('node', 'set', 'n2', '--comment', 'rack 2', '-y');
  expect(s.code).toBe(0);
  expect(JSON.parse(w('node', 'list', '-j', 'n2').out).n2.tags).toEqual({ rack: 'r01', scheduler: 'slurm', role: 'compute' });
});

test('wulf upgrade nodes rewrites it (the old file kept as nodes.conf-old), validated; then no note, and a second run writes nothing', () => {
  copyFileSync(legacy, nodesConf);
  const r = w('upgrade', 'nodes', '--replace-overlays');
  expect(r.code).toBe(0);
  expect(r.out).toContain(`wrote ${nodesConf} (the previous file is ${nodesConf}-old)`);
  expect(r.err).toMatch(/nodes\.conf:80: node n1: network devices\.ib0\.prefix: obsolete: dropped/);
  expect(readFileSync(`${nodesConf}-old`, 'utf8')).toBe(readFileSync(legacy, 'utf8'));
  const text = readFileSync(nodesConf, 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  for (const gone of ['keys:', 'kernel args', 'ipmi ipaddr', 'tagsdel', 'default: "true"', 'ipcidr', 'WW_INTERNAL', 'container name'])
    expect(text).not.toContain(gone);
  expect(readFileSync(nodesConf, 'utf8')).toContain('# A Warewulf 4.4-era nodes.conf'); // the operator's comments stay
  const l = w('node', 'list');
  expect(l.err).toBe('');
  expect(l.out).toContain('n1');
  const again = w('upgrade', 'nodes');
  expect(again.out).toContain('is already in the current format: nothing written');
});

test('a Warewulf 4.4 node export (keys:, kernel args) imports with node import as its upgrade', () => {
  const f = join(t.dir, 'export.yaml');
  writeFileSync(
    f,
    'x1:\n  keys: {gpu: a100}\n  kernel args: quiet splash\n  network devices:\n    eth0: {hwaddr: "52:54:00:00:00:bb", ipcidr: 10.9.0.5/24}\n',
  );
  const r = w('node', 'import', f, '-y');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const x1 = JSON.parse(w('node', 'list', '-j', 'x1').out).x1;
  expect(x1.tags).toEqual({ gpu: 'a100' });
  expect(x1['network devices'].eth0).toMatchObject({ ipaddr: '10.9.0.5', netmask: '255.255.255.0' });
  expect(w('node', 'delete', 'x1', '-y').code).toBe(0);
});

test('wulf upgrade nodes -o - prints the upgrade; --add-defaults fills the default profile; a nodes.conf that would not validate is refused', () => {
  const f = join(t.dir, 'old.conf');
  writeFileSync(f, 'nodes:\n  c1:\n    keys: {a: b}\n    network devices:\n      eth0: {hwaddr: 52:54:00:00:00:aa, default: "true"}\n');
  const r = w('upgrade', 'nodes', '--add-defaults', '-i', f, '-o', '-');
  expect(r.code).toBe(0);
  expect(r.out).toContain('    profiles:\n      - default');
  expect(r.out).toContain('ipxe template: default');
  expect(r.out).toContain('- crashkernel=no');
  expect(readFileSync(f, 'utf8')).toContain('keys:'); // -o - writes nothing
  writeFileSync(f, 'nodes:\n  c1:\n    keys: {a: b}\n    network devices:\n      eth0: {hwaddr: not-a-mac}\n');
  const bad = w('upgrade', 'nodes', '-i', f);
  expect(bad.code).not.toBe(0);
  expect(bad.err).toMatch(/^wulf: node c1: NetDevs\[eth0\]\.Hwaddr "not-a-mac" is not a MAC address\n/);
  expect(existsSync(`${f}-old`)).toBe(false);
});

test('warewulf.conf keys without effect are named once each, one line per key; wulf upgrade config drops the obsolete ones', () => {
  const conf = join(t.dir, 'etc/wulf/wulf.conf');
  const before = readFileSync(conf, 'utf8');
  copyFileSync(join(fixture, 'etc/warewulf/warewulf.conf'), conf);
  writeFileSync(nodesConf, 'nodeprofiles: {}\nnodes: {}\n');
  const r = w('overlay', 'build'); // reads wulf.conf (more than once: the notes are still once per key)
  expect(r.code).toBe(0);
  const lines = r.err.trim().split('\n');
  for (const k of ['warewulf.syslog', 'warewulf.systemd name', 'dhcp.systemd name', 'tftp.systemd name', 'nfs.systemd name']) {
    expect(lines.filter((l) => l.includes(`: ${k} has no effect in wulf: `)).length).toBe(1);
  }
  for (const k of ['autobuild overlays', 'host overlay', 'grubboot', 'dhcp.template', 'tftproot', 'tftp.ipxe'])
    expect(r.err).not.toContain(k); // honoured, or values wulf already matches
  expect(lines.length).toBe(5);
  const u = w('upgrade', 'config', '-o', '-');
  expect(u.out).not.toContain('syslog');
  expect(u.out).toContain('image mounts:');
  expect(u.out).not.toContain('container mounts');
  writeFileSync(conf, before);
});

test('warewulf.host overlay: false is honoured: overlay build leaves the controller files alone unless --host', () => {
  const conf = join(t.dir, 'etc/wulf/wulf.conf');
  const before = readFileSync(conf, 'utf8');
  writeFileSync(nodesConf, 'nodeprofiles: {}\nnodes: {}\n');
  writeFileSync(conf, 'ipaddr: 127.0.0.1\nnetmask: 255.0.0.0\nwarewulf:\n  host overlay: false\n');
  const hosts = join(t.dir, 'etc/hosts');
  writeFileSync(hosts, '127.0.0.1 mine\n');
  const r = w('overlay', 'build');
  expect(r.err).toBe('');
  expect(r.out).toContain('host overlay: not written (warewulf.host overlay: false in wulf.conf; --host writes it anyway)');
  expect(readFileSync(hosts, 'utf8')).toBe('127.0.0.1 mine\n');
  const h = w('overlay', 'build', '--host');
  expect(h.code).toBe(0);
  expect(readFileSync(hosts, 'utf8')).toContain('# written by wulf (wulf overlay build --host)');
  writeFileSync(conf, before);
});

test('the legacy upgrade in memory: ipmi, kernel, netdev and overlay spellings (unit)', () => {
  const up = upgradeNodes(
    {
      nodeprofiles: {
        p: { 'kernel args': 'a b', 'kernel override': '6.1', 'system overlay': 'wwinit,x', 'ipxe template': 'dracut', 'asset key': 'k' },
      },
      nodes: {
        n: {
          'ipmi netmask': '255.255.255.0',
          ipmi: { ipaddr: '10.0.0.9', tagsdel: ['v'], tags: { v: '1', w: '2' } },
          'network devices': { e: { ipcidr: '10.1.2.3/20', onboot: 'yes', ip6addr: 'fd00::1' } },
        },
      },
    },
    { replaceOverlays: true },
    { nfs: { exports: ['/srv'], 'export paths': [{ path: '/data', mount: true, 'mount options': 'ro' }] } },
  );
  const p = up.nodeprofiles.p!;
  expect(p.kernel).toEqual({ args: ['a', 'b'], version: '6.1' });
  expect(p['system overlay']).toEqual([...WWINIT_SPLIT, 'x']);
  expect(p['ipxe template']).toBe('default');
  expect(p.tags).toEqual({ IPXEMenuEntry: 'dracut' });
  expect(p['asset key']).toBeUndefined();
  const n = up.nodes.n!;
  expect(n.ipmi).toEqual({ ipaddr: '10.0.0.9', netmask: '255.255.255.0', tags: { w: '2' } });
  expect((n['network devices'] as Record<string, unknown>).e).toEqual({
    ipaddr: '10.1.2.3',
    netmask: '255.255.240.0',
    onboot: 'true',
    ip6addr: 'fd00::1',
  });
  expect((up.nodeprofiles.default!.resources as Record<string, unknown>).fstab).toEqual([
    { spec: 'warewulf:/srv', file: '/srv', vfstype: 'nfs' },
    { spec: 'warewulf:/data', file: '/data', vfstype: 'nfs', mntops: 'ro' },
  ]);
  expect(replaceOverlay(['a', 'wwinit', 'hosts'], 'wwinit', ['wwinit', 'hosts', 'fstab'])).toEqual(['a', 'wwinit', 'fstab', 'hosts']);
  // warewulf.conf: Warewulf 4.3/4.4 spellings read
  const c = parseWulfConf('ipv6net: fd00:1::1/64\nnfs:\n  exports: [/home]\n');
  expect([c.ipaddr6, c.prefixlen6]).toEqual(['fd00:1::1', 64]);
  expect(c.nfs.exportPaths).toEqual([{ path: '/home', exportOptions: 'rw,sync,no_subtree_check' }]);
  expect(ineffectiveKeys({ api: { enabled: true }, wwclient: { port: 0 }, warewulf: { grubboot: true } }).map((k) => k.key)).toEqual([
    'api',
    'warewulf.grubboot',
  ]);
});

test(
  "warewulf.conf → wulf.conf (unit): Warewulf's secure default written out, wulf-only keys of the current wulf.conf kept, " +
    '4.3/4.4 spellings upgraded',
  () => {
    const r = upgradeConfText(
      (
        '# site\nipaddr: 10.1.0.1/16\nipv6net: fd00::1/64\nwarewulf:\n  port: 9873\n  datastore: /usr/share\nnfs:\n  exports: [/home]\n' +
        '  export paths:\n    - {path: /opt, mount: true}\ngrubboot: x\n'
      ).replace('grubboot: x\n', ''),
      'warewulf.conf',
      { forWulf: true, keep: 'dhcp:\n  mode: proxy\n  interface: eth1\ndns:\n  servers: [10.1.0.2]\nwarewulf:\n  port: 1\n' },
    );
    const v = r.value as Record<string, Record<string, unknown>>;
    expect(v.warewulf).toEqual({ port: 9873, secure: true });
    expect(v.dhcp).toEqual({ mode: 'proxy', interface: 'eth1' });
    expect(v.dns).toEqual({ servers: ['10.1.0.2'] });
    expect([v.ipaddr6, v.prefixlen6]).toEqual(['fd00::1', '64'] as unknown as Record<string, unknown>[]);
    expect(v.nfs).toEqual({ 'export paths': [{ path: '/home' }, { path: '/opt' }] });
    expect(r.text.startsWith('# site\n')).toBe(true);
    expect(r.problems.map((p) => `${p.line}: ${p.why.split(':')[0]}`)).toEqual([
      '6: warewulf.datastore',
      '10: nfs.export paths.mount',
      '0: warewulf.secure',
    ]);
  },
);
