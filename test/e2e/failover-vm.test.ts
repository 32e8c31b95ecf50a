// Failover with a real machine (#15 item 6): one QEMU VM (TCG, SeaBIOS + qemu's iPXE ROM) network-
// boots from the second of two controllers after the first was killed with SIGKILL. One segment: a
// bridge in a namespace of its own, with the VM's tap and a veth from each controller's namespace (its
// own host, as it were): A 10.98.0.1, B 10.98.0.2, both answering DHCP for the node's reservation,
// one PostgreSQL store holding the node. A is killed before the VM starts; the VM's broadcast DHCP is
// answered by B alone; its TFTP, iPXE script, kernel, image and overlays come from B (B's log), the
// script B serves names B, and the node comes up with the hostname and address the store gave it.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { modes, repoRoot, requireCompiled, runWulf, setDhcpRange, tempRoot } from '../helpers/cli.ts';
import { Netns } from '../helpers/netns.ts';
import { Vm } from '../helpers/qemu.ts';
import { startPg, type Pg } from '../store/pg.ts';

const bin = modes[0]!;
const A = '10.98.0.1';
const B = '10.98.0.2';
const B_RANGE = ['10.98.0.200', '10.98.0.250'] as const;
const NODE = { name: 'v1', mac: '52:54:00:fb:00:01', ip: '10.98.0.21' };
const roots = { a: tempRoot('wulf-fovm-a-'), b: tempRoot('wulf-fovm-b-') };
let pg: Pg;
let url = '';
let seg: Netns;
const hosts: Partial<Record<'a' | 'b', Netns>> = {};
const logs = { a: '', b: '' };
const procs: Partial<Record<'a' | 'b', ChildProcess>> = {};
let vm: Vm | undefined;

function ok(r: ReturnType<typeof runWulf>, what: string): string {
  if (r.code !== 0) throw new Error(`wulf ${what}: exit ${r.code}: ${r.err}`);
  return r.out;
}

async function controller(who: 'a' | 'b', address: string): Promise<void> {
  const env = { ...process.env, WULF_ROOT: roots[who].dir, WULF_HOST_ROOT: roots[who].dir, WULF_STORE: url, WULF_CONTROLLER: who };
  const argv = hosts[who]!.argv([bin.argv[0]!, 'serve', '--address', address, '--interface', 'seg0']);
  const p = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs[who] = p;
  p.stdout!.on('data', (d) => {
    logs[who] += String(d);
  });
  p.stderr!.on('data', (d) => {
    logs[who] += String(d);
  });
  for (let i = 0; i < 150 && !logs[who].includes('serving on'); i++) await Bun.sleep(100);
  if (!logs[who].includes('serving on')) throw new Error(`controller ${who} did not start: ${logs[who]}`);
}

beforeAll(async () => {
  requireCompiled();
  for (const tool of ['qemu-system-x86_64', 'curl'])
    if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} missing (apt-get install qemu-system-x86 ipxe-qemu curl)`);
  pg = startPg();
  url = pg.createDb('fovm');
  seg = new Netns('wfvseg');
  seg.bridge('br0', '10.98.0.254/24');
  seg.tap('wfvtap', 'br0');
  const rootfs = join(roots.a.dir, 'rootfs');
  const built = spawnSync('sh', [join(repoRoot, 'images/test-node/build.sh'), rootfs], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`images/test-node/build.sh: ${built.stderr}`);
  for (const [who, ip] of [
    ['a', A],
    ['b', B],
  ] as const) {
    const h = new Netns(`wfv${who}`);
    hosts[who] = h;
    seg.ip('link', 'add', `v${who}`, 'type', 'veth', 'peer', 'name', 'seg0', 'netns', h.name);
    seg.ip('link', 'set', `v${who}`, 'master', 'br0', 'up');
    h.ip('addr', 'add', `${ip}/24`, 'dev', 'seg0');
    h.ip('link', 'set', 'seg0', 'up');
    const dir = roots[who].dir;
    if (who === 'b') cpSync(rootfs, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    ok(runWulf(bin, dir, ['init', '--address', `${ip}/24`, '--interface', 'seg0']), 'init');
    if (who === 'b') setDhcpRange(dir, ...B_RANGE); // each controller its own dynamic range (overlaps are refused)
    ok(runWulf(bin, dir, ['image', 'import', join(dir, 'rootfs'), 'testnode']), 'image import');
    ok(runWulf(bin, dir, ['image', 'build', 'testnode']), 'image build');
  }
  ok(runWulf(bin, roots.a.dir, ['store', 'copy', '--to', url]), 'store copy');
  const add = ['node', 'add', NODE.name, '--image', 'testnode', '--netdev', 'eth0', '--hwaddr', NODE.mac, '--ipaddr', NODE.ip];
  ok(
    runWulf(bin, roots.a.dir, [...add, '--netmask', '255.255.255.0', '--kernelargs', 'console=ttyS0,quiet'], { env: { WULF_STORE: url } }),
    'node add',
  );
  await controller('a', A);
  await controller('b', B);
}, 300_000);

afterAll(() => {
  vm?.stop();
  for (const p of Object.values(procs)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const h of Object.values(hosts)) h.destroy();
  seg?.destroy();
  pg?.stop();
  roots.a.cleanup();
  roots.b.cleanup();
}, 30_000);

test('A killed with SIGKILL: a QEMU VM boots from B alone (DHCP, iPXE script naming B, kernel, image), up with its name and address', async () => {
  // both controllers answer the node while both live
  const script = (ip: string) => seg.exec(['curl', '-sf', `http://${ip}:9873/ipxe/${NODE.mac}`]);
  expect(script(A)).toContain(`kernel --name kernel \${base}`);
  expect(script(A)).toContain(`set base http://${A}:9873`);
  procs.a!.kill('SIGKILL');
  await new Promise((r) => procs.a!.once('exit', r));
  expect(procs.a!.signalCode).toBe('SIGKILL');
  const s = script(B);
  expect(s).toContain(`set base http://${B}:9873`);
  expect(s).not.toContain(A);
  const bBefore = logs.b.length;
  vm = new Vm({
    name: NODE.name,
    fw: 'bios',
    memMiB: 384,
    nics: [{ mac: NODE.mac, tap: 'wfvtap' }],
    dir: roots.b.dir,
    netnsArgv: (c) => seg.argv(c),
  });
  vm.start();
  const started = Date.now();
  const stage = (st: string) => new RegExp(`boot: ${NODE.name} stage=${st}`);
  // the kernel from B is the stage that matters; then the node must come up (a busybox init under TCG)
  for (let i = 0; i < 240 && !stage('image').test(logs.b.slice(bBefore)); i++) await Bun.sleep(1000);
  const kernelAt = Math.round((Date.now() - started) / 1000);
  const up = await vm.waitSerial(new RegExp(`WULF-NODE-UP ${NODE.name} ${NODE.ip.replace(/\./g, '\\.')}`), 300_000);
  const mine = logs.b.slice(bBefore);
  console.log(`failover VM: kernel and image from B after ${kernelAt} s; up: ${up} after ${Math.round((Date.now() - started) / 1000)} s`);
  if (!up) console.log(vm.tail());
  for (const st of ['dhcp', 'ipxe', 'kernel', 'image', 'system']) expect(mine).toMatch(stage(st));
  expect(mine).toMatch(new RegExp(`boot: ${NODE.name} stage=dhcp sent="ACK \\(iPXE\\)" ip=${NODE.ip.replace(/\./g, '\\.')}`));
  expect(up).toBe(true);
  expect(vm.serial()).toContain(`WULF-NODE-UP ${NODE.name} ${NODE.ip}`);
}, 600_000);
