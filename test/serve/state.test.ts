// The CBOR state file and the status board without a server: round trip through the file,
// debounced writes (at most one per delay), unreadable files, timelines and unknown MACs.
import { test, expect, afterAll } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'cbor-x';
import { readState, stateWriter, writeState } from '../../src/runtime/state-file.ts';
import { StatusBoard } from '../../src/runtime/board.ts';
import { createLogger } from '../../src/lib/log.ts';

const dir = mkdtempSync(join(tmpdir(), 'wulf-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lines: string[] = [];
const log = createLogger({ write: (l) => lines.push(l) });

test('status, leases and unknown MACs survive a round trip through the CBOR file (mode 0600)', () => {
  const file = join(dir, 'a.cbor');
  const b = new StatusBoard();
  b.record('n1', 'dhcp', 'ACK', '10.0.0.1', { now: 100 });
  b.record('n1', 'kernel', 'vmlinuz', '10.0.0.1', { bytes: 1234, now: 101 });
  b.seenUnknown('52:54:00:00:00:99', '10.0.0.99', 'dhcp', 102);
  writeState(file, { version: 1, leases: [{ mac: 'x', ip: '10.0.0.50' }], status: b.snapshot(), unknown: b.unknownSnapshot() });
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect((decode(readFileSync(file)) as { version: number }).version).toBe(1); // plain CBOR, readable by any decoder
  const back = readState(file, log);
  expect(back.leases).toEqual([{ mac: 'x', ip: '10.0.0.50' }]);
  const c = new StatusBoard();
  c.load(back.status);
  c.loadUnknown(back.unknown ?? {});
  expect(c.json()).toEqual(b.json());
  expect(c.get('n1')!.timeline.map((t) => [t.stage, t.bytes])).toEqual([
    ['dhcp', 0],
    ['kernel', 1234],
  ]);
});

test('a missing file is empty; an unreadable one is empty and says so once', () => {
  expect(readState(join(dir, 'none.cbor'))).toEqual({ version: 1, leases: [], status: {}, unknown: {} });
  const bad = join(dir, 'bad.cbor');
  writeFileSync(bad, new Uint8Array([0xff, 0xff, 0x1c, 0x00]));
  const n = lines.length;
  expect(readState(bad, log).status).toEqual({});
  expect(lines.length).toBe(n + 1);
  expect(lines.at(-1)).toContain('starting with empty state');
});

test('the writer coalesces a burst of changes into one write per delay, and flush writes at once', async () => {
  const file = join(dir, 'w.cbor');
  let snapshots = 0;
  const b = new StatusBoard(() => w.touch());
  const w = stateWriter(
    file,
    () => {
      snapshots++;
      return { version: 1, leases: [], status: b.snapshot() };
    },
    log,
    300,
  );
  for (let i = 0; i < 500; i++) b.record(`n${i % 7}`, 'image', 'img', '10.0.0.1', { bytes: 10 });
  expect(snapshots).toBe(0);
  await Bun.sleep(450);
  expect(snapshots).toBe(1);
  expect(Object.keys(readState(file).status).length).toBe(7);
  b.record('n99', 'kernel', 'k', '10.0.0.2');
  w.flush();
  expect(snapshots).toBe(2);
  expect(readState(file).status.n99).toBeDefined();
  await Bun.sleep(450);
  expect(snapshots).toBe(2); // the flush cancelled the pending timer
});

test('timeline: stages get start/end and bytes; DHCP long after the overlays starts a new boot', () => {
  const b = new StatusBoard();
  b.record('n1', 'dhcp', 'ACK', '10.0.0.1', { now: 1000 });
  b.record('n1', 'ipxe', 'default.ipxe', '10.0.0.1', { now: 1001 });
  b.record('n1', 'kernel', 'vmlinuz', '10.0.0.1', { bytes: 100, now: 1002 });
  b.record('n1', 'image', 'image.img.gz', '10.0.0.1', { bytes: 1000, now: 1003 });
  b.record('n1', 'image', 'image.img.gz', '10.0.0.1', { bytes: 1000, now: 1005 });
  b.record('n1', 'system', 'system.img.gz', '10.0.0.1', { bytes: 10, now: 1006 });
  b.record('n1', 'runtime', 'runtime.img.gz', '10.0.0.1', { bytes: 10, now: 1007 });
  const t = b.get('n1')!.timeline;
  expect(t.map((s) => s.stage)).toEqual(['dhcp', 'ipxe', 'kernel', 'image', 'system', 'runtime']);
  const image = t.find((s) => s.stage === 'image')!;
  expect([image.start, image.end, image.seconds, image.bytes]).toEqual([1003, 1006, 3, 2000]); // ends when system is asked for
  expect(t.find((s) => s.stage === 'kernel')!.seconds).toBe(1);
  expect(t.find((s) => s.stage === 'system')!.end).toBe(1007);
  b.record('n1', 'runtime', 'runtime.img.gz', '10.0.0.1', { bytes: 10, now: 1067 }); // the agent's poll
  expect(b.get('n1')!.timeline.find((s) => s.stage === 'system')!.end).toBe(1007);
  b.record('n1', 'dhcp', 'ACK', '10.0.0.1', { now: 1010 }); // the OS's own DHCP: same boot
  expect(b.get('n1')!.timeline.length).toBe(6);
  b.record('n1', 'dhcp', 'ACK', '10.0.0.1', { now: 2000 }); // a reboot
  expect(b.get('n1')!.timeline.map((s) => s.stage)).toEqual(['dhcp']);
  expect(b.json().nodes.n1).toMatchObject({ 'node name': 'n1', stage: 'dhcp', sent: 'ACK', ipaddr: '10.0.0.1', 'last seen': 2000 });
});

test('unknown MACs: counted, newest kept, bounded to 1000, forgotten once they are a node', () => {
  let changes = 0;
  const b = new StatusBoard(() => changes++);
  for (let i = 0; i < 1005; i++)
    b.seenUnknown(`02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, '', 'dhcp', i);
  b.seenUnknown('02:00:00:00:03:ec', '10.0.0.9', 'http ipxe', 2000);
  const u = b.unknownSnapshot();
  expect(Object.keys(u).length).toBe(1000);
  expect(u['02:00:00:00:00:00']).toBeUndefined();
  expect(u['02:00:00:00:03:ec']).toMatchObject({ count: 2, ipaddr: '10.0.0.9', via: 'http ipxe', firstSeen: 1004, lastSeen: 2000 });
  b.forgetUnknown('02:00:00:00:03:ec');
  expect(b.unknownSnapshot()['02:00:00:00:03:ec']).toBeUndefined();
  expect(changes).toBe(1007);
});

test('agent refreshes: stage "agent" with lastAgent, the boot timeline left alone; JSON carries "last agent" and the state', () => {
  const b = new StatusBoard(
    () => {},
    () => 60,
  );
  for (const [stage, t] of [
    ['dhcp', 1000],
    ['ipxe', 1001],
    ['kernel', 1002],
    ['image', 1003],
    ['system', 1006],
    ['runtime', 1007],
  ] as const)
    b.record('n1', stage, `${stage}.x`, '10.0.0.1', { now: t });
  // the boot-time fetch of the runtime overlay is a boot stage, not a sign of life
  expect(b.json(undefined, 1008).nodes.n1).toMatchObject({ stage: 'runtime', 'last agent': 0, state: 'booting' });
  expect(b.json(undefined, 1007 + 65).nodes.n1).toMatchObject({ state: 'late' });
  b.record('n1', 'runtime', 'runtime.img.gz', '10.0.0.1', { now: 1040, agent: true, bytes: 10 });
  b.record('n1', 'runtime', 'runtime.img.gz', '10.0.0.1', { now: 1100, agent: true, bytes: 10 });
  const s = b.get('n1')!;
  expect([s.stage, s.lastAgent, s.lastSeen]).toEqual(['agent', 1100, 1100]);
  expect(s.timeline.map((x) => [x.stage, x.start])).toEqual([
    ['dhcp', 1000],
    ['ipxe', 1001],
    ['kernel', 1002],
    ['image', 1003],
    ['system', 1006],
    ['runtime', 1007],
  ]);
  expect(b.recent.at(-1)).toMatchObject({ stage: 'agent', time: 1100 });
  const at = (now: number) => (b.json(['n1'], now).nodes.n1 as { state: string }).state;
  expect([at(1100), at(1164), at(1165), at(1220)]).toEqual(['up', 'up', 'late', 'lost']);
  // a DHCP renewal 150 s later: seen, but the agent is silent: still lost
  b.record('n1', 'dhcp', 'ACK', '10.0.0.1', { now: 1250 });
  expect(b.json(['n1'], 1251).nodes.n1).toMatchObject({ stage: 'dhcp', 'last seen': 1250, 'last agent': 1100, state: 'lost' });
  // an unmarked runtime fetch long after the boot's system overlay (an older agent, wwclient) is an agent's too
  const c = new StatusBoard();
  c.record('n2', 'system', 's', '', { now: 100 });
  c.record('n2', 'runtime', 'r', '', { now: 101 });
  c.record('n2', 'runtime', 'r', '', { now: 400 });
  expect([c.get('n2')!.stage, c.get('n2')!.lastAgent, c.get('n2')!.timeline.find((x) => x.stage === 'runtime')!.start]).toEqual([
    'agent',
    400,
    101,
  ]);
});

test('a state file from before agent refreshes were told apart still loads; lastAgent survives the CBOR round trip', () => {
  const file = join(dir, 'old.cbor');
  // what an older wulf wrote: no lastAgent, the agent's polls recorded as runtime
  writeState(file, {
    version: 1,
    leases: [],
    status: {
      n1: {
        node: 'n1',
        stage: 'runtime',
        sent: 'r.img.gz',
        ipaddr: '10.0.0.1',
        lastSeen: 5000,
        timeline: [{ stage: 'runtime', start: 5000, end: 5000, seconds: 0, bytes: 9 }],
      },
    },
  });
  const b = new StatusBoard(
    () => {},
    () => 60,
  );
  b.load(readState(file).status);
  expect(b.json(undefined, 5010).nodes.n1).toMatchObject({ stage: 'runtime', 'last agent': null, state: 'up' });
  expect(b.json(undefined, 5200).nodes.n1).toMatchObject({ state: 'lost' });
  b.record('n1', 'runtime', 'r.img.gz', '10.0.0.1', { now: 5300, agent: true });
  writeState(file, { version: 1, leases: [], status: b.snapshot() });
  const c = new StatusBoard(
    () => {},
    () => 60,
  );
  c.load(readState(file).status);
  expect(c.json(undefined, 5301).nodes.n1).toMatchObject({ stage: 'agent', 'last agent': 5300, state: 'up' });
});
