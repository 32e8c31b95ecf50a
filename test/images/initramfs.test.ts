// Archives the kernel can unpack: each compressed stream of an image or overlay must be a whole
// newc archive ending on its trailer (else "junk at the end of compressed archive" and a panic).
// Images far larger than a compression block, gzip and zstd, hardlinks across the tree, a file
// larger than a block; the old "cut every 4 MiB" layout is refused by the same check.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { pathsFor } from '../../src/config/paths.ts';
import { buildImage } from '../../src/images/build.ts';
import { crc32Combine } from '../../src/lib/crc32.ts';
import { CpioWriter, readCpio } from '../../src/lib/cpio.ts';
import { checkInitramfs, zstdFrameLength } from '../../src/lib/initramfs.ts';
import { makeRootfs, tmp, wulf } from './peers.ts';

let w: string, root: string;
const rf = () => join(root, 'var/lib/wulf/images/big/rootfs');
const ab = (x: Uint8Array) => x as Uint8Array<ArrayBuffer>;
const noise = (n: number, seed: number) => {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
};

beforeAll(async () => {
  w = tmp('initramfs');
  root = join(w, 'root');
  const fs = makeRootfs(join(w, 'fs'));
  // ~20 MiB in 2,000 files over 40 directories, hardlinks far apart in the walk, one 9 MiB file
  for (let d = 0; d < 40; d++) {
    mkdirSync(join(fs, `usr/share/d${d}`), { recursive: true });
    for (let f = 0; f < 50; f++)
      writeFileSync(join(fs, `usr/share/d${d}/f${f}`), noise(5000 + ((d * 50 + f) % 7) * 1000, d * 1000 + f + 1));
  }
  linkSync(join(fs, 'usr/share/d0/f0'), join(fs, 'usr/share/d39/link-to-d0f0'));
  linkSync(join(fs, 'usr/share/d0/f0'), join(fs, 'bin/another-link'));
  mkdirSync(join(fs, 'opt'), { recursive: true });
  writeFileSync(join(fs, 'opt/huge'), noise(9 << 20, 7));
  symlinkSync('../opt/huge', join(fs, 'usr/huge-link'));
  const r = await wulf(root, ['image', 'import', fs, 'big']);
  if (r.code !== 0) throw new Error(r.err);
}, 120_000);
afterAll(() => rmSync(w, { recursive: true, force: true }));

/** Every stream decoded on its own, as the kernel does, into name → data. */
function unpackStreams(file: Uint8Array): { names: string[]; files: Map<string, Uint8Array> }[] {
  const rep = checkInitramfs(file);
  return rep.streams.map((s) => {
    const bytes = file.subarray(s.offset, s.offset + s.compressed);
    const raw = s.kind === 'zstd' ? Bun.zstdDecompressSync(bytes) : s.kind === 'gzip' ? zlib.gunzipSync(bytes) : bytes;
    const entries = readCpio(raw);
    return { names: entries.map((e) => e.name), files: new Map(entries.map((e) => [e.name, e.data ?? new Uint8Array()])) };
  });
}

function expectKernelOrder(streams: { names: string[] }[]) {
  const seen = new Set<string>(['.']);
  for (const s of streams)
    for (const n of s.names) {
      const parent = n.includes('/') ? n.slice(0, n.lastIndexOf('/')) : '.';
      if (n !== '.') expect(seen.has(parent) ? parent : `${parent} (missing before ${n})`).toBe(parent);
      seen.add(n);
    }
}

describe('kernel-valid image archives', () => {
  for (const compression of ['gzip', 'zstd'] as const) {
    test(`${compression}: every stream a whole archive, parents first, hardlinks together, content intact`, async () => {
      const r = await buildImage(pathsFor(root), 'big', { compression, chunkBytes: 1 << 20, force: true });
      const file = readFileSync(r.path);
      const rep = checkInitramfs(file);
      if (compression === 'gzip') expect(rep.streams.map((s) => s.kind)).toEqual(['gzip']);
      else {
        expect(rep.streams.length).toBeGreaterThan(8);
        expect(rep.streams.every((s) => s.kind === 'zstd')).toBe(true);
      }
      expect(rep.bytes).toBeGreaterThan(20 << 20);
      const streams = unpackStreams(file);
      expectKernelOrder(streams);
      // the three names of one inode are in one archive, and the data travels with the first
      const group = ['usr/share/d0/f0', 'usr/share/d39/link-to-d0f0', 'bin/another-link'];
      const holder = streams.filter((s) => group.some((g) => s.names.includes(g)));
      expect(holder.length).toBe(1);
      for (const g of group) expect(holder[0]!.names).toContain(g);
      const all = new Map<string, Uint8Array>();
      for (const s of streams) for (const [k, v] of s.files) if (!all.has(k) || v.length) all.set(k, v);
      expect(Buffer.from(all.get('opt/huge')!).equals(readFileSync(join(rf(), 'opt/huge')))).toBe(true);
      expect(Buffer.from(all.get('usr/share/d17/f33')!).equals(readFileSync(join(rf(), 'usr/share/d17/f33')))).toBe(true);
      expect(new TextDecoder().decode(all.get('usr/huge-link')!)).toBe('../opt/huge');
      const linked = group.map((g) => all.get(g)!).find((d) => d.length)!;
      expect(Buffer.from(linked).equals(readFileSync(join(rf(), 'usr/share/d0/f0')))).toBe(true);
      expect(rep.entries).toBe(streams.reduce((n, s) => n + s.names.length, 0));
    }, 120_000);
  }

  test('the old layout (one archive cut into members every 1 MiB) is refused as the kernel would', () => {
    const cw = new CpioWriter();
    cw.add({ name: 'a', mode: 0o040755 });
    for (let i = 0; i < 6; i++) cw.add({ name: `a/f${i}`, mode: 0o100644, data: noise(500_000, i + 1) });
    const whole = cw.finish();
    const cut: Uint8Array[] = [];
    for (let off = 0; off < whole.length; off += 1 << 20) cut.push(Bun.gzipSync(ab(whole.subarray(off, off + (1 << 20)))));
    expect(() => checkInitramfs(Buffer.concat(cut))).toThrow(/stream 1 .*junk at the end of compressed archive/);
    // the same archive as one member, or split where each member is a whole archive, is fine
    expect(checkInitramfs(Bun.gzipSync(ab(whole))).entries).toBe(7);
    const a = new CpioWriter();
    a.add({ name: 'x', mode: 0o100644, data: new Uint8Array([1]) });
    const b = new CpioWriter();
    b.add({ name: 'y', mode: 0o100644 });
    const za = Bun.zstdCompressSync(ab(a.finish())),
      gb = Bun.gzipSync(ab(b.finish()));
    const two = Buffer.concat([za, new Uint8Array(4), gb]);
    expect(checkInitramfs(two).streams.map((s) => [s.kind, s.offset, s.entries])).toEqual([
      ['zstd', 0, 1],
      ['gzip', za.length + 4, 1],
    ]);
    expect(zstdFrameLength(two, 0)).toBe(za.length);
    expect(() => checkInitramfs(Buffer.from('not an archive'))).toThrow(/invalid magic/);
    const truncated = Bun.gzipSync(ab(whole)).subarray(0, 1000);
    expect(() => checkInitramfs(truncated)).toThrow(/stream 1/);
  });

  test('crc32 of a concatenation from its parts', () => {
    for (const [n1, n2] of [
      [0, 5],
      [5, 0],
      [1, 1],
      [100_000, 3],
      [7, 1 << 20],
    ] as const) {
      const a = noise(n1, n1 + 3),
        b = noise(n2, n2 + 9);
      expect(crc32Combine(Bun.hash.crc32(a), Bun.hash.crc32(b), b.length)).toBe(Bun.hash.crc32(Buffer.concat([a, b])) >>> 0);
    }
  });

  test('overlay archives: one gzip member and one archive, which gzip -dc | cpio reads whole', async () => {
    expect((await wulf(root, ['init', '--address', '127.0.0.1/8'])).code).toBe(0);
    expect(
      (
        await wulf(root, [
          'node',
          'add',
          'o1',
          '--hwaddr',
          '52:54:00:aa:00:01',
          '--ipaddr',
          '10.0.0.5',
          '--netmask',
          '255.255.255.0',
          '--image',
          'big',
        ])
      ).code,
    ).toBe(0);
    const b = await wulf(root, ['overlay', 'build', 'o1']);
    expect(b.code).toBe(0);
    const dir = join(root, 'var/lib/wulf/cache/overlays/o1');
    const files = readdirSync(dir).filter((f) => f.endsWith('.img.gz'));
    expect(files.length).toBe(2);
    for (const f of files) {
      const bytes = readFileSync(join(dir, f));
      const rep = checkInitramfs(bytes);
      expect(rep.streams.length).toBe(1);
      // userspace cpio stops at the first trailer: it must see every file
      const listed = Bun.spawnSync(['sh', '-c', `gzip -dc '${join(dir, f)}' | cpio -it --quiet`])
        .stdout.toString()
        .trim()
        .split('\n');
      expect(listed.length).toBe(rep.entries);
    }
    const sys = files.find((f) => f.startsWith('system'))!;
    expect(unpackStreams(readFileSync(join(dir, sys)))[0]!.names).toContain('etc/hostname');
  }, 60_000);
});
