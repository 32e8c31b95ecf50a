// Discovery once (#15): two controllers (compiled `wulf serve`, one PostgreSQL store) see the same
// unknown MAC at the same moment, 100 rounds: the MAC is bound to exactly one node, no node gets two
// MACs, and both controllers answer with the same node. Some rounds race two different MACs as well:
// each is bound to its own node and both are answered (the loser of a node takes the next one).
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { requireCompiled, runWulf } from '../helpers/cli.ts';
import { PostgresStore } from '../../src/store/postgres.ts';
import { startPg, type Pg } from './pg.ts';
import { bin, initRoot, startController, type Controller } from './serve-pair.ts';

const N = 4;
let pg: Pg;
let store: PostgresStore;
const roots: { dir: string; cleanup: () => void }[] = [];
const ctl: Controller[] = [];

beforeAll(async () => {
  requireCompiled();
  pg = startPg();
  const url = pg.createDb('race');
  roots.push(initRoot('wulf-race-a-'), initRoot('wulf-race-b-'));
  const copy = runWulf(bin, roots[0]!.dir, ['store', 'copy', '--to', url]);
  if (copy.code !== 0) throw new Error(copy.err);
  store = new PostgresStore(url);
  await store.update((conf) => {
    for (let i = 1; i <= N; i++) conf.nodes[`d${i}`] = { discoverable: 'true', networkDevices: { default: { ipaddr: `127.0.22.${i}` } } };
  });
  ctl.push(...(await Promise.all([startController('ctl-a', roots[0]!.dir, url), startController('ctl-b', roots[1]!.dir, url)])));
}, 90_000);

afterAll(async () => {
  await Promise.all(ctl.map((c) => c.stop()));
  await store?.close();
  pg?.stop();
  for (const r of roots) r.cleanup();
}, 30_000);

/** every dN discoverable again, with no MAC */
const reset = () =>
  store.update((conf) => {
    for (let i = 1; i <= N; i++) {
      const n = conf.nodes[`d${i}`]!;
      n.discoverable = 'true';
      n.networkDevices = { default: { ipaddr: `127.0.22.${i}` } };
    }
  });

/** the node a controller's iPXE script names ("booting d1 (…)" or "node d1 (…) has no image"), or the answer itself */
async function answer(c: Controller, mac: string): Promise<string> {
  const s = await (await fetch(`${c.base}/ipxe/${encodeURIComponent(mac)}`)).text();
  return /wulf: (?:booting|node) (\S+) \(/.exec(s)?.[1] ?? `no node: ${s.slice(0, 120)}`;
}

test('two controllers racing the same unknown MAC (and two MACs) bind each exactly once, 100 rounds', async () => {
  const started = Date.now();
  for (let round = 0; round < 100; round++) {
    await reset();
    const hex = round.toString(16).padStart(2, '0');
    const macs = round % 4 === 3 ? [`52:54:00:cc:${hex}:01`, `52:54:00:cc:${hex}:02`] : [`52:54:00:cc:${hex}:01`];
    // every MAC at both controllers, all requests at once
    const asks = macs.flatMap((mac) => ctl.map((c) => ({ mac, c })));
    const got = await Promise.all(asks.map(({ mac, c }) => answer(c, mac)));
    const conf = await store.read();
    const macsOf = (id: string) =>
      Object.values(conf.nodes[id]?.networkDevices ?? {})
        .map((nd) => nd.hwaddr)
        .filter(Boolean);
    const bound = new Map<string, string[]>();
    for (const id of Object.keys(conf.nodes)) for (const m of macsOf(id)) bound.set(m!, [...(bound.get(m!) ?? []), id]);
    for (const [i, mac] of macs.entries()) {
      const holders = bound.get(mac) ?? [];
      expect([round, mac, holders.length]).toEqual([round, mac, 1]);
      // both controllers answered this MAC with the node that holds it
      expect([round, mac, got[i * 2], got[i * 2 + 1]]).toEqual([round, mac, holders[0], holders[0]]);
    }
    for (const id of Object.keys(conf.nodes)) expect([round, id, macsOf(id).length <= 1]).toEqual([round, id, true]);
    if (macs.length === 2) expect(bound.get(macs[0]!)![0]).not.toBe(bound.get(macs[1]!)![0]);
  }
  const log = ctl.map((c) => c.log()).join('');
  // the bindings were split between the controllers (both raced for real), and none failed
  expect(log).toContain('bound 52:54:00:cc');
  expect(log).not.toContain('error discovery');
  console.log(
    `100 rounds in ${((Date.now() - started) / 1000).toFixed(1)} s; bindings by ctl-a ${count(ctl[0]!.log())}, by ctl-b ${count(ctl[1]!.log())}`,
  );
}, 120_000);

const count = (log: string) => log.split('\n').filter((l) => l.includes('bound 52:54:00:cc')).length;
