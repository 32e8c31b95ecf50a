// The "done when" of the import: the test Warewulf site goes through `wulf import-warewulf`
// (compiled), its image is built, `wulf serve` runs on loopback and `wulf sim` boots the imported
// nodes through the imported Go-syntax iPXE template; then the overlay files those nodes receive
// (their system and runtime archives, as served) are byte for byte what the Go originals render
// with Warewulf's data (test/gorender, the reference Go renderer).
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { loopbackPorts, modes, requireCompiled, runWulf, startServe, stopServe, tempRoot } from '../helpers/cli.ts';
import { renderGoFull } from '../helpers/gorender.ts';
import { readCpio, S_IFLNK, S_IFMT } from '../../src/lib/cpio.ts';
import { copySite } from './site.ts';

const bin = modes[0]!;
const t = tempRoot('wulf-import-boot-');
const root = join(t.dir, 'root');
const site = join(t.dir, 'site');
const w = (...a: string[]) => runWulf(bin, root, a);
const { ports, base } = loopbackPorts();
let serve: Awaited<ReturnType<typeof startServe>> | undefined;
let log = '';
let importOut = '';
const missing: string[] = [];

const MAC = { n1: '52:54:00:77:00:01', n2: '52:54:00:77:00:02' };
const IP = { n1: '127.0.0.201', n2: '127.0.0.202' };

beforeAll(async () => {
  requireCompiled();
  copySite(site);
  const ok = (r: { code: number; err: string }, what: string) => {
    if (r.code !== 0) throw new Error(`${what}: ${r.err}`);
  };
  ok(w('init', '--address', '127.0.0.1/8', '--interface', 'lo'), 'init');
  const imp = w('import-warewulf', '--site-root', site);
  ok(imp, 'import-warewulf');
  importOut = imp.out;
  // the stock profile names Warewulf distribution overlays other branches bring to wulf (wwclient,
  // wicked, ignition); while one is missing its nodes' system overlay cannot build, so it is taken
  // out of the default profile here — the import itself keeps it and reports it (asserted below)
  const have = new Set(
    w('overlay', 'list')
      .out.split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[0])
      .filter(Boolean),
  );
  const sys = JSON.parse(w('profile', 'list', '-j', 'default').out).default['system overlay'] as string[];
  for (const o of sys) if (!have.has(o)) missing.push(o);
  if (missing.length)
    ok(w('profile', 'set', 'default', '--system-overlays', sys.filter((o) => have.has(o)).join(','), '-y'), 'profile set');
  // the simulated nodes boot over loopback (DHCP as a relay on 127.0.0.1): their provisioning
  // addresses move into the server's subnet; the templates then see these addresses on both sides
  for (const [n, ip] of Object.entries(IP)) ok(w('node', 'set', n, '--netname', 'eth0', '--ipaddr', ip, '-y'), 'node set');
  ok(w('image', 'build', 'tiny'), 'image build');
  serve = await startServe(bin, root, ports, (d) => {
    log += d;
  });
}, 120_000);
afterAll(async () => {
  await stopServe(serve);
  t.cleanup();
});

// Warewulf's template data for the fixture's nodes (what Warewulf builds from the same nodes.conf)
const netdev = (o: Record<string, string>) => ({
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
const nodes = {
  n1: {
    Id: 'n1',
    Hostname: 'n1',
    Tags: { rack: 'r01', scheduler: 'slurm', role: 'login' },
    NetDevs: {
      eth0: netdev({ Hwaddr: MAC.n1, Ipaddr: IP.n1, Netmask: '255.255.255.0', Gateway: '10.0.1.254', Primary: true as unknown as string }),
      ib0: netdev({ Type: 'infiniband', Ipaddr: '10.10.1.1', Netmask: '255.255.0.0' }),
    },
  },
  n2: {
    Id: 'n2',
    Hostname: 'n2',
    Tags: { rack: 'r01', scheduler: 'slurm', role: 'compute' },
    NetDevs: {
      eth0: netdev({ Hwaddr: MAC.n2, Ipaddr: IP.n2, Netmask: '255.255.255.0', Gateway: '10.0.1.254', Primary: true as unknown as string }),
    },
  },
};
const dataFor = (n: 'n1' | 'n2') => ({ ...nodes[n], AllNodes: [nodes.n1, nodes.n2], BuildHost: 'head' });

test('the import reports the stock overlays wulf does not have, and keeps them in the profile it wrote', () => {
  for (const o of missing)
    expect(importOut).toMatch(
      new RegExp(`nodes\\.conf:\\d+: overlay "${o.replace('.', '\\.')}" is a Warewulf distribution overlay wulf does not have: kept`),
    );
});

test('wulf sim boots the imported nodes through the imported (Go-syntax) iPXE template', async () => {
  const r = w(
    'sim',
    '--server',
    '127.0.0.1',
    '--http-port',
    String(ports.http),
    '--dhcp-port',
    String(ports.dhcp),
    '--tftp-port',
    String(ports.tftp),
    '--relay-port',
    String(ports.relay),
    '--nodes',
    'n[1-2]',
  );
  expect(r.out).toContain('2 nodes: 2 booted, 0 errors');
  expect(r.code).toBe(0);
  // the script served is the converted template, rendered for the node
  const script = await (await fetch(`${base}/ipxe/${MAC.n1}`)).text();
  expect(script).toContain(
    `#!ipxe\necho n1 boots over port ${ports.http} (TLS on), rack r01\necho Site boot of n1 (${MAC.n1})\nset base http://127.0.0.1:${ports.http}\n` +
      `kernel --name kernel`,
  );
  expect(script).toContain(`wwid=${MAC.n1} quiet crashkernel=no net.ifnames=1 console=ttyS0,115200 mitigations=off || goto fail`);
  // and it is what Warewulf renders from the Go original with its iPXE data
  const goScript = renderGoFull(join(site, 'etc/warewulf/ipxe/site.ipxe'), {
    Id: 'n1',
    Hostname: 'n1',
    Fqdn: 'n1',
    Hwaddr: MAC.n1,
    Authority: `127.0.0.1:${ports.http}`,
    Port: String(ports.http),
    TLS: true,
    ImageName: 'tiny',
    KernelArgs: 'quiet crashkernel=no net.ifnames=1 console=ttyS0,115200 mitigations=off',
    Tags: nodes.n1.Tags,
    Cluster: '',
    Root: 'initramfs',
  }).files[0]!.data;
  expect(script).toBe(goScript);
}, 60_000);

async function archive(stage: 'system' | 'runtime', mac: string): Promise<Map<string, { mode: number; data: string }>> {
  const r = await fetch(`${base}/${stage}/${mac}`);
  expect(r.status).toBe(200);
  const raw = new Uint8Array(await r.arrayBuffer());
  const cpio = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : Bun.zstdDecompressSync(raw);
  return new Map(readCpio(cpio).map((e) => [e.name, { mode: e.mode, data: new TextDecoder().decode(e.data) }]));
}
const overlayDir = (o: string) => join(site, 'var/lib/warewulf/overlays', o, 'rootfs');
const go = (o: string, file: string, n: 'n1' | 'n2') =>
  renderGoFull(join(overlayDir(o), file), dataFor(n), { sysconf: join(site, 'etc/warewulf') });

for (const n of ['n1', 'n2'] as const) {
  test(`${n}: the site overlay files it receives equal what Warewulf's Go templates render, byte for byte`, async () => {
    const sys = await archive('system', MAC[n]);
    const rt = await archive('runtime', MAC[n]);
    // range/if/Include over the node's tags
    const motd = go('site-motd', 'etc/motd.ww', n);
    expect(sys.get('etc/motd')?.data).toBe(motd.files[0]!.data);
    expect(motd.files[0]!.data).toContain(n === 'n1' ? 'This is a login node' : 'Compute node in rack r01.');
    // softlink
    const lt = go('site-motd', 'etc/localtime.ww', n).files[0]!;
    expect(lt.symlink).toBe(true);
    expect(sys.get('etc/localtime')!.mode & S_IFMT).toBe(S_IFLNK);
    expect(sys.get('etc/localtime')!.data).toBe(lt.target);
    expect(sys.get('etc/site-release')?.data).toBe(readFileSync(join(overlayDir('site-motd'), 'etc/site-release'), 'utf8'));
    // range over the netdevs with `file`: one file per device, beside the template's own
    const net = go('site-net', 'etc/site/netdevs.ww', n);
    expect(net.files.length).toBe(1 + Object.keys(nodes[n].NetDevs).length);
    for (const f of net.files) {
      const name = f.name ? f.name.split('/').pop()! : 'netdevs'; // '' is the template's own output file
      expect(sys.get(`etc/site/${name}`)?.data).toBe(f.data);
    }
    // IncludeBlock and range over every node (runtime overlay)
    const hosts = go('site-users', 'etc/site-hosts.ww', n).files[0]!.data;
    expect(hosts).toContain('10.0.9.2 license');
    expect(hosts).not.toContain('this-line-is-cut');
    expect(rt.get('etc/site-hosts')?.data).toBe(hosts);
  });
}
