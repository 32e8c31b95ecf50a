// wwctl's image spellings (issue #13), against the compiled binary and real peers: `image list -k/-c/--compressed`,
// `image exec/shell -b` (wwctl's bind flag), and WAREWULF_OCI_USERNAME/PASSWORD/NOHTTPS read by image import
// from a docker-registry with htpasswd auth.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireCompiled } from '../helpers/cli.ts';
import { makeOciLayout, makeRootfs, makeTar, need, opaqueItems, sh, startRegistry, tmp, wulf } from '../images/peers.ts';

let w: string, root: string;

beforeAll(async () => {
  requireCompiled();
  need('unshare', 'util-linux');
  w = tmp('drift');
  root = join(w, 'root');
  makeRootfs(join(w, 'fs'));
  const r = await wulf(root, ['image', 'import', '--build', join(w, 'fs'), 'bb']);
  if (r.code !== 0) throw new Error(r.err);
  expect((await wulf(root, ['image', 'import', join(w, 'fs'), 'unbuilt'])).code).toBe(0);
}, 60_000);
afterAll(() => rmSync(w, { recursive: true, force: true }));

describe('image list', () => {
  test('-k: name, nodes, kernel version only', async () => {
    const r = await wulf(root, ['image', 'list', '-k']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]!.trim().split(/\s{2,}/)).toEqual(['IMAGE NAME', 'NODES', 'KERNEL VERSION']);
    expect(
      lines
        .find((l) => l.startsWith('bb '))!
        .trim()
        .split(/\s+/),
    ).toEqual(['bb', '0', '6.1.0-21-amd64']);
  });

  test('-c: the chroot size; --compressed: the built image size (or not built)', async () => {
    const c = await wulf(root, ['image', 'list', '-c', 'bb']);
    expect(
      c.out
        .split('\n')[0]!
        .trim()
        .split(/\s{2,}/),
    ).toEqual(['IMAGE NAME', 'NODES', 'CHROOT SIZE']);
    const mib = Number(/^bb\s+0\s+([\d.]+) MiB$/m.exec(c.out)![1]);
    expect(mib).toBeGreaterThan(0.5); // busybox-static alone is ~2 MiB
    const z = await wulf(root, ['image', 'list', '--compressed']);
    expect(
      z.out
        .split('\n')[0]!
        .trim()
        .split(/\s{2,}/),
    ).toEqual(['IMAGE NAME', 'NODES', 'COMPRESSED SIZE']);
    const built = /^bb\s+0\s+([\d.]+) MiB gzip$/m.exec(z.out);
    expect(built).not.toBeNull();
    expect(Number(built![1])).toBeLessThan(mib);
    expect(z.out).toMatch(/^unbuilt\s+0\s+\(not built\)$/m);
    const both = await wulf(root, ['image', 'list', '-k', '-c', '--compressed', 'bb']);
    expect(
      both.out
        .split('\n')[0]!
        .trim()
        .split(/\s{2,}/),
    ).toEqual(['IMAGE NAME', 'NODES', 'KERNEL VERSION', 'CHROOT SIZE', 'COMPRESSED SIZE']);
  });
});

test("image exec -b (wwctl's bind flag) binds like -B / --bind", async () => {
  const host = join(w, 'share');
  mkdirSync(host);
  writeFileSync(join(host, 'in.txt'), 'from host\n');
  const r = await wulf(root, [
    'image',
    'exec',
    '-b',
    `${host}:/mnt/share`,
    '-B',
    `${host}:/srv:ro`,
    '--build=false',
    'bb',
    '--',
    '/bin/sh',
    '-c',
    'cat /mnt/share/in.txt; echo w > /mnt/share/out.txt; echo x > /srv/y 2>/dev/null || echo ro-refused',
  ]);
  expect([r.code, r.out]).toEqual([0, 'from host\nro-refused\n']);
  expect(readFileSync(join(host, 'out.txt'), 'utf8')).toBe('w\n');
}, 30_000);

test('image import reads WAREWULF_OCI_USERNAME, _PASSWORD and _NOHTTPS', async () => {
  need('skopeo', 'skopeo');
  const layout = makeOciLayout(join(w, 'oci'), await makeTar(opaqueItems));
  const reg = await startRegistry('htpasswd');
  try {
    sh([
      'skopeo',
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      'wulf:sekrit',
      `oci:${layout}:1`,
      `docker://${reg.url}/test/busybox:1`,
    ]);
    const src = `docker://${reg.url}/test/busybox:1`;
    const none = await wulf(root, ['image', 'import', '--nohttps', src, 'fromreg']);
    expect(none.code).not.toBe(0);
    expect(none.err).toContain('requires credentials');
    const bad = await wulf(root, ['image', 'import', src, 'fromreg'], {
      WAREWULF_OCI_USERNAME: 'wulf',
      WAREWULF_OCI_PASSWORD: 'wrong',
      WAREWULF_OCI_NOHTTPS: 'true',
    });
    expect(bad.code).not.toBe(0);
    // no --nohttps flag: plain HTTP only because of WAREWULF_OCI_NOHTTPS
    const ok = await wulf(root, ['image', 'import', src, 'fromreg'], {
      WAREWULF_OCI_USERNAME: 'wulf',
      WAREWULF_OCI_PASSWORD: 'sekrit',
      WAREWULF_OCI_NOHTTPS: 'true',
    });
    expect([ok.code, ok.err.split('\n').at(-2) ?? '']).toEqual([0, expect.stringContaining('imported fromreg')]);
    expect(ok.err).not.toContain('sekrit');
    expect(readFileSync(join(root, 'var/lib/wulf/images/fromreg/rootfs/etc/layer2.txt'), 'utf8')).toBe('second layer\n');
    // wulf's own names win over Warewulf's
    const mine = await wulf(root, ['image', 'import', '-f', src, 'fromreg'], {
      WULF_OCI_USERNAME: 'wulf',
      WULF_OCI_PASSWORD: 'sekrit',
      WAREWULF_OCI_PASSWORD: 'wrong',
      WAREWULF_OCI_NOHTTPS: 'true',
    });
    expect(mine.code).toBe(0);
  } finally {
    await reg.stop();
  }
}, 90_000);
