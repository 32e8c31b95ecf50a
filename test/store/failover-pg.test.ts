// Failover (#15 item 6): one PostgreSQL store with 300 nodes, two `wulf serve` controllers (the
// compiled binary) on one segment, a 300-node `wulf sim` boot storm, and controller A killed with
// SIGKILL mid-storm: every node still boots, from B; every iPXE script names the controller whose
// DHCP answer the node followed.
// The segment: a bridge in a namespace of its own; each controller in its own namespace (its own
// host, as it were) with a veth on the bridge, A 10.77.0.1 and B 10.77.0.2, the same ports. DHCP goes
// through the simulator's relay agent on the bridge (10.77.0.254: one socket for 300 MACs, no raw
// sockets), which forwards every request to both controllers, as a relay with two helper addresses
// does; each controller answers the reservations, a node takes the first OFFER and names that server
// in its REQUEST (the other ignores it), then fetches TFTP from the ACK's next-server and HTTP from
// the URLs it is given. A node whose boot fails (A gone: no ACK, a stalled TFTP transfer, a refused
// or cut HTTP connection) waits 1 s and boots again from DHCP, as the wulf iPXE script's `:failed`
// (sleep 15, reboot) does. FAILOVER_DEBUG=1: the controllers log at debug level, kept in /tmp/failover-{a,b}.log.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { modes, requireCompiled, runWulf, setDhcpRange, tempRoot, tinyRootfs } from '../helpers/cli.ts';
import { Netns } from '../helpers/netns.ts';
import { startPg, type Pg } from './pg.ts';

const bin = modes[0]!;
const N = 300;
const A = '10.77.0.1';
const B = '10.77.0.2';
const RELAY = '10.77.0.254';
const port = 20000 + Math.floor(Math.random() * 20000);
const ports = { http: port, dhcp: port + 1, tftp: port + 2, relay: port + 3 };
const roots = { a: tempRoot('wulf-failover-a-'), b: tempRoot('wulf-failover-b-') };
let pg: Pg;
let url = '';
let seg: Netns;
const hosts: Partial<Record<'a' | 'b', Netns>> = {};
const logs = { a: '', b: '' };
const procs: ChildProcess[] = [];
const mac = (i: number) => `52:54:00:fa:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const name = (i: number) => `f${String(i).padStart(3, '0')}`;

function ok(r: ReturnType<typeof runWulf>, what: string): string {
  if (r.code !== 0) throw new Error(`wulf ${what}: exit ${r.code}: ${r.err}`);
  return r.out;
}

/** A controller: `wulf serve` in the namespace with its own root (wulf.conf, state) and the shared store. */
async function controller(who: 'a' | 'b', address: string): Promise<ChildProcess> {
  const env = {
    ...process.env,
    WULF_ROOT: roots[who].dir,
    WULF_HOST_ROOT: roots[who].dir,
    WULF_STORE: url,
    WULF_CONTROLLER: who,
    WULF_DEBUG: process.env.FAILOVER_DEBUG ?? '',
  };
  const argv = hosts[who]!.argv([bin.argv[0]!, 'serve', '--address', address, '--http-port', String(ports.http)]);
  argv.push('--dhcp-port', String(ports.dhcp), '--tftp-port', String(ports.tftp), '--dhcp-relay-port', String(ports.relay), '--no-ra');
  const p = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  p.stdout!.on('data', (d) => {
    logs[who] += String(d);
  });
  p.stderr!.on('data', (d) => {
    logs[who] += String(d);
  });
  for (let i = 0; i < 150 && !logs[who].includes('serving on'); i++) await Bun.sleep(100);
  if (!logs[who].includes('serving on')) throw new Error(`controller ${who} did not start: ${logs[who]}`);
  return p;
}

beforeAll(async () => {
  requireCompiled();
  pg = startPg();
  url = pg.createDb('failover');
  seg = new Netns('wfseg');
  seg.bridge('br0', `${RELAY}/16`);
  // each controller: its own host (namespace, veth seg0 on the bridge), root, wulf.conf and build of the same image
  for (const [who, ip] of [
    ['a', A],
    ['b', B],
  ] as const) {
    const h = new Netns(`wf${who}`);
    hosts[who] = h;
    seg.ip('link', 'add', `v${who}`, 'type', 'veth', 'peer', 'name', 'seg0', 'netns', h.name);
    seg.ip('link', 'set', `v${who}`, 'master', 'br0', 'up');
    h.ip('addr', 'add', `${ip}/16`, 'dev', 'seg0');
    h.ip('link', 'set', 'seg0', 'up');
    const dir = roots[who].dir;
    const fs = tinyRootfs(dir, Buffer.alloc(2 << 20, 7));
    ok(runWulf(bin, dir, ['init', '--address', `${ip}/16`, '--interface', 'seg0']), 'init');
    // each controller its own dynamic range (the store refuses two that overlap); the nodes here are all reserved
    if (who === 'b') setDhcpRange(dir, '10.77.200.0', '10.77.210.0');
    ok(runWulf(bin, dir, ['image', 'import', fs, 'tiny']), 'image import');
    ok(runWulf(bin, dir, ['image', 'build', 'tiny']), 'image build');
  }
  ok(runWulf(bin, roots.a.dir, ['store', 'copy', '--to', url]), 'store copy');
  // the nodes, the way the README adds them: a hostlist with auto-incremented addresses, then each MAC
  const w = (args: string[]) => runWulf(bin, roots.a.dir, args, { env: { WULF_STORE: url } });
  ok(w(['node', 'add', `f[001-${N}]`, '--ipaddr', '10.77.1.1', '--image', 'tiny']), 'node add');
  const sets = Array.from({ length: N }, (_, i) => ['node', 'set', name(i + 1), '--hwaddr', mac(i + 1)]);
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      for (let s = sets.shift(); s; s = sets.shift()) {
        const p = spawn(bin.argv[0]!, s, {
          env: { ...process.env, WULF_ROOT: roots.a.dir, WULF_HOST_ROOT: roots.a.dir, WULF_STORE: url },
          stdio: 'ignore',
        });
        const code = await new Promise((r) => p.on('exit', r));
        if (code !== 0) throw new Error(`wulf ${s.join(' ')}: exit ${code}`);
      }
    }),
  );
  await controller('a', A);
  await controller('b', B);
}, 240_000);

afterAll(() => {
  if (process.env.FAILOVER_DEBUG) for (const who of ['a', 'b'] as const) writeFileSync(`/tmp/failover-${who}.log`, logs[who]);
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const h of Object.values(hosts)) h.destroy();
  seg?.destroy();
  pg?.stop();
  roots.a.cleanup();
  roots.b.cleanup();
}, 30_000);

interface Line {
  node: string;
  ok: boolean;
  server: string;
  scriptFrom: string;
  names: string[];
  attempt: number;
}

function parse(line: string): Line | undefined {
  const m = /^(\S+): (booted in|FAILED after) \d+ ms.*?; from (\S+), script (\S+) names ([^,]+?)(?:, attempt (\d+) after: .*)?$/.exec(line);
  if (!m) return undefined;
  return { node: m[1]!, ok: m[2] === 'booted in', server: m[3]!, scriptFrom: m[4]!, names: m[5]!.split(' '), attempt: Number(m[6] ?? 1) };
}

test('kill -9 one of two controllers during a 300-node boot storm: every node boots, DHCP and the iPXE script from the survivor', async () => {
  const env = { ...process.env, WULF_ROOT: roots.a.dir, WULF_HOST_ROOT: roots.a.dir, WULF_STORE: url, NO_COLOR: '1' };
  const argv = seg.argv([bin.argv[0]!, 'sim', '--server', `${A},${B}`, '--http-port', String(ports.http)]);
  argv.push('--dhcp-port', String(ports.dhcp), '--tftp-port', String(ports.tftp), '--relay-port', String(ports.relay));
  argv.push('--giaddr', RELAY, '--concurrency', '50', '--retries', '5', '--retry-wait', '1s');
  const sim = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(sim);
  let out = '',
    err = '';
  let killedAfter = -1;
  const [a] = procs;
  sim.stderr!.on('data', (d) => {
    err += String(d);
  });
  sim.stdout!.on('data', (d) => {
    out += String(d);
    const booted = (out.match(/booted in/g) ?? []).length;
    if (killedAfter < 0 && booted >= 60) {
      killedAfter = booted;
      a!.kill('SIGKILL'); // mid-storm: 60 booted, up to 50 mid-boot
    }
  });
  const code = await new Promise<number | null>((r) => sim.on('exit', r));
  const lines = out.split('\n').filter((l) => l.includes(': booted in') || l.includes(': FAILED'));
  const parsed = lines.map(parse);
  const summary = out.split('\n').find((l) => l.startsWith(`${N} nodes:`)) ?? '';
  for (const l of lines.filter((x) => x.includes('FAILED')).slice(0, 8)) console.log(l);
  expect(err).toBe('');
  expect(killedAfter).toBeGreaterThanOrEqual(60);
  expect(a!.signalCode).toBe('SIGKILL');
  expect(summary).toContain(`${N} nodes: ${N} booted, 0 errors`);
  expect(code).toBe(0);
  expect(lines.length).toBe(N);
  expect(parsed.every(Boolean)).toBe(true);
  const res = parsed as Line[];
  // every iPXE script names the controller whose DHCP answer the node followed, and only it
  for (const r of res) {
    expect(r.scriptFrom).toBe(`${r.server}:${ports.http}`);
    expect(r.names).toEqual([r.scriptFrom]);
  }
  // both controllers served before the kill; the nodes A left mid-boot booted again, from B
  const fromA = res.filter((r) => r.server === A);
  const again = res.filter((r) => r.attempt > 1);
  expect(fromA.length).toBeGreaterThan(0);
  expect(again.length).toBeGreaterThan(0);
  for (const r of again) expect(r.server).toBe(B);
  expect(summary).toContain(`; ${again.length} booted only after a retry`);
  // well after the kill only B answers (the last 150 nodes started long after A was gone)
  for (const r of res.slice(-150)) expect(r.server).toBe(B);
  // B's log: every node that booted from B has its kernel and image sent by B
  for (const r of res.filter((x) => x.server === B)) {
    const n = name(Number.parseInt(r.node.split(':').slice(-2).join(''), 16));
    expect(logs.b).toMatch(new RegExp(`boot: ${n} stage=kernel`));
    expect(logs.b).toMatch(new RegExp(`boot: ${n} stage=image`));
  }
  console.log(
    `failover: A killed after ${killedAfter} booted; ${fromA.length} from A, ${N - fromA.length} from B, ${again.length} booted again`,
  );
  console.log(summary);
}, 300_000);
