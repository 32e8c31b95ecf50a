// Artifacts by digest (#15 item 4, item 7's stale digest): two controllers (in-process servers, own
// state dirs, one PostgreSQL store). The image is built on A only; a node asking B gets 503 +
// Retry-After until B has fetched the bytes from A by digest and verified them, then the same bytes
// (Range working). An interrupted download resumes with a Range request; a peer serving corrupted
// bytes is refused (one warning) and the next peer used; concurrent asks share one download; a
// stale local copy is never served once the store names another digest. Overlays: byte-identical on both.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { SQL } from 'bun';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startServer, type RunningServer } from '../../src/serve/serve.ts';
import { createArtifactResolver, pickKernelRow } from '../../src/serve/artifacts.ts';
import { pathsFor, type Paths } from '../../src/config/paths.ts';
import { createLogger, silentLogger } from '../../src/lib/log.ts';
import { PostgresStore } from '../../src/store/postgres.ts';
import { currentArtifacts, forgetArtifacts, peersWithUrls, recordArtifacts } from '../../src/store/artifacts.ts';
import { mergeAll } from '../../src/config/cascade.ts';
import { defaultRuntimeOverlays, defaultSystemOverlays } from '../../src/overlays/defaults.ts';
import { modes, runWulf, tempRoot } from '../helpers/cli.ts';
import { startPg, type Pg } from './pg.ts';

setDefaultTimeout(120_000);
const src = modes[1]!; // the source entry: no dist/wulf needed for image import/build
const MAC = '52:54:00:ad:00:01';
const t = tempRoot('wulf-art-');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let pg: Pg;
let url = '';
let db: PostgresStore;
let admin: SQL;
const roots = { A: join(t.dir, 'a'), B: join(t.dir, 'b') };
const paths: Record<'A' | 'B', Paths> = { A: pathsFor(roots.A, join(t.dir, 'host')), B: pathsFor(roots.B, join(t.dir, 'host')) };
const srv: Partial<Record<'A' | 'B', RunningServer>> = {};
const logB: string[] = [];
const base = (c: 'A' | 'B') => `http://127.0.0.1:${srv[c]!.httpPort}`;
const WULF_CONF = 'ipaddr: 127.0.0.1\nnetmask: 255.0.0.0\nwarewulf:\n  secure: false\ndhcp:\n  mode: off\ntftp:\n  enabled: false\n';

function makeFs(dir: string, kernel: Uint8Array, blob: Uint8Array, user = 'imgonly'): string {
  for (const d of ['bin', 'boot', 'etc', 'var']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin/sh'));
  writeFileSync(join(dir, 'boot/vmlinuz-6.1.0-9-amd64'), kernel);
  writeFileSync(join(dir, 'var/blob'), blob);
  writeFileSync(join(dir, 'etc/hostname'), 'img\n');
  // an image-only user: the syncuser overlay merges the image's passwd and group (include_image)
  writeFileSync(join(dir, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\n${user}:x:4242:4242::/:/bin/sh\n`);
  writeFileSync(join(dir, 'etc/group'), `root:x:0:\n${user}:x:4242:\n`);
  return dir;
}
const wulf = (root: string, args: string[], store = true) => {
  const r = runWulf(src, root, args, { env: store ? { WULF_STORE: url, WULF_CONTROLLER: 'A' } : { WULF_STORE: '' } });
  if (r.code !== 0) throw new Error(`wulf ${args.join(' ')}: exit ${r.code}: ${r.err}`);
  return r.err;
};
async function start(c: 'A' | 'B') {
  const log = c === 'B' ? createLogger({ write: (l) => logB.push(l) }) : silentLogger;
  const store = new PostgresStore(url);
  srv[c] = await startServer({
    paths: paths[c],
    log,
    address: '127.0.0.1',
    httpPort: 0,
    dhcp: false,
    tftp: false,
    ra: false,
    controller: c,
    store,
  });
  // the server registered itself (schema 3) with its configured port; this test's port is the one the kernel gave
  await admin`update wulf_controllers set url = ${base(c)} where name = ${c}`;
}
/** GET until it is not 503 (every 503 must carry Retry-After: 5); the statuses seen on the way. */
async function untilServed(u: string, init?: RequestInit): Promise<{ res: Response; body: Uint8Array; seen: number[] }> {
  const seen: number[] = [];
  for (let i = 0; i < 200; i++) {
    const res = await fetch(u, init);
    seen.push(res.status);
    if (res.status !== 503) return { res, body: new Uint8Array(await res.arrayBuffer()), seen };
    expect(res.headers.get('retry-after')).toBe('5');
    await res.arrayBuffer();
    await Bun.sleep(100);
  }
  throw new Error(`${u}: still 503 after 20 s`);
}

beforeAll(async () => {
  pg = startPg();
  url = pg.createDb('art');
  admin = new SQL(url);
  db = new PostgresStore(url);
  await db.read(); // migrated
  await db.update((c) => {
    // the overlays `wulf init` gives the default profile: every distribution template renders
    c.nodes.n1 = {
      imageName: 'img',
      systemOverlay: [...defaultSystemOverlays],
      runtimeOverlay: [...defaultRuntimeOverlays],
      networkDevices: { default: { hwaddr: MAC, ipaddr: '127.0.0.21', netmask: '255.0.0.0' } },
    };
  });
  for (const c of ['A', 'B'] as const) {
    mkdirSync(paths[c].confDir, { recursive: true });
    writeFileSync(paths[c].wulfConf, WULF_CONF);
  }
  mkdirSync(join(t.dir, 'host/etc'), { recursive: true });
  writeFileSync(join(t.dir, 'host/etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(t.dir, 'host/etc/group'), 'root:x:0:\n');
  // the image is imported and built on A only, on the PostgreSQL store: its digests are recorded
  const out = wulf(roots.A, ['image', 'import', makeFs(join(t.dir, 'fs1'), randomBytes(1 << 20), randomBytes(3 << 20)), 'img', '--build']);
  expect(out).toContain('recorded in the store (2 artifacts by digest');
  await start('A');
  // the cluster-wide files overlays carry, the same on both controllers (docs/scale-out.md): the CA
  cpSync(join(paths.A.confDir, 'tls'), join(paths.B.confDir, 'tls'), { recursive: true });
  await start('B');
}, 180_000);

afterAll(async () => {
  for (const c of ['B', 'A'] as const) await srv[c]?.stop();
  await admin?.close();
  await db?.close();
  pg?.stop();
  t.cleanup();
}, 60_000);

test('the build on A is recorded by digest: the archive and its kernel, built by A', async () => {
  const rows = await currentArtifacts(db, 'img');
  expect(rows.map((r) => [r.kind, r.variant, r.builtBy])).toEqual([
    ['image', '', 'A'],
    ['kernel', '6.1.0-9-amd64', 'A'],
  ]);
  const img = rows.find((r) => r.kind === 'image')!;
  const onA = readdirSync(join(paths.A.imagesDir, 'img/build')).find((f) => f.startsWith(img.digest));
  expect(onA).toBeDefined();
  expect(sha(readFileSync(join(paths.A.imagesDir, 'img/build', onA!)))).toBe(img.digest);
  expect(existsSync(join(paths.B.imagesDir, 'img'))).toBe(false); // B has no copy
});

test("a record replaces the image's rows: a kernel gone from the image goes, an unchanged digest keeps its builder; forget drops them", async () => {
  const d = (c: string) => c.repeat(64);
  await recordArtifacts(db, 'scratch', [
    { kind: 'image', variant: '', rel: '', digest: d('a'), size: 1, builtBy: 'X' },
    { kind: 'kernel', variant: '6.1', rel: '/boot/vmlinuz-6.1', digest: d('b'), size: 2, builtBy: 'X' },
    { kind: 'kernel', variant: '6.2', rel: '/boot/vmlinuz-6.2', digest: d('c'), size: 3, builtBy: 'X' },
  ]);
  await recordArtifacts(db, 'scratch', [
    { kind: 'image', variant: '', rel: '', digest: d('a'), size: 1, builtBy: 'Y' },
    { kind: 'kernel', variant: '6.2', rel: '/boot/vmlinuz-6.2', digest: d('d'), size: 4, builtBy: 'Y' },
  ]);
  expect((await currentArtifacts(db, 'scratch')).map((r) => [r.kind, r.variant, r.digest[0], r.builtBy])).toEqual([
    ['image', '', 'a', 'X'],
    ['kernel', '6.2', 'd', 'Y'],
  ]);
  await expect(
    recordArtifacts(db, 'scratch', [{ kind: 'image', variant: '', rel: '', digest: 'nothex', size: 1, builtBy: 'Y' }]),
  ).rejects.toThrow();
  await forgetArtifacts(db, 'scratch');
  expect(await currentArtifacts(db, 'scratch')).toEqual([]);
});

test('peers: the other controllers with a URL, freshest heartbeat first; a stopped one and this one are not asked', async () => {
  await admin`insert into wulf_controllers (name, instance, host, pid, addresses, segments, url, version, heartbeat_at, stopped_at)
    values ('Z', 'z', 'h', 1, '[]', '[]', 'http://127.0.0.1:9', 'test', now() + interval '1 hour', now())`;
  try {
    expect(await peersWithUrls(db, 'B')).toEqual([{ name: 'A', url: base('A') }]);
  } finally {
    await admin`delete from wulf_controllers where name = 'Z'`;
  }
});

test('GET /artifacts/sha256/<hex>: the verified bytes with Range; anything but 64 hex digits is refused, an unknown digest is 404', async () => {
  const [img] = (await currentArtifacts(db, 'img')).filter((r) => r.kind === 'image');
  const whole = new Uint8Array(await (await fetch(`${base('A')}/artifacts/sha256/${img!.digest}`)).arrayBuffer());
  expect(sha(whole)).toBe(img!.digest);
  const part = await fetch(`${base('A')}/artifacts/sha256/${img!.digest}`, { headers: { Range: 'bytes=10-19' } });
  expect(part.status).toBe(206);
  expect(Buffer.from(await part.arrayBuffer()).equals(Buffer.from(whole.subarray(10, 20)))).toBe(true);
  expect((await fetch(`${base('A')}/artifacts/sha256/${img!.digest.toUpperCase()}`)).status).toBe(400);
  expect((await fetch(`${base('A')}/artifacts/sha256/..%2f..%2fetc%2fpasswd`)).status).toBe(400);
  expect((await fetch(`${base('A')}/artifacts/sha256/${'0'.repeat(64)}`)).status).toBe(404);
  expect((await fetch(`${base('B')}/artifacts/sha256/${img!.digest}`)).status).toBe(404); // B holds none yet
});

test('a node asking B: 503 Retry-After 5 until B fetched the image and kernel from A by digest, then the same bytes, Range working', async () => {
  const rows = await currentArtifacts(db, 'img');
  for (const stage of ['image', 'kernel'] as const) {
    const want = rows.find((r) => r.kind === stage)!;
    const { res, body, seen } = await untilServed(`${base('B')}/${stage}/${MAC}`);
    expect(seen[0]).toBe(503); // B had no copy: never something else first
    expect(res.status).toBe(200);
    expect(sha(body)).toBe(want.digest);
    expect(res.headers.get('etag')).toBe(`"${want.digest}"`);
    const r = await fetch(`${base('B')}/${stage}/${MAC}`, { headers: { Range: 'bytes=1000-1999' } });
    expect(r.status).toBe(206);
    expect(sha(new Uint8Array(await r.arrayBuffer()))).toBe(sha(body.subarray(1000, 2000)));
    expect(existsSync(join(paths.B.stateDir, 'artifacts/sha256', want.digest))).toBe(true);
    expect(existsSync(join(paths.B.stateDir, 'artifacts/sha256', `${want.digest}.part`))).toBe(false);
  }
  // B now serves them to its peers too
  const img = rows.find((r) => r.kind === 'image')!;
  expect(sha(new Uint8Array(await (await fetch(`${base('B')}/artifacts/sha256/${img.digest}`)).arrayBuffer()))).toBe(img.digest);
  expect(logB.join('\n')).toMatch(/fetched from A and verified/);
});

/** A peer in front of A that misbehaves as told, recording the Range header of each request. */
function faultyPeer(mode: 'truncate-first' | 'corrupt' | 'count') {
  const ranges: (string | null)[] = [];
  const s = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const range = req.headers.get('range');
      ranges.push(range);
      const up = await fetch(`${base('A')}${new URL(req.url).pathname}`, { headers: range ? { Range: range } : {} });
      const bytes = new Uint8Array(await up.arrayBuffer());
      const headers = {
        'Content-Type': 'application/octet-stream',
        ...(up.headers.get('content-range') ? { 'Content-Range': up.headers.get('content-range')! } : {}),
      };
      if (mode === 'corrupt') {
        bytes[bytes.length >> 1]! ^= 0xff;
        return new Response(bytes, { status: up.status, headers });
      }
      if (mode === 'truncate-first' && ranges.length === 1) {
        // a third of the body, then the connection breaks (the peer dies mid-transfer)
        const stream = new ReadableStream<Uint8Array>({
          async pull(c) {
            c.enqueue(bytes.subarray(0, bytes.length / 3));
            await Bun.sleep(50);
            c.close();
          },
        });
        return new Response(stream, { status: up.status, headers: { ...headers, 'Content-Length': String(bytes.length) } });
      }
      if (mode === 'count') await Bun.sleep(300); // long enough for the concurrent asks to pile up
      return new Response(bytes, { status: up.status, headers });
    },
  });
  return { url: `http://127.0.0.1:${s.port}`, ranges, stop: () => s.stop(true) };
}

/** A third controller's resolver (own state dir, no image) fetching from the peers given. */
function controllerC(name: string, peers: { name: string; url: string }[], lines: string[]) {
  const p = pathsFor(join(t.dir, name));
  const log = createLogger({ write: (l) => lines.push(l) });
  return { p, r: createArtifactResolver({ paths: p, db, controller: name, log, peers: async () => peers }) };
}
const node = async () => mergeAll(await db.read()).find((n) => n.id === 'n1')!;

test('a download cut mid-transfer resumes with a Range request and is verified', async () => {
  const peer = faultyPeer('truncate-first');
  const lines: string[] = [];
  try {
    const { p, r } = controllerC('c-resume', [{ name: 'flaky', url: peer.url }], lines);
    const first = await r.image(await node());
    expect(first).toMatchObject({ pending: true, retryAfter: 5 });
    const img = (await currentArtifacts(db, 'img')).find((x) => x.kind === 'image')!;
    expect(await r.cache.ensure(img.digest, img.size, async () => [{ name: 'flaky', url: peer.url }])).toBe(true);
    expect(peer.ranges[0]).toBeNull();
    expect(peer.ranges[1]).toMatch(/^bytes=[1-9]\d*-$/); // resumed where the cut left it, not from 0
    // then its /etc is unpacked for overlay templates (one more "retry"), and the verified bytes are served
    let served = await r.image(await node());
    for (let i = 0; i < 100 && typeof served === 'object' && 'pending' in served; i++) {
      await Bun.sleep(50);
      served = await r.image(await node());
    }
    expect(served).toMatchObject({ etag: img.digest, size: img.size });
    expect(readFileSync(join(p.stateDir, 'artifacts/files', img.digest, 'etc/passwd'), 'utf8')).toContain('imgonly');
    expect(sha(readFileSync((served as { path: string }).path))).toBe(img.digest);
    expect(readdirSync(join(p.stateDir, 'artifacts/sha256'))).toEqual([img.digest]);
    expect(readFileSync(join(p.stateDir, 'artifacts/images/img'), 'utf8').trim()).toBe(img.digest); // include_image reads that build
  } finally {
    peer.stop();
  }
});

test('a peer serving corrupted bytes: refused with one warning, nothing kept, the next peer gives the verified bytes', async () => {
  const bad = faultyPeer('corrupt');
  const lines: string[] = [];
  try {
    // the builder (asked first) went bad; B holds a verified copy since it fetched it
    const peers = [
      { name: 'B', url: base('B') },
      { name: 'A', url: bad.url },
    ];
    const { p, r } = controllerC('c-corrupt', peers, lines);
    const k = (await currentArtifacts(db, 'img')).find((x) => x.kind === 'kernel')!;
    expect(await r.kernel(await node())).toMatchObject({ pending: true });
    expect(await r.cache.ensure(k.digest, k.size, async () => peers)).toBe(true);
    const warn = lines.filter((l) => /failed verification/.test(l));
    expect(warn.length).toBe(1);
    expect(warn[0]).toContain('from A failed verification');
    expect(lines.join('\n')).toMatch(/fetched from B and verified/);
    expect(sha(readFileSync(join(p.stateDir, 'artifacts/sha256', k.digest)))).toBe(k.digest);
    expect(readdirSync(join(p.stateDir, 'artifacts/sha256'))).toEqual([k.digest]);
    // a corrupting peer alone: nothing kept, the node keeps getting "retry", never those bytes
    const only = controllerC('c-corrupt-only', [{ name: 'liar', url: bad.url }], lines);
    expect(await only.r.cache.ensure(k.digest, k.size, async () => [{ name: 'liar', url: bad.url }])).toBe(false);
    expect(readdirSync(join(only.p.stateDir, 'artifacts/sha256'))).toEqual([]);
    expect(await only.r.kernel(await node())).toMatchObject({ pending: true });
  } finally {
    bad.stop();
  }
});

test('concurrent asks for one digest share one download', async () => {
  const peer = faultyPeer('count');
  try {
    const peers = [{ name: 'slow', url: peer.url }];
    const { r } = controllerC('c-shared', peers, []);
    const n = await node();
    const answers = await Promise.all(Array.from({ length: 12 }, () => r.image(n)));
    expect(answers.every((a) => typeof a === 'object' && 'pending' in a)).toBe(true);
    const img = (await currentArtifacts(db, 'img')).find((x) => x.kind === 'image')!;
    expect(r.cache.fetching(img.digest)).toBe(true);
    expect(await Promise.all(Array.from({ length: 5 }, () => r.cache.ensure(img.digest, img.size, async () => peers)))).toEqual(
      Array(5).fill(true),
    );
    expect(peer.ranges.length).toBe(1);
  } finally {
    peer.stop();
  }
});

test('a stale digest is never served: A rebuilds, B (holding the old bytes, and a local build of its own) serves only the new', async () => {
  const old = (await currentArtifacts(db, 'img')).find((x) => x.kind === 'image')!;
  // B's own local build of "img" on its files (not recorded): another archive on B's disk
  wulf(
    roots.B,
    ['image', 'import', makeFs(join(t.dir, 'fs-b'), randomBytes(4096), randomBytes(1 << 20), 'bonly'), 'img', '--build'],
    false,
  );
  const localB = JSON.parse(readFileSync(join(paths.B.imagesDir, 'img/build/current'), 'utf8')).digest as string;
  // A rebuilds with a changed tree: the store now names a new digest
  writeFileSync(join(paths.A.imagesDir, 'img/rootfs/etc/motd'), 'new build\n');
  expect(wulf(roots.A, ['image', 'build', 'img'])).toContain('recorded in the store');
  const now = (await currentArtifacts(db, 'img')).find((x) => x.kind === 'image')!;
  expect(now.digest).not.toBe(old.digest);
  expect(new Set([old.digest, now.digest, localB]).size).toBe(3);
  const { res, body, seen } = await untilServed(`${base('B')}/image/${MAC}`);
  expect(seen[0]).toBe(503); // neither the old cached bytes nor B's own build while the new ones are fetched
  expect(res.status).toBe(200);
  expect(sha(body)).toBe(now.digest);
  // the old bytes leave B's cache once the new ones are in
  const oldFile = join(paths.B.stateDir, 'artifacts/sha256', old.digest);
  for (let i = 0; i < 50 && existsSync(oldFile); i++) await Bun.sleep(100);
  expect(existsSync(oldFile)).toBe(false);
  expect(existsSync(join(paths.B.stateDir, 'artifacts/sha256', now.digest))).toBe(true);
  // the kernel did not change: served at once from B's cache
  const k = await fetch(`${base('B')}/kernel/${MAC}`);
  expect(k.status).toBe(200);
  await k.arrayBuffer();
});

test("overlays are byte-identical on both controllers (cluster-wide build.host, the image's /etc from its build, shared settings)", async () => {
  for (const kind of ['system', 'runtime'] as const) {
    const [a, b] = await Promise.all(
      (['A', 'B'] as const).map(async (c) => {
        const res = await fetch(`${base(c)}/${kind}/${MAC}`);
        expect(res.status).toBe(200);
        return { etag: res.headers.get('etag'), body: new Uint8Array(await res.arrayBuffer()) };
      }),
    );
    expect(sha(a!.body)).toBe(sha(b!.body));
    expect(a!.etag).toBe(b!.etag);
    // WWSERVERS (the agent's fallbacks): the service address, then every registered controller by name (both 127.0.0.1: once)
    if (kind === 'system') expect(new TextDecoder().decode(gunzipSync(a!.body))).toContain("WWSERVERS='127.0.0.1'");
    if (kind === 'runtime') {
      const text = new TextDecoder().decode(gunzipSync(a!.body));
      expect(text).toContain('127.0.0.1 wulf wulf warewulf'); // the hosts overlay's controller name: the cluster's, not this host's
      if (hostname() !== 'wulf') expect(text).not.toContain(`127.0.0.1 ${hostname()} `);
      // syncuser: the image's users from the current build — on B, from its /etc extracted from the fetched
      // archive, not from B's own older tree of "img"
      expect(text).toContain('imgonly:x:4242:4242');
      expect(text).not.toContain('bonly');
    }
  }
});

test('PostgreSQL away: the last known digests keep serving what B holds', async () => {
  pg.halt();
  try {
    const res = await fetch(`${base('B')}/kernel/${MAC}`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  } finally {
    pg.resume();
  }
});

test('the kernel row a node boots: the default (highest, not +debug), a version prefix, a path inside the image', () => {
  const k = (variant: string) => ({
    image: 'i',
    kind: 'kernel' as const,
    variant,
    rel: `/boot/vmlinuz-${variant}`,
    digest: variant,
    size: 1,
    builtBy: 'A',
  });
  const rows = [k('6.1.0-9-amd64'), k('6.1.0-21-amd64'), k('6.1.0-30-amd64+debug')];
  expect(pickKernelRow(rows, undefined)?.variant).toBe('6.1.0-21-amd64');
  expect(pickKernelRow(rows, '6.1.0-9')?.variant).toBe('6.1.0-9-amd64');
  expect(pickKernelRow(rows, '/boot/vmlinuz-6.1.0-30-amd64+debug')?.variant).toBe('6.1.0-30-amd64+debug');
  expect(pickKernelRow(rows, '/boot/../etc/passwd')).toBeUndefined();
});
