// The profile cascade against Warewulf 4.7 semantics (warewulf-inventory.md §2.3–2.5).
import { test, expect, describe } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNodesConf } from '../../src/config/store.ts';
import { expandProfiles, mergeNode } from '../../src/config/cascade.ts';
import { parseWulfConf } from '../../src/config/wulfconf.ts';

const fx = (f: string) => readFileSync(join(import.meta.dir, '..', 'fixtures', 'warewulf', f), 'utf8');

describe('Warewulf 4.7 nodes.conf', () => {
  const conf = parseNodesConf(fx('nodes-4.7.conf'));

  test('nested profiles expand depth-first, cycles broken, ~profile drops one', () => {
    expect(expandProfiles(['gpu', '~default', 'debug'], conf.profiles)).toEqual(['base', 'loopy', 'gpu', 'debug']);
    expect(expandProfiles(['gpu'], conf.profiles)).toEqual(['default', 'base', 'loopy', 'gpu']);
  });

  test('n1: negated default profile and negated list item, node wins', () => {
    const m = mergeNode(conf, 'n1');
    expect(m.data.imageName).toBe('rockylinux-9-cuda'); // default is negated: only gpu sets it
    expect(m.data.clusterName).toBeUndefined();
    expect(m.data.kernel?.args).toEqual(['nouveau.modeset=0', 'debug', 'console=ttyS0,115200']);
    expect(m.data.tags).toEqual({ site: 'lab', gpu: 'a100' });
    expect(m.data.ipmi).toEqual({ interface: 'lanplus', ipaddr: '10.1.0.11' });
    expect(m.data.comment).toBeUndefined(); // comment is not inherited
    expect(m.origins.get('Kernel.Args')).toBe('gpu,debug,n1');
    expect(m.origins.get('ImageName')).toBe('gpu');
    expect(m.origins.get('NetDevs[default].Ipaddr')).toBe('--');
    expect(m.origins.get('Ipmi.Interface')).toBe('loopy');
  });

  test('n2: scalars right-most, lists append, SUPERSEDED, ~item removes an inherited overlay', () => {
    const m = mergeNode(conf, 'n2');
    expect(m.data.imageName).toBe('rockylinux-9');
    expect(m.origins.get('ImageName')).toBe('SUPERSEDED');
    expect(m.data.clusterName).toBe('cluster01');
    expect(m.origins.get('ClusterName')).toBe('default');
    expect(m.data.systemOverlay).toEqual(['wwinit', 'fstab', 'hostname', 'nvidia']);
    expect(m.origins.get('SystemOverlay')).toBe('default,gpu,n2');
    expect(m.data.kernel?.args).toEqual(['quiet', 'crashkernel=no', 'net.ifnames=1', 'nouveau.modeset=0']);
    expect(m.data.networkDevices?.default).toEqual({
      type: 'ethernet',
      netmask: '255.255.255.0',
      gateway: '10.0.0.254',
      tags: { DNS1: '10.0.0.1' },
      device: 'eth0',
      hwaddr: '52:54:00:00:00:02',
      ipaddr: '10.0.0.12',
    });
    expect(m.origins.get('NetDevs[default].Netmask')).toBe('default');
    expect(m.data.networkDevices?.ib?.ipaddr6).toBe('fd00::12');
    expect(m.primary).toBe('default');
    expect(m.data.discoverable).toBe('true');
    expect(m.data.assetKey).toBe('ASSET-2');
    expect(m.data.resources?.fstab).toEqual([{ spec: 'warewulf:/home', file: '/home', vfstype: 'nfs' }]);
  });
});

test('Warewulf 4.5 nodes.conf: container name, kernel override, netdev primary, string args', () => {
  const conf = parseNodesConf(fx('nodes-4.5.conf'));
  const m = mergeNode(conf, 'c1');
  expect(m.data.imageName).toBe('rocky-8');
  expect(m.data.kernel).toEqual({ args: ['quiet', 'crashkernel=no', 'vga=791'], version: '4.18.0-477' });
  expect(m.primary).toBe('eth0');
  expect(m.data.primaryNetwork).toBe('eth0');
  expect(m.data.ipmi?.write).toBe('false');
  expect(m.data.networkDevices?.eth0?.onboot).toBe('true');
});

test('Warewulf warewulf.conf is accepted unchanged', () => {
  const c = parseWulfConf(fx('warewulf-4.7.conf'));
  expect(c.ipaddr).toBe('10.0.0.1');
  expect(c.netmask).toBe('255.255.255.0');
  expect(c.network).toBe('10.0.0.0');
  expect(c.dhcp).toMatchObject({ mode: 'full', rangeStart: '10.0.0.50', rangeEnd: '10.0.0.99' });
  expect(c.imageMounts).toEqual([{ source: '/etc/resolv.conf', dest: '/etc/resolv.conf', readonly: true, copy: false }]);
  expect(c.ssh.keyTypes).toEqual(['ed25519', 'rsa']);
  expect(c.tftp.ipxe['00:07']).toBe('ipxe-snponly-x86_64.efi');
  expect(() => parseWulfConf('dhcp:\n  range start: 10.0.0.300\n')).toThrow('not an IPv4 address');
  expect(() => parseWulfConf('bogus: 1\n')).toThrow('unknown key "bogus"');
});

test('unknown fields and bad YAML are one-line errors naming the node', () => {
  expect(() => parseNodesConf('nodes:\n  n1:\n    colour: red\n')).toThrow('node n1: unknown field "colour"');
  expect(() => parseNodesConf('nodes:\n  n1:\n    kernel:\n      flavour: x\n')).toThrow('unknown field "kernel.flavour"');
  expect(() => parseNodesConf('nodes: [\n')).toThrow('YAML syntax error');
});
