// The ignition overlay: what it renders for several disk/partition/filesystem combinations (the plan
// /warewulf/wulf-disks reads, wulf-disks.service, .mount and .swap units and their wants links), and
// /warewulf/wulf-disks itself run on sparse files standing for disks and partitions, with the host's
// sfdisk, wipefs, blkid, mkfs.ext4 and mkswap (the tools the Debian image has): the plan rendered from
// node fields, then the disk inspected with sfdisk --dump and blkid as the node would.
import { test, expect, describe, afterAll } from 'bun:test';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathsFor } from '../../src/config/paths.ts';
import { parseWulfConf } from '../../src/config/wulfconf.ts';
import { Builder } from '../../src/overlays/build.ts';
import type { NodeData } from '../../src/config/schema.ts';
import { repoRoot } from '../helpers/cli.ts';

const tmp = mkdtempSync('/tmp/woverlay-ignition-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const root = join(tmp, 'root');
mkdirSync(join(root, 'etc'), { recursive: true });
const paths = pathsFor(root, root);
const SERVER = parseWulfConf('ipaddr: 10.0.0.1\nnetmask: 255.255.0.0\n', 'test');
const SCRIPT = join(repoRoot, 'overlays/ignition/rootfs/warewulf/wulf-disks');

interface Out {
  files: Map<string, string>;
  links: Map<string, string>;
}
/** The system overlay `ignition` rendered for one node: files and symlinks by absolute path. */
function render(data: NodeData, overlay = 'ignition'): Out {
  const conf = { profiles: {}, nodes: { n1: { ...structuredClone(data), systemOverlay: [overlay], runtimeOverlay: [] } }, revision: 'r' };
  const b = new Builder({ paths });
  const snap = b.snapshot(conf, SERVER);
  const out: Out = { files: new Map(), links: new Map() };
  for (const e of b.entries(snap, 'n1', 'system').values()) {
    if (e.type === 'file') out.files.set('/' + e.rel, new TextDecoder().decode(e.data));
    if (e.type === 'symlink') out.links.set('/' + e.rel, e.target!);
  }
  return out;
}
const SYS = '/etc/systemd/system/';
const units = (o: Out) =>
  [...o.files.keys(), ...o.links.keys()]
    .filter((p) => p.startsWith(SYS))
    .map((p) => p.slice(SYS.length))
    .sort();

const scratchAndSwap: NodeData = {
  disks: {
    '/dev/vda': { wipeTable: 'true', partitions: { scratch: { number: '1', sizeMib: '1024' }, swap: { number: '2', sizeMib: '256' } } },
  },
  filesystems: {
    '/dev/disk/by-partlabel/scratch': { format: 'ext4', path: '/scratch', mountOptions: 'noatime,nodev' },
    '/dev/disk/by-partlabel/swap': { format: 'swap', path: 'swap' },
  },
};

describe('rendered files', () => {
  test('a node without disks or filesystems gets the script only: no plan, no units', () => {
    const o = render({});
    expect([...o.files.keys()].sort()).toEqual(['/warewulf/wulf-disks']);
    expect(o.links.size).toBe(0);
  });

  test('scratch + swap on a wiped disk (the README example): plan, service, mount and swap units, wants links', () => {
    const o = render(scratchAndSwap);
    expect(o.files.get('/warewulf/disks')).toBe(`# written by wulf for n1: what /warewulf/wulf-disks partitions and formats
# disk DEVICE WIPE_TABLE
# part DISK LABEL NUMBER SIZE_MIB START_MIB TYPE_GUID GUID WIPE_PARTITION_ENTRY SHOULD_EXIST RESIZE
# fs DEVICE FORMAT WIPE_FILESYSTEM LABEL UUID MKFS_OPTIONS
disk '/dev/vda' 'true'
part '/dev/vda' 'scratch' '1' '1024' '' '' '' '' '' ''
part '/dev/vda' 'swap' '2' '256' '' '' '' '' '' ''
fs '/dev/disk/by-partlabel/scratch' 'ext4' '' '' '' ''
fs '/dev/disk/by-partlabel/swap' 'swap' '' '' '' ''
`);
    expect(units(o)).toEqual([
      'dev-disk-by\\x2dpartlabel-swap.swap',
      'local-fs.target.wants/scratch.mount',
      'local-fs.target.wants/wulf-disks.service',
      'scratch.mount',
      'swap.target.wants/dev-disk-by\\x2dpartlabel-swap.swap',
      'wulf-disks.service',
    ]);
    const svc = o.files.get(`${SYS}wulf-disks.service`)!;
    // before the local mounts and swap, after udev and the disk's device, once (oneshot, stays active)
    for (const l of [
      'DefaultDependencies=no',
      'Before=local-fs-pre.target swap.target shutdown.target',
      'Wants=dev-vda.device',
      'After=dev-vda.device',
      'After=systemd-udevd.service systemd-udev-trigger.service',
      'Type=oneshot',
      'RemainAfterExit=yes',
      'ExecStart=/warewulf/wulf-disks',
      'ConditionPathExists=/warewulf/disks',
    ]) {
      expect(svc.split('\n')).toContain(l);
    }
    expect(o.files.get(`${SYS}scratch.mount`)).toBe(`# written by wulf for n1
[Unit]
Description=wulf: /scratch (ext4 on /dev/disk/by-partlabel/scratch)
Wants=wulf-disks.service
After=wulf-disks.service

[Mount]
What=/dev/disk/by-partlabel/scratch
Where=/scratch
Type=ext4
Options=noatime,nodev
`);
    expect(o.files.get(`${SYS}dev-disk-by\\x2dpartlabel-swap.swap`)).toBe(`# written by wulf for n1
[Unit]
Description=wulf: swap on /dev/disk/by-partlabel/swap
Wants=wulf-disks.service
After=wulf-disks.service

[Swap]
What=/dev/disk/by-partlabel/swap
`);
    expect(o.links.get(`${SYS}local-fs.target.wants/scratch.mount`)).toBe('/etc/systemd/system/scratch.mount');
    expect(o.links.get(`${SYS}local-fs.target.wants/wulf-disks.service`)).toBe('/etc/systemd/system/wulf-disks.service');
    expect(o.links.get(`${SYS}swap.target.wants/dev-disk-by\\x2dpartlabel-swap.swap`)).toBe(
      '/etc/systemd/system/dev-disk-by\\x2dpartlabel-swap.swap',
    );
  });

  test('every partition and filesystem field reaches the plan; / , "none" and no path get no mount unit; nested paths are escaped', () => {
    const o = render({
      disks: {
        '/dev/nvme0n1': {
          partitions: {
            data: {
              number: '3',
              sizeMib: '2048',
              startMib: '100',
              typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
              guid: '11111111-2222-3333-4444-555555555555',
              wipePartitionEntry: 'true',
              resize: 'true',
            },
            old: { number: '4', shouldExist: 'false', wipePartitionEntry: 'true' },
          },
        },
        '/dev/sdb': { wipeTable: 'false' },
      },
      filesystems: {
        '/dev/disk/by-partlabel/data': {
          format: 'xfs',
          path: '/local/data dir'.replace(' ', '-'),
          wipeFilesystem: 'true',
          label: 'DATA',
          uuid: '8c3e5d2a-1b4f-4c6e-9a7d-2e5f8b1c3d4e',
          options: ['-m', 'reflink=1'],
        },
        '/dev/sdb1': { format: 'ext4', path: '/' },
        '/dev/sdb2': { format: 'ext4', path: 'none' },
        '/dev/sdb3': { format: 'btrfs' },
      },
    });
    expect(
      o.files
        .get('/warewulf/disks')!
        .split('\n')
        .filter((l) => !l.startsWith('#')),
    ).toEqual([
      "disk '/dev/nvme0n1' ''",
      "part '/dev/nvme0n1' 'data' '3' '2048' '100' '0FC63DAF-8483-4772-8E79-3D69D8477DE4' '11111111-2222-3333-4444-555555555555' 'true' '' 'true'",
      "part '/dev/nvme0n1' 'old' '4' '' '' '' '' 'true' 'false' ''",
      "disk '/dev/sdb' 'false'",
      "fs '/dev/disk/by-partlabel/data' 'xfs' 'true' 'DATA' '8c3e5d2a-1b4f-4c6e-9a7d-2e5f8b1c3d4e' '-m reflink=1'",
      "fs '/dev/sdb1' 'ext4' '' '' '' ''",
      "fs '/dev/sdb2' 'ext4' '' '' '' ''",
      "fs '/dev/sdb3' 'btrfs' '' '' '' ''",
      '',
    ]);
    // systemd-escape --path /local/data-dir: local-data\x2ddir
    expect(units(o)).toEqual([
      'local-data\\x2ddir.mount',
      'local-fs.target.wants/local-data\\x2ddir.mount',
      'local-fs.target.wants/wulf-disks.service',
      'wulf-disks.service',
    ]);
    expect(o.files.get(`${SYS}local-data\\x2ddir.mount`)).toContain('What=/dev/disk/by-partlabel/data\nWhere=/local/data-dir\nType=xfs\n');
    expect(o.files.get(`${SYS}local-data\\x2ddir.mount`)).not.toContain('Options=');
    const svc = o.files.get(`${SYS}wulf-disks.service`)!;
    expect(svc).toContain('Wants=dev-nvme0n1.device\nAfter=dev-nvme0n1.device\nWants=dev-sdb.device\nAfter=dev-sdb.device\n');
  });

  test('filesystems alone (no disks): plan and units, the service waits for no disk', () => {
    const o = render({ filesystems: { '/dev/sdc1': { format: 'ext4', path: '/tmp/fast' } } });
    expect(o.files.get('/warewulf/disks')).toContain("\nfs '/dev/sdc1' 'ext4' '' '' '' ''\n");
    expect(o.files.get('/warewulf/disks')).not.toContain('\ndisk ');
    expect(o.files.get(`${SYS}wulf-disks.service`)).not.toContain('.device');
    expect(units(o)).toContain('tmp-fast.mount');
  });

  test("Warewulf's overlay names: wwclient renders wulf-agent's files, systemd.swap (and sfdisk, mkfs, mkswap, systemd.mount) the ignition overlay's", () => {
    const agent = render({}, 'wulf-agent');
    const ww = render({}, 'wwclient');
    expect([...ww.files.keys()].sort()).toEqual([...agent.files.keys()].sort());
    expect(ww.files.get('/warewulf/wulf-agent')).toBe(agent.files.get('/warewulf/wulf-agent')!);
    for (const alias of ['systemd.swap', 'sfdisk', 'mkfs', 'mkswap', 'systemd.mount']) {
      const r = render(scratchAndSwap, alias);
      expect([alias, units(r)]).toEqual([alias, units(render(scratchAndSwap))]);
      expect(r.files.get('/warewulf/disks')).toBe(render(scratchAndSwap).files.get('/warewulf/disks')!);
    }
  });
});

// ---- the script on sparse files ----

const have = ['sfdisk', 'blkid', 'wipefs', 'mkfs.ext4', 'mkswap'].filter(
  (t) => !Bun.which(t, { PATH: `/usr/sbin:/sbin:${process.env.PATH}` }),
);
function sparse(p: string, mib: number): string {
  const fd = openSync(p, 'w');
  ftruncateSync(fd, mib * 2 ** 20);
  closeSync(fd);
  return p;
}
/** Render the plan for these fields and run wulf-disks on it; returns exit code and output. */
function runDisks(data: NodeData, dir: string, shell = ['sh']): { code: number; out: string } {
  const plan = render(data).files.get('/warewulf/disks');
  if (!plan) throw new Error('no plan rendered');
  writeFileSync(join(dir, 'plan'), plan);
  const r = spawnSync(shell[0]!, [...shell.slice(1), SCRIPT], {
    encoding: 'utf8',
    env: { ...process.env, WULF_DISKS_PLAN: join(dir, 'plan'), WULF_DISKS_RUN: join(dir, 'run'), WULF_DISKS_WAIT: '2' },
  });
  return { code: r.status ?? -1, out: (r.stdout ?? '') + (r.stderr ?? '') };
}
const sh = (cmd: string) =>
  spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, PATH: `/usr/sbin:/sbin:${process.env.PATH}` } });
/** The partition lines of a disk: number, start, size (sectors) and name; optionally the partition GUIDs. */
function table(disk: string, withIds = false): string[] {
  const r = sh(`sfdisk --dump '${disk}'`);
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith(disk))
    .map((l) => {
      const g = (k: string) => new RegExp(`[ ,]${k}= *([^, ]*)`).exec(l)?.[1] ?? '';
      return `${l.slice(disk.length, l.indexOf(' :'))} ${g('start')} ${g('size')} ${/name="([^"]*)"/.exec(l)?.[1] ?? ''}${withIds ? ` ${g('uuid')}` : ''}`;
    });
}
const blkid = (dev: string) =>
  Object.fromEntries(
    sh(`blkid -p -o export '${dev}'`)
      .stdout.trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('=', 2) as [string, string]),
  );
const MiB = 2048; // sectors

describe('wulf-disks on sparse files', () => {
  test('the host has the tools the Debian image has (sfdisk: package fdisk)', () => {
    expect(have).toEqual([]);
  });

  test('wipe_table: a blank disk gets the configured GPT; run again it is kept as it is (same partition GUIDs); a changed size rewrites it', () => {
    const dir = mkdtempSync(join(tmp, 'wipe-'));
    const disk = sparse(join(dir, 'disk.img'), 300);
    const data: NodeData = {
      disks: {
        [disk]: {
          wipeTable: 'true',
          partitions: { scratch: { number: '1', sizeMib: '100' }, swap: { number: '2', sizeMib: '50' }, rest: {} },
        },
      },
    };
    let r = runDisks(data, dir);
    expect(r).toEqual({ code: 0, out: `wulf-disks: ${disk}: partition table written (wipe_table): 3 partitions\n` });
    const t1 = table(disk, true);
    expect(table(disk).slice(0, 2)).toEqual([`1 ${MiB} ${100 * MiB} scratch`, `2 ${101 * MiB} ${50 * MiB} swap`]);
    // no size: the rest of the disk (up to the backup GPT)
    expect(table(disk)[2]).toMatch(new RegExp(`^3 ${151 * MiB} (\\d+) rest$`));
    expect(Number(table(disk)[2]!.split(' ')[2])).toBeGreaterThanOrEqual(148 * MiB);
    r = runDisks(data, dir);
    expect(r).toEqual({ code: 0, out: `wulf-disks: ${disk}: partition table as configured (3 partitions): kept\n` });
    expect(table(disk, true)).toEqual(t1);
    // a partition not in the fields goes, the others are rewritten at the same places
    data.disks![disk]!.partitions!.swap!.sizeMib = '40';
    delete data.disks![disk]!.partitions!.rest;
    expect(runDisks(data, dir).out).toContain('partition table written (wipe_table): 2 partitions');
    expect(table(disk)).toEqual([`1 ${MiB} ${100 * MiB} scratch`, `2 ${101 * MiB} ${40 * MiB} swap`]);
  }, 60_000);

  test('without wipe_table: created on a blank disk, kept when they match, a mismatch is an error (disk untouched) until wipe_partition_entry, ' +
    'resize changes the size in place, should_exist false deletes', () => {
    const dir = mkdtempSync(join(tmp, 'keep-'));
    const disk = sparse(join(dir, 'disk.img'), 300);
    const parts = { a: { number: '1', sizeMib: '50' }, b: { number: '2', sizeMib: '50' } };
    const data: NodeData = { disks: { [disk]: { partitions: parts } } };
    let r = runDisks(data, dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain('no partition table: a GPT is made');
    expect(r.out).toContain(`${disk} partition 1 "a": created`);
    expect(table(disk)).toEqual([`1 ${MiB} ${50 * MiB} a`, `2 ${51 * MiB} ${50 * MiB} b`]);
    const ids = table(disk, true);
    expect(runDisks(data, dir)).toEqual({
      code: 0,
      out: `wulf-disks: ${disk} partition 1 "a": kept\nwulf-disks: ${disk} partition 2 "b": kept\nwulf-disks: ${disk}: partition table as configured: kept\n`,
    });
    // a partition the fields do not name stays
    sh(`echo 'size=20MiB, name="site"' | sfdisk -q --append '${disk}'`);
    expect(runDisks(data, dir).code).toBe(0);
    expect(table(disk).map((l) => l.split(' ').pop())).toEqual(['a', 'b', 'site']);
    // a different label on partition 2: an error, nothing changed
    const renamed: NodeData = { disks: { [disk]: { partitions: { a: parts.a!, c: { number: '2', sizeMib: '50' } } } } };
    r = runDisks(renamed, dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `error: ${disk} partition 2 "c" does not match: label "b" (wants "c"); left alone (set wipe_partition_entry, --partwipe, to replace it)`,
    );
    expect(table(disk, true).slice(0, 2)).toEqual(ids);
    // with wipe_partition_entry it is replaced
    renamed.disks![disk]!.partitions!.c!.wipePartitionEntry = 'true';
    r = runDisks(renamed, dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`partition 2 "c": replaced (did not match: label "b" (wants "c"))`);
    expect(table(disk).map((l) => l.split(' ').pop())).toEqual(['a', 'c', 'site']);
    // resize: only the size differs: changed in place (same start, same GUID)
    const resized: NodeData = { disks: { [disk]: { partitions: { a: parts.a!, c: { number: '2', sizeMib: '30', resize: 'true' } } } } };
    const before = table(disk, true)[1]!.split(' ');
    r = runDisks(resized, dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain('partition 2 "c": resized to 30 MiB');
    const after = table(disk, true)[1]!.split(' ');
    expect([after[1], after[2], after[4]]).toEqual([before[1], String(30 * MiB), before[4]]); // same start and GUID
    // a size that does not fit: an error, nothing written
    const tooBig: NodeData = {
      disks: { [disk]: { partitions: { a: parts.a!, c: { number: '2', sizeMib: '500', wipePartitionEntry: 'true' } } } },
    };
    const t0 = table(disk, true);
    r = runDisks(tooBig, dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /the configured partitions do not fit as configured: partition 2 "c": size \d+ MiB \(wants 500 MiB\); \(nothing written\)/,
    );
    expect(table(disk, true)).toEqual(t0);
    // should_exist false: an error while it exists without wipe_partition_entry, deleted with it
    const gone: NodeData = { disks: { [disk]: { partitions: { site: { number: '3', shouldExist: 'false' } } } } };
    expect(runDisks(gone, dir).out).toContain(
      'partition 3 "site" exists and should_exist is false: not deleted without wipe_partition_entry (--partwipe)',
    );
    gone.disks![disk]!.partitions!.site!.wipePartitionEntry = 'true';
    expect(runDisks(gone, dir).out).toContain('partition 3 "site": deleted (should_exist false)');
    expect(table(disk).map((l) => l.split(' ').pop())).toEqual(['a', 'c']);
    expect(runDisks(gone, dir).out).toContain('partition 3 "site": absent, as should_exist false says');
  }, 120_000);

  test("busybox's sh runs it the same (an image whose /bin/sh is busybox)", () => {
    expect(Bun.which('busybox')).not.toBeNull();
    const dir = mkdtempSync(join(tmp, 'busybox-'));
    const disk = sparse(join(dir, 'disk.img'), 100);
    const data: NodeData = { disks: { [disk]: { partitions: { a: { number: '1', sizeMib: '20' }, b: { number: '2' } } } } };
    expect(runDisks(data, dir, ['busybox', 'sh'])).toEqual({
      code: 0,
      out: [`${disk}: no partition table: a GPT is made`, `${disk} partition 1 "a": created`, `${disk} partition 2 "b": created`]
        .map((l) => `wulf-disks: ${l}\n`)
        .join(''),
    });
    expect(runDisks(data, dir, ['busybox', 'sh']).out).toContain(`${disk}: partition table as configured: kept`);
    expect(table(disk).map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([`1 ${MiB}`, `2 ${21 * MiB}`]);
  }, 60_000);

  test('a disk with an MBR (dos) table is left alone without wipe_table, replaced with it', () => {
    const dir = mkdtempSync(join(tmp, 'dos-'));
    const disk = sparse(join(dir, 'disk.img'), 100);
    sh(`printf 'label: dos\\nsize=10MiB\\n' | sfdisk -q '${disk}'`);
    const data: NodeData = { disks: { [disk]: { partitions: { p: { number: '1', sizeMib: '20' } } } } };
    const r = runDisks(data, dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`error: ${disk}: has a dos partition table, not GPT: left alone (set wipe_table, --diskwipe, to replace it)`);
    expect(sh(`sfdisk --dump '${disk}'`).stdout).toContain('label: dos');
    data.disks![disk]!.wipeTable = 'true';
    expect(runDisks(data, dir).code).toBe(0);
    expect(table(disk)).toEqual([`1 ${MiB} ${20 * MiB} p`]);
  }, 60_000);

  test('filesystems: made on a blank device and kept after; another format is an error and untouched; wipe_filesystem makes it anew each time; swap; ' +
    'label and UUID', () => {
    const dir = mkdtempSync(join(tmp, 'fs-'));
    const dev = sparse(join(dir, 'part1.img'), 64);
    const sw = sparse(join(dir, 'part2.img'), 32);
    const uuid = '0b9c3f5e-8a7d-4c2b-9e1f-3d5a7b9c1e2f';
    const fs: Record<string, Record<string, unknown>> = {
      [dev]: { format: 'ext4', label: 'scratch', uuid, options: ['-m', '0'] },
      [sw]: { format: 'swap', label: 'sw' },
    };
    let r = runDisks({ filesystems: fs }, dir);
    expect(r).toEqual({ code: 0, out: `wulf-disks: ${dev}: ext4 made (label scratch)\nwulf-disks: ${sw}: swap made (label sw)\n` });
    expect(blkid(dev)).toMatchObject({ TYPE: 'ext4', LABEL: 'scratch', UUID: uuid });
    expect(sh(`dumpe2fs -h '${dev}' 2>/dev/null | grep '^Reserved block count'`).stdout).toMatch(/:\s+0$/m); // the mkfs option -m 0
    const swapUuid = blkid(sw).UUID;
    expect(blkid(sw)).toMatchObject({ TYPE: 'swap', LABEL: 'sw' });
    r = runDisks({ filesystems: fs }, dir);
    expect(r).toEqual({
      code: 0,
      out: `wulf-disks: ${dev}: ext4 found (UUID ${uuid}): kept\nwulf-disks: ${sw}: swap found (UUID ${swapUuid}): kept\n`,
    });
    // another format or label without wipe_filesystem: an error, the filesystem stays
    r = runDisks({ filesystems: { [dev]: { format: 'swap' } } }, dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `error: ${dev} holds ext4 labelled scratch, not the configured swap: left alone (set wipe_filesystem, --fswipe, to replace it)`,
    );
    r = runDisks({ filesystems: { [dev]: { format: 'ext4', label: 'other' } } }, dir);
    expect(r.code).toBe(1);
    expect(blkid(dev)).toMatchObject({ TYPE: 'ext4', UUID: uuid });
    // wipe_filesystem: made anew at every run (a new UUID each time)
    const wiped = { filesystems: { [dev]: { format: 'ext4', wipeFilesystem: 'true' } } };
    expect(runDisks(wiped, dir).out).toBe(`wulf-disks: ${dev}: ext4 made\n`);
    const u1 = blkid(dev).UUID;
    expect(u1).not.toBe(uuid);
    expect(blkid(dev).LABEL).toBeUndefined();
    runDisks(wiped, dir);
    expect(blkid(dev).UUID).not.toBe(u1);
    // a format the image cannot make: an error naming the tool
    r = runDisks({ filesystems: { [dev]: { format: 'nosuchfs', wipeFilesystem: 'true' } } }, dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`error: ${dev}: mkfs.nosuchfs is not in the image: no nosuchfs made`);
    // a device that never appears
    r = runDisks({ filesystems: { [join(dir, 'missing.img')]: { format: 'ext4' } } }, dir);
    expect(r.out).toContain('missing.img: no such device: no ext4 made');
  }, 120_000);

  test('partition and filesystem together: the filesystem on the partition survives a rerun of wipe_table (the table is kept, not rewritten)', () => {
    const dir = mkdtempSync(join(tmp, 'both-'));
    const disk = sparse(join(dir, 'disk.img'), 200);
    const data: NodeData = { disks: { [disk]: { wipeTable: 'true', partitions: { scratch: { number: '1', sizeMib: '64' } } } } };
    expect(runDisks(data, dir).code).toBe(0);
    // the partition as a loop-free stand-in: the same bytes copied out, formatted, copied back
    const part = join(dir, 'p1.img');
    sh(
      `dd if='${disk}' of='${part}' bs=1M skip=1 count=64 status=none && mkfs.ext4 -q -F '${part}' && dd if='${part}' of='${disk}' bs=1M seek=1 ` +
        `conv=notrunc status=none`,
    );
    const u = blkid(part).UUID;
    expect(runDisks(data, dir).out).toContain('kept');
    sh(`dd if='${disk}' of='${part}' bs=1M skip=1 count=64 status=none`);
    expect(blkid(part)).toMatchObject({ TYPE: 'ext4', UUID: u });
  }, 60_000);
});
