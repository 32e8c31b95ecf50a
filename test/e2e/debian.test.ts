// End to end on real distributions: Debian 12 images built by the images/debian12 recipe (one per
// network stack: systemd-networkd, NetworkManager, ifupdown) boot in QEMU/TCG VMs from
// `dist/wulf serve` in a private network namespace, set up the way README tells a user (wulf init,
// configure ssh, image import + build, node add --hwaddr --ipaddr --netmask, overlay build). From
// the controller's side: the login prompt, no failed units, hostname, the overlay's static address
// on the NIC nodes.conf names (predictable name, no DHCP client), ping, ssh with the key the
// ssh.authorized_keys overlay delivered and the host key wulf generated, /etc/hosts, /home over NFS (and a
// login prompt while the NFS server is down),
// the agent as a systemd service bringing a new user within an update interval, `wulf node status`,
// `wulf power cycle` through a simulated BMC, a bond of two more NICs (active-backup, Warewulf's
// type bond + member tag master) with a VLAN on it (type vlan, vlan_id, parent_device) reached from a
// VLAN interface on the controller's side, and a 600+ MiB image on BIOS and UEFI.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin, requireCompiled, tempRoot } from '../helpers/cli.ts';
import { Netns, run } from '../helpers/netns.ts';
import { BMC_HOOK, bmcQemuScript, OVMF_CODE, Vm } from '../helpers/qemu.ts';
import { startSim, type Sim } from '../power/helpers/ipmi-sim.ts';
import { debianRootfs, fingerprint, Ganesha, keyscan, NodeSsh, writePadding } from '../helpers/debian-nodes.ts';
import { startVlanPeer, type VlanPeer } from '../helpers/vlan-peer.ts';

const INTERVAL = 5; // wulf.conf update interval for this test (seconds)
const LOGIN_MS = 600_000; // one TCG boot of a systemd image: 1.5-4 min here, up to 6.5 min at load 15
const BIG_MIB = 600; // the big image's uncompressed size at least

interface NodeDef {
  name: string;
  image: string;
  what: string;
  fw: 'bios' | 'uefi';
  nic: string;
  mac: string;
  ip: string;
  memMiB: number;
  bond?: Bond;
  bmc?: boolean;
}
/** two NICs on br1 bonded (the bond holds ip), a VLAN on the bond with its own address (the controller: br1.<vlan>) */
interface Bond {
  macs: [string, string];
  ip: string;
  mode: string;
  vlan: number;
  vlanIp: string;
}
const NODES: NodeDef[] = [
  // d1's power is switched by `wulf power` through a simulated IPMI BMC (ipmi_sim) whose hook starts and kills its QEMU
  {
    name: 'd1',
    image: 'deb-networkd',
    what: 'systemd-networkd, BIOS, a bond of two more NICs with a VLAN',
    fw: 'bios',
    nic: 'e1000',
    mac: '52:54:00:de:00:01',
    ip: '10.99.0.41',
    memMiB: 2048,
    bond: { macs: ['52:54:00:de:01:01', '52:54:00:de:02:01'], ip: '10.99.1.41', mode: 'active-backup', vlan: 100, vlanIp: '10.99.101.41' },
    bmc: true,
  },
  {
    name: 'd2',
    image: 'deb-nm',
    what: 'NetworkManager, UEFI',
    fw: 'uefi',
    nic: 'e1000',
    mac: '52:54:00:de:00:02',
    ip: '10.99.0.42',
    memMiB: 2048,
  },
  {
    name: 'd3',
    image: 'deb-ifupdown',
    what: 'ifupdown, BIOS, virtio',
    fw: 'bios',
    nic: 'virtio-net-pci',
    mac: '52:54:00:de:00:03',
    ip: '10.99.0.43',
    memMiB: 2048,
  },
];
const BIG: NodeDef[] = [
  {
    name: 'b1',
    image: 'deb-big',
    what: `${BIG_MIB}+ MiB image, BIOS`,
    fw: 'bios',
    nic: 'e1000',
    mac: '52:54:00:de:00:11',
    ip: '10.99.0.51',
    memMiB: 3072,
  },
  {
    name: 'b2',
    image: 'deb-big',
    what: `${BIG_MIB}+ MiB image, UEFI`,
    fw: 'uefi',
    nic: 'e1000',
    mac: '52:54:00:de:00:12',
    ip: '10.99.0.52',
    memMiB: 3072,
  },
];
const ALL = [...NODES, ...BIG];
const IMAGES: Record<string, { flavour: string; compress: 'gzip' | 'zstd'; pad?: boolean }> = {
  'deb-networkd': { flavour: 'networkd', compress: 'gzip' },
  'deb-nm': { flavour: 'networkmanager', compress: 'zstd' },
  'deb-ifupdown': { flavour: 'ifupdown', compress: 'gzip' },
  'deb-big': { flavour: 'networkd', compress: 'gzip', pad: true }, // random files in /opt/pad, past BIG_MIB
};

const t = tempRoot('wulf-deb-');
// the controller's own files (passwd, group, root's ssh keys) come from the temp root too
const env = { ...process.env, WULF_ROOT: t.dir, WULF_HOST_ROOT: t.dir, NO_COLOR: '1' };
let ns: Netns;
let ssh: NodeSsh;
let nfs: Ganesha;
let nfsArgs: [string, string, string, string];
let serve: ChildProcess | undefined;
let vlanPeer: VlanPeer | undefined;
let serveLog = '';
const homeDir = join(t.dir, 'export-home');
const rootfs: Record<string, string> = {};
const vms = new Map<string, Vm>();
const bmcs = new Map<string, Sim>();
const wulf = (...a: string[]) => run([compiledBin, ...a], { env });
const wulfNs = (...a: string[]) => ns.exec([compiledBin, ...a], { env });
let padSha = '';

beforeAll(async () => {
  requireCompiled();
  if (process.getuid?.() !== 0) throw new Error('the Debian e2e test needs root (debootstrap, network namespaces, taps)');
  for (const tool of ['qemu-system-x86_64', 'debootstrap', 'ganesha.nfsd', 'ssh', 'ssh-keyscan', 'ping']) {
    if (!Bun.which(tool)) throw new Error(`${tool} missing (npm test installs the Debian packages, see build/test-deps.ts)`);
  }
  if (!existsSync(OVMF_CODE)) throw new Error('OVMF missing (apt-get install ovmf)');
  // the node trees: built from Debian's archive on first use, then cached by recipe content
  for (const f of ['networkd', 'networkmanager', 'ifupdown']) rootfs[f] = await debianRootfs(f);

  ns = new Netns('wdeb');
  ns.bridge('br0', '10.99.0.1/24');
  ns.bridge('br1', '10.99.1.1/24'); // the bond's network
  // the controller's end of VLAN 100 on br1: this host's kernel has no 802.1Q (nor bridge VLAN filtering), so
  // a user-space VLAN interface (test/helpers/vlan-peer.py) on a veth port of br1 tags and untags for a tap
  vlanPeer = await startVlanPeer(ns, 'br1', 100, '10.99.101.1/24');
  for (const n of ALL) {
    const bmcDir = join(t.dir, `bmc-${n.name}`);
    vms.set(
      n.name,
      new Vm({
        name: n.name,
        fw: n.fw,
        memMiB: n.memMiB,
        dir: t.dir,
        netnsArgv: (c) => ns.argv(c),
        ...(n.bmc ? { pidFile: join(bmcDir, 'qemu.pid') } : {}),
        nics: [
          { mac: n.mac, tap: ns.tap(`t${n.name}p${process.pid % 100000}`, 'br0'), model: n.nic },
          ...(n.bond?.macs ?? []).map((mac, i) => ({
            mac,
            tap: ns.tap(`t${n.name}b${i}${process.pid % 100000}`, 'br1'),
            model: n.nic,
            boot: false,
          })),
        ],
      }),
    );
  }

  // the controller, as README sets one up
  wulf('init', '--address', '10.99.0.1/24', '--interface', 'br0');
  const wc = join(t.dir, 'etc/wulf/wulf.conf');
  writeFileSync(wc, readFileSync(wc, 'utf8').replace('update interval: 60', `update interval: ${INTERVAL}`));
  wulf('configure', 'ssh');
  copyFileSync('/etc/passwd', join(t.dir, 'etc/passwd'));
  copyFileSync('/etc/group', join(t.dir, 'etc/group'));
  // root's key on the (relocated) controller, made by `configure ssh` above as wwctl's does: the
  // ssh.authorized_keys overlay puts it on every node
  ssh = new NodeSsh(ns, join(t.dir, 'root/.ssh/id_ed25519'), join(t.dir, 'etc/wulf/keys/ssh_host_ed25519_key.pub'), t.dir);

  for (const n of ALL) {
    // console=ttyS0: the login prompt on the serial port, where the test reads it
    wulf(
      'node',
      'add',
      n.name,
      '--image',
      n.image,
      '--hwaddr',
      n.mac,
      '--ipaddr',
      n.ip,
      '--netmask',
      '255.255.255.0',
      '--kernelargs',
      'console=ttyS0',
    );
    if (n.bmc) {
      const dir = join(t.dir, `bmc-${n.name}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'qemu.sh'), bmcQemuScript(vms.get(n.name)!));
      const sim = await startSim(dir, { hook: BMC_HOOK, password: 'bmc-secret' });
      bmcs.set(n.name, sim);
      wulf(
        'node',
        'set',
        n.name,
        '--ipmiaddr',
        '127.0.0.1',
        '--ipmiport',
        String(sim.port),
        '--ipmiuser',
        'admin',
        '--ipmipass',
        'bmc-secret',
        '--yes',
      );
    }
    if (n.bond) {
      // as Warewulf models them: the bond (type bond, its options as tags), members naming it in tag
      // master, the VLAN with vlan_id and parent_device (the bond's device); bond first: a member's master must exist
      const b = n.bond;
      wulf(
        'node',
        'set',
        n.name,
        '--netname',
        'bond',
        '--type',
        'bond',
        '--netdev',
        'bond0',
        '--ipaddr',
        b.ip,
        '--netmask',
        '255.255.255.0',
        '--nettagadd',
        `mode=${b.mode},miimon=100`,
        '--yes',
      );
      b.macs.forEach((mac, i) =>
        wulf('node', 'set', n.name, '--netname', `data${i + 1}`, '--hwaddr', mac, '--nettagadd', 'master=bond0', '--yes'),
      );
      wulf(
        'node',
        'set',
        n.name,
        '--netname',
        `vlan${b.vlan}`,
        '--type',
        'vlan',
        '--netdev',
        `bond0.${b.vlan}`,
        '--ipaddr',
        b.vlanIp,
        '--netmask',
        '255.255.255.0',
        '--nettagadd',
        `vlan_id=${b.vlan},parent_device=bond0`,
        '--yes',
      );
    }
  }
  wulf('overlay', 'build');

  // /home over NFS, as wulf's host overlay exports it (ROOT/etc/exports): "<path> <network>(<options>)"
  const exp = readFileSync(join(t.dir, 'etc/exports'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('/home '));
  if (!exp) throw new Error(`wulf overlay build wrote no /home export:\n${readFileSync(join(t.dir, 'etc/exports'), 'utf8')}`);
  const [, clients, options] = /^\/home\s+(\S+)\((.*)\)$/.exec(exp.trim())!;
  mkdirSync(homeDir, { recursive: true });
  // wulf exports rw without no_root_squash: a node's root writes as nobody, so nobody owns the export
  // (not a world-writable sticky dir: the nodes' fs.protected_regular refuses root's O_CREAT of a file it does not own there)
  chownSync(homeDir, 65534, 65534);
  writeFileSync(join(homeDir, 'from-controller'), 'served by the controller\n');
  nfs = new Ganesha(ns, t.dir);
  nfsArgs = [homeDir, '/home', clients!, options!];
  await nfs.start(...nfsArgs);

  serve = spawn('ip', ['netns', 'exec', ns.name, compiledBin, 'serve', '--address', '10.99.0.1', '--interface', 'br0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  serve.stderr!.on('data', (d) => {
    serveLog += String(d);
  });
  for (let i = 0; i < 100 && !serveLog.includes('serving on'); i++) await Bun.sleep(100);
  if (!serveLog.includes('serving on 10.99.0.1')) throw new Error(`wulf serve did not start: ${serveLog}`);
}, 1_800_000); // cold: debootstrap 1.5-5 min, flavours, then ~30 s per image build

afterAll(async () => {
  for (const b of bmcs.values()) await b.stop();
  for (const v of vms.values()) v.stop();
  serve?.kill('SIGTERM');
  vlanPeer?.stop();
  nfs?.stop();
  ns?.destroy();
  t.cleanup(); // a few GB of imported images
}, 300_000);

// images are imported and built once, on first use, one at a time (each build uses both cores)
let imageChain: Promise<unknown> = Promise.resolve();
const imageReady = new Map<string, Promise<void>>();
function image(name: string): Promise<void> {
  if (!imageReady.has(name)) {
    const p = imageChain.then(() => {
      const def = IMAGES[name]!;
      const t0 = Date.now();
      wulf('image', 'import', rootfs[def.flavour]!, name);
      if (def.pad) {
        const root = wulf('image', 'show', name).trim();
        // the archive holds the tree's apparent size minus /boot (excluded): pad past BIG_MIB with a margin
        const mib = (p: string) => Number(run(['du', '-s', '--apparent-size', '--block-size=1M', p]).split('\t')[0]);
        padSha = writePadding(join(root, 'opt/pad'), Math.max(64, BIG_MIB + 32 - (mib(root) - mib(join(root, 'boot')))));
      }
      wulf('image', 'build', '--compress', def.compress, name);
      console.log(
        `image ${name}: imported and built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${wulf('image', 'list')
          .split('\n')
          .find((l) => l.startsWith(name + ' '))
          ?.replace(/\s+/g, ' ')}`,
      );
    });
    imageChain = p.catch(() => {});
    imageReady.set(name, p);
  }
  return imageReady.get(name)!;
}

// a node is powered on once, on first use; resolves at its login prompt with sshd answering
const booted = new Map<string, Promise<number>>();
function up(n: NodeDef): Promise<number> {
  if (!booted.has(n.name)) {
    booted.set(
      n.name,
      (async () => {
        await image(n.image);
        const vm = vms.get(n.name)!;
        if (n.bmc) {
          wulf('power', 'on', n.name);
          vm.startedAt = Date.now();
        } else vm.start();
        const ok = await vm.waitSerial(new RegExp(`\\n${n.name} login:`), LOGIN_MS);
        const secs = (Date.now() - vm.startedAt) / 1000;
        if (!ok)
          throw new Error(
            `${n.name} (${n.what}): no login prompt after ${secs.toFixed(0)} s; serial tail:\n${vm.tail()}\n--- serve log tail:\n${serveLog.slice(-1500)}`,
          );
        const s = await ssh.waitUp(n.ip, 120_000);
        if (s.code !== 0)
          throw new Error(`${n.name}: login prompt after ${secs.toFixed(0)} s but no ssh: ${s.err.trim()}; serial tail:\n${vm.tail(3000)}`);
        const failedOnConsole = vm
          .serial()
          .split('\n')
          .filter((l) => /FAILED/.test(l))
          .map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim());
        console.log(
          `${n.name} (${n.what}): login prompt ${secs.toFixed(1)} s after power-on${failedOnConsole.length ? `; console: ${failedOnConsole.join(' | ')}` : ''}`,
        );
        return secs;
      })(),
    );
  }
  return booted.get(n.name)!;
}

test(
  'three Debian 12 flavours (networkd BIOS, NetworkManager UEFI, ifupdown BIOS) boot from dist/wulf serve to a login prompt',
  async () => {
    const results = await Promise.allSettled(NODES.map((n) => up(n)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    if (failed.length) console.log(failed.join('\n\n'));
    expect(failed).toEqual([]);
  },
  LOGIN_MS + 600_000,
);

/** The interface that has this MAC, with its IPv4 addresses (ip -j). */
function linkByMac(
  ip: string,
  mac: string,
): { ifname: string; addrs: { local: string; prefixlen: number; valid_life_time: number; dynamic?: boolean }[] } {
  const links = JSON.parse(ssh.out(ip, 'ip -j addr show')) as {
    ifname: string;
    address: string;
    addr_info: { family: string; local: string; prefixlen: number; valid_life_time: number; dynamic?: boolean }[];
  }[];
  const l = links.find((x) => x.address === mac);
  if (!l) throw new Error(`no interface with MAC ${mac} on ${ip}: ${links.map((x) => `${x.ifname} ${x.address}`).join(', ')}`);
  return { ifname: l.ifname, addrs: l.addr_info.filter((a) => a.family === 'inet') };
}

function expectStaticAddress(n: NodeDef, mac: string, ip: string): string {
  const l = linkByMac(n.ip, mac);
  console.log(
    `${n.name}: ${mac} is ${l.ifname}: ` +
      `${l.addrs.map((a) => `${a.local}/${a.prefixlen} valid_lft ${a.valid_life_time}${a.dynamic ? ' dynamic' : ''}`).join(', ') || 'no IPv4 address'}`,
  );
  expect(l.ifname).not.toBe('eth0'); // udev's predictable name, not the kernel's
  expect(l.ifname).toMatch(/^en/);
  const a = l.addrs.find((x) => x.local === ip);
  expect(a ? `${a.local}/${a.prefixlen}` : 'none').toBe(`${ip}/24`);
  expect(a!.dynamic ?? false).toBe(false); // not from a DHCP lease
  expect(a!.valid_life_time).toBe(4294967295); // "forever": a static address
  return l.ifname;
}

/** The bond and its VLAN: static addresses, both members in /proc/net/bonding, ping to both from the controller. */
function expectBond(n: NodeDef, b: Bond): void {
  const t0 = Date.now();
  const addr = (dev: string) => {
    const l = (
      JSON.parse(ssh.out(n.ip, `ip -j addr show dev ${dev}`)) as {
        addr_info: { family: string; local: string; prefixlen: number; valid_life_time: number }[];
      }[]
    )[0]!;
    return l.addr_info
      .filter((a) => a.family === 'inet')
      .map((a) => `${a.local}/${a.prefixlen}${a.valid_life_time === 4294967295 ? '' : ' dynamic'}`);
  };
  expect(addr('bond0')).toEqual([`${b.ip}/24`]);
  expect(addr(`bond0.${b.vlan}`)).toEqual([`${b.vlanIp}/24`]);
  // the same MAC on every boot (the first member's, as the kernel gives a bond), not one derived from the
  // machine id, which this stateless node draws anew at each boot: the controller's ARP entry stays right
  const mac = (dev: string) => (JSON.parse(ssh.out(n.ip, `ip -j link show dev ${dev}`)) as { address: string }[])[0]!.address;
  expect([mac('bond0'), mac(`bond0.${b.vlan}`)]).toEqual([b.macs[0], b.macs[0]]);
  const bonding = ssh.out(n.ip, 'cat /proc/net/bonding/bond0');
  expect(bonding).toContain('Bonding Mode: fault-tolerance (active-backup)');
  // both NICs enslaved (by their predictable names), each found by its permanent MAC, link up
  const slaves = [...bonding.matchAll(/^Slave Interface: (\S+)\nMII Status: (\S+)[\s\S]*?^Permanent HW addr: (\S+)$/gm)].map(
    (m) => `${m[3]} ${m[2]}`,
  );
  expect(slaves.sort()).toEqual(b.macs.map((m) => `${m} up`).sort());
  const names = [...bonding.matchAll(/^Slave Interface: (\S+)$/gm)].map((m) => m[1]!);
  expect(names.every((x) => /^en/.test(x))).toBe(true);
  ns.exec(['ping', '-c', '2', '-W', '3', b.ip]);
  ns.exec(['ping', '-c', '2', '-W', '3', b.vlanIp]);
  console.log(
    `${n.name}: bond0 ${b.ip}/24 (${b.mode}; members ${names.join(', ')}), bond0.${b.vlan} ${b.vlanIp}/24: pinged from the controller (br1, ` +
      `VLAN ${b.vlan} on br1) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}

for (const n of NODES) {
  test(
    `${n.name} (${n.what}): hostname, static address from the overlay, ssh with wulf's keys, /etc/hosts, NFS /home, wulf-agent, no failed units`,
    async () => {
      await up(n);
      expect(ssh.out(n.ip, 'hostname').trim()).toBe(n.name);
      const failed = ssh.out(n.ip, 'systemctl --failed --no-legend --plain --full').trim();
      if (failed)
        console.log(
          `${n.name} failed units:\n${failed}\n` +
            `${ssh.run(n.ip, `for u in $(systemctl --failed --no-legend --plain | cut -d' ' -f1); do journalctl -b -u "$u" --no-pager | tail -n 8; done`).out}`,
        );
      expect(failed).toBe('');
      // the address nodes.conf gives this MAC, set from the overlay's files, on a predictably named NIC
      const ifname = expectStaticAddress(n, n.mac, n.ip);
      // no DHCP client for it: no dhclient/dhcpcd/udhcpc process, no lease kept by networkd or NetworkManager
      const procs = ssh
        .out(n.ip, 'ps -e -o comm=')
        .split('\n')
        .map((s) => s.trim());
      expect(procs.filter((p) => /^(dhclient|dhcpcd|udhcpc|dhcpd|pump)$/.test(p))).toEqual([]);
      expect(
        ssh
          .out(
            n.ip,
            'find /run/systemd/netif/leases /var/lib/NetworkManager /var/lib/dhcp /run/NetworkManager -type f \\( -path "*/leases/*" -o -name ' +
              '"*lease*" \\) 2>/dev/null; true',
          )
          .trim(),
      ).toBe('');
      console.log(`${n.name}: ${ifname} static, DHCP clients: none`);
      // reachable from the controller: ping, and ssh with the key the overlay delivered
      ns.exec(['ping', '-c', '2', '-W', '3', n.ip]);
      const myKey = readFileSync(join(t.dir, 'root/.ssh/id_ed25519.pub'), 'utf8').trim().split(/\s+/)[1]!;
      expect(ssh.out(n.ip, 'cat /root/.ssh/authorized_keys')).toContain(myKey);
      // the host key the node presents is the one wulf generated (ssh itself accepts only that one)
      expect(fingerprint(await keyscan(ns, n.ip))).toBe(
        fingerprint(readFileSync(join(t.dir, 'etc/wulf/keys/ssh_host_ed25519_key.pub'), 'utf8')),
      );
      // /etc/hosts (runtime overlay) names every node
      const hosts = ssh.out(n.ip, 'cat /etc/hosts');
      for (const o of ALL) expect(hosts).toMatch(new RegExp(`^${o.ip.replace(/\./g, '\\.')}\\s+${o.name}\\b`, 'm'));
      expect(hosts).toMatch(/^10\.99\.0\.1\s.*\bwarewulf\b/m);
      // /home from the controller over NFS (fstab overlay), both ways; the node's root is squashed as the export says
      // (an automount: the first access mounts it, then the NFS mount sits on the autofs point)
      expect(ssh.out(n.ip, 'cat /home/from-controller')).toBe('served by the controller\n');
      expect(ssh.out(n.ip, 'findmnt -n -t nfs4 -o FSTYPE,SOURCE /home').trim().split(/\s+/)).toEqual(['nfs4', 'warewulf:/home']);
      ssh.out(n.ip, `echo written by ${n.name} > /home/from-${n.name}`);
      expect(readFileSync(join(homeDir, `from-${n.name}`), 'utf8')).toBe(`written by ${n.name}\n`);
      expect(statSync(join(homeDir, `from-${n.name}`)).uid).toBe(65534);
      // the agent runs as a systemd service
      expect(ssh.out(n.ip, 'systemctl is-active wulf-agent').trim()).toBe('active');
      if (n.bond) expectBond(n, n.bond);
    },
    LOGIN_MS + 300_000,
  );
}

test(
  `a user added on the controller reaches every running node through the wulf-agent service (update interval ${INTERVAL} s; the time is printed)`,
  async () => {
    await Promise.all(NODES.map((n) => up(n)));
    const user = `wdeb${process.pid % 100000}`;
    // on each node a loop that reports the moment the user appears (started before the user is added)
    const watchers = NODES.map((n) => {
      const a = ssh.argv(
        n.ip,
        `echo READY; i=0; while [ $i -lt 240 ]; do getent passwd ${user} >/dev/null && { echo FOUND; exit 0; }; sleep 0.25; i=$((i+1)); done; exit 1`,
      );
      const p = Bun.spawn(a, { stdout: 'pipe', stderr: 'pipe' });
      let out = '';
      let found = 0;
      void (async () => {
        const dec = new TextDecoder();
        for await (const c of p.stdout) {
          out += dec.decode(c);
          if (out.includes('FOUND') && !found) found = Date.now();
        }
      })();
      return {
        n,
        p,
        get out() {
          return out;
        },
        get found() {
          return found;
        },
      };
    });
    for (let i = 0; i < 120 && !watchers.every((w) => w.out.includes('READY')); i++) await Bun.sleep(250);
    expect(watchers.filter((w) => !w.out.includes('READY')).map((w) => w.n.name)).toEqual([]);
    const t0 = Date.now();
    appendFileSync(join(t.dir, 'etc/passwd'), `${user}:x:4343:4343:wulf e2e user:/home/${user}:/bin/sh\n`);
    await Promise.all(watchers.map((w) => w.p.exited));
    const secs = watchers.map((w) => (w.found ? (w.found - t0) / 1000 : Infinity));
    console.log(
      `user ${user} reached ${watchers.map((w, i) => `${w.n.name} after ${secs[i]!.toFixed(1)} s`).join(', ')} (update interval ${INTERVAL} s)`,
    );
    // the agent waits at most one interval; then it fetches, unpacks and applies the overlay with a
    // few dozen processes, which a TCG guest on a loaded 2-core host takes seconds for (11.5 s seen at load 15,
    // 17.2 s for the third of three guests at load 8-12): the bound allows a missed refresh and that work, and
    // the measured times are printed above
    for (const s of secs) expect(s).toBeLessThanOrEqual(2 * INTERVAL + 15);
  },
  LOGIN_MS + 120_000,
);

test(
  'wulf node status shows the running nodes as up, refreshed by their agents',
  async () => {
    await Promise.all(NODES.map((n) => up(n)));
    // up = the agent refreshed within interval + 5 s; a starved TCG guest can miss that now and then,
    // so each node must show up at least once within a minute
    const seen = new Set<string>();
    let st: Record<string, { stage: string; state: string; lastAgent: number | null }> = {};
    for (let i = 0; i < 30 && seen.size < NODES.length; i++) {
      st = JSON.parse(wulfNs('node', 'status', '-j'));
      for (const n of NODES) if (st[n.name]?.state === 'up' && (st[n.name]?.lastAgent ?? 0) > 0) seen.add(n.name);
      if (seen.size < NODES.length) await Bun.sleep(2000);
    }
    console.log(wulfNs('node', 'status').trim());
    expect(NODES.filter((n) => !seen.has(n.name)).map((n) => `${n.name}: ${st[n.name]?.state}`)).toEqual([]);
  },
  LOGIN_MS + 120_000,
);

test(
  'd1: wulf power cycle (IPMI to a simulated BMC that kills and starts its QEMU) boots it again, with the same host key, hostname and addresses',
  async () => {
    // A power cycle rather than QEMU's system_reset: under TCG a warm reset booted ~4x slower here
    // (626 s vs 157 s to the login prompt; the unpack stalls with soft lockups), presumably because
    // every page the previous boot ran code from stays write-protected for TCG's translated code.
    const n = NODES[0]!;
    await up(n);
    const vm = vms.get(n.name)!;
    let power = '';
    // (tried up to three times: a BMC on a loaded host may miss ipmitool's 1 s timeout)
    for (let i = 0; i < 3 && !/^d1: on$/m.test(power); i++) {
      try {
        power = wulf('power', 'status', n.name);
      } catch (e) {
        power = String(e);
        await Bun.sleep(3000);
      }
    }
    expect(power).toMatch(/^d1: on$/m);
    const bootId = ssh.out(n.ip, 'cat /proc/sys/kernel/random/boot_id').trim();
    const oldPid = vm.daemonPid();
    wulf('power', 'cycle', n.name);
    const t0 = Date.now();
    // the BMC powers it off, and on again a second later (a new QEMU, a new console log)
    while (Date.now() - t0 < 30_000 && (vm.daemonPid() === undefined || vm.daemonPid() === oldPid)) await Bun.sleep(200);
    expect(vm.daemonPid()).toBeDefined();
    expect(vm.daemonPid()).not.toBe(oldPid);
    console.log(
      `${n.name}: BMC hook calls: ${readFileSync(join(t.dir, `bmc-${n.name}`, 'hook.log'), 'utf8')
        .trim()
        .split('\n')
        .slice(-4)
        .join('; ')}`,
    );
    const ok = await vm.waitSerial(new RegExp(`\\n${n.name} login:`), LOGIN_MS);
    if (!ok) console.log(`--- ${n.name} serial tail after the power cycle:\n${vm.tail(3000)}`);
    expect(ok).toBe(true);
    expect((await ssh.waitUp(n.ip, 120_000)).code).toBe(0);
    console.log(`${n.name}: wulf power cycle → login prompt ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(ssh.out(n.ip, 'cat /proc/sys/kernel/random/boot_id').trim()).not.toBe(bootId); // it did boot again
    expect(fingerprint(await keyscan(ns, n.ip))).toBe(
      fingerprint(readFileSync(join(t.dir, 'etc/wulf/keys/ssh_host_ed25519_key.pub'), 'utf8')),
    );
    expect(ssh.out(n.ip, 'hostname').trim()).toBe(n.name);
    expectStaticAddress(n, n.mac, n.ip);
    expectBond(n, n.bond!);
  },
  LOGIN_MS + 180_000,
);

test(
  'd3 boots to its login prompt while the NFS server is down, and /home mounts once it is back',
  async () => {
    // the fstab overlay's /home is a nofail automount: nothing at boot waits for the server (with plain
    // nofail, systemd-user-sessions waited for home.mount's 90 s timeout before the login prompt)
    const n = NODES[2]!;
    const first = await up(n);
    const vm = vms.get(n.name)!;
    vm.stop();
    nfs.stop(); // the controller's NFS server is down
    try {
      for (let i = 0; i < 50 && ns.exec(['ss', '-Hltn', 'sport = :2049']).trim(); i++) await Bun.sleep(100);
      for (let i = 0; i < 50 && vm.running(); i++) await Bun.sleep(100);
      rmSync(vm.log, { force: true });
      vm.start();
      const ok = await vm.waitSerial(new RegExp(`\\n${n.name} login:`), LOGIN_MS);
      const secs = (Date.now() - vm.startedAt) / 1000;
      if (!ok) console.log(`--- ${n.name} serial tail, NFS server down:\n${vm.tail(3000)}`);
      expect(ok).toBe(true);
      console.log(
        `${n.name}: login prompt ${secs.toFixed(1)} s after power-on with the NFS server down (${first.toFixed(1)} s with it up)`,
      );
      expect((await ssh.waitUp(n.ip, 120_000)).code).toBe(0);
      // the login gate (systemd-user-sessions, ordered after home.mount) did not wait for a mount of /home:
      // only the automount point was set up at boot (with plain nofail the mount ran at boot and the gate
      // opened when it timed out). An early access (e2scrub_all reads /home at boot) may start a mount just
      // before the gate opens; the gate must still open before that mount ends.
      const [auto, gate, mountStart, mountUp, mountDown] = ssh
        .out(
          n.ip,
          'systemctl show -p ActiveState --value home.automount; systemctl show -p ActiveEnterTimestampMonotonic --value systemd-user-sessions.service; ' +
            'systemctl show -p InactiveExitTimestampMonotonic --value home.mount; systemctl show -p ActiveEnterTimestampMonotonic --value home.mount; ' +
            'systemctl show -p InactiveEnterTimestampMonotonic --value home.mount',
        )
        .split(/\s+/)
        .filter(Boolean);
      const mountEnds = [mountUp, mountDown].map(Number).filter((t) => t > Number(mountStart));
      console.log(
        `${n.name}: home.automount ${auto}; logins permitted at ${(Number(gate) / 1e6).toFixed(1)} s, a /home mount ` +
          `began ${Number(mountStart) ? `at ${(Number(mountStart) / 1e6).toFixed(1)} s` : 'never'} (monotonic); ` +
          ssh.run(n.ip, 'journalctl -b -o cat -u home.automount -u home.mount --no-pager | tail -n 3').out.trim().replace(/\n/g, ' | '),
      );
      expect(auto).toBe('active');
      expect(Number(gate)).toBeGreaterThan(0);
      expect(Number(mountStart) === 0 || Number(mountStart) > Number(gate) || mountEnds.every((t) => Number(gate) < t)).toBe(true);
    } finally {
      await nfs.start(...nfsArgs);
    }
    // the server answers again: the next access mounts /home, nothing done by hand
    expect(ssh.out(n.ip, 'cat /home/from-controller', 120_000)).toBe('served by the controller\n');
    expect(ssh.out(n.ip, 'findmnt -n -t nfs4 -o FSTYPE,SOURCE /home').trim().split(/\s+/)).toEqual(['nfs4', 'warewulf:/home']);
  },
  LOGIN_MS + 300_000,
);

test(
  `a Debian image padded to ${BIG_MIB}+ MiB boots on BIOS and on UEFI`,
  async () => {
    for (const n of NODES) vms.get(n.name)!.stop(); // the big ones get the CPU
    await image('deb-big');
    const art = /artifact:\n\s+path: (\S+)\n\s+size: (\d+)/.exec(wulf('image', 'show', '-a', 'deb-big'))!;
    const raw = Number(run(['sh', '-c', `gzip -dc '${art[1]}' | wc -c`]).trim());
    console.log(`deb-big: ${(raw / 1048576).toFixed(0)} MiB of cpio, ${(Number(art[2]) / 1048576).toFixed(0)} MiB gzip`);
    expect(raw).toBeGreaterThanOrEqual(BIG_MIB * 1048576);
    const results = await Promise.allSettled(BIG.map((n) => up(n)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    if (failed.length) console.log(failed.join('\n\n'));
    expect(failed).toEqual([]);
    for (const n of BIG) {
      expect(ssh.out(n.ip, 'hostname').trim()).toBe(n.name);
      expect(ssh.out(n.ip, 'systemctl --failed --no-legend --plain --full').trim()).toBe('');
      // every byte of the padding arrived
      expect(ssh.out(n.ip, 'cat /opt/pad/* | sha256sum', 300_000).split(/\s+/)[0]).toBe(padSha);
    }
  },
  2 * LOGIN_MS + 300_000,
);
