// The TUI's edges: the status feed against a real HTTP server on loopback (GET /status, then the
// SSE stream; polling when there is no stream; files when nothing listens) and writes through
// the store with the revision the screen showed.
import { afterAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { pathsFor } from '../../src/config/paths.ts';
import { readNodesConf, updateNodesConf } from '../../src/config/store.ts';
import { mergeNode } from '../../src/config/cascade.ts';
import { shortReason, StatusFeed } from '../../src/tui/data/status-feed.ts';
import { runAction, writeEdit } from '../../src/tui/data/actions.ts';
import { detailLines } from '../../src/tui/state/detail.ts';
import { tempRoot } from '../helpers/cli.ts';
import { writeRoot } from './fixture.ts';

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

async function until(cond: () => boolean, ms = 5000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await Bun.sleep(20);
  }
}

describe('status feed', () => {
  test('snapshot from /status, then live SSE events merged onto it', async () => {
    const enc = new TextEncoder();
    let push: ((s: string) => void) | undefined;
    const srv = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(req) {
        const u = new URL(req.url);
        if (u.pathname === '/status')
          return Response.json({
            nodes: { n0001: { 'node name': 'n0001', stage: 'IPXE', sent: 'ipxe', ipaddr: '10.0.1.2', 'last seen': 1700000000 } },
          });
        if (u.pathname === '/status/events') {
          return new Response(
            new ReadableStream({
              start(c) {
                push = (s) => c.enqueue(enc.encode(s));
              },
            }),
            { headers: { 'content-type': 'text/event-stream' } },
          );
        }
        return new Response('no', { status: 404 });
      },
    });
    const { dir, cleanup } = tempRoot('wtui-');
    cleanups.push(cleanup, () => srv.stop(true));
    const feed = new StatusFeed({ url: `http://127.0.0.1:${srv.port}`, paths: pathsFor(dir), retryMs: 100 });
    feed.start();
    try {
      await until(() => feed.mode === 'live' && !!push);
      expect(feed.statuses.get('n0001')).toMatchObject({ stage: 'ipxe', ipaddr: '10.0.1.2' });
      push!('event: status\ndata: {"node name":"n0001","stage":"kernel","sent":"vmlinuz","last seen":1700000003}\n\n');
      push!('data: {"nodes":{"n0002":{"stage":"RUNTIME_OVERLAY","last seen":1700000004}}}\n\n');
      await until(() => feed.statuses.get('n0002') !== undefined);
      expect(feed.statuses.get('n0001')).toMatchObject({ stage: 'kernel', sent: 'vmlinuz', ipaddr: '10.0.1.2', lastSeen: 1700000003 });
      expect(feed.statuses.get('n0002')!.stage).toBe('runtime');
      expect(feed.events.map((e) => `${e.node}:${e.stage}`)).toEqual(['n0001:kernel', 'n0002:runtime']);
    } finally {
      feed.stop();
    }
  });

  test('a server without a stream is polled; no server means files mode', async () => {
    let n = 0;
    const srv = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(req) {
        if (new URL(req.url).pathname === '/status')
          return Response.json({ nodes: { a: { stage: 'kernel', 'last seen': 1700000000 + ++n } } });
        return new Response('no', { status: 404 });
      },
    });
    const { dir, cleanup } = tempRoot('wtui-');
    cleanups.push(cleanup);
    const feed = new StatusFeed({ url: `http://127.0.0.1:${srv.port}`, paths: pathsFor(dir), retryMs: 100, pollMs: 50 });
    feed.start();
    await until(() => feed.mode === 'polling' && n >= 3);
    expect(feed.statuses.get('a')!.lastSeen).toBeGreaterThan(1700000001);
    srv.stop(true);
    await until(() => feed.mode === 'files');
    expect(feed.detail).toContain('server unreachable');
    feed.stop();
  });
  test('the unreachable reason is short and never cut mid-word', () => {
    expect(
      shortReason(Object.assign(new Error('Unable to connect. Is the computer able to access the url?'), { code: 'ECONNREFUSED' })),
    ).toBe('ECONNREFUSED');
    expect(shortReason(new Error('GET /status: HTTP 500'))).toBe('GET /status: HTTP 500');
    expect(shortReason(new Error('The operation timed out.'))).toBe('The operation timed out');
    expect(shortReason(new Error('connect ECONNREFUSED 127.0.0.1:9873'))).toBe('connect ECONNREFUSED 127.0.0.1:9873');
    expect(shortReason(new Error('a very long message that goes on and on about what happened'))).toBe(
      'a very long message that goes on and on…',
    );
  });
});

describe('writes', () => {
  test('an edit lands in nodes.conf; a stale revision is refused and nothing is written', async () => {
    const { dir, cleanup } = tempRoot('wtui-');
    cleanups.push(cleanup);
    writeRoot(dir, 3, 1);
    const paths = pathsFor(dir);
    const conf = readNodesConf(paths);
    const line = detailLines(mergeNode(conf, 'n0002')).find((l) => l.key === 'NetDevs[default].Ipaddr')!;
    const ok = await writeEdit(paths, 'n0002', line, '10.0.9.9', conf.revision);
    expect(ok).toMatchObject({ error: false, written: true });
    expect(readNodesConf(paths).nodes.n0002!.networkDevices!.default!.ipaddr).toBe('10.0.9.9');
    // a CLI edit happens meanwhile; the screen still holds the old revision
    const seen = readNodesConf(paths).revision;
    await updateNodesConf(paths, (c) => {
      c.nodes.n0001!.comment = 'from the cli';
    });
    const before = readFileSync(paths.nodesConf, 'utf8');
    const stale = await writeEdit(paths, 'n0002', line, '10.0.9.10', seen);
    expect(stale).toMatchObject({ error: true, written: false });
    expect(stale.text).toContain('changed by someone else');
    expect(readFileSync(paths.nodesConf, 'utf8')).toBe(before);
  });
  test('actions: set image on two nodes, mark discoverable, power without a BMC is skipped with the reason', async () => {
    const { dir, cleanup } = tempRoot('wtui-');
    cleanups.push(cleanup);
    writeRoot(dir, 3, 1);
    const paths = pathsFor(dir);
    let r = await runAction(paths, 'set-image', ['n0001', 'n0003'], 'alma-9', readNodesConf(paths).revision);
    expect(r).toMatchObject({ error: false, written: true });
    r = await runAction(paths, 'discoverable', ['n0002'], undefined, readNodesConf(paths).revision);
    expect(r.written).toBe(true);
    const c = readNodesConf(paths);
    expect([c.nodes.n0001!.imageName, c.nodes.n0002!.imageName, c.nodes.n0003!.imageName]).toEqual(['alma-9', undefined, 'alma-9']);
    expect(c.nodes.n0002!.discoverable).toBe('true');
    // no BMC address configured: the power service skips the node and the TUI says why
    r = await runAction(paths, 'power-on', ['n0001'], undefined, c.revision);
    expect(r).toMatchObject({ error: true, written: false });
    expect(r.text).toContain('power on: 1 node: 0 ok, 0 failed, 1 skipped');
    expect(r.text).toContain('n0001: no BMC address');
  });
});
