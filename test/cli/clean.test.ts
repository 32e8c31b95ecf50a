// `wulf clean` (compiled): removes the registry blob cache, the overlay archives of deleted nodes and the
// leftovers of interrupted imports and builds (their process gone), says what each was; keeps live
// nodes' archives, images, and the blob cache while an import runs; --dry-run removes nothing.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';

const t = tempRoot('wulf-clean-');
const w = (...args: string[]) => runWulf(modes[0]!, t.dir, args);
const state = join(t.dir, 'var/lib/wulf');
// a pid no process has: the highest the kernel hands out, minus one, checked
const deadPid = (() => {
  for (let p = 4194000; p > 1000; p--) {
    try {
      process.kill(p, 0);
    } catch {
      return p;
    }
  }
  throw new Error('no free pid');
})();

beforeAll(() => {
  requireCompiled();
  expect(w('init', '--address', '10.8.0.1/24', '--interface', 'lo').code).toBe(0);
  expect(w('node', 'add', 'n[1-2]', '--ipaddr', '10.8.0.11', '--netmask', '255.255.255.0').code).toBe(0);
  const b = w('overlay', 'build', 'n[1-2]');
  expect(b.code).toBe(0);
  expect(readdirSync(join(state, 'cache/overlays')).sort()).toEqual(['n1', 'n2']);
  expect(w('node', 'delete', '--yes', 'n2').code).toBe(0);
  mkdirSync(join(state, 'cache/blobs/sha256'), { recursive: true });
  writeFileSync(join(state, 'cache/blobs/sha256', 'a'.repeat(64)), Buffer.alloc(300_000));
  mkdirSync(join(state, 'images', `.import-old-${deadPid}-abc123/rootfs`), { recursive: true });
  mkdirSync(join(state, 'images/bb/rootfs'), { recursive: true });
  mkdirSync(join(state, 'images/bb/build'), { recursive: true });
  writeFileSync(join(state, 'images/bb/build', `.tmp-${deadPid}-zz9.img.gz`), 'half');
  writeFileSync(join(state, 'images/bb/build', 'kept.img.gz'), 'done');
  writeFileSync(join(state, 'cache/overlays/n1', `.system-abc.${deadPid}.q1w2e3.tmp`), 'half');
});
afterAll(t.cleanup);

test('--dry-run says what it would remove and removes nothing', () => {
  const r = w('clean', '--dry-run');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(
    new RegExp(`^would remove .*/cache/overlays/n2 \\([\\d.]+ MiB\\): overlay archives of n2, which is no longer in nodes.conf$`, 'm'),
  );
  expect(r.out).toMatch(/^would remove .*\/cache\/blobs \(0\.3 MiB\): registry blob cache/m);
  expect(r.out).toMatch(/^would free [\d.]+ MiB in 5 items$/m);
  expect(existsSync(join(state, 'cache/overlays/n2'))).toBe(true);
  expect(existsSync(join(state, 'cache/blobs'))).toBe(true);
});

test('an import running keeps the blob cache; the rest goes; a second run finds nothing', () => {
  const live = join(state, 'images', `.import-new-${process.pid}-live01`);
  mkdirSync(live);
  const r = w('clean');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^kept .*\/cache\/blobs: an image import is running/m);
  expect(r.out).toMatch(/^removed .*\/images\/\.import-old-\d+-abc123 .*unfinished image import or copy of old \(process \d+ is gone\)$/m);
  expect(r.out).toMatch(/^removed .*\/images\/bb\/build\/\.tmp-\d+-zz9\.img\.gz .*unfinished build of image bb/m);
  expect(r.out).toMatch(/^removed .*\/cache\/overlays\/n1\/\.system-abc\.\d+\.q1w2e3\.tmp .*unfinished overlay archive of n1/m);
  expect(r.out).toMatch(/^removed .*\/cache\/overlays\/n2 /m);
  expect(r.out).toMatch(/^freed [\d.]+ MiB in 4 items$/m);
  expect(readdirSync(join(state, 'cache/overlays'))).toEqual(['n1']);
  expect(readdirSync(join(state, 'cache/overlays/n1')).some((f) => f.endsWith('.img.gz'))).toBe(true); // a live node's archives stay
  expect(existsSync(join(state, 'images/bb/build/kept.img.gz'))).toBe(true);
  expect(existsSync(live)).toBe(true);
  expect(existsSync(join(state, 'cache/blobs'))).toBe(true);
  rmSync(live, { recursive: true });
  const again = w('clean');
  expect(again.out).toMatch(/^removed .*\/cache\/blobs \(0\.3 MiB\): registry blob cache/m);
  expect(existsSync(join(state, 'cache/blobs'))).toBe(false);
  expect(w('clean').out.trim()).toBe('nothing to clean');
});
