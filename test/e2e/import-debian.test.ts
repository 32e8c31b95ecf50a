// The real-VM half of "move a Warewulf site to wulf in one command" (issue #13): the test Warewulf
// site (test/fixtures/warewulf-site: legacy nodes.conf, warewulf.conf, three site overlays with Go
// templates, a Go-syntax iPXE template, the stock default profile) goes through the compiled
// `wulf import-warewulf --site-root`, as a user runs it. Then one imported node, n1, gets a real
// Debian 12 image (images/debian12, networkd flavour) and boots in a QEMU/TCG VM (BIOS) from
// `wulf serve` in a private network namespace, at the address, MAC and controller address the site's
// files give (10.0.1.1 on 10.0.1.0/24, the controller 10.0.1.250), through the converted iPXE
// template, with the stock default profile's overlay list (wwinit, wwclient, …, wicked, ignition).
// From the controller's side: the login prompt on the serial console, ssh as root (host key: the
// site's own, imported), the imported hostname and static address, the stock overlays at work (no
// failed unit, the agent under Warewulf's name wwclient, /etc/hosts, /home over NFS from the
// profile's fstab resource, served by NFS-Ganesha), and the site overlays' files on
// the running node byte for byte what Warewulf's Go templates render for n1 (test/gorender).
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin, requireCompiled, tempRoot } from '../helpers/cli.ts';
import { Netns, run } from '../helpers/netns.ts';
import { Vm } from '../helpers/qemu.ts';
import { debianRootfs, fingerprint, Ganesha, keyscan, NodeSsh } from '../helpers/debian-nodes.ts';
import { renderGoFull } from '../helpers/gorender.ts';
import { copySite } from '../migrate/site.ts';

const LOGIN_MS = 600_000; // one TCG boot of a systemd image: 1.5-4 min here, up to 6.5 min at load 15
const IMAGE = 'deb12';

// n1 as the site's nodes.conf has it, and the controller as its warewulf.conf has it
const N1 = { name: 'n1', mac: '52:54:00:77:00:01', ip: '10.0.1.1', netmask: '255.255.255.0', gateway: '10.0.1.254' };
const CONTROLLER = '10.0.1.250';
const PORT = 9873; // warewulf.conf warewulf.port

const t = tempRoot('wulf-impdeb-');
const site = join(t.dir, 'site');
const env = { ...process.env, WULF_ROOT: t.dir, WULF_HOST_ROOT: t.dir, NO_COLOR: '1' };
let ns: Netns | undefined;
let ssh: NodeSsh;
let nfs: Ganesha | undefined;
const homeDir = join(t.dir, 'export-home');
let vm: Vm | undefined;
let serve: ChildProcess | undefined;
let serveLog = '';
let importOut = '';
const wulf = (...a: string[]) => run([compiledBin, ...a], { env });

beforeAll(async () => {
  requireCompiled();
  if (process.getuid?.() !== 0) throw new Error('the import e2e test needs root (debootstrap, network namespaces, taps)');
  for (const tool of ['qemu-system-x86_64', 'debootstrap', 'ganesha.nfsd', 'ssh', 'ssh-keyscan', 'curl', 'go', 'busybox']) {
    if (!Bun.which(tool)) throw new Error(`${tool} missing (npm test installs the test packages, see build/test-deps.ts)`);
  }
  const rootfs = await debianRootfs('networkd');

  // the controller: wulf init on the site's own network, then the site imported in one command
  copySite(site);
  wulf('init', '--address', `${CONTROLLER}/24`, '--interface', 'br0');
  importOut = wulf('import-warewulf', '--site-root', site);
  console.log(importOut.trim());
  // root's key for ssh to the nodes (the ssh.authorized_keys overlay delivers it); the host keys
  // stay the site's, imported above
  wulf('configure', 'ssh');
  copyFileSync('/etc/passwd', join(t.dir, 'etc/passwd'));
  copyFileSync('/etc/group', join(t.dir, 'etc/group'));

  // n1 boots a real Debian 12 image instead of the site's busybox chroot; the networkd flavour
  // needs wulf's systemd.networkd overlay, which the stock list (Warewulf's) does not name: it is
  // added on the node, so the profiles' lists stay as imported
  const t0 = Date.now();
  wulf('image', 'import', rootfs, IMAGE);
  wulf('image', 'build', IMAGE);
  console.log(`image ${IMAGE}: imported and built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  wulf('node', 'set', N1.name, '--image', IMAGE, '--system-overlays', 'systemd.networkd', '--yes');
  wulf('overlay', 'build');

  ns = new Netns('wimp');
  ns.bridge('br0', `${CONTROLLER}/24`);
  const nsRef = ns;
  vm = new Vm({
    name: N1.name,
    fw: 'bios',
    memMiB: 2048,
    dir: t.dir,
    netnsArgv: (c) => nsRef.argv(c),
    nics: [{ mac: N1.mac, tap: ns.tap(`tn1p${process.pid % 100000}`, 'br0'), model: 'e1000' }],
  });
  ssh = new NodeSsh(ns, join(t.dir, 'root/.ssh/id_ed25519'), join(site, 'etc/warewulf/keys/ssh_host_ed25519_key.pub'), t.dir);

  // /home over NFS as the site's warewulf.conf exports it (the host overlay's /etc/exports) and the
  // stock default profile's fstab mounts it; this kernel has no nfsd: Ganesha, as in debian.test.ts
  const exp = readFileSync(join(t.dir, 'etc/exports'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('/home '));
  if (!exp) throw new Error(`wulf overlay build wrote no /home export:\n${readFileSync(join(t.dir, 'etc/exports'), 'utf8')}`);
  const [, clients, options] = /^\/home\s+(\S+)\((.*)\)$/.exec(exp.trim())!;
  mkdirSync(homeDir, { recursive: true });
  chownSync(homeDir, 65534, 65534); // rw, root squashed (see debian.test.ts)
  writeFileSync(join(homeDir, 'from-controller'), 'served by the controller\n');
  nfs = new Ganesha(ns, t.dir);
  await nfs.start(homeDir, '/home', clients!, options!);

  serve = spawn('ip', ['netns', 'exec', ns.name, compiledBin, 'serve', '--address', CONTROLLER, '--interface', 'br0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  serve.stderr!.on('data', (d) => {
    serveLog += String(d);
  });
  for (let i = 0; i < 100 && !serveLog.includes('serving on'); i++) await Bun.sleep(100);
  if (!serveLog.includes(`serving on ${CONTROLLER}`)) throw new Error(`wulf serve did not start: ${serveLog}`);
}, 1_800_000); // cold: debootstrap 1.5-5 min and the flavour; then ~30 s for the image build

afterAll(async () => {
  vm?.stop();
  serve?.kill('SIGTERM');
  nfs?.stop();
  ns?.destroy();
  t.cleanup();
}, 120_000);

// Warewulf's template data for the site's nodes, from the same nodes.conf (profiles default+compute,
// legacy keys → tags, tagsdel applied, ipcidr/prefix → netmask): what its Go templates see
const netdev = (o: Record<string, unknown>) => ({
  Type: '',
  OnBoot: 'true',
  Device: '',
  Hwaddr: '',
  Ipaddr: '',
  Netmask: '',
  Gateway: '',
  Ipaddr6: '',
  PrefixLen6: '',
  Gateway6: '',
  MTU: '',
  Tags: {},
  Primary: false,
  ...o,
});
const goNodes = {
  n1: {
    Id: 'n1',
    Hostname: 'n1',
    Tags: { rack: 'r01', scheduler: 'slurm', role: 'login' },
    NetDevs: {
      eth0: netdev({ Hwaddr: N1.mac, Ipaddr: N1.ip, Netmask: N1.netmask, Gateway: N1.gateway, Primary: true }),
      ib0: netdev({ Type: 'infiniband', Ipaddr: '10.10.1.1', Netmask: '255.255.0.0' }),
    },
  },
  n2: {
    Id: 'n2',
    Hostname: 'n2',
    Tags: { rack: 'r01', scheduler: 'slurm', role: 'compute' },
    NetDevs: {
      eth0: netdev({ Hwaddr: '52:54:00:77:00:02', Ipaddr: '10.0.1.2', Netmask: '255.255.255.0', Gateway: '10.0.1.254', Primary: true }),
    },
  },
};
const goData = { ...goNodes.n1, AllNodes: [goNodes.n1, goNodes.n2], BuildHost: 'head' };
const overlayDir = (o: string) => join(site, 'var/lib/warewulf/overlays', o, 'rootfs');
const go = (o: string, file: string) => renderGoFull(join(overlayDir(o), file), goData, { sysconf: join(site, 'etc/warewulf') });

let booted: Promise<number> | undefined;
/** n1 powered on once; resolves at its login prompt with sshd answering (seconds from power-on). */
function up(): Promise<number> {
  booted ??= (async () => {
    vm!.start();
    const ok = await vm!.waitSerial(/\nn1 login:/, LOGIN_MS);
    const secs = (Date.now() - vm!.startedAt) / 1000;
    if (!ok)
      throw new Error(
        `n1: no login prompt after ${secs.toFixed(0)} s; serial tail:\n${vm!.tail()}\n--- serve log tail:\n${serveLog.slice(-2000)}`,
      );
    const s = await ssh.waitUp(N1.ip, 120_000);
    if (s.code !== 0)
      throw new Error(`n1: login prompt after ${secs.toFixed(0)} s but no ssh: ${s.err.trim()}; serial tail:\n${vm!.tail(3000)}`);
    console.log(`n1 (imported, Debian 12 networkd, BIOS): login prompt ${secs.toFixed(1)} s after power-on`);
    return secs;
  })();
  return booted;
}

test('the import keeps the stock default profile overlay list and n1 as the site has it', () => {
  expect(importOut).toMatch(/imported: \d+ change\(s\)/);
  const prof = JSON.parse(wulf('profile', 'list', '-j', 'default')).default;
  expect(prof['system overlay']).toEqual([
    'wwinit',
    'wwclient',
    'hosts',
    'fstab',
    'hostname',
    'ssh.host_keys',
    'issue',
    'resolv',
    'udev.netname',
    'systemd.netname',
    'ifcfg',
    'ifupdown',
    'NetworkManager',
    'wicked',
    'ignition',
  ]);
  // every overlay of that list exists in wulf now (a missing one would stop n1's overlay build)
  const have = new Set(
    wulf('overlay', 'list')
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[0])
      .filter(Boolean),
  );
  expect((prof['system overlay'] as string[]).filter((o) => !have.has(o))).toEqual([]);
  const n1 = wulf('node', 'list', '-a', 'n1');
  expect(n1).toContain(N1.mac);
  expect(n1).toContain(N1.ip);
});

test(
  'n1 boots the real Debian image through the imported Go-syntax iPXE template to a login prompt',
  async () => {
    await up();
    // the script served to n1 is the converted site template, equal to what Warewulf renders from the Go original
    const script = ns!.exec(['curl', '-fsS', `http://${CONTROLLER}:${PORT}/ipxe/${N1.mac}`]);
    const kernelArgs = 'quiet crashkernel=no net.ifnames=1 console=ttyS0,115200 mitigations=off';
    const goScript = renderGoFull(join(site, 'etc/warewulf/ipxe/site.ipxe'), {
      Id: 'n1',
      Hostname: 'n1',
      Fqdn: 'n1',
      Hwaddr: N1.mac,
      Authority: `${CONTROLLER}:${PORT}`,
      Port: String(PORT),
      TLS: true,
      ImageName: IMAGE,
      KernelArgs: kernelArgs,
      Tags: goNodes.n1.Tags,
      Cluster: '',
      Root: 'initramfs',
    }).files[0]!.data;
    expect(script).toBe(goScript);
    expect(script).toContain(`echo Site boot of n1 (${N1.mac})`);
    // n1's iPXE ran it: its echo lines are on the serial console, before the kernel's download
    const console_ = vm!.serial().replace(/\r/g, '');
    const echoes = script
      .split('\n')
      .filter((l) => l.startsWith('echo '))
      .map((l) => l.slice(5));
    expect(echoes).toEqual([`n1 boots over port ${PORT} (TLS on), rack r01`, `Site boot of n1 (${N1.mac})`]);
    const at = echoes.map((e) => console_.indexOf(`\n${e}\n`));
    expect(at.every((i) => i > 0)).toBe(true);
    expect(console_.indexOf(`/kernel/`, at[1])).toBeGreaterThan(at[1]!);
    // and it is what booted: the node's kernel command line is the template's
    const cmdline = ssh.out(N1.ip, 'cat /proc/cmdline').trim();
    expect(cmdline).toContain(`wwid=${N1.mac} ${kernelArgs}`);
  },
  LOGIN_MS + 300_000,
);

test(
  "n1: ssh as root with the site's host key, the imported hostname and static address",
  async () => {
    await up();
    // the host key n1 presents is the Warewulf site's own (NodeSsh pins it too)
    expect(fingerprint(await keyscan(ns!, N1.ip))).toBe(
      fingerprint(readFileSync(join(site, 'etc/warewulf/keys/ssh_host_ed25519_key.pub'), 'utf8')),
    );
    expect(ssh.out(N1.ip, 'id -u').trim()).toBe('0');
    expect(ssh.out(N1.ip, 'hostname').trim()).toBe('n1');
    const links = JSON.parse(ssh.out(N1.ip, 'ip -j addr show')) as {
      ifname: string;
      address: string;
      addr_info: { family: string; local: string; prefixlen: number; valid_life_time: number; dynamic?: boolean }[];
    }[];
    const l = links.find((x) => x.address === N1.mac);
    expect(l?.ifname ?? 'no NIC with the MAC').toMatch(/^en/);
    const a = l!.addr_info.find((x) => x.family === 'inet' && x.local === N1.ip);
    expect(a ? `${a.local}/${a.prefixlen}` : 'none').toBe(`${N1.ip}/24`);
    expect(a!.dynamic ?? false).toBe(false);
    expect(a!.valid_life_time).toBe(4294967295); // static, not a lease
    console.log(`n1: ${l!.ifname} ${a!.local}/${a!.prefixlen}`);
  },
  LOGIN_MS + 120_000,
);

test(
  'n1: the stock overlays do their part: no failed units, wwclient (wulf-agent) running, /etc/hosts, NFS /home from the fstab resource',
  async () => {
    await up();
    const failed = ssh.out(N1.ip, 'systemctl --failed --no-legend --plain --full').trim();
    if (failed)
      console.log(
        `n1 failed units:\n${failed}\n` +
          `${ssh.run(N1.ip, `for u in $(systemctl --failed --no-legend --plain | cut -d' ' -f1); do journalctl -b -u "$u" --no-pager | tail -n 8; done`).out}`,
      );
    expect(failed).toBe('');
    // wwclient in the stock list is wulf's agent (Warewulf's name, an alias)
    expect(ssh.out(N1.ip, 'systemctl is-active wulf-agent').trim()).toBe('active');
    // hosts: every imported node, and the controller as warewulf
    const hosts = ssh.out(N1.ip, 'cat /etc/hosts');
    expect(hosts).toMatch(/^10\.0\.1\.1\s+n1\b/m);
    expect(hosts).toMatch(/^10\.0\.1\.2\s+n2\b/m);
    expect(hosts).toMatch(/^10\.0\.1\.250\s.*\bwarewulf\b/m);
    // fstab: the resource the site's profile has (warewulf:/home, nfs, defaults,nofail)
    expect(ssh.out(N1.ip, 'findmnt -n -o FSTYPE,SOURCE /home').trim().split(/\s+/)).toEqual(['nfs4', 'warewulf:/home']);
    expect(ssh.out(N1.ip, 'cat /home/from-controller')).toBe('served by the controller\n');
  },
  LOGIN_MS + 120_000,
);

test(
  "n1: the site overlays' files on the running node are byte for byte what Warewulf's Go templates render",
  async () => {
    await up();
    const cat = (p: string) => ssh.out(N1.ip, `cat '${p}'`);
    // range/if/Include over the node's tags (site-motd)
    const motd = go('site-motd', 'etc/motd.ww').files[0]!.data;
    expect(motd).toContain('This is a login node');
    expect(cat('/etc/motd')).toBe(motd);
    // softlink
    const lt = go('site-motd', 'etc/localtime.ww').files[0]!;
    expect(lt.symlink).toBe(true);
    expect(ssh.out(N1.ip, 'readlink /etc/localtime').trim()).toBe(lt.target);
    expect(ssh.out(N1.ip, 'stat -c %F /etc/localtime').trim()).toBe('symbolic link');
    // a plain file of the overlay
    expect(cat('/etc/site-release')).toBe(readFileSync(join(overlayDir('site-motd'), 'etc/site-release'), 'utf8'));
    // range over the netdevs with `file` (site-net): the template's own file and one per device
    const net = go('site-net', 'etc/site/netdevs.ww');
    expect(net.files.length).toBe(3);
    const names = ssh.out(N1.ip, 'ls /etc/site').trim().split('\n').sort();
    expect(names).toEqual(net.files.map((f) => (f.name ? f.name.split('/').pop()! : 'netdevs')).sort());
    for (const f of net.files) expect(cat(`/etc/site/${f.name ? f.name.split('/').pop()! : 'netdevs'}`)).toBe(f.data);
    // IncludeBlock and range over every node (site-users, a runtime overlay)
    const hosts = go('site-users', 'etc/site-hosts.ww').files[0]!.data;
    expect(hosts).toContain('10.0.1.1 n1-eth0');
    expect(hosts).not.toContain('this-line-is-cut');
    expect(cat('/etc/site-hosts')).toBe(hosts);
  },
  LOGIN_MS + 120_000,
);
