// Power-on to login prompt (not a test): one real Debian 12 node (the images/debian12 networkd
// recipe, QEMU/TCG) boots once from the compiled `wulf serve` and once from the reference stack —
// dnsmasq (DHCP + TFTP of the same iPXE binary) + nginx (HTTP of the same iPXE script, kernel, image
// and overlay archives, fetched from wulf for that node beforehand) — in a private network namespace
// over a bridge and a tap. The time runs from QEMU's start to `<node> login:` on the serial console,
// with the stages the console shows on the way. Runs are interleaved (wulf, reference, wulf, …);
// medians and the ratio wulf / reference are printed, once on the machine as it is and once with a
// busy loop (`while :; do :; done`) beside it. One VM at a time.
//
// The firmware path (FW, default uefi): OVMF's own PXE client on virtio-net → TFTP ipxe.efi → iPXE
// → DHCP again → the iPXE script over HTTP → kernel, image, system and runtime overlays over HTTP,
// so DHCP, TFTP and HTTP all count. FW=bios: SeaBIOS with QEMU's iPXE ROM on e1000 (no TFTP).
// Both stacks send IPv6 router advertisements (wulf its own, dnsmasq ra-only), else iPXE waits for
// IPv6 ~13 s. The default profile's NFS /home is left out of nodes.conf: no NFS server here, and
// the login time should measure the boot servers, not a mount.
//
// Run as root, from the repository (`bun run build` first):
//   apt-get install --no-install-recommends dnsmasq-base nginx qemu-system-x86 ovmf ipxe curl debootstrap
//   bun bench/boot.ts                       # 3 pairs quiet, 3 pairs busy
//   PAIRS=1 CONDITIONS=quiet FW=bios bun bench/boot.ts   (KEEP=1 keeps the temp dir with the console logs)
// The Debian tree comes from images/debian12/build.sh networkd (cached in /var/cache/wulf-images), or BOOT_TREE.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Netns, run } from '../test/helpers/netns.ts';
import { OVMF_CODE, OVMF_VARS } from '../test/helpers/qemu.ts';

const repo = resolve(import.meta.dir, '..');
const bin = resolve(process.env.WULF_BIN ?? join(repo, 'dist/wulf'));
const PAIRS = Number(process.env.PAIRS ?? 3);
const CONDITIONS = (process.env.CONDITIONS ?? 'quiet,busy').split(',');
const FW = (process.env.FW ?? 'uefi') as 'uefi' | 'bios';
const LOGIN_MS = Number(process.env.LOGIN_TIMEOUT ?? 900) * 1000;
const NODE = 'n1',
  MAC = '52:54:00:b0:07:01',
  IP = '10.99.0.41',
  SRV = '10.99.0.1',
  PORT = 9873;

if (process.getuid?.() !== 0) {
  console.error('bench/boot.ts needs root (network namespace, tap, debootstrap cache)');
  process.exit(2);
}
for (const t of ['qemu-system-x86_64', 'dnsmasq', 'nginx', 'curl']) {
  if (!Bun.which(t) && !existsSync(`/usr/sbin/${t}`)) {
    console.error(`${t} missing: apt-get install --no-install-recommends dnsmasq-base nginx qemu-system-x86 ovmf curl`);
    process.exit(2);
  }
}
if (!existsSync(bin)) {
  console.error(`${bin} missing: bun run build`);
  process.exit(2);
}

const root = mkdtempSync(join(tmpdir(), 'wulf-bootbench-'));
chmodSync(root, 0o755); // nginx's workers (www-data) read the served files under it
const env = { ...process.env, WULF_ROOT: root, WULF_HOST_ROOT: root, NO_COLOR: '1' };
const wulf = (...a: string[]) => run([bin, ...a], { env });
const ns = new Netns('wboot');
const procs = new Set<ChildProcess>();
const cleanup = () => {
  for (const p of procs) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  ns.destroy();
  if (process.env.KEEP) console.log(`kept ${root}`);
  else rmSync(root, { recursive: true, force: true });
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});
process.on('SIGTERM', () => {
  cleanup();
  process.exit(143);
});

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function spawnIn(name: string, argv: string[], log: string): ChildProcess {
  const p = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  p.stdout!.on('data', (d) => chunks.push(String(d)));
  p.stderr!.on('data', (d) => chunks.push(String(d)));
  p.on('exit', () => {
    writeFileSync(log, chunks.join(''));
    procs.delete(p);
  });
  (p as ChildProcess & { text: () => string }).text = () => chunks.join('');
  procs.add(p);
  void name;
  return p;
}

async function stop(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await Promise.race([done, Bun.sleep(5000)]);
  if (p.exitCode === null && p.signalCode === null) {
    p.kill('SIGKILL');
    await done;
  }
}

/** until nothing listens on udp/67 in the namespace (the previous server is gone) */
async function portsFree(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (!ns.exec(['ss', '-Hlun', 'sport = :67 or sport = :69']).trim() && !ns.exec(['ss', '-Hltn', `sport = :${PORT}`]).trim()) return;
    await Bun.sleep(100);
  }
  throw new Error('ports 67/69/9873 still bound in the namespace');
}

// --- the controller, as README sets one up, and the node ---
ns.bridge('br0', `${SRV}/24`);
ns.ip('addr', 'add', 'fd99:0:0:1::1/64', 'dev', 'br0', 'nodad');
const tap = ns.tap(`tb${process.pid % 100000}`, 'br0');
// BOOT_TREE: an already built node tree (else the recipe's, built or taken from its cache)
const tree =
  process.env.BOOT_TREE ??
  run([join(repo, 'images/debian12/build.sh'), 'networkd'])
    .trim()
    .split('\n')
    .pop()!;
wulf('init', '--address', `${SRV}/24`, '--interface', 'br0');
wulf('configure', 'ssh');
copyFileSync('/etc/passwd', join(root, 'etc/passwd'));
copyFileSync('/etc/group', join(root, 'etc/group'));
const nodesConf = join(root, 'etc/wulf/nodes.conf');
const nc = readFileSync(nodesConf, 'utf8');
const noFstab = nc.replace(/\n    resources:\n      fstab:\n(?: {8,}.*\n)+/, '\n');
if (noFstab === nc) throw new Error("could not drop the default profile's fstab resource from nodes.conf");
writeFileSync(nodesConf, noFstab);
let t0 = performance.now();
wulf('image', 'import', tree, 'deb');
wulf('image', 'build', 'deb');
console.log(`image deb (${tree}): imported and built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
wulf('node', 'add', NODE, '--image', 'deb', '--hwaddr', MAC, '--ipaddr', IP, '--netmask', '255.255.255.0', '--kernelargs', 'console=ttyS0');
wulf('overlay', 'build');

// --- the reference's files: fetched from wulf serve, byte for byte what wulf serves this node ---
const www = join(root, 'www'),
  tftp = join(root, 'tftp');
mkdirSync(tftp, { recursive: true });
const serveArgv = ns.argv([bin, 'serve', '--address', SRV, '--interface', 'br0']);
async function startWulf(): Promise<ChildProcess> {
  await portsFree();
  const p = spawnIn('wulf', serveArgv, join(root, 'serve.log'));
  for (let i = 0; i < 200 && !(p as ChildProcess & { text: () => string }).text().includes('serving on'); i++) await Bun.sleep(50);
  if (!(p as ChildProcess & { text: () => string }).text().includes(`serving on ${SRV}`))
    throw new Error(`wulf serve did not start: ${(p as ChildProcess & { text: () => string }).text()}`);
  return p;
}
{
  const p = await startWulf();
  const get = (path: string, out: string) => {
    mkdirSync(join(out, '..'), { recursive: true });
    ns.exec(['curl', '-sSf', '-o', out, `http://${SRV}:${PORT}${path}`]);
  };
  for (const s of ['ipxe', 'kernel', 'image', 'system', 'runtime']) get(`/${s}/${MAC}`, join(www, s, MAC));
  for (const f of ['ipxe.efi', 'undionly.kpxe']) get(`/tftp/${f}`, join(tftp, f));
  await stop(p);
  const size = (s: string) => (Bun.file(join(www, s, MAC)).size / 1048576).toFixed(1);
  console.log(
    `served files: kernel ${size('kernel')} MiB, image ${size('image')} MiB, system ${size('system')} MiB, runtime ${size('runtime')} MiB; ` +
      `ipxe.efi ${(Bun.file(join(tftp, 'ipxe.efi')).size / 1024).toFixed(0)} KiB`,
  );
}
writeFileSync(
  join(root, 'nginx.conf'),
  `daemon off; worker_processes 2; pid ${root}/nginx.pid; error_log ${root}/nginx.err;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; default_type application/octet-stream;
  server { listen ${SRV}:${PORT}; root ${www};
    location /provision/ { rewrite ^/provision/(.*)$ /runtime/$1 break; } } }
`,
);
// DHCP + TFTP as a site would run them: firmware PXE gets the iPXE binary by TFTP, iPXE gets the script URL
const dnsmasqArgv = ns.argv([
  'dnsmasq',
  '--keep-in-foreground',
  '--conf-file=/dev/null',
  '--port=0',
  '--user=root',
  '--group=root',
  '--interface=br0',
  '--bind-interfaces',
  `--dhcp-range=${SRV.replace(/\.1$/, '.0')},static,255.255.255.0,1h`,
  `--dhcp-host=${MAC},set:node,${IP}`,
  `--dhcp-leasefile=${root}/dnsmasq.leases`,
  '--dhcp-authoritative',
  '--no-ping',
  `--pid-file=${root}/dnsmasq.pid`,
  '--enable-tftp',
  `--tftp-root=${tftp}`,
  '--dhcp-match=set:efi64,option:client-arch,7',
  '--dhcp-match=set:efi64,option:client-arch,9',
  '--dhcp-userclass=set:ipxe,iPXE',
  '--dhcp-match=set:ipxe,175',
  `--dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe,,${SRV}`,
  `--dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi,,${SRV}`,
  `--dhcp-boot=tag:ipxe,tag:node,http://${SRV}:${PORT}/ipxe/${MAC}`,
  // IPv6: router advertisements only, router lifetime 0, as wulf sends them
  '--enable-ra',
  '--dhcp-range=::,constructor:br0,ra-only',
  '--ra-param=br0,3,0',
]);
async function startReference(): Promise<ChildProcess[]> {
  await portsFree();
  rmSync(join(root, 'dnsmasq.leases'), { force: true });
  const d = spawnIn('dnsmasq', dnsmasqArgv, join(root, 'dnsmasq.log'));
  const n = spawnIn('nginx', ns.argv(['nginx', '-c', join(root, 'nginx.conf'), '-p', root]), join(root, 'nginx.log'));
  for (let i = 0; i < 100; i++) {
    const ok =
      spawnSync('ip', ['netns', 'exec', ns.name, 'curl', '-sf', '-o', '/dev/null', `http://${SRV}:${PORT}/ipxe/${MAC}`]).status === 0 &&
      ns.exec(['ss', '-Hlun', 'sport = :67']).trim() !== '';
    if (ok) return [d, n];
    if (d.exitCode !== null || n.exitCode !== null) break;
    await Bun.sleep(100);
  }
  throw new Error(
    `reference did not start: dnsmasq ${(d as ChildProcess & { text: () => string }).text()} nginx ${(n as ChildProcess & { text: () => string }).text()}`,
  );
}

// --- one boot: QEMU start → login prompt, stages from the console ---
// stages as the console shows them: firmware PXE starts, TFTP of the iPXE binary done, iPXE runs, the
// script arrived, the last archive loaded, the node's init (wwinit, after the kernel unpacked the image), login
const LOADED = /\/runtime\/\S+\.\.\. ok/,
  INIT = /wulf: node \S+, image/,
  LOGIN = new RegExp(`\\n${NODE} login:`);
const STAGES: [string, RegExp][] =
  FW === 'uefi'
    ? [
        ['pxe', /Start PXE over IPv4/],
        ['tftp', /NBP file downloaded successfully/],
        ['ipxe', /iPXE initialising devices/],
        ['script', /wulf: booting/],
        ['loaded', LOADED],
        ['init', INIT],
        ['login', LOGIN],
      ]
    : [
        ['ipxe', /iPXE initialising devices|iPXE \(http/],
        ['script', /wulf: booting/],
        ['loaded', LOADED],
        ['init', INIT],
        ['login', LOGIN],
      ];
interface Boot {
  secs: number;
  stages: Record<string, number>;
  load: string;
}
async function boot(label: string): Promise<Boot> {
  const log = join(root, `serial-${label}.log`);
  rmSync(log, { force: true });
  const vars = join(root, 'vars.fd');
  if (FW === 'uefi') copyFileSync(OVMF_VARS, vars);
  const fw =
    FW === 'uefi'
      ? [
          '-M',
          'q35',
          '-drive',
          `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
          '-drive',
          `if=pflash,format=raw,unit=1,file=${vars}`,
          '-netdev',
          `tap,id=n0,ifname=${tap},script=no,downscript=no`,
          '-device',
          `virtio-net-pci,netdev=n0,mac=${MAC},romfile=,bootindex=1`,
        ]
      : [
          '-M',
          'pc',
          '-boot',
          'n',
          '-netdev',
          `tap,id=n0,ifname=${tap},script=no,downscript=no`,
          '-device',
          `e1000,netdev=n0,mac=${MAC},bootindex=1`,
        ];
  const argv = ns.argv([
    'qemu-system-x86_64',
    '-accel',
    'tcg',
    '-m',
    '2048',
    '-smp',
    '1',
    '-nodefaults',
    '-nographic',
    '-serial',
    `file:${log}`,
    '-monitor',
    'none',
    ...fw,
  ]);
  const l0 = load();
  const start = performance.now();
  const q = spawnIn('qemu', argv, join(root, `qemu-${label}.log`));
  const stages: Record<string, number> = {};
  try {
    while (performance.now() - start < LOGIN_MS) {
      const text = existsSync(log) ? readFileSync(log, 'latin1') : '';
      const t = (performance.now() - start) / 1000;
      for (const [name, re] of STAGES) if (stages[name] === undefined && re.test(text)) stages[name] = t;
      if (stages.login !== undefined) break;
      if (q.exitCode !== null)
        throw new Error(`qemu exited ${q.exitCode}: ${(q as ChildProcess & { text: () => string }).text().slice(-500)}`);
      await Bun.sleep(100);
    }
    if (stages.login === undefined)
      throw new Error(`${label}: no login prompt in ${LOGIN_MS / 1000} s; console tail:\n${readFileSync(log, 'latin1').slice(-1500)}`);
  } finally {
    await stop(q);
  }
  return { secs: stages.login!, stages, load: `${l0} → ${load()}` };
}

// --- the runs ---
const fmt = (b: Boot) =>
  `${b.secs.toFixed(1)} s (${STAGES.filter(([s]) => s !== 'login')
    .map(([s]) => `${s} ${b.stages[s]?.toFixed(1) ?? '–'}`)
    .join(', ')}; load ${b.load})`;
try {
  console.log(
    `power-on → login: Debian 12 networkd node, QEMU TCG, FW=${FW}, ${PAIRS} pair(s) per condition; ${CONDITIONS.join(', ')}; load now ${load()}`,
  );
  const summary: string[] = [];
  for (const cond of CONDITIONS) {
    let busy: ChildProcess | undefined;
    if (cond === 'busy') {
      busy = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
      procs.add(busy);
    }
    const w: Boot[] = [],
      r: Boot[] = [];
    try {
      for (let i = 0; i < PAIRS; i++) {
        {
          const p = await startWulf();
          try {
            const b = await boot(`${cond}-wulf-${i}`);
            w.push(b);
            console.log(`${cond} #${i + 1} wulf serve       ${fmt(b)}`);
          } finally {
            await stop(p);
          }
        }
        {
          const ps = await startReference();
          try {
            const b = await boot(`${cond}-ref-${i}`);
            r.push(b);
            console.log(`${cond} #${i + 1} dnsmasq + nginx  ${fmt(b)}`);
          } finally {
            for (const p of ps) await stop(p);
          }
        }
      }
    } finally {
      if (busy) {
        busy.kill('SIGKILL');
        procs.delete(busy);
      }
    }
    const stageMed = (bs: Boot[]) => STAGES.map(([s]) => `${s} ${median(bs.map((b) => b.stages[s] ?? NaN)).toFixed(1)}`).join(', ');
    const line =
      `${cond}: wulf median ${median(w.map((b) => b.secs)).toFixed(1)} s [${stageMed(w)}], dnsmasq + nginx ` +
      `median ${median(r.map((b) => b.secs)).toFixed(1)} s [${stageMed(r)}]; ` +
      `wulf / reference ${(median(w.map((b) => b.secs)) / median(r.map((b) => b.secs))).toFixed(2)}× the time ` +
      `(pairs: ${w.map((b, i) => (b.secs / r[i]!.secs).toFixed(2)).join(', ')}) over ${PAIRS} pair(s)`;
    console.log(line);
    summary.push(line);
  }
  console.log('\n' + summary.join('\n'));
} finally {
  cleanup();
}
