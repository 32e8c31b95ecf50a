// The disk, partition and filesystem fields through the compiled CLI, as a Warewulf admin types them
// (wwctl's flags): what nodes.conf gets, what is refused (one line on stderr, nothing written), and
// Warewulf's overlay names in `overlay list`.
import { test, expect, afterAll, beforeAll } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin, requireCompiled } from '../helpers/cli.ts';

const root = mkdtempSync('/tmp/wdisk-fields-');
afterAll(() => rmSync(root, { recursive: true, force: true }));
const conf = () => readFileSync(join(root, 'etc/wulf/nodes.conf'), 'utf8');

function wulf(...args: string[]) {
  const r = Bun.spawnSync([compiledBin, '--root', root, ...args], {
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, WULF_HOST_ROOT: root, NO_COLOR: '1' },
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

beforeAll(() => {
  requireCompiled();
  expect(wulf('init', '--address', '10.9.0.1/24').code).toBe(0);
  expect(wulf('node', 'add', 'n1', '--hwaddr', '52:54:00:00:00:09', '--ipaddr', '10.9.0.5', '--netmask', '255.255.255.0').code).toBe(0);
});

test("wwctl's flags set a wiped disk with a scratch and a swap partition; --fsname NAME with --partname NAME is /dev/disk/by-partlabel/NAME", () => {
  let r = wulf(
    'node',
    'set',
    'n1',
    '--diskname',
    '/dev/vda',
    '--diskwipe',
    '--partname',
    'scratch',
    '--partnumber',
    '1',
    '--partsize',
    '1024',
    '--fsname',
    'scratch',
    '--fsformat',
    'ext4',
    '--fspath',
    '/scratch',
    '--fsmountoptions',
    'noatime',
    '--yes',
  );
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  r = wulf(
    'node',
    'set',
    'n1',
    '--diskname',
    '/dev/vda',
    '--partname',
    'swap',
    '--partnumber',
    '2',
    '--partsize',
    '256',
    '--partcreate',
    '--fsname',
    'swap',
    '--fsformat',
    'swap',
    '--fspath',
    'swap',
    '--yes',
  );
  expect(r.code).toBe(0);
  expect(conf()).toContain(`    disks:
      /dev/vda:
        wipe_table: "true"
        partitions:
          scratch:
            number: "1"
            size_mib: "1024"
          swap:
            number: "2"
            size_mib: "256"
            should_exist: "true"
    filesystems:
      /dev/disk/by-partlabel/scratch:
        format: ext4
        path: /scratch
        mount_options: noatime
      /dev/disk/by-partlabel/swap:
        format: swap
        path: swap
`);
  // the short name finds the entry again (wwctl needs the full path; both work here)
  expect(wulf('node', 'set', 'n1', '--fsname', 'scratch', '--fswipe', '--yes').code).toBe(0);
  expect(conf()).toMatch(
    /\/dev\/disk\/by-partlabel\/scratch:\n\s+format: ext4\n\s+path: \/scratch\n\s+mount_options: noatime\n\s+wipe_filesystem: "true"\n/,
  );
  expect(wulf('node', 'set', 'n1', '--fsname', '/dev/disk/by-partlabel/scratch', '--fswipe=false', '--yes').code).toBe(0);
  expect(conf()).toContain('wipe_filesystem: "false"');
  // the rendered plan names the same devices
  const plan = wulf('overlay', 'show', 'ignition', 'warewulf/disks', '--render', 'n1');
  expect(plan.out).toContain(
    "\ndisk '/dev/vda' 'true'\npart '/dev/vda' 'scratch' '1' '1024' '' '' '' '' '' ''\npart '/dev/vda' 'swap' '2' '256' '' '' '' '' 'true' ''\n",
  );
  expect(plan.out).toContain(
    "\nfs '/dev/disk/by-partlabel/scratch' 'ext4' 'false' '' '' ''\nfs '/dev/disk/by-partlabel/swap' 'swap' '' '' '' ''\n",
  );
});

const refused: [string, string[], RegExp][] = [
  ['a partition without a disk', ['--partname', 'data', '--partsize', '10'], /^wulf: --diskname is needed with partition flags$/],
  [
    'an unknown filesystem format',
    ['--diskname', '/dev/vda', '--partname', 'data', '--fsname', 'data', '--fsformat', 'ext5'],
    /^wulf: node n1: Format "ext5" is not one of ext2, ext3, ext4, xfs, btrfs, vfat, swap$/,
  ],
  [
    'a mount path that is not absolute',
    ['--diskname', '/dev/vda', '--partname', 'data', '--fsname', 'data', '--fsformat', 'ext4', '--fspath', 'data'],
    /^wulf: node n1: FileSystems\[\/dev\/disk\/by-partlabel\/data\]\.Path "data" is not an absolute path$/,
  ],
  [
    'a mount path with ..',
    ['--fsname', '/dev/sdb1', '--fsformat', 'ext4', '--fspath', '/scratch/../etc'],
    /^wulf: node n1: FileSystems\[\/dev\/sdb1\]\.Path "\/scratch\/\.\.\/etc" is not an absolute path$/,
  ],
  [
    'a filesystem named neither by a device nor by --partname',
    ['--fsname', 'data', '--fsformat', 'ext4', '--fspath', '/data'],
    /^wulf: --fsname data: a filesystem is named by its block device \(\/dev\/\.\.\.\), or by the partition named with --partname$/,
  ],
  [
    'a disk that is not a device path',
    ['--diskname', 'vda', '--diskwipe'],
    /^wulf: node n1: Disks\[vda\] is not a block device path \(\/dev\/\.\.\.\)$/,
  ],
  [
    'a partition label that is not a GPT name',
    ['--diskname', '/dev/vda', '--partname', 'my data', '--partsize', '10'],
    /^wulf: node n1: Disks\[\/dev\/vda\]\.Partitions\[my data\]: a partition name is its GPT label: 1-36 letters, digits, "\.", "_" or "-"$/,
  ],
  [
    'a type GUID that is not a GUID',
    ['--diskname', '/dev/vda', '--partname', 'data', '--parttype', 'linux'],
    /^wulf: node n1: Disks\[\/dev\/vda\]\.Partitions\[data\]\.TypeGuid "linux" is not a GUID$/,
  ],
  [
    'two partitions with one number on a disk',
    ['--diskname', '/dev/vda', '--partname', 'other', '--partnumber', '1'],
    /^wulf: node n1: Disks\[\/dev\/vda\]: partitions scratch and other both have number 1$/,
  ],
  [
    'two filesystems on one mount point',
    ['--fsname', '/dev/sdc1', '--fsformat', 'ext4', '--fspath', '/scratch'],
    /^wulf: node n1: FileSystems\[\/dev\/disk\/by-partlabel\/scratch\] and FileSystems\[\/dev\/sdc1\] both mount on \/scratch$/,
  ],
  [
    'a partition size that is not a number',
    ['--diskname', '/dev/vda', '--partname', 'data', '--partsize', '1G'],
    /^wulf: node n1: SizeMiB "1G" is not a whole number$/m,
  ],
];
for (const [what, args, re] of refused) {
  test(`refused at node set with one line: ${what}`, () => {
    const before = conf();
    const r = wulf('node', 'set', 'n1', ...args, '--yes');
    expect(r.code).toBe(1);
    const lines = r.err
      .trim()
      .split('\n')
      .filter((l) => !/^\s+hint:/.test(l));
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(re);
    expect(conf()).toBe(before);
  });
}

test('swap takes "swap" (Warewulf\'s docs) or no path; a filesystem on a device path needs no partition', () => {
  expect(
    wulf('node', 'set', 'n1', '--fsname', '/dev/sdb1', '--fsformat', 'xfs', '--fspath', '/data', '--fslabel', 'DATA', '--yes').code,
  ).toBe(0);
  expect(wulf('node', 'set', 'n1', '--fsname', '/dev/sdb2', '--fsformat', 'swap', '--yes').code).toBe(0);
  expect(conf()).toContain(
    '      /dev/sdb1:\n        format: xfs\n        path: /data\n        label: DATA\n      /dev/sdb2:\n        format: swap\n',
  );
  expect(wulf('node', 'set', 'n1', '--fsname', '/dev/sdb2', '--fsdel', '--yes').code).toBe(0);
  expect(conf()).not.toContain('/dev/sdb2');
});

test("overlay list shows Warewulf's names as aliases: wwclient → wulf-agent, the disk overlays → ignition", () => {
  const r = wulf('overlay', 'list');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^wwclient → wulf-agent\s+\d+\s+alias of wulf-agent \(Warewulf's name\)$/m);
  for (const n of ['sfdisk', 'mkfs', 'mkswap', 'systemd.mount', 'systemd.swap'])
    expect(r.out).toMatch(new RegExp(`^${n.replace('.', '\\.')} → ignition\\s+\\d+\\s+alias of ignition`, 'm'));
  expect(r.out).toMatch(/^ignition\s+\d+\s+shipped$/m);
  // and a profile may name it: the node's system overlay has the agent's files
  expect(wulf('profile', 'set', 'default', '--system-overlays', 'wwinit,wwclient', '--yes').code).toBe(0);
  const show = wulf('overlay', 'show', 'wwclient', 'etc/systemd/system/wulf-agent.service');
  expect(show.out).toContain('ExecStart=/warewulf/wulf-agent');
});
