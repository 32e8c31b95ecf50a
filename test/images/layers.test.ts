// Hand-made layer tars: whiteouts, an opaque marker after new files, hardlinks, a device node,
// setuid, numeric owners, mtimes, a >100-char path, symlinks; and every way out of the root refused.
import { describe, expect, test } from 'bun:test';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LayerApplier } from '../../src/images/extract.ts';
import { lgetxattr, lsetxattr } from '../../src/images/sysfs.ts';
import { makeRootfs, makeTar, sh, tmp, wulf, type TarItem } from './peers.ts';

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
      { name: 'etc/', type: 'directory' },
      { name: 'etc/keep', body: 'k' },
      { name: 'etc/drop', body: 'd' },
      { name: 'data/', type: 'directory', mode: 0o700, uid: 1234, gid: 5678 },
      { name: 'data/old1', body: 'o1' },
      { name: 'data/sub/', type: 'directory' },
      { name: 'data/sub/old2', body: 'o2' },
      { name: 'usr/', type: 'directory' },
      { name: 'usr/bin/', type: 'directory' },
      { name: 'usr/bin/su', body: '#!', mode: 0o4755, uid: 0, gid: 0 },
      { name: 'usr/bin/owned', body: 'x', uid: 1234, gid: 5678, mtime: new Date(1_500_000_000_000) },
      { name: 'usr/bin/hard', type: 'link', linkname: 'usr/bin/owned' },
      { name: 'usr/bin/abs', type: 'symlink', linkname: '/usr/bin/su' },
      { name: 'usr/bin/rel', type: 'symlink', linkname: '../bin/su' },
      { name: 'dev/', type: 'directory' },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: long, body: 'long path' },
    ];
    const upper: TarItem[] = [
      { name: 'etc/.wh.drop', body: '' },
      { name: 'data/', type: 'directory', mode: 0o700, uid: 1234, gid: 5678 },
      { name: 'data/new', body: 'n' },
      { name: 'data/sub/', type: 'directory' },
      { name: 'data/sub/new2', body: 'n2' },
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
    [
      'through a symlink',
      [
        { name: 'link', type: 'symlink', linkname: '/tmp' },
        { name: 'link/evil.txt', body: 'x' },
      ],
      'through the symlink /link',
    ],
    [
      'through a relative symlink',
      [
        { name: 'up', type: 'symlink', linkname: '../..' },
        { name: 'up/evil.txt', body: 'x' },
      ],
      'through the symlink /up',
    ],
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
    writeFileSync(
      t,
      await makeTar([
        { name: 'bin/', type: 'directory' },
        { name: 'bin/sh', body: '#!' },
        { name: '../../evil.txt', body: 'x' },
      ]),
    );
    const r = await wulf(root, ['image', 'import', t, 'evil']);
    expect(r.code).not.toBe(0);
    expect(
      r.err
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('applying'))
        .join('\n'),
    ).toMatch(/^.*"\.\.\/\.\.\/evil\.txt".*refusing to import[^\n]*(\n[^\n]*)?$/);
    expect(existsSync(join(w, 'evil.txt'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/wulf/images/evil'))).toBe(false);
    // a plain directory must hold /bin/sh; a good one imports and --update adds to it
    mkdirSync(join(w, 'empty'));
    expect((await wulf(root, ['image', 'import', join(w, 'empty'), 'e'])).err).toContain('no /bin/sh');
    makeRootfs(join(w, 'fs'));
    expect((await wulf(root, ['image', 'import', join(w, 'fs'), 'bb'])).code).toBe(0);
    writeFileSync(
      t,
      await makeTar([
        { name: 'etc/added', body: 'added\n' },
        { name: 'etc/.wh.hostname', body: '' },
      ]),
    );
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
    writeFileSync(
      t,
      await makeTar([
        { name: 'bin/', type: 'directory' },
        { name: 'bin/sh', body: '#!' },
        { name: 'big', body: 'x'.repeat(3 << 20) },
      ]),
    );
    const m = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', images]);
    if (m.exitCode !== 0) throw new Error(`mount tmpfs failed: ${m.stderr}`);
    try {
      const r = await wulf(root, ['image', 'import', t, 'big']);
      expect(r.code).not.toBe(0);
      expect(r.err).toContain('disk full while importing big');
      expect(readdirSync(images)).toEqual([]);
    } finally {
      Bun.spawnSync(['umount', images]);
      rmSync(w, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('layer xattrs (PAX SCHILY.xattr.*)', () => {
  // VFS_CAP_REVISION_2 | effective, permitted = cap_setuid (bit 7) + cap_net_raw (bit 13): 0x80 is not valid UTF-8 alone
  const cap = new Uint8Array([0x01, 0x00, 0x00, 0x02, 0x80, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const hex = (b?: Uint8Array) => (b ? Buffer.from(b).toString('hex') : 'none');

  test('GNU tar --xattrs layer: binary security.capability and user.* kept on files, hardlinks and dirs; wulf image import', async () => {
    const w = tmp('xattr');
    const src = join(w, 'src');
    const deep = 'usr/' + 'x'.repeat(90) + '/' + 'y'.repeat(40);
    for (const d of ['bin', 'etc', deep]) mkdirSync(join(src, d), { recursive: true });
    writeFileSync(join(src, 'bin/ping'), 'ping binary\n');
    writeFileSync(join(src, 'bin/plain'), 'x'.repeat(70_000)); // data blocks to skip between members
    writeFileSync(join(src, deep, 'newuidmap'), 'n\n'); // a long name (PAX path) with xattrs
    writeFileSync(join(src, 'etc/noattr'), 'n\n');
    lsetxattr(join(src, 'bin/ping'), 'security.capability', cap);
    lsetxattr(join(src, 'bin/ping'), 'user.test', new TextEncoder().encode('hello \u00e9'));
    lsetxattr(join(src, deep, 'newuidmap'), 'security.capability', cap);
    lsetxattr(join(src, 'etc'), 'user.dir', new TextEncoder().encode('d'));
    sh(['ln', join(src, 'bin/ping'), join(src, 'bin/ping-hard')]);
    const layer = join(w, 'layer.tar');
    sh(['tar', '--xattrs', '--xattrs-include=*', '--numeric-owner', '--format=posix', '-C', src, '-cf', layer, 'bin', 'etc', 'usr']);
    const raw = readFileSync(layer);
    expect(raw.includes('SCHILY.xattr.security.capability=')).toBe(true);
    expect(raw.includes('SCHILY.xattr.user.test=')).toBe(true);

    const check = (root: string) => {
      expect(hex(lgetxattr(join(root, 'bin/ping'), 'security.capability'))).toBe(hex(cap));
      expect(Buffer.from(lgetxattr(join(root, 'bin/ping'), 'user.test') ?? []).toString()).toBe('hello \u00e9');
      expect(hex(lgetxattr(join(root, 'bin/ping-hard'), 'security.capability'))).toBe(hex(cap));
      expect(hex(lgetxattr(join(root, deep, 'newuidmap'), 'security.capability'))).toBe(hex(cap));
      expect(Buffer.from(lgetxattr(join(root, 'etc'), 'user.dir') ?? []).toString()).toBe('d');
      expect(lgetxattr(join(root, 'etc/noattr'), 'user.test')).toBeUndefined();
      expect(lgetxattr(join(root, 'bin/plain'), 'security.capability')).toBeUndefined();
      expect(readFileSync(join(root, 'bin/plain'), 'utf8').length).toBe(70_000);
    };
    // the applier directly
    const root = join(w, 'root');
    mkdirSync(root);
    const a = new LayerApplier(root);
    await a.apply(Readable.from([raw.subarray(0, 700), raw.subarray(700, 3000), raw.subarray(3000)])); // headers split across chunks
    a.finish();
    expect(a.stats.skippedXattrs).toBe(0);
    check(root);
    // and the compiled CLI, gzip-compressed tarball as the source
    sh(['gzip', '-k', layer]);
    const wr = join(w, 'wroot');
    const r = await wulf(wr, ['image', 'import', layer + '.gz', 'caps']);
    expect(r.code).toBe(0);
    expect(r.err).not.toContain('could not be set');
    check(join(wr, 'var/lib/wulf/images/caps/rootfs'));
    if (Bun.which('getcap'))
      expect(sh(['getcap', join(wr, 'var/lib/wulf/images/caps/rootfs/bin/ping')])).toContain('cap_setuid,cap_net_raw=ep');
    rmSync(w, { recursive: true, force: true });
  }, 60_000);
});
