// The provisioning routes in-process through hono's app.request(), with in-memory nodes and real
// files: every route and alias, HEAD/Range/ETag, asset key, secure port, unknown MACs, templates.
import { test, expect, describe, beforeAll, afterAll } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, saneRequestPath, statArtifact, type Artifact, type Peer } from '../../src/http/app.ts';
import { StatusBoard } from '../../src/runtime/board.ts';
import { statusRoutes } from '../../src/http/status.ts';
import { Hono } from 'hono';
import { mergeAll, type MergedNode } from '../../src/config/cascade.ts';
import { silentLogger } from '../../src/lib/log.ts';
import type { NodeData } from '../../src/config/schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'wulf-http-'));
const confDir = join(dir, 'etc');
const MAC_GONE = '52:54:00:aa:10:05',
  MAC_NOIMG = '52:54:00:aa:10:06',
  MAC_PROTO = '52:54:00:aa:10:07';
const MAC = '52:54:00:aa:10:01',
  MAC_KEY = '52:54:00:aa:10:02',
  MAC_DISK = '52:54:00:aa:10:03',
  MAC_SITE = '52:54:00:aa:10:04';
const files: Record<string, Artifact> = {};
let secure = false,
  secureAddress = false,
  tls = false;
let status: StatusBoard;
let app: ReturnType<typeof createApp>;
const ipxeBins: Record<string, Uint8Array<ArrayBuffer>> = { 'undionly.kpxe': new Uint8Array(4096).fill(7) };

const nodes: Record<string, NodeData> = {
  n1: { imageName: 'rocky', kernel: { args: ['quiet', 'crashkernel=no'] }, networkDevices: { eth0: { hwaddr: MAC, ipaddr: '10.0.0.1' } } },
  n2: { imageName: 'rocky', assetKey: 'TAG-2', networkDevices: { eth0: { hwaddr: MAC_KEY } } },
  n3: { imageName: 'rocky', ipxeTemplate: 'localdisk', networkDevices: { eth0: { hwaddr: MAC_DISK } } },
  n4: { imageName: 'rocky', ipxeTemplate: 'site', networkDevices: { eth0: { hwaddr: MAC_SITE } } },
  n5: { imageName: 'gone', networkDevices: { eth0: { hwaddr: MAC_GONE } } },
  n6: { networkDevices: { eth0: { hwaddr: MAC_NOIMG } } },
  n7: { imageName: 'rocky', ipxeTemplate: 'constructor', networkDevices: { eth0: { hwaddr: MAC_PROTO } } },
};

beforeAll(() => {
  mkdirSync(join(confDir, 'ipxe'), { recursive: true });
  writeFileSync(join(confDir, 'ipxe', 'site.ipxe'), '#!ipxe\necho site template for {{ id }} at {{ hwaddr }}\n');
  for (const [name, size] of [
    ['kernel', 5000],
    ['image', 100_000],
    ['system', 3000],
    ['runtime', 2000],
  ] as const) {
    const p = join(dir, name);
    writeFileSync(
      p,
      new Uint8Array(size).map((_, i) => (i * 31 + name.length) & 255),
    );
    files[name] = statArtifact(p)!;
  }
  const byMac = new Map<string, MergedNode>();
  for (const m of mergeAll({ profiles: {}, nodes })) for (const nd of Object.values(m.data.networkDevices ?? {})) byMac.set(nd.hwaddr!, m);
  status = new StatusBoard();
  app = createApp({
    log: silentLogger,
    status,
    nodeByMac: async (mac) => byMac.get(mac),
    kernel: () => files.kernel,
    image: (n) => (n.data.imageName === 'rocky' ? files.image : undefined),
    overlay: async (_n, kind) => files[kind],
    ipxeBinary: (name) => ipxeBins[name],
    nodeAddresses: (n) => (n.id === 'n1' ? ['10.0.0.1', 'fd00:0:0::1'] : n.id === 'n2' ? ['10.0.0.2'] : []),
    settings: () => ({ authority: '10.0.0.254:9873', secure, confDir, secureAddress, tls, tlsPort: 9874 }),
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const get = (path: string, init: RequestInit = {}, peer: Peer = { address: '10.0.0.1', port: 40000 }) => app.request(path, init, { peer });

describe('iPXE scripts', () => {
  test('default script: kernel, three named initrds, initrd= names on the boot line, runtime failure ignored', async () => {
    const r = await get(`/ipxe/${encodeURIComponent(MAC)}?assetkey=&uuid=u`);
    expect(r.status).toBe(200);
    const s = await r.text();
    expect(Number(r.headers.get('content-length'))).toBe(new TextEncoder().encode(s).length);
    expect(s.startsWith('#!ipxe')).toBe(true);
    expect(s).toContain('set base http://10.0.0.254:9873');
    expect(s).toContain(`kernel --name kernel \${base}/kernel/${MAC}`);
    expect(s).toContain(`initrd --name image \${base}/image/${MAC}`);
    expect(s).toContain(`initrd --name system \${base}/system/${MAC}`);
    expect(s).toMatch(new RegExp(`initrd --name runtime \\$\\{base\\}/runtime/${MAC}.*\\|\\| echo`));
    expect(s).toMatch(/boot kernel initrd=image initrd=system \$\{rt\} wwid=52:54:00:aa:10:01 quiet crashkernel=no/);
    expect(status.get('n1')!.stage).toBe('ipxe');
  });
  test('MAC spelled with dashes or upper case maps to the same node', async () => {
    const s = await (await get('/ipxe/52-54-00-AA-10-01')).text();
    expect(s).toContain('booting n1');
  });
  test('secure mode leaves the runtime overlay to the agent', async () => {
    secure = true;
    try {
      const s = await (await get(`/ipxe/${MAC}`)).text();
      expect(s).not.toContain('--name runtime');
      expect(s).toContain('initrd=image initrd=system');
    } finally {
      secure = false;
    }
  });
  test('a node without an image gets a script that says so and retries, not a kernel fetch', async () => {
    const s = await (await get(`/ipxe/${MAC_NOIMG}`)).text();
    expect(s.startsWith('#!ipxe\n')).toBe(true);
    expect(s).toContain('n6 (52:54:00:aa:10:06) has no image');
    expect(s.indexOf(`chain http://10.0.0.254:9873/ipxe/${MAC_NOIMG}`)).toBeLessThan(s.indexOf('kernel --name'));
    expect(await (await get(`/ipxe/${MAC}`)).text()).not.toContain('has no image');
  });
  test('localdisk and site templates (confDir/ipxe/<name>.ipxe)', async () => {
    expect(await (await get(`/ipxe/${MAC_DISK}`)).text()).toContain('sanboot');
    expect(await (await get(`/ipxe/${MAC_SITE}`)).text()).toBe(`#!ipxe\necho site template for n4 at ${MAC_SITE}\n`);
  });
  test('unknown MAC: a script that prints the MAC, sleeps and retries; artifacts 404; remembered as unknown', async () => {
    const r = await get('/ipxe/52:54:00:ff:00:01');
    expect(r.status).toBe(200);
    const s = await r.text();
    expect(s).toContain('52:54:00:ff:00:01');
    expect(s).toContain('sleep');
    expect(s).toContain('chain http://10.0.0.254:9873/ipxe/52:54:00:ff:00:01');
    for (const st of ['kernel', 'image', 'system', 'runtime']) expect((await get(`/${st}/52:54:00:ff:00:01`)).status).toBe(404);
    const u = (status.json() as { unknown: Record<string, { count: number; via: string }> }).unknown['52:54:00:ff:00:01']!;
    expect(u.count).toBe(5);
    expect(u.via).toBe('http runtime');
  });
  test('HEAD of a script has its real Content-Length and no body; If-None-Match gives 304', async () => {
    const g = await get(`/ipxe/${MAC}`);
    const len = (await g.arrayBuffer()).byteLength;
    const h = await get(`/ipxe/${MAC}`, { method: 'HEAD' });
    expect(h.headers.get('content-length')).toBe(String(len));
    expect((await h.arrayBuffer()).byteLength).toBe(0);
    expect((await get(`/ipxe/${MAC}`, { headers: { 'If-None-Match': g.headers.get('etag')! } })).status).toBe(304);
  });
});

describe('artifacts', () => {
  const routes: [string, string][] = [
    ['/kernel/M', 'kernel'],
    ['/image/M', 'image'],
    ['/system/M', 'system'],
    ['/runtime/M', 'runtime'],
    ['/provision/M?stage=kernel', 'kernel'],
    ['/provision/M?stage=image', 'image'],
    ['/provision/M?stage=system', 'system'],
    ['/provision/M?stage=runtime', 'runtime'],
    ['/container/M', 'image'],
    ['/overlay-system/M', 'system'],
    ['/overlay-runtime/M', 'runtime'],
  ];
  for (const [route, kind] of routes) {
    test(`${route} serves the ${kind} bytes with Content-Length (GET and HEAD)`, async () => {
      const path = route.replace('M', MAC);
      const r = await get(path);
      expect(r.status).toBe(200);
      const body = new Uint8Array(await r.arrayBuffer());
      expect(body).toEqual(new Uint8Array(await Bun.file(files[kind]!.path).arrayBuffer()));
      expect(r.headers.get('content-length')).toBe(String(files[kind]!.size));
      const h = await get(path, { method: 'HEAD' });
      expect(h.status).toBe(200);
      expect(h.headers.get('content-length')).toBe(String(files[kind]!.size));
      expect(status.get('n1')!.stage).toBe(kind);
    });
  }
  test('Range: 206 with the right slice, suffix ranges, 416 past the end, ignored multi-range and stale If-Range', async () => {
    const all = new Uint8Array(await Bun.file(files.image!.path).arrayBuffer());
    const r = await get(`/image/${MAC}`, { headers: { Range: 'bytes=1000-1999' } });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 1000-1999/${all.length}`);
    expect(r.headers.get('content-length')).toBe('1000');
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(all.slice(1000, 2000));
    const tail = await get(`/image/${MAC}`, { headers: { Range: 'bytes=-10' } });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(all.slice(-10));
    const open = await get(`/image/${MAC}`, { headers: { Range: 'bytes=99990-' } });
    expect((await open.arrayBuffer()).byteLength).toBe(10);
    const head = await get(`/image/${MAC}`, { method: 'HEAD', headers: { Range: 'bytes=0-99' } });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-length')).toBe('100');
    const past = await get(`/image/${MAC}`, { headers: { Range: `bytes=${all.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${all.length}`);
    const multi = await get(`/image/${MAC}`, { headers: { Range: 'bytes=0-1,5-6' } });
    expect(multi.status).toBe(200);
    expect((await multi.arrayBuffer()).byteLength).toBe(all.length);
    const stale = await get(`/image/${MAC}`, { headers: { Range: 'bytes=0-9', 'If-Range': '"other"' } });
    expect(stale.status).toBe(200);
  });
  test('ETag: If-None-Match (plain, weak, list, *) gives 304; another tag gives 200', async () => {
    const tag = (await get(`/kernel/${MAC}`)).headers.get('etag')!;
    expect(tag).toMatch(/^".+"$/);
    for (const h of [tag, `W/${tag}`, `"x", ${tag}`, '*'])
      expect((await get(`/kernel/${MAC}`, { headers: { 'If-None-Match': h } })).status).toBe(304);
    expect((await get(`/kernel/${MAC}`, { headers: { 'If-None-Match': '"nope"' } })).status).toBe(200);
  });
  test('asset key: 401 without or with a wrong key, status BAD_ASSET; 200 with it', async () => {
    expect((await get(`/kernel/${MAC_KEY}`)).status).toBe(401);
    expect(status.get('n2')!.sent).toBe('BAD_ASSET');
    expect((await get(`/ipxe/${MAC_KEY}?assetkey=WRONG`)).status).toBe(401);
    expect((await get(`/kernel/${MAC_KEY}?assetkey=TAG-2`)).status).toBe(200);
    expect((await get(`/provision/${MAC_KEY}?assetkey=TAG-2&stage=system`)).status).toBe(200);
  });
  test('secure: the runtime overlay only to a privileged source port (403 otherwise); other stages unaffected', async () => {
    secure = true;
    try {
      expect((await get(`/runtime/${MAC}`, {}, { address: '10.0.0.1', port: 40000 })).status).toBe(403);
      expect((await get(`/overlay-runtime/${MAC}`, {}, { address: '10.0.0.1', port: 1500 })).status).toBe(403);
      expect((await app.request(`/runtime/${MAC}`)).status).toBe(403); // no peer known
      expect((await get(`/runtime/${MAC}`, {}, { address: '10.0.0.1', port: 987 })).status).toBe(200);
      expect((await get(`/system/${MAC}`, {}, { address: '10.0.0.1', port: 40000 })).status).toBe(200);
    } finally {
      secure = false;
    }
    expect((await get(`/runtime/${MAC}`)).status).toBe(200);
  });
  test("secure address: a node's overlays (every route) only to an address it holds; 403 and WRONG_ADDRESS otherwise", async () => {
    secureAddress = true;
    try {
      const n2 = { address: '10.0.0.2', port: 40000 };
      const before = structuredClone(status.get('n1')!);
      for (const r of [
        '/system/M',
        '/runtime/M',
        '/overlay-system/M',
        '/overlay-runtime/M',
        '/provision/M?stage=system',
        '/provision/M?stage=runtime',
      ]) {
        const res = await get(r.replace('M', MAC) + (r.includes('?') ? '&' : '?') + 'agent=wulf-agent', {}, n2);
        expect([r, res.status]).toEqual([r, 403]);
        expect(await res.text()).toContain("only to the node's own address");
        expect(status.get('n1')).toMatchObject({ sent: 'WRONG_ADDRESS', ipaddr: '10.0.0.2' });
      }
      expect(status.get('n1')!.stage).toBe('runtime'); // not "agent": the request was not the node's
      expect(status.get('n1')!.lastAgent).toBe(before.lastAgent); // a refused request keeps no node alive
      expect(status.get('n1')!.timeline).toEqual(before.timeline); // and starts no boot stage
      expect((await get(`/runtime/${MAC}`, {}, { address: '10.0.0.2', port: 987 })).status).toBe(403); // privileged port or not
      expect((await app.request(`/system/${MAC}`)).status).toBe(403); // no peer known
      // its own addresses, in any spelling; artifacts that are no overlay are not affected
      for (const a of ['10.0.0.1', '::ffff:10.0.0.1', 'fd00::1', 'FD00:0000::0:1'])
        expect([a, (await get(`/system/${MAC}`, {}, { address: a, port: 40000 })).status]).toEqual([a, 200]);
      expect(status.get('n1')!.sent).toBe('system');
      expect((await get(`/runtime/${MAC}`, {}, { address: '10.0.0.1', port: 40000 })).status).toBe(200);
      expect((await get(`/kernel/${MAC}`, {}, n2)).status).toBe(200);
      // checked before the asset key: from the wrong address nothing tells whether a key was right
      expect((await get(`/system/${MAC_KEY}?assetkey=TAG-2`, {}, { address: '10.0.0.1', port: 40000 })).status).toBe(403);
      expect(status.get('n2')!.sent).toBe('WRONG_ADDRESS');
      expect((await get(`/system/${MAC_KEY}?assetkey=WRONG`, {}, n2)).status).toBe(401);
      expect((await get(`/system/${MAC_KEY}?assetkey=TAG-2`, {}, n2)).status).toBe(200);
      // a node without any address gets no overlay at all in this mode
      expect((await get(`/system/${MAC_DISK}`, {}, { address: '10.0.0.1', port: 40000 })).status).toBe(403);
    } finally {
      secureAddress = false;
    }
    expect((await get(`/system/${MAC}`, {}, { address: '10.0.0.2', port: 40000 })).status).toBe(200);
  });
  test('secure + TLS: the runtime overlay over HTTPS only (403 HTTPS_ONLY over plain HTTP); the system overlay stays on HTTP', async () => {
    secure = true;
    tls = true;
    try {
      const plain = await get(`/runtime/${MAC}?agent=wulf-agent`, {}, { address: '10.0.0.1', port: 987 });
      expect(plain.status).toBe(403);
      expect(await plain.text()).toContain('HTTPS only (port 9874)');
      expect(status.get('n1')!.sent).toBe('HTTPS_ONLY');
      const over = (path: string, port: number) => app.request(path, {}, { peer: { address: '10.0.0.1', port }, tls: true });
      expect((await over(`/runtime/${MAC}`, 987)).status).toBe(200);
      expect((await over(`/runtime/${MAC}`, 40000)).status).toBe(403); // still a privileged port over TLS
      expect((await get(`/system/${MAC}`, {}, { address: '10.0.0.1', port: 40000 })).status).toBe(200);
      secure = false;
      expect((await get(`/runtime/${MAC}`)).status).toBe(200); // not secure: HTTP too (iPXE fetches it at boot)
    } finally {
      secure = false;
      tls = false;
    }
  });
  test('status records the stage, file, bytes and the client address', async () => {
    await get(`/system/${MAC}`, {}, { address: '::ffff:10.0.0.7', port: 40001 });
    const s = status.get('n1')!;
    expect(s.stage).toBe('system');
    expect(s.sent).toBe('system');
    expect(s.ipaddr).toBe('10.0.0.7');
    expect(s.timeline.find((t) => t.stage === 'system')!.bytes).toBeGreaterThanOrEqual(files.system!.size);
  });
  test('a missing image is a 404 that names the image, status NOT_FOUND', async () => {
    const r = await get(`/image/${MAC_GONE}`);
    expect(r.status).toBe(404);
    expect(await r.text()).toContain('"gone"');
    expect(status.get('n5')!.sent).toBe('NOT_FOUND');
  });
});

describe('other routes and refusals', () => {
  test('/tftp/:file serves embedded iPXE binaries over HTTP with Content-Length on HEAD', async () => {
    const r = await get('/tftp/undionly.kpxe');
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(ipxeBins['undionly.kpxe']!);
    const h = await get('/tftp/undionly.kpxe', { method: 'HEAD' });
    expect(h.headers.get('content-length')).toBe('4096');
    expect((await get('/tftp/nothere.efi')).status).toBe(404);
    expect((await get('/tftp/..%2fetc%2fpasswd')).status).toBeGreaterThanOrEqual(400);
  });
  test('bad MACs, unknown stages and unknown routes are refused', async () => {
    expect((await get('/kernel/not-a-mac')).status).toBe(400);
    expect((await get('/kernel/..')).status).toBe(404); // the URL parser resolves it to `/`
    expect((await get(`/provision/${MAC}?stage=bogus`)).status).toBe(400);
    expect((await get(`/bogus/${MAC}`)).status).toBe(400);
    expect((await get('/a/b/c')).status).toBe(404);
    expect((await get(`/kernel/${MAC}`, { method: 'POST' })).status).toBe(404);
  });
  test('Object.prototype names are no stage: 400 before any lookup, nothing recorded (secure or not)', async () => {
    const asked: unknown[] = [];
    const spy = createApp({
      log: silentLogger,
      status: new StatusBoard(),
      nodeByMac: async (mac) => {
        asked.push(mac);
        return mergeAll({ profiles: {}, nodes }).find((m) => m.id === 'n1');
      },
      kernel: () => files.kernel,
      image: () => files.image,
      ipxeBinary: () => undefined,
      overlay: async (_n, kind) => {
        asked.push(kind);
        return kind === 'system' ? files.system : files.runtime;
      }, // the builder's old rule
      settings: () => ({ authority: 'a:1', secure: true, confDir }),
    });
    for (const st of ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__lookupGetter__']) {
      expect((await spy.request(`/${st}/${MAC}`, {}, { peer: { address: '10.0.0.1', port: 40000 } })).status).toBe(400);
      expect((await spy.request(`/provision/${MAC}?stage=${st}`, {}, { peer: { address: '10.0.0.1', port: 40000 } })).status).toBe(400);
    }
    expect(asked).toEqual([]);
  });
  test('an ipxe template named like an Object.prototype member is no template: the default script', async () => {
    const r = await get(`/ipxe/${MAC_PROTO}`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('kernel --name kernel');
  });
  test('saneRequestPath refuses .., ., and encoded slashes or dots before routing', () => {
    for (const bad of [
      '/image/../etc/passwd',
      '/image/./x',
      '/ipxe/..%2f..%2fetc',
      '/ipxe/a%2Fb',
      '/ipxe/a%5cb',
      '/ipxe/%2e%2e/x',
      'http://h:1/image/..',
    ])
      expect(saneRequestPath(bad)).toBe(false);
    for (const ok of ['/image/52:54:00:aa:10:01', `/ipxe/${encodeURIComponent(MAC)}?assetkey=a/b`, 'http://h:1/status'])
      expect(saneRequestPath(ok)).toBe(true);
  });
  test('GET /status is Warewulf-shaped with a timeline', async () => {
    const j = (await (await get('/status')).json()) as { nodes: Record<string, Record<string, unknown>> };
    const n1 = j.nodes.n1!;
    expect(Object.keys(n1)).toEqual(['node name', 'stage', 'sent', 'ipaddr', 'last seen', 'last agent', 'state', 'timeline']);
    expect(n1['node name']).toBe('n1');
    expect(typeof n1['last seen']).toBe('number');
  });
  test("the agent's runtime fetch (?agent=) is recorded apart from iPXE's: stage agent, last agent, state up; errors too", async () => {
    const board = () => status.get('n1')!;
    expect((await get(`/system/${MAC}`)).status).toBe(200);
    expect((await get(`/runtime/${MAC}?assetkey=&uuid=u`)).status).toBe(200); // iPXE, booting
    const boot = board().timeline.find((t) => t.stage === 'runtime')!.start;
    expect([board().stage, board().lastAgent]).toEqual(['runtime', 0]);
    expect(((await (await get('/status')).json()) as { nodes: Record<string, { state: string }> }).nodes.n1!.state).toBe('booting');
    expect((await get(`/runtime/${MAC}?assetkey=&compress=gz&agent=wulf-agent`)).status).toBe(200);
    expect(board().stage).toBe('agent');
    expect(board().lastAgent).toBeGreaterThan(0);
    expect(board().timeline.find((t) => t.stage === 'runtime')!.start).toBe(boot); // the boot timeline stays
    const j = (await (await get('/status')).json()) as { nodes: Record<string, Record<string, unknown>> };
    expect(j.nodes.n1).toMatchObject({ stage: 'agent', sent: 'runtime', state: 'up' });
    expect(j.nodes.n1!['last agent']).toBe(Math.floor(board().lastAgent!));
    // the agent param on another stage means nothing; an agent that gets a 401 is still an agent
    expect((await get(`/kernel/${MAC}?agent=x`)).status).toBe(200);
    expect(board().stage).toBe('kernel');
    expect((await get(`/runtime/${MAC_KEY}?assetkey=wrong&agent=wulf-agent`)).status).toBe(401);
    expect([status.get('n2')!.stage, status.get('n2')!.sent, status.get('n2')!.lastAgent! > 0]).toEqual(['agent', 'BAD_ASSET', true]);
  });
  test('GET /status/events sends a snapshot, then one event per change', async () => {
    const r = await get('/status/events');
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const reader = r.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"nodes"');
    await get(`/kernel/${MAC}`);
    const ev = new TextDecoder().decode((await reader.read()).value);
    expect(ev.startsWith('data: ')).toBe(true);
    expect(JSON.parse(ev.slice(6))).toMatchObject({ 'node name': 'n1', stage: 'kernel', sent: 'kernel' });
    await reader.cancel();
  });
});

test('HEAD /status/events answers headers only and leaves no subscription behind', async () => {
  const board = new StatusBoard();
  const app = new Hono();
  statusRoutes(app as never, board);
  for (let i = 0; i < 20; i++) {
    const r = await app.request('/status/events', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    expect(await r.text()).toBe('');
  }
  await Bun.sleep(50);
  let heard = 0;
  const unsub = board.subscribe(() => {
    heard++;
  });
  expect((board as unknown as { listeners: Set<unknown> }).listeners.size).toBe(1); // only this one
  unsub();
  expect(heard).toBe(0);
});
