// End to end: real QEMU VMs (TCG) network-boot from the compiled dist/wulf inside a network
// namespace — DHCP, TFTP, iPXE, kernel, image and overlays all from one `wulf serve`. Four VMs
// boot at once: BIOS + iPXE ROM, UEFI (OVMF) + iPXE ROM, UEFI firmware's own PXE → TFTP
// ipxe.efi → iPXE, and BIOS with virtio. Each must print the hostname and IP nodes.conf gave it.
// Before they boot, a hostile machine on the bridge (fuzz-peer.ts) throws 100,000 mutated DHCP and
// 100,000 TFTP datagrams at the same server.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin, repoRoot, requireCompiled, tempRoot } from '../helpers/cli.ts';

const NS = `we2e-${process.pid}`;
const FUZZ_NS = `${NS}-fuzz`; // a hostile machine on the same bridge
const t = tempRoot('wulf-e2e-');
const env = { ...process.env, WULF_ROOT: t.dir, WULF_HOST_ROOT: t.dir }; // the controller's passwd: ROOT/etc/passwd
const sh = (cmd: string[]) => {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
};
const wulf = (...a: string[]) => sh([compiledBin, ...a]);
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd',
  OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
let serve: ChildProcess | undefined;
const vms: ChildProcess[] = [];
let serveLog = '';

interface Span {
  stage: string;
  start: number;
  seconds?: number;
}
interface Vm {
  node: string;
  mac: string;
  ip: string;
  fw: 'bios' | 'uefi';
  nic: string;
  rom: boolean;
  tap: string;
}
const VMS: Vm[] = [
  { node: 'n1', mac: '52:54:00:e2:00:01', ip: '10.99.0.21', fw: 'bios', nic: 'e1000', rom: true, tap: 'wtap1' },
  { node: 'n2', mac: '52:54:00:e2:00:02', ip: '10.99.0.22', fw: 'uefi', nic: 'e1000', rom: true, tap: 'wtap2' },
  { node: 'n3', mac: '52:54:00:e2:00:03', ip: '10.99.0.23', fw: 'uefi', nic: 'virtio-net-pci', rom: false, tap: 'wtap3' },
  { node: 'n4', mac: '52:54:00:e2:00:04', ip: '10.99.0.24', fw: 'bios', nic: 'virtio-net-pci', rom: true, tap: 'wtap4' },
];

const HOLD: Vm = { node: 'n5', mac: '52:54:00:e2:00:05', ip: '10.99.0.25', fw: 'bios', nic: 'e1000', rom: true, tap: 'wtap5' };
const USER = `wulfe2e${process.pid % 100000}`;

beforeAll(() => {
  requireCompiled();
  // namespaces left by an earlier run that was killed (its pid is gone): remove them and their VMs
  for (const ns of spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => /^we2e-\d+(-fuzz)?$/.test(n))) {
    if (!existsSync(`/proc/${ns.slice(5).replace('-fuzz', '')}`))
      spawnSync('sh', ['-c', `ip netns pids ${ns} | xargs -r kill -9; sleep 0.3; ip netns del ${ns}`]);
  }
  for (const tool of ['qemu-system-x86_64', 'ip', 'curl'])
    if (spawnSync('which', [tool]).status !== 0)
      throw new Error(`${tool} missing (apt-get install qemu-system-x86 ipxe-qemu ovmf iproute2 curl)`);
  if (!existsSync(OVMF_CODE)) throw new Error('OVMF missing (apt-get install ovmf)');
  sh(['sh', join(repoRoot, 'images/test-node/build.sh'), join(t.dir, 'rootfs')]);
  sh(['ip', 'netns', 'add', NS]);
  sh(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
  sh(['ip', '-n', NS, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  sh(['ip', '-n', NS, 'addr', 'add', '10.99.0.1/24', 'dev', 'br0']);
  sh(['ip', '-n', NS, 'link', 'set', 'br0', 'up']);
  for (const v of [...VMS, HOLD]) {
    sh(['ip', '-n', NS, 'tuntap', 'add', 'dev', v.tap, 'mode', 'tap']);
    sh(['ip', '-n', NS, 'link', 'set', v.tap, 'master', 'br0']);
    sh(['ip', '-n', NS, 'link', 'set', v.tap, 'up']);
  }
  sh(['ip', 'netns', 'add', FUZZ_NS]);
  sh(['ip', 'link', 'add', 'wfz0', 'netns', FUZZ_NS, 'type', 'veth', 'peer', 'name', 'wfz1', 'netns', NS]);
  sh(['ip', '-n', NS, 'link', 'set', 'wfz1', 'master', 'br0', 'up']);
  sh(['ip', '-n', FUZZ_NS, 'addr', 'add', '10.99.0.250/24', 'dev', 'wfz0']);
  sh(['ip', '-n', FUZZ_NS, 'link', 'set', 'wfz0', 'up']);
  sh(['ip', '-n', FUZZ_NS, 'link', 'set', 'lo', 'up']);
  wulf('init', '--address', '10.99.0.1/24', '--interface', 'br0');
  const wc = join(t.dir, 'etc/wulf/wulf.conf');
  writeFileSync(wc, readFileSync(wc, 'utf8').replace('update interval: 60', 'update interval: 5')); // the agent polls every 5 s
  copyFileSync('/etc/passwd', join(t.dir, 'etc/passwd')); // the controller's users, in the relocated root
  wulf('image', 'import', join(t.dir, 'rootfs'), 'testnode');
  wulf('image', 'build', 'testnode');
  wulf(
    'node',
    'add',
    HOLD.node,
    '--image',
    'testnode',
    '--netdev',
    'eth0',
    '--hwaddr',
    HOLD.mac,
    '--ipaddr',
    HOLD.ip,
    '--netmask',
    '255.255.255.0',
    '--kernelargs',
    'console=ttyS0,quiet,wulf.hold=150',
  );
  // --netdev eth0: the kernel's name for the one NIC (busybox has no udev to rename it); the
  // node's init sets its address from the ifupdown overlay's file for it, not by DHCP
  for (const v of VMS)
    wulf(
      'node',
      'add',
      v.node,
      '--image',
      'testnode',
      '--netdev',
      'eth0',
      '--hwaddr',
      v.mac,
      '--ipaddr',
      v.ip,
      '--netmask',
      '255.255.255.0',
      '--kernelargs',
      process.env.WULF_E2E_ARGS ?? 'console=ttyS0,quiet',
    );
  serve = spawn(
    'ip',
    [
      'netns',
      'exec',
      NS,
      compiledBin,
      'serve',
      '--address',
      '10.99.0.1',
      '--interface',
      'br0',
      ...(process.env.WULF_E2E_NO_RA ? ['--no-ra'] : []),
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  serve.stderr!.on('data', (d) => {
    serveLog += String(d);
  });
}, 180_000);

afterAll(() => {
  for (const p of vms) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (serve) {
    try {
      serve.kill('SIGTERM');
    } catch {
      /* gone */
    }
  }
  spawnSync('sh', [
    '-c',
    `ip netns pids ${NS} 2>/dev/null | xargs -r kill -9; sleep 0.5; ip netns del ${NS} 2>/dev/null; ip netns del ${FUZZ_NS} 2>/dev/null`,
  ]);
  t.cleanup();
});

function bootVm(v: Vm): { log: string; proc: ChildProcess } {
  const log = join(t.dir, `${v.node}.serial.log`);
  const fw =
    v.fw === 'uefi'
      ? (() => {
          const vars = join(t.dir, `${v.node}.vars.fd`);
          copyFileSync(OVMF_VARS, vars);
          return [
            '-M',
            'q35',
            '-drive',
            `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
            '-drive',
            `if=pflash,format=raw,unit=1,file=${vars}`,
          ];
        })()
      : ['-M', 'pc', '-boot', 'n'];
  const proc = spawn(
    'ip',
    [
      'netns',
      'exec',
      NS,
      'qemu-system-x86_64',
      '-accel',
      'tcg',
      '-m',
      v.fw === 'uefi' ? '512' : '384',
      '-smp',
      '1',
      '-nodefaults',
      '-nographic',
      '-serial',
      `file:${log}`,
      '-monitor',
      'none',
      '-no-reboot',
      ...fw,
      '-netdev',
      `tap,id=n0,ifname=${v.tap},script=no,downscript=no`,
      '-device',
      `${v.nic},netdev=n0,mac=${v.mac},bootindex=1${v.rom ? '' : ',romfile='}`,
    ],
    { stdio: 'ignore' },
  );
  vms.push(proc);
  return { log, proc };
}

test('after 100,000 hostile DHCP and 100,000 TFTP datagrams from the bridge, four VMs boot at once from dist/wulf serve: BIOS, UEFI + iPXE ROM, ' +
  'UEFI native PXE → ipxe.efi, BIOS virtio', async () => {
  for (let i = 0; i < 100 && !serveLog.includes('serving on'); i++) await Bun.sleep(100);
  expect(serveLog).toContain('serving on 10.99.0.1');
  // first a hostile machine on the bridge throws random and mutated packets at DHCP and TFTP
  const logBefore = serveLog.split('\n').length;
  const fuzz = Bun.spawn(['ip', 'netns', 'exec', FUZZ_NS, process.execPath, join(import.meta.dir, 'fuzz-peer.ts'), '10.99.0.1', '100000'], {
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [fuzzOut, fuzzErr, fuzzCode] = await Promise.all([new Response(fuzz.stdout).text(), new Response(fuzz.stderr).text(), fuzz.exited]);
  if (fuzzCode !== 0) throw new Error(`fuzz peer failed: ${fuzzErr}`);
  const fz = JSON.parse(fuzzOut.trim().split('\n').pop()!) as { dhcp: number; tftp: number; replies: number; seconds: number };
  const logLines = serveLog.split('\n').length - logBefore;
  console.log(`fuzz: ${fz.dhcp} DHCP + ${fz.tftp} TFTP datagrams in ${fz.seconds} s, ${fz.replies} replies, ${logLines} server log lines`);
  expect(fz.dhcp).toBeGreaterThanOrEqual(100_000);
  expect(fz.tftp).toBeGreaterThanOrEqual(100_000);
  expect(serve!.exitCode).toBeNull(); // still running
  expect(logLines).toBeLessThan(2000); // bad packets are logged rate-limited, not one line each
  expect(serveLog).not.toMatch(/\n\s+at .*\(/); // no stack trace
  const started = Date.now();
  const upAt = new Map<string, number>();
  const bootAt = Date.now() / 1000;
  const runs = VMS.map((v) => ({ v, ...bootVm(v) }));
  const deadline = Date.now() + 540_000;
  const done = new Set<string>();
  while (done.size < runs.length && Date.now() < deadline) {
    for (const r of runs) {
      if (done.has(r.v.node)) continue;
      const s = existsSync(r.log) ? readFileSync(r.log, 'latin1') : '';
      if (s.includes('WULF-NODE-UP') || r.proc.exitCode !== null) {
        done.add(r.v.node);
        upAt.set(r.v.node, Date.now() / 1000);
        console.log(
          `${r.v.node} (${r.v.fw}, ${r.v.nic}${r.v.rom ? '' : ', firmware PXE'}): ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      }
    }
    await Bun.sleep(1000);
  }
  for (const r of runs) {
    const s = existsSync(r.log) ? readFileSync(r.log, 'latin1') : '';
    if (!s.includes(`WULF-NODE-UP ${r.v.node} ${r.v.ip}`))
      console.log(`--- ${r.v.node} serial tail:\n${s.slice(-1500)}\n--- serve log tail:\n${serveLog.slice(-1500)}`);
    expect(s).toContain(`WULF-NODE-UP ${r.v.node} ${r.v.ip}`);
    expect(s).toContain('WULF-NODE-HOSTS ok');
    expect(s).toContain(`WULF-NODE-NETCFG eth0 ${r.v.ip}/24 from /etc/network/interfaces.d/wulf-default`); // the address came from the overlay
  }
  const st = JSON.parse(
    spawnSync('ip', ['netns', 'exec', NS, 'curl', '-s', 'http://10.99.0.1:9873/status'], { encoding: 'utf8' }).stdout,
  ) as { nodes: Record<string, { ipaddr: string; timeline: Span[] }> };
  for (const v of VMS) {
    const tl = st.nodes[v.node]!.timeline;
    // the server saw this boot in order: dhcp → ipxe → kernel → image → system → runtime
    const order = [...tl]
      .sort((a, b) => a.start - b.start)
      .map((x) => x.stage)
      .filter((x, i, a) => a.indexOf(x) === i);
    expect(order).toEqual(['dhcp', 'ipxe', 'kernel', 'image', 'system', 'runtime']);
    const t0 = tl.find((x) => x.stage === 'dhcp')!.start;
    console.log(
      `${v.node} timeline (server clock, from its first DHCP): ${tl.map((x) => `${x.stage} +${(x.start - t0).toFixed(1)}s (${x.seconds ?? '?'}s)`).join(', ')}`,
    );
    const rt = tl.find((x) => x.stage === 'runtime')!;
    const serial = readFileSync(join(t.dir, `${v.node}.serial.log`), 'latin1');
    const up = (m: string) => serial.match(new RegExp(`${m}.*uptime=([0-9.]+)`))?.[1] ?? '?';
    console.log(
      `${v.node} phases: firmware until first DHCP ${(t0 - bootAt).toFixed(1)} s, DHCP → runtime overlay ${(rt.start - t0).toFixed(1)} s, ` +
        `Linux until the marker ${(upAt.get(v.node)! - rt.start).toFixed(1)} s ` +
        `(kernel uptime at /sbin/init ${up('WULF-NODE-INIT')} s, with an address ${up('WULF-NODE-NET')} s)`,
    );
  }
}, 600_000);

test('runtime overlay: a user added to the controller passwd reaches the running node within an update interval; ' +
  'the node keeps running without the server', async () => {
  const { log, proc } = bootVm(HOLD);
  const read = () => (existsSync(log) ? readFileSync(log, 'latin1') : '');
  const until = async (re: RegExp, ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (re.test(read())) return true;
      await Bun.sleep(500);
    }
    return false;
  };
  expect(await until(new RegExp(`WULF-NODE-UP n5 ${HOLD.ip.replace(/\./g, '\\.')}`), 240_000)).toBe(true);
  expect(read()).not.toContain(USER);
  // with WULF_HOST_ROOT=ROOT the controller's passwd is ROOT/etc/passwd
  appendFileSync(join(t.dir, 'etc/passwd'), `${USER}:x:4242:4242:e2e user:/home/${USER}:/bin/sh\n`);
  const t0 = Date.now();
  const reached = await until(new RegExp(`WULF-USERS .*${USER}`), 60_000);
  if (!reached) console.log(`--- n5 serial tail:\n${read().slice(-2000)}`);
  expect(reached).toBe(true);
  console.log(`user ${USER} reached n5 ${((Date.now() - t0) / 1000).toFixed(1)} s after it was added (update interval 5 s)`);
  const done = new Promise((r) => serve!.on('exit', r));
  serve!.kill('SIGTERM');
  await done;
  serve = undefined;
  const alive = (read().match(/WULF-ALIVE/g) ?? []).length;
  await Bun.sleep(12_000);
  expect((read().match(/WULF-ALIVE/g) ?? []).length).toBeGreaterThan(alive);
  expect(proc.exitCode).toBeNull();
}, 400_000);
