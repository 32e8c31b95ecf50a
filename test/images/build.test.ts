// Image build: cpio.gz listed by GNU cpio, block-parallel gzip and zstd accepted by the real
// tools, hardlinks, excludes, other filesystems skipped, skip-when-unchanged, rollback, service API.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathsFor } from '../../src/config/paths.ts';
import { buildImage, rollbackImage } from '../../src/images/build.ts';
import { findKernel, imageArtifactPath, listImages } from '../../src/images/service.ts';
import { checkInitramfs } from '../../src/lib/initramfs.ts';
import { makeRootfs, need, sh, tmp, wulf } from './peers.ts';

let w: string, root: string;
const paths = () => pathsFor(root);
const rf = () => join(root, 'var/lib/wulf/images/bb/rootfs');
const list = (file: string, tool: string) =>
  sh(['sh', '-c', `${tool} -dc '${file}' | cpio -it --quiet`])
    .trim()
    .split('\n');

beforeAll(async () => {
  need('cpio', 'cpio');
  need('zstd', 'zstd');
  w = tmp('build');
  root = join(w, 'root');
  const fs = makeRootfs(join(w, 'fs'));
  mkdirSync(join(fs, 'var/big'), { recursive: true });
  const big = Buffer.alloc(3 << 20);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  writeFileSync(join(fs, 'var/big/blob'), big);
  linkSync(join(fs, 'var/big/blob'), join(fs, 'var/big/blob-link'));
  mkdirSync(join(fs, 'etc/warewulf'), { recursive: true });
  writeFileSync(join(fs, 'etc/warewulf/excludes'), '# comment\n/boot/\n*.bak\n');
  writeFileSync(join(fs, 'etc/x.bak'), 'excluded');
  mkdirSync(join(fs, 'mnt/other'), { recursive: true });
  const r = await wulf(root, ['image', 'import', fs, 'bb']);
  if (r.code !== 0) throw new Error(r.err);
});
afterAll(() => {
  Bun.spawnSync(['umount', join(rf(), 'mnt/other')]);
  rmSync(w, { recursive: true, force: true });
});

describe('image build', () => {
  test('multi-member cpio.gz: GNU cpio lists it, excludes and other filesystems skipped, hardlinks kept', async () => {
    sh(['mount', '-t', 'tmpfs', 'tmpfs', join(rf(), 'mnt/other')]);
    writeFileSync(join(rf(), 'mnt/other/on-tmpfs'), 'x');
    try {
      const r = await buildImage(paths(), 'bb', { chunkBytes: 1 << 20 });
      expect(r.skipped).toBe(false);
      const names = list(r.path, 'gzip');
      expect(names).toContain('bin/busybox');
      expect(names).toContain('var/big/blob-link');
      expect(names).toContain('boot'); // "/boot/" keeps the dir, drops its contents
      expect(names.some((n) => n.startsWith('boot/'))).toBe(false);
      expect(names).not.toContain('etc/x.bak');
      expect(names).toContain('mnt/other');
      expect(names).not.toContain('mnt/other/on-tmpfs');
      // blocks of 1 MiB deflated apart, but one gzip member the kernel unpacks whole
      const members = Bun.spawnSync(['sh', '-c', `gzip -dc '${r.path}' | wc -c`])
        .stdout.toString()
        .trim();
      expect(Number(members)).toBeGreaterThan(4 << 20);
      const rep = checkInitramfs(readFileSync(r.path));
      expect(rep.streams.map((s) => s.kind)).toEqual(['gzip']);
      expect(rep.bytes).toBe(Number(members));
      // extract with GNU cpio: content, symlinks, hardlink
      const x = join(w, 'x');
      mkdirSync(x);
      sh(['sh', '-c', `cd '${x}' && gzip -dc '${r.path}' | cpio -idm --quiet`]);
      expect(readFileSync(join(x, 'var/big/blob')).equals(readFileSync(join(rf(), 'var/big/blob')))).toBe(true);
      expect(statSync(join(x, 'var/big/blob')).ino).toBe(statSync(join(x, 'var/big/blob-link')).ino);
      expect(sh([join(x, 'bin/busybox'), 'echo', 'ok']).trim()).toBe('ok');
    } finally {
      sh(['umount', join(rf(), 'mnt/other')]);
    }
  }, 60_000);

  test('skip when unchanged, --force, zstd, rollback, service API', async () => {
    const first = await buildImage(paths(), 'bb');
    const again = await wulf(root, ['image', 'build', 'bb']);
    expect(again.err).toContain('unchanged, build skipped');
    writeFileSync(join(rf(), 'etc/motd'), 'changed\n');
    const z = await wulf(root, ['image', 'build', '--compress', 'zstd', 'bb']);
    expect(z.err).toContain('built');
    const art = imageArtifactPath(paths(), 'bb')!;
    expect(art.compression).toBe('zstd');
    expect(art.path.endsWith(`${art.digest}.img.zst`)).toBe(true);
    expect(new Bun.CryptoHasher('sha256').update(readFileSync(art.path)).digest('hex')).toBe(art.digest);
    expect(list(art.path, 'zstd')).toContain('etc/motd');
    const forced = await wulf(root, ['image', 'build', '-f', '--compress', 'zstd', 'bb']);
    expect(forced.err).toContain('built');
    await wulf(root, ['image', 'build', '--compress', 'gzip', 'bb']);
    expect(imageArtifactPath(paths(), 'bb')!.compression).toBe('gzip');
    const rb = await wulf(root, ['image', 'rollback', 'bb']);
    expect(rb.code).toBe(0);
    expect(imageArtifactPath(paths(), 'bb')!.compression).toBe('zstd');
    await rollbackImage(paths(), 'bb');
    expect(imageArtifactPath(paths(), 'bb')!.compression).toBe('gzip');
    expect(first.pointer.digest).not.toBe(imageArtifactPath(paths(), 'bb')!.digest);
    expect(imageArtifactPath(paths(), 'nope')).toBeUndefined();
    expect(imageArtifactPath(paths(), '../bb')).toBeUndefined();
    expect(findKernel(paths(), 'bb')).toEqual({ path: join(rf(), 'boot/vmlinuz-6.1.0-21-amd64'), version: '6.1.0-21-amd64' });
    expect(findKernel(paths(), 'bb', '6.1.0-9')?.version).toBe('6.1.0-9-amd64');
    expect(findKernel(paths(), 'bb', '/boot/vmlinuz-6.1.0-9-amd64')?.path).toBe(join(rf(), 'boot/vmlinuz-6.1.0-9-amd64'));
    expect(findKernel(paths(), 'bb', '7')).toBeUndefined();
    expect(listImages(paths()).map((i) => [i.name, i.defaultKernel])).toEqual([['bb', '6.1.0-21-amd64']]);
  }, 60_000);

  test('list/show/copy/rename/delete and the -a build', async () => {
    expect((await wulf(root, ['vnfs', 'cp', 'bb', 'bb2'])).code).toBe(0);
    expect((await wulf(root, ['container', 'mv', 'bb2', 'bb3'])).code).toBe(0);
    const j = JSON.parse((await wulf(root, ['image', 'ls', '-j'])).out);
    expect(j.map((i: { name: string }) => i.name)).toEqual(['bb', 'bb3']);
    expect(j[1].built).toBeNull();
    expect((await wulf(root, ['image', 'build', '-a'])).code).toBe(0);
    expect(imageArtifactPath(paths(), 'bb3')).toBeDefined();
    expect((await wulf(root, ['image', 'show', 'bb3'])).out.trim()).toBe(join(root, 'var/lib/wulf/images/bb3/rootfs'));
    const k = await wulf(root, ['image', 'kernels', 'bb3']);
    expect(k.out).toMatch(/bb3\s+\/boot\/vmlinuz-6\.1\.0-21-amd64\s+6\.1\.0-21-amd64\s+true/);
    expect((await wulf(root, ['image', 'rm', 'bb3'])).code).not.toBe(0); // asks; no terminal
    expect((await wulf(root, ['image', 'rm', '-y', 'bb3'])).code).toBe(0);
    expect(existsSync(join(root, 'var/lib/wulf/images/bb3'))).toBe(false);
    expect((await wulf(root, ['image', 'show', 'bb3'])).err).toContain('does not exist');
  }, 60_000);
});
