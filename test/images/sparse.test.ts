// GNU sparse members (old GNU 'S' with and without extension headers, PAX 0.0, 0.1 and 1.0) made by
// GNU tar --sparse are rebuilt with their holes: same bytes, same size, few blocks; the members after
// them still line up. A sparse map that does not fit its member is refused in one line.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { LayerApplier } from '../../src/images/extract.ts';
import { makeTar, need, sh, tmp, wulf } from './peers.ts';

const MiB = 1 << 20;
let w: string, src: string;

/** d/many: 6 MiB with 7 data runs (more than the 4 an old GNU header holds); d/empty: 1 MiB of hole; d/after: a plain file. */
beforeAll(() => {
  need('tar', 'tar');
  w = tmp('sparse');
  src = join(w, 'src');
  mkdirSync(join(src, 'd'), { recursive: true });
  const fd = openSync(join(src, 'd/many'), 'w');
  for (let i = 0; i < 7; i++) {
    const chunk = Buffer.alloc(4096 + i * 100, 0);
    for (let j = 0; j < chunk.length; j++) chunk[j] = (j * 31 + i * 7) & 0xff || 1;
    writeSync(fd, chunk, 0, chunk.length, i * 800_000 + 12_288);
  }
  closeSync(fd);
  sh(['truncate', '-s', String(6 * MiB), join(src, 'd/many')]);
  sh(['truncate', '-s', String(MiB), join(src, 'd/empty')]);
  writeFileSync(join(src, 'd/after'), 'after the sparse members\n');
});
afterAll(() => rmSync(w, { recursive: true, force: true }));

const formats: [string, string[]][] = [
  ['gnu (old GNU S, extension headers)', ['--format=gnu']],
  ['posix, sparse 0.0', ['--format=posix', '--sparse-version=0.0']],
  ['posix, sparse 0.1', ['--format=posix', '--sparse-version=0.1']],
  ['posix, sparse 1.0 (GNU tar default)', ['--format=posix']],
];

function check(root: string) {
  for (const f of ['many', 'empty']) {
    const want = readFileSync(join(src, 'd', f));
    const got = readFileSync(join(root, 'd', f));
    expect(got.length).toBe(want.length);
    expect(got.equals(want)).toBe(true);
    expect(lstatSync(join(root, 'd', f)).blocks * 512).toBeLessThan(want.length / 4); // the holes stayed holes
  }
  expect(readFileSync(join(root, 'd/after'), 'utf8')).toBe('after the sparse members\n');
  expect(readdirSync(join(root, 'd')).sort()).toEqual(['after', 'empty', 'many']); // no GNUSparseFile.PID directory
}

describe('GNU sparse members', () => {
  for (const [label, args] of formats) {
    test(label, async () => {
      const layer = join(w, `layer-${args.join('')}.tar`);
      sh(['tar', '--sparse', ...args, '--numeric-owner', '-C', src, '-cf', layer, 'd']);
      const root = join(w, `root-${args.join('')}`);
      mkdirSync(root);
      const a = new LayerApplier(root);
      const raw = readFileSync(layer);
      if (args[0] === '--format=gnu')
        // an 'S' header with an extension block
        expect(raw.subarray(0, raw.length - 1024).some((_, i) => i % 512 === 0 && raw[i + 156] === 0x53 && raw[i + 482] === 1)).toBe(true);
      const chunks: Buffer[] = [];
      for (let i = 0; i < raw.length; i += 97) chunks.push(raw.subarray(i, i + 97)); // headers, extension blocks and maps split across chunks
      await a.apply(Readable.from(chunks));
      a.finish();
      check(root);
    }, 30_000);
  }

  test('wulf image import of a gzip layer made with tar --sparse --format=gnu', async () => {
    const layer = join(w, 'cli.tar');
    mkdirSync(join(src, 'bin'), { recursive: true });
    writeFileSync(join(src, 'bin/sh'), '#!\n');
    sh(['tar', '--sparse', '--format=gnu', '-C', src, '-czf', layer, 'bin', 'd']);
    const wr = join(w, 'wroot');
    const r = await wulf(wr, ['image', 'import', layer, 'sp']);
    expect(r.code).toBe(0);
    check(join(wr, 'var/lib/wulf/images/sp/rootfs'));
  }, 30_000);

  test('a sparse map reaching past the data it describes is refused in one line naming the entry', async () => {
    const layer = join(w, 'bad.tar');
    sh(['tar', '--sparse', '--format=posix', '--sparse-version=0.1', '-C', src, '-cf', layer, 'd/many']);
    const raw = readFileSync(layer);
    const s = raw.toString('latin1');
    const at = s.indexOf('GNU.sparse.map=') + 'GNU.sparse.map='.length;
    raw.write('9', at + s.slice(at).indexOf(',') + 1, 'latin1'); // first run's length 4096 → 9096: more than is stored
    const root = join(w, 'bad-root');
    mkdirSync(root);
    const a = new LayerApplier(root);
    await expect(a.apply(Readable.from([raw]))).rejects.toThrow(/^layer entry "d\/many": sparse map .*; refusing to import$/);
  });

  test('a member of a type wulf has no use for is refused in one line, not dropped; a volume label is skipped', async () => {
    const raw = Buffer.from(
      await makeTar([
        { name: 'a', body: 'a' },
        { name: 'b', body: 'b' },
      ]),
    );
    const retype = (buf: Buffer, at: number, t: string) => {
      buf[at + 156] = t.charCodeAt(0);
      buf.fill(0x20, at + 148, at + 156);
      let sum = 0;
      for (let i = at; i < at + 512; i++) sum += buf[i]!;
      buf.write(sum.toString(8).padStart(6, '0') + '\0 ', at + 148, 'latin1');
    };
    const d = Buffer.from(raw);
    retype(d, 1024, 'M'); // b: a multi-volume continuation
    const root = join(w, 'types');
    mkdirSync(root);
    await expect(new LayerApplier(root).apply(Readable.from([d]))).rejects.toThrow(
      /^layer entry "b" has tar type 'M' \(a multi-volume continuation\), which wulf cannot import; refusing to import$/,
    );
    const v = Buffer.from(raw);
    retype(v, 0, 'V'); // a: the archive's label
    const root2 = join(w, 'label');
    mkdirSync(root2);
    await new LayerApplier(root2).apply(Readable.from([v]));
    expect(readdirSync(root2)).toEqual(['b']);
  });

  test('a sparse file larger than the filesystem allows is one line, not an internal error', async () => {
    const p = tar.pack();
    const chunks: Buffer[] = [];
    const done = (async () => {
      for await (const c of p) chunks.push(c as Buffer);
    })();
    p.entry(
      {
        name: 'big',
        size: 1,
        pax: { 'GNU.sparse.size': String(2 ** 52), 'GNU.sparse.numblocks': '1', 'GNU.sparse.map': `${2 ** 52 - 1},1` },
      },
      'x',
    );
    p.finalize();
    await done;
    const root = join(w, 'big');
    mkdirSync(root);
    await expect(new LayerApplier(root).apply(Readable.from([Buffer.concat(chunks)]))).rejects.toThrow(
      /^layer entry "big": sparse real size 4503599627370496 is more than the image's filesystem allows \(EFBIG\); refusing to import$/,
    );
  });
});
