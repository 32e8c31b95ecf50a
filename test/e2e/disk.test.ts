// End to end: a Debian 12 node (images/debian12 networkd flavour) with a blank virtio disk boots from
// `dist/wulf serve` in a QEMU/TCG VM; its disk, partition and filesystem fields are set with the CLI as
// a Warewulf admin types them (wwctl's flags), the ignition overlay is added, and the default profile
// names Warewulf's `wwclient` where wulf's is wulf-agent. From the controller over ssh: the disk got a
// GPT with the two partitions, /scratch is mounted ext4 and swap is on; a file written to /scratch
// survives a power cycle (QEMU restarted with the same disk) with nothing reformatted; after
// `node set --fswipe` the next boot makes /scratch anew (the file gone, a new UUID) and keeps the swap.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, openSync, readFileSync, renameSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin, requireCompiled, tempRoot } from '../helpers/cli.ts';
import { Netns, run } from '../helpers/netns.ts';
import { Vm, type VmSpec } from '../helpers/qemu.ts';
import { debianRootfs, NodeSsh } from '../helpers/debian-nodes.ts';
import { defaultSystemOverlays } from '../../src/overlays/defaults.ts';

const LOGIN_MS = 600_000; // one TCG boot of a systemd image: 1.5-4 min here, up to 6.5 min at load 15
const N = { name: 'k1', mac: '52:54:00:d1:5c:01', ip: '10.98.0.41' };

/** A VM with one raw virtio disk besides its NIC (a second boot finds the disk as the first left it). */
class DiskVm extends Vm {
  constructor(
    spec: VmSpec,
    readonly disk: string,
  ) {
    super(spec);
  }
  override argv(daemon = false): string[] {
    return [...super.argv(daemon), '-drive', `file=${this.disk},if=virtio,format=raw,cache=unsafe`];
  }
}

const t = tempRoot('wulf-disk-');
const env = { ...process.env, WULF_ROOT: t.dir, WULF_HOST_ROOT: t.dir, NO_COLOR: '1' };
const wulf = (...a: string[]) => run([compiledBin, ...a], { env });
let ns: Netns;
let ssh: NodeSsh;
let vm: DiskVm;
let serve: ChildProcess | undefined;
let serveLog = '';
let boots = 0;
const sh = (cmd: string, ms = 60_000) => ssh.out(N.ip, cmd, ms);

beforeAll(async () => {
  requireCompiled();
  if (process.getuid?.() !== 0) throw new Error('the disk e2e test needs root (debootstrap, network namespaces, taps)');
  for (const tool of ['qemu-system-x86_64', 'debootstrap', 'ssh']) {
    if (!Bun.which(tool)) throw new Error(`${tool} missing (npm test installs the Debian packages, see build/test-deps.ts)`);
  }
  const rootfs = await debianRootfs('networkd');

  ns = new Netns('wdisk');
  ns.bridge('br0', '10.98.0.1/24');
  // a blank 2 GiB disk: raw and sparse, nothing on it
  const disk = join(t.dir, 'k1-disk.raw');
  const fd = openSync(disk, 'w', 0o600);
  ftruncateSync(fd, 2 * 1024 ** 3);
  closeSync(fd);
  vm = new DiskVm(
    {
      name: N.name,
      fw: 'bios',
      memMiB: 2048,
      dir: t.dir,
      netnsArgv: (c) => ns.argv(c),
      nics: [{ mac: N.mac, tap: ns.tap(`tk1p${process.pid % 100000}`, 'br0'), model: 'virtio-net-pci' }],
    },
    disk,
  );

  wulf('init', '--address', '10.98.0.1/24', '--interface', 'br0');
  wulf('configure', 'ssh');
  copyFileSync('/etc/passwd', join(t.dir, 'etc/passwd'));
  copyFileSync('/etc/group', join(t.dir, 'etc/group'));
  // root's key on the (relocated) controller, made by `configure ssh` as wwctl's does: ssh.authorized_keys carries it
  ssh = new NodeSsh(ns, join(t.dir, 'root/.ssh/id_ed25519'), join(t.dir, 'etc/wulf/keys/ssh_host_ed25519_key.pub'), t.dir);

  // Warewulf's name for the agent overlay, as a profile brought from Warewulf has it
  wulf(
    'profile',
    'set',
    'default',
    '--system-overlays',
    defaultSystemOverlays.map((o) => (o === 'wulf-agent' ? 'wwclient' : o)).join(','),
    '--yes',
  );
  const t0 = Date.now();
  wulf('image', 'import', rootfs, 'deb-disk');
  wulf('image', 'build', 'deb-disk');
  console.log(`image deb-disk: imported and built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  wulf(
    'node',
    'add',
    N.name,
    '--image',
    'deb-disk',
    '--hwaddr',
    N.mac,
    '--ipaddr',
    N.ip,
    '--netmask',
    '255.255.255.0',
    '--kernelargs',
    'console=ttyS0',
  );
  // the disk fields, with wwctl's flags (the node's overlay list is appended to the profile's)
  wulf('node', 'set', N.name, '--system-overlays', 'ignition', '--yes');
  wulf(
    'node',
    'set',
    N.name,
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
  wulf(
    'node',
    'set',
    N.name,
    '--diskname',
    '/dev/vda',
    '--partname',
    'swap',
    '--partnumber',
    '2',
    '--partsize',
    '256',
    '--fsname',
    'swap',
    '--fsformat',
    'swap',
    '--fspath',
    'swap',
    '--yes',
  );
  wulf('overlay', 'build');

  serve = spawn('ip', ['netns', 'exec', ns.name, compiledBin, 'serve', '--address', '10.98.0.1', '--interface', 'br0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  serve.stderr!.on('data', (d) => {
    serveLog += String(d);
  });
  for (let i = 0; i < 100 && !serveLog.includes('serving on'); i++) await Bun.sleep(100);
  if (!serveLog.includes('serving on 10.98.0.1')) throw new Error(`wulf serve did not start: ${serveLog}`);
}, 1_200_000);

afterAll(() => {
  vm?.stop();
  serve?.kill('SIGTERM');
  ns?.destroy();
  t.cleanup();
}, 120_000);

/** Power the VM on (a fresh QEMU on the same disk) and wait for its login prompt and sshd. */
async function boot(): Promise<number> {
  if (vm.running()) {
    sh('sync');
    vm.stop();
    for (let i = 0; i < 50 && vm.running(); i++) await Bun.sleep(100);
  }
  if (existsSync(vm.log)) renameSync(vm.log, `${vm.log}.${boots}`);
  boots++;
  vm.start();
  const ok = await vm.waitSerial(new RegExp(`\\n${N.name} login:`), LOGIN_MS);
  const secs = (Date.now() - vm.startedAt) / 1000;
  if (!ok)
    throw new Error(
      `${N.name}: no login prompt after ${secs.toFixed(0)} s (boot ${boots}); serial tail:\n${vm.tail(3000)}\n--- serve log tail:\n${serveLog.slice(-1500)}`,
    );
  const s = await ssh.waitUp(N.ip, 120_000);
  if (s.code !== 0) throw new Error(`${N.name}: login prompt but no ssh: ${s.err.trim()}; serial tail:\n${vm.tail(3000)}`);
  console.log(`${N.name}: boot ${boots}: login prompt ${secs.toFixed(1)} s after power-on`);
  return secs;
}

interface Disk {
  table: string;
  parts: Record<string, { dev: string; size: number; uuid: string; fstype: string }>;
}
function diskState(): Disk {
  // what the node's own tools say about /dev/vda: the GPT, each partition's label, size, filesystem and its UUID
  const table = sh('sfdisk --dump /dev/vda');
  const j = JSON.parse(sh('lsblk -J -b -o NAME,PARTLABEL,SIZE,FSTYPE,UUID /dev/vda')) as {
    blockdevices: { children?: { name: string; partlabel: string; size: number; fstype: string; uuid: string }[] }[];
  };
  const parts: Disk['parts'] = {};
  for (const c of j.blockdevices[0]?.children ?? [])
    parts[c.partlabel] = { dev: `/dev/${c.name}`, size: c.size, uuid: c.uuid, fstype: c.fstype };
  return { table, parts };
}

function expectMountedAndSwapOn(): void {
  expect(sh('findmnt -n -o FSTYPE,SOURCE,OPTIONS /scratch').trim()).toMatch(/^ext4\s+\/dev\/vda1\s+\S*noatime/);
  expect(sh('swapon --show=NAME,TYPE --noheadings').trim().split(/\s+/)).toEqual(['/dev/vda2', 'partition']);
  expect(sh('systemctl is-active wulf-disks.service scratch.mount').trim().split('\n')).toEqual(['active', 'active']);
  // home.mount: the default profile's NFS /home, which no server exports in this test (nofail: the boot goes on)
  const failed = sh('systemctl --failed --no-legend --plain --full')
    .trim()
    .split('\n')
    .filter((l) => l && !l.startsWith('home.mount'));
  if (failed.length) console.log(`failed units:\n${failed.join('\n')}`);
  expect(failed).toEqual([]);
}
const journal = () => sh('journalctl -b -o cat -u wulf-disks.service --no-pager');

/** wulf-disks.service ran to its end before /scratch was mounted and the swap turned on; returns how long it ran (s). */
function expectDisksFirst(): number {
  const mono = (unit: string, prop: string) => Number(sh(`systemctl show -p ${prop} --value '${unit}'`).trim());
  const start = mono('wulf-disks.service', 'ExecMainStartTimestampMonotonic');
  const end = mono('wulf-disks.service', 'ExecMainExitTimestampMonotonic');
  const mounted = mono('scratch.mount', 'ActiveEnterTimestampMonotonic');
  const swapOn = mono('dev-disk-by\\x2dpartlabel-swap.swap', 'ActiveEnterTimestampMonotonic');
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThanOrEqual(start);
  expect(mounted).toBeGreaterThan(end);
  expect(swapOn).toBeGreaterThan(end);
  const secs = (end - start) / 1e6;
  console.log(
    `${N.name}: wulf-disks.service ran ${secs.toFixed(2)} s; /scratch mounted ${((mounted - end) / 1e6).toFixed(2)} s and swap ` +
      `on ${((swapOn - end) / 1e6).toFixed(2)} s after it ended`,
  );
  return secs;
}

let first: Disk;
const token = `kept across boots ${process.pid}-${Date.now()}`;

test(
  'first boot: the blank disk gets a GPT with the two partitions, /scratch is mounted ext4 and swap is on; the agent runs from the wwclient overlay',
  async () => {
    await boot();
    expectMountedAndSwapOn();
    first = diskState();
    console.log(
      `${N.name}: ${first.table
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('/dev/'))
        .join('\n')}`,
    );
    expect(first.table).toMatch(/^label: gpt$/m);
    expect(first.parts.scratch).toMatchObject({ dev: '/dev/vda1', size: 1024 * 2 ** 20, fstype: 'ext4' });
    expect(first.parts.swap).toMatchObject({ dev: '/dev/vda2', size: 256 * 2 ** 20, fstype: 'swap' });
    const j = journal();
    console.log(`wulf-disks.service:\n${j.trim()}`);
    expect(j).toContain('/dev/vda: partition table written (wipe_table): 2 partitions');
    expect(j).toContain('/dev/disk/by-partlabel/scratch: ext4 made');
    expect(j).toContain('/dev/disk/by-partlabel/swap: swap made');
    // the partitioning ran before the local mounts: the unit is ordered before local-fs-pre.target, and ended before they began
    expect(sh('systemctl show -p Before --value wulf-disks.service')).toContain('local-fs-pre.target');
    expectDisksFirst();
    // wwclient is Warewulf's name for the agent overlay: the profile names it and the agent runs
    expect(sh('systemctl is-active wulf-agent').trim()).toBe('active');
    sh(`echo '${token}' > /scratch/keep && sync`);
  },
  LOGIN_MS + 300_000,
);

test(
  'second boot (QEMU restarted on the same disk): the file is still there and nothing was repartitioned or reformatted',
  async () => {
    expect(first).toBeDefined();
    await boot();
    expectMountedAndSwapOn();
    expect(sh('cat /scratch/keep').trim()).toBe(token);
    const now = diskState();
    expect(now.parts.scratch!.uuid).toBe(first.parts.scratch!.uuid);
    expect(now.parts.swap!.uuid).toBe(first.parts.swap!.uuid);
    expect(now.table).toBe(first.table); // same label-id, partition GUIDs, starts and sizes
    const j = journal();
    console.log(`wulf-disks.service:\n${j.trim()}`);
    expect(j).toContain('/dev/vda: partition table as configured (2 partitions): kept');
    expect(j).toMatch(/\/dev\/disk\/by-partlabel\/scratch: ext4 found \(UUID \S+\): kept/);
    expect(j).toMatch(/\/dev\/disk\/by-partlabel\/swap: swap found \(UUID \S+\): kept/);
    expect(j).not.toContain(' made');
    expectDisksFirst();
  },
  LOGIN_MS + 300_000,
);

test(
  'node set --fswipe: the next boot makes /scratch anew (file gone, new UUID); the swap is kept',
  async () => {
    expect(first).toBeDefined();
    wulf('node', 'set', N.name, '--fsname', 'scratch', '--fswipe', '--yes');
    expect(readFileSync(join(t.dir, 'etc/wulf/nodes.conf'), 'utf8')).toMatch(
      /\/dev\/disk\/by-partlabel\/scratch:\n(\s+\S.*\n)*?\s+wipe_filesystem: "?true"?/,
    );
    wulf('overlay', 'build', N.name);
    await boot();
    expectMountedAndSwapOn();
    expect(sh('test -e /scratch/keep && echo present || echo absent').trim()).toBe('absent');
    const now = diskState();
    expect(now.parts.scratch!.uuid).not.toBe(first.parts.scratch!.uuid);
    expect(now.parts.swap!.uuid).toBe(first.parts.swap!.uuid);
    const j = journal();
    console.log(`wulf-disks.service:\n${j.trim()}`);
    expect(j).toContain('/dev/disk/by-partlabel/scratch: ext4 made');
    expect(j).toMatch(/\/dev\/disk\/by-partlabel\/swap: swap found \(UUID \S+\): kept/);
    expectDisksFirst();
  },
  LOGIN_MS + 300_000,
);
