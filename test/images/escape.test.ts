// No write into an image tree follows a link out of it. Each door gets a hostile layer or tree and a
// decoy beside the image root (stand-in for the controller's /etc): after the operation the decoy
// is byte-for-byte, mode, mtime and link count the same, and a refusal is one line.
import { afterAll, describe, expect, test } from 'bun:test';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LayerApplier } from '../../src/images/extract.ts';
import { makeRootfs, makeTar, sh, tmp, wulf, type TarItem } from './peers.ts';

const T0 = new Date('2020-01-02T03:04:05Z');
const outers: string[] = [];
afterAll(() => {
  for (const o of outers) rmSync(o, { recursive: true, force: true });
});

/** outer/{decoy/{shadow, e/, e/f}, root/}: the decoy and a fresh image root beside it. */
function setup(label: string) {
  const outer = tmp(label);
  outers.push(outer);
  const decoy = join(outer, 'decoy');
  mkdirSync(join(decoy, 'e'), { recursive: true });
  writeFileSync(join(decoy, 'shadow'), 'secret\n', { mode: 0o600 });
  writeFileSync(join(decoy, 'e/f'), 'f\n');
  for (const p of ['shadow', 'e/f', 'e', '.']) utimesSync(join(decoy, p), T0, T0);
  const root = join(outer, 'root');
  mkdirSync(root);
  return { outer, decoy, root };
}

/** Everything that could change in the decoy. */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (rel: string) => {
    const p = rel ? join(dir, rel) : dir;
    const st = lstatSync(p);
    out.push(
      `${rel || '.'} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${st.nlink}${st.isFile() ? ' ' + readFileSync(p, 'utf8') : ''}`,
    );
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out.join('\n');
}

async function apply(root: string, ...layers: TarItem[][]) {
  const a = new LayerApplier(root);
  for (const l of layers) await a.apply(Readable.from([Buffer.from(await makeTar(l))]));
  a.finish();
  return a;
}

describe('layer extraction never writes through a link', () => {
  // [what, layers (DECOY is replaced by the decoy's absolute path), refusal message or null when the layer applies]
  const cases: [string, TarItem[][], RegExp | null][] = [
    [
      'a file under a parent symlinked to the decoy',
      [
        [
          { name: 'etc', type: 'symlink', linkname: 'DECOY' },
          { name: 'etc/shadow', body: 'pwned\n' },
        ],
      ],
      /"etc\/shadow" would be written through the symlink \/etc/,
    ],
    [
      'a file under a parent a later layer turned into a symlink',
      [
        [
          { name: 'etc/', type: 'directory' },
          { name: 'etc/a', body: 'a' },
        ],
        [
          { name: 'etc', type: 'symlink', linkname: 'DECOY' },
          { name: 'etc/shadow', body: 'pwned\n' },
        ],
      ],
      /through the symlink \/etc/,
    ],
    [
      'a relative symlink climbing out',
      [
        [
          { name: 'up', type: 'symlink', linkname: '../decoy' },
          { name: 'up/shadow', body: 'pwned\n' },
        ],
      ],
      /through the symlink \/up/,
    ],
    [
      'a hardlink whose target path crosses a symlink',
      [
        [
          { name: 'lnk', type: 'symlink', linkname: 'DECOY' },
          { name: 'h', type: 'link', linkname: 'lnk/shadow' },
        ],
      ],
      /through the symlink \/lnk/,
    ],
    ['a hardlink with an absolute target', [[{ name: 'h', type: 'link', linkname: 'DECOY/shadow' }]], /absolute hardlink target/],
    [
      'a hardlink to a symlink that points at the decoy (links the symlink, not the file)',
      [
        [
          { name: 's', type: 'symlink', linkname: 'DECOY/shadow' },
          { name: 'h', type: 'link', linkname: 's' },
        ],
      ],
      null,
    ],
    [
      'a file replacing a symlink to the decoy',
      [
        [
          { name: 'f', type: 'symlink', linkname: 'DECOY/shadow' },
          { name: 'f', body: 'pwned\n', mode: 0o777 },
        ],
      ],
      null,
    ],
    [
      'a directory replacing a symlink to the decoy',
      [
        [
          { name: 'd', type: 'symlink', linkname: 'DECOY' },
          { name: 'd/', type: 'directory', mode: 0o777, uid: 1234 },
        ],
      ],
      null,
    ],
    [
      'a device replacing a symlink to the decoy',
      [
        [
          { name: 'n', type: 'symlink', linkname: 'DECOY/shadow' },
          { name: 'n', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
        ],
      ],
      null,
    ],
    [
      'a whiteout under a symlinked parent',
      [
        [
          { name: 'lnk', type: 'symlink', linkname: 'DECOY' },
          { name: 'lnk/.wh.shadow', body: '' },
        ],
      ],
      /through the symlink \/lnk/,
    ],
    [
      'a whiteout of a symlink (removes the link only)',
      [[{ name: 's', type: 'symlink', linkname: 'DECOY' }], [{ name: '.wh.s', body: '' }]],
      null,
    ],
    [
      'an opaque marker under a symlinked parent',
      [
        [
          { name: 'lnk', type: 'symlink', linkname: 'DECOY' },
          { name: 'lnk/.wh..wh..opq', body: '' },
        ],
      ],
      /through the symlink \/lnk/,
    ],
    [
      'an opaque directory the same layer replaced by a symlink',
      [
        [
          { name: 'd/', type: 'directory' },
          { name: 'd/.wh..wh..opq', body: '' },
          { name: 'd', type: 'symlink', linkname: 'DECOY' },
        ],
      ],
      /opaque directory \/d is no longer a directory/,
    ],
    [
      'a directory mtime set after the directory became a symlink',
      [
        [
          { name: 'd/', type: 'directory', mtime: new Date(1_000_000_000_000) },
          { name: 'd', type: 'symlink', linkname: 'DECOY' },
        ],
      ],
      null,
    ],
    [
      'a nested directory mtime through a parent that became a symlink',
      [
        [
          { name: 'd/', type: 'directory' },
          { name: 'd/e/', type: 'directory', mtime: new Date(1_000_000_000_000) },
          { name: 'd', type: 'symlink', linkname: 'DECOY' },
        ],
      ],
      null,
    ],
  ];
  for (const [what, layers, refusal] of cases) {
    test(what, async () => {
      const { decoy, root } = setup('esc');
      const before = snapshot(decoy);
      const fill = layers.map((l) =>
        l.map((it) => (it.linkname?.startsWith('DECOY') ? { ...it, linkname: decoy + it.linkname.slice(5) } : it)),
      );
      const run = apply(root, ...fill);
      if (refusal) await expect(run).rejects.toThrow(refusal);
      else await run;
      expect(snapshot(decoy)).toBe(before);
    });
  }

  for (const wh of ['.wh.', '.wh..', 'etc/.wh..']) {
    test(`a whiteout naming no entry ("${wh}") is refused and removes nothing`, async () => {
      const { root } = setup('esc-wh');
      await expect(
        apply(root, [
          { name: 'etc/', type: 'directory' },
          { name: 'etc/keep', body: 'k' },
          { name: wh, body: '' },
        ]),
      ).rejects.toThrow(`layer entry "${wh}" is a whiteout that names no entry; refusing to import`);
      expect(readFileSync(join(root, 'etc/keep'), 'utf8')).toBe('k');
    });
  }

  test('a hostile entry name cannot break the error line or drive the terminal', async () => {
    const { root } = setup('esc-name');
    const err = await apply(root, [{ name: '../\x1b[2J\x1b[31mok\nwulf: imported', body: 'x' }]).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(err).toBe('layer entry "../\\x1b[2J\\x1b[31mok\\nwulf: imported" has a path with \'..\'; refusing to import');
  });

  test('what the applied cases leave in the image', async () => {
    const { decoy, root } = setup('esc-ok');
    await apply(root, [
      { name: 's', type: 'symlink', linkname: join(decoy, 'shadow') },
      { name: 'h', type: 'link', linkname: 's' },
      { name: 'f', type: 'symlink', linkname: join(decoy, 'shadow') },
      { name: 'f', body: 'mine\n' },
      { name: 'd', type: 'symlink', linkname: decoy },
      { name: 'd/', type: 'directory', mode: 0o750 },
    ]);
    expect(readlinkSync(join(root, 'h'))).toBe(join(decoy, 'shadow'));
    expect(lstatSync(join(root, 'h')).ino).toBe(lstatSync(join(root, 's')).ino);
    expect(readFileSync(join(root, 'f'), 'utf8')).toBe('mine\n');
    expect(lstatSync(join(root, 'd')).isDirectory()).toBe(true);
    expect(statSync(join(root, 'd')).mode & 0o777).toBe(0o750);
  });
});

describe('image import (compiled CLI)', () => {
  test('a layer whose opaque directory becomes a symlink: one line, the decoy kept, nothing registered', async () => {
    const { outer, decoy } = setup('esc-cli');
    const before = snapshot(decoy);
    const t = join(outer, 'evil.tar');
    writeFileSync(
      t,
      await makeTar([
        { name: 'bin/', type: 'directory' },
        { name: 'bin/sh', body: '#!' },
        { name: 'd/', type: 'directory' },
        { name: 'd/.wh..wh..opq', body: '' },
        { name: 'd', type: 'symlink', linkname: decoy },
      ]),
    );
    const wr = join(outer, 'wroot');
    const r = await wulf(wr, ['image', 'import', t, 'evil']);
    expect(r.code).not.toBe(0);
    expect(r.err.split('\n').filter((l) => l && !l.startsWith('applying'))).toEqual([
      `wulf: layer entry "d/.wh..wh..opq": the opaque directory /d is no longer a directory (a later entry replaced it); refusing to import`,
    ]);
    expect(snapshot(decoy)).toBe(before);
    expect(existsSync(join(wr, 'var/lib/wulf/images/evil'))).toBe(false);
  }, 30_000);

  test('a layer setting a directory mtime through a symlink leaves the decoy alone (--update over an existing tree)', async () => {
    const { outer, decoy } = setup('esc-upd');
    const before = snapshot(decoy);
    const fs = makeRootfs(join(outer, 'fs'));
    const wr = join(outer, 'wroot');
    expect((await wulf(wr, ['image', 'import', fs, 'img'])).code).toBe(0);
    const t = join(outer, 'upd.tar');
    writeFileSync(
      t,
      await makeTar([
        { name: 'opt/', type: 'directory', mtime: new Date(1_000_000_000_000) },
        { name: 'opt', type: 'symlink', linkname: decoy },
      ]),
    );
    const r = await wulf(wr, ['image', 'import', '--update', t, 'img']);
    expect(r.code).toBe(0);
    expect(readlinkSync(join(wr, 'var/lib/wulf/images/img/rootfs/opt'))).toBe(decoy);
    expect(snapshot(decoy)).toBe(before);
  }, 30_000);

  test("--update from a directory replaces the image's links instead of writing through them", async () => {
    const { outer, decoy } = setup('esc-dir');
    const before = snapshot(decoy);
    const fs = makeRootfs(join(outer, 'fs'));
    symlinkSync(join(decoy, 'shadow'), join(fs, 'etc/shadow')); // the image, as it came from the internet
    symlinkSync(decoy, join(fs, 'lib'));
    const wr = join(outer, 'wroot');
    expect((await wulf(wr, ['image', 'import', fs, 'img'])).code).toBe(0);
    const upd = join(outer, 'upd');
    mkdirSync(join(upd, 'etc'), { recursive: true });
    mkdirSync(join(upd, 'bin'));
    writeFileSync(join(upd, 'bin/sh'), '#!/bin/busybox\n'); // a directory source must look like a root filesystem
    writeFileSync(join(upd, 'etc/shadow'), 'root:*:1::::::\n');
    const r = await wulf(wr, ['image', 'import', '--update', upd, 'img']);
    expect(r.code).toBe(0);
    const rf = join(wr, 'var/lib/wulf/images/img/rootfs');
    expect(lstatSync(join(rf, 'etc/shadow')).isFile()).toBe(true);
    expect(readFileSync(join(rf, 'etc/shadow'), 'utf8')).toBe('root:*:1::::::\n');
    mkdirSync(join(upd, 'lib'));
    writeFileSync(join(upd, 'lib/x'), 'x\n');
    const l = await wulf(wr, ['image', 'import', '--update', upd, 'img']); // a directory where the image has a link: refused
    expect(l.code).toBe(1);
    expect(l.err.split('\n').filter((x) => x && !x.startsWith('copying')).length).toBe(1);
    expect(l.err).toContain('cannot overwrite non-directory');
    expect(snapshot(decoy)).toBe(before);
  }, 60_000);

  test('oci-archive: an archive member through a symlink stops the import in one line, the decoy kept', async () => {
    const { outer, decoy } = setup('esc-arch');
    const before = snapshot(decoy);
    const t = join(outer, 'evil.oci.tar');
    writeFileSync(
      t,
      await makeTar([
        { name: 'blobs', type: 'symlink', linkname: decoy },
        { name: 'blobs/shadow', body: 'pwned\n' },
        { name: 'index.json', body: '{}' },
      ]),
    );
    const wr = join(outer, 'wroot');
    const r = await wulf(wr, ['image', 'import', `oci-archive:${t}`, 'evil']);
    expect(r.code).not.toBe(0);
    const lines = r.err.split('\n').filter((l) => l && !l.startsWith('unpacking'));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain('blobs/shadow');
    expect(snapshot(decoy)).toBe(before);
  }, 30_000);
});

describe('image copy, build, exec on a hostile tree', () => {
  test('copy keeps links as links; build never reads excludes through a symlinked etc', async () => {
    const { outer, decoy } = setup('esc-tree');
    const fs = makeRootfs(join(outer, 'fs'));
    const wr = join(outer, 'wroot');
    expect((await wulf(wr, ['image', 'import', fs, 'img'])).code).toBe(0);
    const rf = join(wr, 'var/lib/wulf/images/img/rootfs');
    // the image's /etc is a link to an absolute path that, on the controller, is the decoy, which has excludes
    mkdirSync(join(decoy, 'wulf'));
    writeFileSync(join(decoy, 'wulf/excludes'), '/bin\n');
    utimesSync(join(decoy, 'wulf'), T0, T0);
    utimesSync(decoy, T0, T0);
    const before = snapshot(decoy);
    rmSync(join(rf, 'etc'), { recursive: true });
    symlinkSync(decoy, join(rf, 'etc'));
    symlinkSync('../../../../../../../decoy/shadow', join(rf, 'shadow'));
    const c = await wulf(wr, ['image', 'copy', 'img', 'img2']);
    expect(c.code).toBe(0);
    const rf2 = join(wr, 'var/lib/wulf/images/img2/rootfs');
    expect(readlinkSync(join(rf2, 'etc'))).toBe(decoy);
    expect(lstatSync(join(rf2, 'shadow')).isSymbolicLink()).toBe(true);
    const b = await wulf(wr, ['image', 'build', 'img']);
    expect(b.code).toBe(0);
    const art = join(
      wr,
      'var/lib/wulf/images/img/build',
      readdirSync(join(wr, 'var/lib/wulf/images/img/build')).find((f) => f.endsWith('.img.gz'))!,
    );
    const names = sh(['sh', '-c', `gzip -dc '${art}' | cpio -it --quiet`]).split('\n');
    expect(names).toContain('bin/busybox'); // the decoy's "/bin" exclude was not read
    expect(snapshot(decoy)).toBe(before);
  }, 60_000);

  test('exec: bind and copy targets through symlinks are refused in one line, the decoy kept', async () => {
    const { outer, decoy } = setup('esc-exec');
    const fs = makeRootfs(join(outer, 'fs'));
    const wr = join(outer, 'wroot');
    expect((await wulf(wr, ['image', 'import', fs, 'img'])).code).toBe(0);
    const rf = join(wr, 'var/lib/wulf/images/img/rootfs');
    const src = join(outer, 'hosts');
    writeFileSync(src, 'hosts from the controller\n');
    const before = snapshot(decoy);
    symlinkSync(join(decoy, 'shadow'), join(rf, 'etc/hosts'));
    const a = await wulf(wr, ['image', 'exec', '--build=false', '--bind', `${src}:/etc/hosts:copy`, 'img', '--', '/bin/true']);
    expect([a.code, a.err]).toEqual([1, 'wulf: bind target /etc/hosts is a symlink in the image\n']);
    rmSync(join(rf, 'etc'), { recursive: true });
    symlinkSync(decoy, join(rf, 'etc')); // on a node this is /decoy-path inside the image: not there
    const d = await wulf(wr, ['image', 'exec', '--build=false', 'img', '--', '/bin/true']); // the default resolv.conf mount
    expect([d.code, d.err]).toEqual([1, 'wulf: bind target /etc/resolv.conf: /etc is a symlink to a path the image does not have\n']);
    mkdirSync(join(wr, 'etc/wulf'), { recursive: true });
    writeFileSync(join(wr, 'etc/wulf/wulf.conf'), 'image mounts: []\n');
    const b = await wulf(wr, ['image', 'exec', '--build=false', '--bind', `${src}:/etc/e/f:copy`, 'img', '--', '/bin/true']);
    expect([b.code, b.err]).toEqual([1, 'wulf: bind target /etc/e/f: /etc is a symlink to a path the image does not have\n']);
    expect(existsSync(join(decoy, 'e/f.wulf-orig-' + process.pid))).toBe(false);
    expect(snapshot(decoy)).toBe(before);
  }, 60_000);
});
