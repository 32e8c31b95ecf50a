// `wulf node status` (compiled) telling live nodes from dead ones: the STATE and AGENT (s) columns and
// -j, from the CBOR state file (no server answering) and from a server's /status, wulf- or Warewulf-shaped.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathsFor } from '../../src/config/paths.ts';
import { writeState } from '../../src/runtime/state-file.ts';
import { compiledBin, requireCompiled, tempRoot } from '../helpers/cli.ts';

const t = tempRoot('wulf-status-');
const paths = pathsFor(t.dir);
let now = 0;
const span = (stage: string, at: number) => ({ stage, start: at, end: at, seconds: 0, bytes: 1 });
const bootAt = (at: number) => [
  span('dhcp', at - 9),
  span('ipxe', at - 8),
  span('kernel', at - 6),
  span('image', at - 4),
  span('system', at - 1),
  span('runtime', at),
];

beforeAll(() => {
  requireCompiled();
  now = Math.floor(Date.now() / 1000);
  mkdirSync(paths.stateDir, { recursive: true });
  mkdirSync(paths.confDir, { recursive: true });
  writeFileSync(paths.wulfConf, 'warewulf:\n  update interval: 20\n');
  writeFileSync(
    paths.nodesConf,
    `nodes:\n${['up1', 'late1', 'lost1', 'renew1', 'boot1', 'old1', 'never1'].map((n) => `  ${n}: {}\n`).join('')}`,
  );
  const rec = (node: string, o: Record<string, unknown>) => ({ node, sent: 'x.img.gz', ipaddr: '10.0.0.1', ...o });
  writeState(paths.stateFile, {
    version: 1,
    leases: [],
    status: {
      up1: rec('up1', { stage: 'agent', lastSeen: now - 3, lastAgent: now - 3, timeline: bootAt(now - 900) }),
      late1: rec('late1', { stage: 'agent', lastSeen: now - 30, lastAgent: now - 30, timeline: bootAt(now - 900) }),
      lost1: rec('lost1', { stage: 'agent', lastSeen: now - 300, lastAgent: now - 300, timeline: bootAt(now - 900) }),
      // the agent died 100 s ago; the OS still renews its DHCP lease
      renew1: rec('renew1', { stage: 'dhcp', sent: 'ACK', lastSeen: now - 2, lastAgent: now - 100, timeline: [span('dhcp', now - 2)] }),
      // iPXE fetched the runtime overlay 5 s ago; no agent yet
      boot1: rec('boot1', { stage: 'runtime', lastSeen: now - 5, lastAgent: 0, timeline: bootAt(now - 5) }),
      // written by an older wulf: no lastAgent, agent polls recorded as runtime
      old1: rec('old1', { stage: 'runtime', lastSeen: now - 4, timeline: [span('runtime', now - 4)] }),
    },
  });
});
afterAll(t.cleanup);

async function wulf(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([compiledBin, ...args], { env: { ...process.env, WULF_ROOT: t.dir, NO_COLOR: '1' }, stdout: 'pipe', stderr: 'pipe' });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

const OFFLINE = ['--server', 'http://127.0.0.1:9'];
const cols = (out: string, node: string) =>
  out
    .split('\n')
    .find((l) => l.startsWith(`${node} `))
    ?.trim()
    .split(/\s+/);

test("table: Warewulf's columns, then AGENT (s) and STATE (update interval 20 s from wulf.conf: late ≥ 25 s, lost ≥ 40 s)", async () => {
  const r = await wulf('node', 'status', ...OFFLINE);
  expect([r.code, r.err]).toEqual([0, '']);
  expect(
    r.out
      .split('\n')[0]!
      .trim()
      .split(/\s{2,}/),
  ).toEqual(['NODENAME', 'STAGE', 'SENT', 'LASTSEEN (s)', 'AGENT (s)', 'STATE']);
  // seconds may have ticked on a loaded machine: AGENT (s) as the age rounded down to 5 s steps
  const c = (n: string) => {
    const x = cols(r.out, n)!;
    return [x[1], x.at(-2) === '--' ? '--' : String(Math.floor(Number(x.at(-2)) / 5) * 5), x.at(-1)];
  };
  expect(c('up1')).toEqual(['AGENT', '0', 'up']);
  expect(c('late1')).toEqual(['AGENT', '30', 'late']);
  expect(c('lost1')).toEqual(['AGENT', '300', 'lost']);
  expect(c('renew1')).toEqual(['DHCP', '100', 'lost']);
  expect(c('boot1')).toEqual(['RUNTIME', '--', 'booting']);
  expect(c('old1')).toEqual(['RUNTIME', '--', 'up']);
  expect(cols(r.out, 'never1')).toEqual(['never1', '--', '--', '--', '--', '--']);
});

test('-j: lastAgent and state for each node', async () => {
  const r = await wulf('node', 'status', ...OFFLINE, '-j', 'up1,renew1,boot1,old1');
  expect(r.code).toBe(0);
  const j = JSON.parse(r.out) as Record<string, { state: string; lastAgent: number | null; stage: string }>;
  expect(Object.keys(j)).toEqual(['up1', 'renew1', 'boot1', 'old1']);
  expect([j.up1!.state, j.up1!.lastAgent]).toEqual(['up', now - 3]);
  expect([j.renew1!.state, j.boot1!.state, j.boot1!.lastAgent, j.old1!.state, j.old1!.lastAgent]).toEqual([
    'lost',
    'booting',
    0,
    'up',
    null,
  ]);
});

test('from a server\'s /status: wulf\'s "last agent", and a Warewulf server that has none', async () => {
  const now = Math.floor(Date.now() / 1000);
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: () =>
      Response.json({
        nodes: {
          up1: { 'node name': 'up1', stage: 'agent', sent: 'r', ipaddr: '', 'last seen': now - 1, 'last agent': now - 1, timeline: [] },
          boot1: {
            'node name': 'boot1',
            stage: 'runtime',
            sent: 'r',
            ipaddr: '',
            'last seen': now - 1,
            'last agent': 0,
            timeline: bootAt(now - 1),
          },
          late1: { 'node name': 'late1', stage: 'RUNTIME_OVERLAY', sent: 'r', ipaddr: '', 'last seen': now - 26 },
        },
      }),
  });
  try {
    const r = await wulf('node', 'status', '--server', `http://127.0.0.1:${server.port}`, 'up1,boot1,late1');
    expect(r.code).toBe(0);
    expect(cols(r.out, 'up1')!.at(-1)).toBe('up');
    expect(cols(r.out, 'boot1')!.at(-1)).toBe('booting');
    const late = cols(r.out, 'late1')!;
    expect(late.slice(-2)).toEqual(['--', 'late']);
    expect(Number(late.at(-3))).toBeGreaterThanOrEqual(26);
  } finally {
    server.stop(true);
  }
});

test("wwctl's -l (last seen first), -r (reversed), -u (never seen only), -U (watch interval in ms)", async () => {
  const order = (out: string) =>
    out
      .split('\n')
      .slice(2)
      .map((l) => l.split(/\s+/)[0])
      .filter(Boolean);
  const byName = await wulf('node', 'status', ...OFFLINE);
  expect(order(byName.out)).toEqual(['boot1', 'late1', 'lost1', 'never1', 'old1', 'renew1', 'up1']);
  expect(order((await wulf('node', 'status', ...OFFLINE, '-r')).out)).toEqual([
    'up1',
    'renew1',
    'old1',
    'never1',
    'lost1',
    'late1',
    'boot1',
  ]);
  // seen 2, 3, 4, 5, 30, 300 s ago, then never
  expect(order((await wulf('node', 'status', ...OFFLINE, '-l')).out)).toEqual([
    'renew1',
    'up1',
    'old1',
    'boot1',
    'late1',
    'lost1',
    'never1',
  ]);
  expect(order((await wulf('node', 'status', ...OFFLINE, '-l', '-r')).out)).toEqual([
    'never1',
    'lost1',
    'late1',
    'boot1',
    'old1',
    'up1',
    'renew1',
  ]);
  expect(order((await wulf('node', 'status', ...OFFLINE, '-u')).out)).toEqual(['never1']);
  expect(Object.keys(JSON.parse((await wulf('node', 'status', ...OFFLINE, '-j', '-l')).out))).toEqual([
    'renew1',
    'up1',
    'old1',
    'boot1',
    'late1',
    'lost1',
  ]);
  const bad = await wulf('node', 'status', ...OFFLINE, '-U', 'often');
  expect([bad.code, bad.err.split('\n')[0]]).toEqual([1, 'wulf: --update often: give milliseconds, at least 50']);
  // -w -U 150 for 1.6 s: about ten screens (the default 500 ms gives about three)
  const watch = async (extra: string[]) => {
    const p = Bun.spawn([compiledBin, 'node', 'status', ...OFFLINE, '-w', ...extra], {
      env: { ...process.env, WULF_ROOT: t.dir, NO_COLOR: '1' },
      stdout: 'pipe',
      stderr: 'ignore',
    });
    setTimeout(() => p.kill(), 1600);
    return ((await new Response(p.stdout).text()).match(/NODENAME/g) ?? []).length;
  };
  const fast = await watch(['-U', '150']),
    slow = await watch([]);
  expect(fast).toBeGreaterThanOrEqual(5);
  expect(slow).toBeLessThanOrEqual(4);
  expect(fast).toBeGreaterThan(slow);
}, 30_000);
