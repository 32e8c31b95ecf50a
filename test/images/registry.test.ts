// Import from a real docker-registry (anonymous, htpasswd, token auth), from skopeo-made
// oci-archive/docker-archive and an OCI layout, and the bad-input paths (faults via a proxy).
import { compiledBin } from '../helpers/cli.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { faultProxy, makeOciLayout, makeTar, need, opaqueItems, sh, shAsync, startRegistry, tmp, wulf, type Peer } from './peers.ts';

let work: string, layout: string, reg: Peer;
const imagesOf = (root: string) => {
  try {
    return readdirSync(join(root, 'var/lib/wulf/images'));
  } catch {
    return [];
  }
};
const rootfs = (root: string, name: string) => join(root, 'var/lib/wulf/images', name, 'rootfs');

function checkContent(root: string, name: string) {
  const r = rootfs(root, name);
  expect(existsSync(join(r, 'bin/busybox'))).toBe(true);
  expect(existsSync(join(r, 'etc/gone.txt'))).toBe(false); // .wh. whiteout from umoci
  expect(readFileSync(join(r, 'etc/layer2.txt'), 'utf8')).toBe('second layer\n');
  expect(existsSync(join(r, 'opt/old/lower.txt'))).toBe(false); // opaque marker after the new file
  expect(readFileSync(join(r, 'opt/old/new.txt'), 'utf8')).toBe('new in layer 3\n');
  expect(existsSync(join(r, 'opt/old/.wh..wh..opq'))).toBe(false);
}

beforeAll(async () => {
  need('skopeo', 'skopeo');
  work = tmp('oci');
  layout = makeOciLayout(work, await makeTar(opaqueItems));
  reg = await startRegistry('none');
  sh(['skopeo', 'copy', '--dest-tls-verify=false', `oci:${layout}:1`, `docker://${reg.url}/test/busybox:1`]);
}, 60_000);
afterAll(async () => {
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('image import', () => {
  test('docker:// from an anonymous registry: layers, whiteouts, opaque, blob cache, metadata', async () => {
    const root = tmp('root');
    const r = await wulf(root, ['image', 'import', '--nohttps', `docker://${reg.url}/test/busybox:1`, 'bb']);
    expect(r.err).toContain('imported bb sha256:');
    expect(r.code).toBe(0);
    checkContent(root, 'bb');
    const meta = JSON.parse(readFileSync(join(root, 'var/lib/wulf/images/bb/image.json'), 'utf8'));
    expect(meta.layers.length).toBe(3);
    expect(meta.platform).toBe('linux/amd64');
    const blobs = readdirSync(join(root, 'var/lib/wulf/cache/blobs/sha256'));
    expect(blobs.filter((b) => /^[0-9a-f]{64}$/.test(b)).length).toBe(4); // 3 layers + config
    // again without --force: refused; with --force: replaced, from the cache
    const again = await wulf(root, ['image', 'import', '--nohttps', `docker://${reg.url}/test/busybox:1`, 'bb']);
    expect(again.code).not.toBe(0);
    expect(again.err).toContain('already exists');
    expect((await wulf(root, ['image', 'pull', '-f', '--nohttps', `docker://${reg.url}/test/busybox:1`, 'bb'])).code).toBe(0);
    expect(imagesOf(root)).toEqual(['bb']);
    // Docker v2 schema 2 manifest, and an OCI index resolved to the platform manifest
    sh(['skopeo', 'copy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${layout}:1`, `docker://${reg.url}/test/busybox:v2s2`]);
    const v2 = await wulf(root, ['image', 'import', '--nohttps', `oci://${reg.url}/test/busybox:v2s2`, 'v2']);
    expect(v2.code).toBe(0);
    checkContent(root, 'v2');
    const idxLayout = tmp('idx');
    sh(['cp', '-a', layout + '/.', idxLayout]);
    const idx = JSON.parse(readFileSync(join(idxLayout, 'index.json'), 'utf8'));
    const m = idx.manifests[0];
    const inner = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: m.mediaType, digest: m.digest, size: m.size, platform: { os: 'linux', architecture: 'arm64' } },
          { mediaType: m.mediaType, digest: m.digest, size: m.size, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    );
    const d = new Bun.CryptoHasher('sha256').update(inner).digest('hex');
    writeFileSync(join(idxLayout, 'blobs/sha256', d), inner);
    writeFileSync(
      join(idxLayout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.index.v1+json',
            digest: `sha256:${d}`,
            size: inner.length,
            annotations: { 'org.opencontainers.image.ref.name': 'multi' },
          },
        ],
      }),
    );
    sh(['skopeo', 'copy', '--all', '--dest-tls-verify=false', `oci:${idxLayout}:multi`, `docker://${reg.url}/test/busybox:multi`]);
    const mi = await wulf(root, [
      'image',
      'import',
      '--nohttps',
      '--platform',
      'linux/amd64',
      `docker://${reg.url}/test/busybox:multi`,
      'multi',
    ]);
    expect(mi.code).toBe(0);
    checkContent(root, 'multi');
    const s390 = await wulf(root, [
      'image',
      'import',
      '--nohttps',
      '--platform',
      'linux/s390x',
      `docker://${reg.url}/test/busybox:multi`,
      's390',
    ]);
    expect(s390.err).toContain('no linux/s390x image in the index (has: linux/arm64, linux/amd64)');
    rmSync(idxLayout, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  test('oci:DIR:TAG, oci-archive and docker-archive made by skopeo', async () => {
    const root = tmp('root');
    const oa = join(work, 'img.oci.tar'),
      da = join(work, 'img.docker.tar');
    sh(['skopeo', 'copy', `oci:${layout}:1`, `oci-archive:${oa}:1`]);
    sh(['skopeo', 'copy', `oci:${layout}:1`, `docker-archive:${da}:test/busybox:1`]);
    for (const [src, name] of [
      [`oci:${layout}:1`, 'fromoci'],
      [`oci-archive:${oa}`, 'fromociarchive'],
      [`docker-archive:${da}`, 'fromdocker'],
    ] as const) {
      const r = await wulf(root, ['image', 'import', src, name]);
      expect(r.err.split('\n').filter(Boolean).pop()).toContain(`imported ${name}`);
      expect(r.code).toBe(0);
      checkContent(root, name);
    }
    const ls = await wulf(root, ['image', 'list', '-j']);
    expect(JSON.parse(ls.out).map((i: { name: string }) => i.name)).toEqual(['fromdocker', 'fromoci', 'fromociarchive']);
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  test('htpasswd registry: Basic credentials from flags and env; none → one-line auth error', async () => {
    const hreg = await startRegistry('htpasswd');
    try {
      sh([
        'skopeo',
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        'wulf:sekrit',
        `oci:${layout}:1`,
        `docker://${hreg.url}/test/busybox:1`,
      ]);
      const root = tmp('root');
      const bad = await wulf(root, ['image', 'import', '--nohttps', `docker://${hreg.url}/test/busybox:1`, 'x']);
      expect(bad.code).not.toBe(0);
      expect(bad.err).toContain('requires credentials');
      expect(bad.err).not.toContain('    at ');
      const ok = await wulf(root, [
        'image',
        'import',
        '--nohttps',
        '--username',
        'wulf',
        '--password',
        'sekrit',
        `docker://${hreg.url}/test/busybox:1`,
        'x',
      ]);
      expect(ok.code).toBe(0);
      expect(ok.err).not.toContain('sekrit');
      const env = await wulf(root, ['image', 'import', '-f', '--nohttps', `docker://${hreg.url}/test/busybox:1`, 'x'], {
        WULF_OCI_USERNAME: 'wulf',
        WULF_OCI_PASSWORD: 'sekrit',
      });
      expect(env.code).toBe(0);
      checkContent(root, 'x');
      rmSync(root, { recursive: true, force: true });
    } finally {
      await hreg.stop();
    }
  }, 60_000);

  test('token registry: Bearer flow with an RS256 x5c token, token reused across requests', async () => {
    const treg = await startRegistry('token');
    try {
      await shAsync([
        'skopeo',
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        'wulf:sekrit',
        `oci:${layout}:1`,
        `docker://${treg.url}/test/busybox:1`,
      ]);
      const root = tmp('root');
      const before = treg.tokenRequests!();
      const bad = await wulf(root, [
        'image',
        'import',
        '--nohttps',
        '--username',
        'wulf',
        '--password',
        'wrong',
        `docker://${treg.url}/test/busybox:1`,
        't',
      ]);
      expect(bad.code).not.toBe(0);
      expect(bad.err).toContain('token service refused');
      const mid = treg.tokenRequests!();
      const ok = await wulf(root, [
        'image',
        'import',
        '--nohttps',
        '--username',
        'wulf',
        '--password',
        'sekrit',
        `docker://${treg.url}/test/busybox:1`,
        't',
      ]);
      expect(ok.err).toContain('imported t');
      expect(ok.code).toBe(0);
      expect(treg.tokenRequests!() - mid).toBe(1); // one token for manifest + 4 blobs
      expect(mid - before).toBe(1);
      checkContent(root, 't');
      rmSync(root, { recursive: true, force: true });
    } finally {
      await treg.stop();
    }
  }, 60_000);

  test('429 answers are retried with backoff', async () => {
    let throttled = 0;
    const px = faultProxy(reg.url, (req) =>
      req.url.includes('/blobs/') && throttled++ < 2
        ? new Response('slow down', { status: 429, headers: { 'retry-after': '1' } })
        : undefined,
    );
    const root = tmp('root');
    try {
      const r = await wulf(root, ['image', 'import', '--nohttps', `docker://${px.url}/test/busybox:1`, 'b']);
      expect(r.code).toBe(0);
      expect(px.log.filter((l) => l.status === 429).length).toBe(2);
    } finally {
      await px.stop();
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);

  test('a truncated blob is resumed with Range; a corrupt one is refused and not kept', async () => {
    let cut = 0;
    const px = faultProxy(reg.url, (req) =>
      req.url.includes('/blobs/') && !req.headers.get('range') && cut++ === 0 ? 'truncate' : undefined,
    );
    const root = tmp('root');
    try {
      const r = await wulf(root, ['image', 'import', '--nohttps', `docker://${px.url}/test/busybox:1`, 'b']);
      expect(r.code).toBe(0);
      expect(px.log.some((l) => l.range?.startsWith('bytes=') && l.status === 206)).toBe(true);
      checkContent(root, 'b');
    } finally {
      await px.stop();
      rmSync(root, { recursive: true, force: true });
    }
    const bad = faultProxy(reg.url, (req) => (req.url.includes('/blobs/') ? 'corrupt' : undefined));
    const root2 = tmp('root');
    try {
      const r = await wulf(root2, ['image', 'import', '--nohttps', `docker://${bad.url}/test/busybox:1`, 'b']);
      expect(r.code).not.toBe(0);
      expect(r.err).toContain('digest mismatch');
      expect(r.err.trim().split('\n').length).toBeLessThanOrEqual(2);
      expect(imagesOf(root2)).toEqual([]);
      const cache = join(root2, 'var/lib/wulf/cache/blobs/sha256');
      expect(existsSync(cache) ? readdirSync(cache) : []).toEqual([]);
    } finally {
      await bad.stop();
      rmSync(root2, { recursive: true, force: true });
    }
  }, 60_000);

  /** Import once into a fresh root; the cache dir and its largest blob (a layer). */
  async function importedOnce(root: string) {
    const first = await wulf(root, ['image', 'import', '--nohttps', `docker://${reg.url}/test/busybox:1`, 'a']);
    expect(first.code).toBe(0);
    const cache = join(root, 'var/lib/wulf/cache/blobs/sha256');
    const big = readdirSync(cache)
      .map((f) => ({ f, s: statSync(join(cache, f)).size }))
      .sort((a, b) => b.s - a.s)[0]!;
    return { cache, big, data: readFileSync(join(cache, big.f)) };
  }

  test('a partial blob left in the cache is resumed, then verified', async () => {
    const root = tmp('root');
    try {
      const { cache, big, data } = await importedOnce(root);
      rmSync(join(cache, big.f));
      writeFileSync(join(cache, big.f + '.partial'), data.subarray(0, 1000));
      const px = faultProxy(reg.url, () => undefined);
      try {
        const r = await wulf(root, ['image', 'import', '--nohttps', `docker://${px.url}/test/busybox:1`, 'b']);
        expect(r.code).toBe(0);
        expect(px.log.find((l) => l.path.endsWith(big.f))?.range).toBe('bytes=1000-');
        expect(readFileSync(join(cache, big.f)).equals(data)).toBe(true);
      } finally {
        await px.stop();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);

  test('a cached blob damaged on disk is detected, fetched again and the import succeeds', async () => {
    const root = tmp('root');
    try {
      const { cache, big, data: good } = await importedOnce(root);
      const bad = Buffer.from(good);
      bad[100] ^= 0xff;
      bad[101] ^= 0xff;
      writeFileSync(join(cache, big.f), bad);
      const px = faultProxy(reg.url, () => undefined);
      try {
        const r = await wulf(root, ['image', 'import', '--nohttps', `docker://${px.url}/test/busybox:1`, 'b']);
        expect(r.code).toBe(0);
        expect(r.err).toContain('is damaged; downloading it again');
        expect(px.log.some((l) => l.path.endsWith(big.f))).toBe(true); // fetched again
        expect(readFileSync(join(cache, big.f)).equals(good)).toBe(true); // and repaired
      } finally {
        await px.stop();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);

  test('bad sources fail with one clear line and register nothing', async () => {
    const root = tmp('root');
    const cases: [string[], string][] = [
      [['foo:bar'], 'unknown transport "foo:"'],
      [['--nohttps', `docker://${reg.url}/test/busybox:nope`], 'not found'],
      [['--nohttps', `docker://${reg.url}/test/missing:1`], 'not found'],
      [['--nohttps', 'docker://127.0.0.1:1/test/busybox:1'], 'cannot reach registry'],
      [[`docker://${reg.url}/test/busybox:1`], 'cannot reach registry'], // https to a plain-HTTP registry
      [['/nonexistent/dir'], 'no such file'],
      [['/etc/hostname'], '/etc/hostname is not a tar archive (plain, gzip or zstd): cannot import it as a rootfs tarball'],
      [['oci-archive:/etc/hostname'], 'is not a tar archive (plain, gzip or zstd): cannot import it as oci-archive:FILE'],
      [['docker-archive:/etc/hostname'], 'is not a tar archive (plain, gzip or zstd): cannot import it as docker-archive:FILE'],
    ];
    for (const [args, msg] of cases) {
      const r = await wulf(root, ['image', 'import', ...args, 'x']);
      expect(r.code).not.toBe(0);
      if (msg) expect(r.err).toContain(msg);
      expect(r.err).not.toContain('    at ');
      expect(r.err).not.toContain('internal error');
    }
    expect(imagesOf(root)).toEqual([]);
    // --platform only matters for an index; a single-image layout imports
    expect((await wulf(root, ['image', 'import', '--platform', 'linux/s390x', `oci:${layout}:1`, 'x'])).code).toBe(0);
    expect(imagesOf(root).filter((n) => !n.startsWith('.'))).toEqual(['x']);
    const unsupported = tmp('lay');
    sh(['cp', '-a', layout + '/.', unsupported]);
    const idx = JSON.parse(readFileSync(join(unsupported, 'index.json'), 'utf8'));
    const mpath = join(unsupported, 'blobs/sha256', idx.manifests[0].digest.split(':')[1]);
    const m = JSON.parse(readFileSync(mpath, 'utf8'));
    m.layers[0].mediaType = 'application/vnd.example.weird';
    writeFileSync(mpath, JSON.stringify(m));
    const r = await wulf(root, ['image', 'import', `oci:${unsupported}:1`, 'y']);
    expect(r.err).toContain('unsupported media type application/vnd.example.weird');
    truncateSync(join(unsupported, 'blobs/sha256', m.layers[1].digest.split(':')[1]), 100);
    m.layers[0].mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip';
    writeFileSync(mpath, JSON.stringify(m));
    const tr = await wulf(root, ['image', 'import', `oci:${unsupported}:1`, 'y']);
    expect(tr.code).not.toBe(0);
    expect(imagesOf(root).filter((n) => !n.startsWith('.'))).toEqual(['x']);
    expect(imagesOf(root).filter((n) => n.startsWith('.import'))).toEqual([]);
    rmSync(root, { recursive: true, force: true });
    rmSync(unsupported, { recursive: true, force: true });
  }, 90_000);

  test('Ctrl-C in the middle of a download: non-zero exit, nothing registered, no temp left', async () => {
    const px = faultProxy(reg.url, (req) =>
      req.url.includes('/blobs/')
        ? new Response(
            new ReadableStream({
              start(c) {
                c.enqueue(new Uint8Array(10));
              },
            }),
            { status: 200 },
          )
        : undefined,
    );
    const root = tmp('root');
    try {
      const p = Bun.spawn([compiledBin, 'image', 'import', '--nohttps', `docker://${px.url}/test/busybox:1`, 'c'], {
        env: { ...process.env, WULF_ROOT: root },
        stderr: 'pipe',
        stdout: 'pipe',
      });
      const end = Date.now() + 10_000;
      while (!px.log.some((l) => l.path.includes('/blobs/')) && Date.now() < end) await Bun.sleep(50);
      await Bun.sleep(200);
      p.kill('SIGINT');
      const code = await p.exited;
      const err = await new Response(p.stderr).text();
      expect(code).not.toBe(0);
      expect(err).toContain('interrupted');
      expect(imagesOf(root)).toEqual([]);
    } finally {
      await px.stop();
      rmSync(root, { recursive: true, force: true });
    }
  }, 30_000);
});
