// Status everywhere (#15 item 5) and PostgreSQL lost while serving (item 7), with two compiled
// controllers on one PostgreSQL store: a node served by one shows live on the other (/status, the SSE
// stream, `node status -t` with the controller of each stage), nothing is written back; the database
// stopped under them: known nodes still get their script and kernel, one warning line, `node status`
// says so; started again: one info line, the queued events are in wulf_events, the notice is gone.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { SQL } from 'bun';
import { requireCompiled, runWulf, tinyRootfs } from '../helpers/cli.ts';
import { startPg, type Pg } from './pg.ts';
import { bin, initRoot, startController, type Controller } from './serve-pair.ts';

const M1 = '52:54:00:dd:00:01';
const enc = encodeURIComponent(M1);
let pg: Pg;
let url = '';
let sql: InstanceType<typeof SQL>;
const roots: { dir: string; cleanup: () => void }[] = [];
let a: Controller;
let b: Controller;

const ok = (r: ReturnType<typeof runWulf>) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  return r.out;
};
type StatusJson = {
  nodes: Record<string, { stage: string; timeline: { stage: string; controller?: string }[] }>;
  server?: { controller: string; store: { kind: string; down: number | null; queued: number } };
};
const status = async (c: Controller) => (await (await fetch(`${c.base}/status`)).json()) as StatusJson;
async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}
const spansOf = async (c: Controller, node = 'n1') =>
  Object.fromEntries(((await status(c)).nodes[node]?.timeline ?? []).map((s) => [s.stage, s.controller]));

beforeAll(async () => {
  requireCompiled();
  pg = startPg();
  url = pg.createDb('status');
  sql = new SQL(url);
  roots.push(initRoot('wulf-status-a-'), initRoot('wulf-status-b-'));
  ok(runWulf(bin, roots[0]!.dir, ['store', 'copy', '--to', url]));
  // each controller builds the image itself (artifacts by digest between controllers is another part of #15)
  for (const r of roots) {
    const fs = tinyRootfs(r.dir, 'not really a kernel\n'.repeat(500));
    ok(runWulf(bin, r.dir, ['image', 'import', fs, 'tiny'], { env: { WULF_STORE: url } }));
    ok(runWulf(bin, r.dir, ['image', 'build', 'tiny'], { env: { WULF_STORE: url } }));
  }
  ok(
    runWulf(bin, roots[0]!.dir, ['node', 'add', 'n1', '--image', 'tiny', '--hwaddr', M1, '--ipaddr', '127.0.23.1'], {
      env: { WULF_STORE: url },
    }),
  );
  [a, b] = await Promise.all([startController('ctl-a', roots[0]!.dir, url), startController('ctl-b', roots[1]!.dir, url)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await sql?.close();
  pg?.stop();
  for (const r of roots) r.cleanup();
}, 30_000);

test('a node served by one controller is live on the other: /status, SSE, node status -t with the controller per stage', async () => {
  // the SSE stream of ctl-b, from before the boot
  const sse = await fetch(`${b.base}/status/events`, { headers: { accept: 'text/event-stream' } });
  const reader = sse.body!.getReader();
  let streamed = '';
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      streamed += new TextDecoder().decode(value);
    }
  })();
  expect(await (await fetch(`${a.base}/ipxe/${enc}`)).text()).toContain('wulf: booting n1');
  expect((await fetch(`${a.base}/kernel/${enc}`)).status).toBe(200);
  const t0 = Date.now();
  const onB = await until('n1 on ctl-b', async () => {
    const s = await spansOf(b);
    return s.kernel ? s : undefined;
  });
  const lag = Date.now() - t0;
  expect(onB).toEqual({ ipxe: 'ctl-a', kernel: 'ctl-a' });
  expect(lag).toBeLessThan(5000);
  await until('the SSE event on ctl-b', async () =>
    streamed.includes('"node name":"n1"') && streamed.includes('ctl-a') ? true : undefined,
  );
  await reader.cancel();
  await reading.catch(() => {});
  // the next stage from the other controller: each side shows both, each stage with its controller
  expect((await fetch(`${b.base}/image/${enc}`)).status).toBe(200);
  const both = { ipxe: 'ctl-a', kernel: 'ctl-a', image: 'ctl-b' };
  expect(await until('image on ctl-a', async () => ((await spansOf(a)).image ? spansOf(a) : undefined))).toEqual(both);
  expect(await spansOf(b)).toEqual(both);
  const text = ok(b.wulf(['node', 'status', '-t', 'n1', '--server', b.base]));
  expect(text).toMatch(/ipxe .* bytes {2}ctl-a/);
  expect(text).toMatch(/kernel .* bytes {2}ctl-a/);
  expect(text).toMatch(/image .* bytes {2}ctl-b/);
  expect(text).not.toContain('store: PostgreSQL unreachable');
  // stored once each, by the controller that served it: nothing written back, nothing logged twice
  await Bun.sleep(500);
  const rows = (await sql`select stage, controller from wulf_events where node = 'n1' order by id`) as {
    stage: string;
    controller: string;
  }[];
  expect(rows.map((r) => `${r.stage}@${r.controller}`)).toEqual(['ipxe@ctl-a', 'kernel@ctl-a', 'image@ctl-b']);
  expect(b.log()).not.toContain('stage=kernel');
  expect((await status(a)).server).toMatchObject({ controller: 'ctl-a', store: { kind: 'postgres', down: null, queued: 0 } });
}, 60_000);

test('PostgreSQL lost while serving: known node answered, one warning, node status says so; back: one info line, events caught up', async () => {
  const before = Number((await sql`select count(*)::int as n from wulf_events`)[0].n);
  const haltAt = Math.floor(Date.now() / 1000);
  await sql.close();
  pg.halt();
  let resumed = false;
  try {
    expect(await (await fetch(`${a.base}/ipxe/${enc}`)).text()).toContain('wulf: booting n1');
    const k = await fetch(`${a.base}/kernel/${enc}`);
    expect([k.status, (await k.arrayBuffer()).byteLength]).toEqual([200, 'not really a kernel\n'.length * 500]);
    const s = await until('the store down in /status', async () => {
      const j = await status(a);
      return j.server?.store.down && j.server.store.queued >= 2 ? j : undefined;
    });
    expect(s.nodes.n1!.stage).toBe('kernel');
    const out = ok(a.wulf(['node', 'status', '--server', a.base]));
    expect(out).toMatch(
      /^store: PostgreSQL unreachable since \d\d:\d\d:\d\d; answering known nodes from the last configuration; \d+ status writes queued\n/,
    );
    expect(out).toContain('n1');
    const lost = a
      .log()
      .split('\n')
      .filter((l) => l.includes('PostgreSQL lost'));
    expect(lost.length).toBe(1);
    expect(lost[0]).toContain('cannot reach PostgreSQL');
    expect(a.log()).not.toContain('bun:sql');
    pg.resume();
    resumed = true;
    const back = await until(
      'the line saying it is back',
      async () => /PostgreSQL reachable again: (\d+) queued status writes caught up/.exec(a.log()) ?? undefined,
      45_000,
    );
    expect(Number(back[1])).toBeGreaterThanOrEqual(2);
  } finally {
    if (!resumed) pg.resume();
  }
  sql = new SQL(url);
  const rows = (await sql`select stage, controller from wulf_events order by id offset ${before}`) as {
    stage: string;
    controller: string;
  }[];
  expect(rows.map((r) => `${r.stage}@${r.controller}`)).toEqual(['ipxe@ctl-a', 'kernel@ctl-a']);
  expect(ok(a.wulf(['node', 'status', '--server', a.base]))).not.toContain('store: PostgreSQL unreachable');
  expect(
    a
      .log()
      .split('\n')
      .filter((l) => l.includes('PostgreSQL lost')).length,
  ).toBe(1);
  // and the other controller, back on the channel, caught up from the table: the boot it missed is on its board
  const seenByB = await until(
    'ctl-b caught up',
    async () => {
      const n1 = (await status(b)).nodes.n1 as unknown as {
        stage: string;
        'last seen': number;
        timeline: { stage: string; controller?: string }[];
      };
      return n1.stage === 'kernel' && n1['last seen'] >= haltAt ? n1 : undefined;
    },
    30_000,
  );
  expect(seenByB.timeline.find((t) => t.stage === 'kernel')!.controller).toBe('ctl-a');
}, 120_000);

test('the LISTEN connection cut under a controller: it resubscribes and catches up from the table by id', async () => {
  const cut =
    await sql`select pg_terminate_backend(pid) as ok from pg_stat_activity where query ilike 'listen%' and pid <> pg_backend_pid()`;
  expect(cut.length).toBeGreaterThanOrEqual(2); // one per controller
  const at = Date.now() / 1000;
  expect(await (await fetch(`${a.base}/ipxe/${enc}`)).text()).toContain('wulf: booting n1');
  const n1 = await until(
    'ctl-b caught up after its LISTEN connection was cut',
    async () => {
      const s = (await status(b)).nodes.n1 as unknown as { stage: string; 'last seen': number };
      return s.stage === 'ipxe' && s['last seen'] >= Math.floor(at) ? s : undefined;
    },
    30_000,
  );
  expect(n1.stage).toBe('ipxe');
  // and it is listening again: the next event arrives without waiting for the 10 s poll
  await until('listening again', async () =>
    (await sql`select count(*)::int as n from pg_stat_activity where query ilike 'listen%'`)[0].n >= 2 ? true : undefined,
  );
  const t1 = Date.now();
  expect((await fetch(`${a.base}/kernel/${enc}`)).status).toBe(200);
  await until('the kernel event on ctl-b', async () => ((await status(b)).nodes.n1!.stage === 'kernel' ? true : undefined));
  expect(Date.now() - t1).toBeLessThan(3000);
}, 60_000);
