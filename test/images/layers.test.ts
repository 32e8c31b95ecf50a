// Hand-made layer tars: whiteouts, an opaque marker after new files, hardlinks, a device node,
// setuid, numeric owners, mtimes, a >100-char path, symlinks; and every way out of the root refused.
import { describe, expect, test } from 'bun:test';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LayerApplier } from '../../src/images/extract.ts';
import { makeRootfs, makeTar, tmp, wulf, type TarItem } from './peers.ts';

const long = 'usr/share/' + 'd'.repeat(60) + '/' + 'f'.repeat(60) + '.txt';

async function apply(root: string, ...layers: TarItem[][]) {
  const a = new LayerApplier(root);
  for (const l of layers) await a.apply(Readable.from([Buffer.from(await makeTar(l))]));
  a.finish();
  return a;
}

describe('layer applier', () => {
  test('types, owners, modes, mtimes, whiteouts and an opaque marker after new files', async () => {
    const root = tmp('layer');
    const lower: TarItem[] = [
      { name: 'etc/', type: 'directory' }, { name: 'etc/keep', body: 'k' }, { name: 'etc/drop', body: 'd' },
      { name: 'data/', type: 'directory', mode: 0o700, uid: 1234, gid: 5678 },
      { name: 'data/old1', body: 'o1' }, { name: 'data/sub/', type: 'directory' }, { name: 'data/sub/old2', body: 'o2' },
      { name: 'usr/', type: 'directory' }, { name: 'usr/bin/', type: 'directory' },
      { name: 'usr/bin/su', body: '#!', mode: 0o4755, uid: 0, gid: 0 },
      { name: 'usr/bin/owned', body: 'x', uid: 1234, gid: 5678, mtime: new Date(1_500_000_000_000) },
      { name: 'usr/bin/hard', type: 'link', linkname: 'usr/bin/owned' },
      { name: 'usr/bin/abs', type: 'symlink', linkname: '/usr/bin/su' },
      { name: 'usr/bin/rel', type: 'symlink', linkname: '../bin/su' },
      { name: 'dev/', type: 'directory' }, { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: long, body: 'long path' },
    ];
    const upper: TarItem[] = [
      { name: 'etc/.wh.drop', body: '' },
      { name: 'data/', type: 'directory', mode: 0o700, uid: 1234, gid: 5678 },
      { name: 'data/new', body: 'n' },
      { name: 'data/sub/', type: 'directory' }, { name: 'data/sub/new2', body: 'n2' },
      { name: 'data/.wh..wh..opq', body: '' },
    ];
    const a = await apply(root, lower, upper);
    expect(readFileSync(join(root, 'etc/keep'), 'utf8')).toBe('k');
    expect(existsSync(join(root, 'etc/drop'))).toBe(false);
    expect(existsSync(join(root, 'etc/.wh.drop'))).toBe(false);
    expect(existsSync(join(root, 'data/old1'))).toBe(false);
    expect(existsSync(join(root, 'data/sub/old2'))).toBe(false);
    expect(readFileSync(join(root, 'data/new'), 'utf8')).toBe('n');
    expect(readFileSync(join(root, 'data/sub/new2'), 'utf8')).toBe('n2');
    const d = statSync(join(root, 'data'));
    expect([d.mode & 0o7777, d.uid, d.gid]).toEqual([0o700, 1234, 5678]);
    expect(statSync(join(root, 'usr/bin/su')).mode & 0o7777).toBe(0o4755);
    const o = statSync(join(root, 'usr/bin/owned'));
    expect([o.uid, o.gid, o.mtimeMs]).toEqual([1234, 5678, 1_500_000_000_000]);
    expect(statSync(join(root, 'usr/bin/hard')).ino).toBe(o.ino);
    expect(readlinkSync(join(root, 'usr/bin/abs'))).toBe('/usr/bin/su');
    expect(readlinkSync(join(root, 'usr/bin/rel'))).toBe('../bin/su');
    const n = lstatSync(join(root, 'dev/null'));
    expect(n.isCharacterDevice()).toBe(true);
    expect(n.rdev).toBe(259);
    expect(readFileSync(join(root, long), 'utf8')).toBe('long path');
    expect(statSync(join(root, 'etc')).mtimeMs).toBe(1_700_000_000_000);
    expect(a.stats.whiteouts).toBe(2);
    rmSync(root, { recursive: true, force: true });
  });

  const escapes: [string, TarItem[], string][] = [
    ['dot-dot', [{ name: '../evil.txt', body: 'x' }], "with '..'"],
    ['absolute', [{ name: '/evil-abs.txt', body: 'x' }], 'absolute'],
    ['through a symlink', [{ name: 'link', type: 'symlink', linkname: '/tmp' }, { name: 'link/evil.txt', body: 'x' }], 'through the symlink /link'],
    ['through a relative symlink', [{ name: 'up', type: 'symlink', linkname: '../..' }, { name: 'up/evil.txt', body: 'x' }], 'through the symlink /up'],
    ['hardlink out', [{ name: 'h', type: 'link', linkname: '../../etc/passwd' }], "with '..'"],
    ['whiteout out', [{ name: '../.wh.x', body: '' }], "with '..'"],
  ];
  for (const [what, items, msg] of escapes) {
    test(`refuses an entry escaping the root: ${what}`, async () => {
      const outer = tmp('esc');
      const root = join(outer, 'a', 'root');
      mkdirSync(root, { recursive: true });
      await expect(apply(root, items)).rejects.toThrow(msg);
      expect(existsSync(join(outer, 'a', 'evil.txt'))).toBe(false);
      expect(existsSync('/evil-abs.txt')).toBe(false);
      expect(existsSync('/tmp/evil.txt')).toBe(false);
      rmSync(outer, { recursive: true, force: true });
    });
  }

  test('CLI: a tarball with an escaping entry is refused in one line and nothing is registered', async () => {
    const w = tmp('tarcli');
    const root = join(w, 'root');
    const t = join(w, 'evil.tar');
    writeFileSync(t, await makeTar([{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', body: '#!' }, { name: '../../evil.txt', body: 'x' }]));
    const r = await wulf(root, ['image', 'import', t, 'evil']);
    expect(r.code).not.toBe(0);
    expect(r.err.trim().split('\n').filter((l) => !l.startsWith('applying')).join('\n')).toMatch(/^.*"\.\.\/\.\.\/evil\.txt".*refusing to import[^\n]*(\n[^\n]*)?$/);
    expect(existsSync(join(w, 'evil.txt'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/wulf/images/evil'))).toBe(false);
    // a plain directory must hold /bin/sh; a good one imports and --update adds to it
    mkdirSync(join(w, 'empty'));
    expect((await wulf(root, ['image', 'import', join(w, 'empty'), 'e'])).err).toContain('no /bin/sh');
    makeRootfs(join(w, 'fs'));
    expect((await wulf(root, ['image', 'import', join(w, 'fs'), 'bb'])).code).toBe(0);
    writeFileSync(t, await makeTar([{ name: 'etc/added', body: 'added\n' }, { name: 'etc/.wh.hostname', body: '' }]));
    const u = await wulf(root, ['image', 'import', '--update', t, 'bb']);
    expect(u.code).toBe(0);
    const rf = join(root, 'var/lib/wulf/images/bb/rootfs');
    expect(readFileSync(join(rf, 'etc/added'), 'utf8')).toBe('added\n');
    expect(existsSync(join(rf, 'etc/hostname'))).toBe(false);
    expect(existsSync(join(rf, 'bin/busybox'))).toBe(true);
    rmSync(w, { recursive: true, force: true });
  }, 30_000);

  test('disk full during import: one line, nothing registered, temp removed', async () => {
    const w = tmp('full');
    const root = join(w, 'root');
    const images = join(root, 'var/lib/wulf/images');
    mkdirSync(images, { recursive: true });
    const t = join(w, 'big.tar');
    writeFileSync(t, await makeTar([{ name: 'bin/', type: 'directory' }, { name: 'bin/sh', body: '#!' }, { name: 'big', body: 'x'.repeat(3 << 20) }]));
    const m = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', images]);
    if (m.exitCode !== 0) throw new Error(`mount tmpfs failed: ${m.stderr}`);
    try {
      const r = await wulf(root, ['image', 'import', t, 'big']);
      expect(r.code).not.toBe(0);
      expect(r.err).toContain('disk full while importing big');
      expect(readdirSync(images)).toEqual([]);
    } finally { Bun.spawnSync(['umount', images]); rmSync(w, { recursive: true, force: true }); }
  }, 30_000);
});
