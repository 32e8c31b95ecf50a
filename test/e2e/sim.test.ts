// `wulf sim` (compiled) against `wulf serve` (compiled) on loopback with unprivileged ports:
// simulated nodes boot the way PXE + iPXE do (DHCP as a relay, TFTP, DHCP as iPXE, the served
// script's kernel and initrds); a node without an image fails with the script's reason.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { join } from 'node:path';
import { loopbackPorts, modes, requireCompiled, runWulf, startServe, stopServe, tempRoot, tinyRootfs } from '../helpers/cli.ts';

const bin = modes[0]!;
const t = tempRoot('wulf-sim-');
const w = (...a: string[]) => runWulf(bin, t.dir, a);
const { ports, base } = loopbackPorts();
let serve: Awaited<ReturnType<typeof startServe>> | undefined;
let log = '';

beforeAll(async () => {
  requireCompiled();
  const fs = tinyRootfs(t.dir, Buffer.alloc(2 << 20, 7));
  for (const a of [
    ['init', '--address', '127.0.0.1/8', '--interface', 'lo'],
    ['image', 'import', fs, 'tiny'],
    ['image', 'build', 'tiny'],
  ]) {
    const r = w(...a);
    if (r.code !== 0) throw new Error(`wulf ${a.join(' ')}: ${r.err}`);
  }
  for (let i = 1; i <= 3; i++)
    expect(w('node', 'add', `s${i}`, '--image', 'tiny', '--hwaddr', `52:54:00:5e:00:0${i}`, '--ipaddr', `127.0.30.${i}`).code).toBe(0);
  expect(w('node', 'add', 'noimg', '--hwaddr', '52:54:00:5e:00:09', '--ipaddr', '127.0.30.9').code).toBe(0);
  serve = await startServe(bin, t.dir, ports, (d) => {
    log += d;
  });
}, 60_000);
afterAll(async () => {
  await stopServe(serve);
  t.cleanup();
});

const sim = (nodes: string, ...extra: string[]) =>
  w(
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
    nodes,
    ...extra,
  );

test('wulf sim boots nodes from nodes.conf, one after another with --interval; the server sees each boot in order', async () => {
  const started = Date.now();
  const r = sim('s[1-3]', '--interval', '0.3s', '--concurrency', '1');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toContain('3 nodes: 3 booted, 0 errors');
  expect(r.out).toMatch(/p50 \d+ ms, p99 \d+ ms/);
  expect(r.out.match(/booted in \d+ ms \(dhcp \d+, tftp \d+, ipxe \d+, kernel \d+, image \d+, system \d+, runtime \d+\)/g)?.length).toBe(3);
  expect(Date.now() - started).toBeGreaterThanOrEqual(900); // three pauses of 0.3 s
  const st = (await (await fetch(`${base}/status`)).json()) as {
    nodes: Record<string, { ipaddr: string; timeline: { stage: string; start: number }[] }>;
  };
  for (let i = 1; i <= 3; i++) {
    const n = st.nodes[`s${i}`]!;
    const order = [...n.timeline]
      .sort((a, b) => a.start - b.start)
      .map((x) => x.stage)
      .filter((x, j, a) => a.indexOf(x) === j);
    expect(order).toEqual(['dhcp', 'ipxe', 'kernel', 'image', 'system', 'runtime']);
  }
});

test('a node without an image fails with the reason its iPXE script gives, and the exit code says so', () => {
  const r = sim('noimg,s1');
  expect(r.code).toBe(1);
  expect(r.out).toContain('52:54:00:5e:00:09: FAILED');
  expect(r.out).toContain('has no image');
  expect(r.out).toContain('2 nodes: 1 booted, 1 errors');
});

test('nothing to simulate is a one-line error with a hint', () => {
  const r = sim('zz[1-2]');
  expect(r.code).not.toBe(0);
  expect(r.err).toContain('no nodes with a MAC address to simulate');
});
