import { test, expect } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { CpioWriter, readCpio, S_IFDIR, S_IFREG, S_IFLNK } from '../../src/lib/cpio.ts';

test('newc writer round-trips and GNU cpio lists it', () => {
  const w = new CpioWriter();
  const enc = new TextEncoder();
  w.add({ name: 'etc', mode: S_IFDIR | 0o755 });
  w.add({ name: 'etc/hostname', mode: S_IFREG | 0o644, data: enc.encode('n1\n'), uid: 12, gid: 34 });
  w.add({ name: 'etc/link', mode: S_IFLNK | 0o777, data: enc.encode('hostname') });
  const buf = w.finish();
  const back = readCpio(buf);
  expect(back.map((e) => e.name)).toEqual(['etc', 'etc/hostname', 'etc/link']);
  expect(new TextDecoder().decode(back[1]!.data)).toBe('n1\n');
  expect(back[1]!.uid).toBe(12);
  const r = spawnSync('cpio', ['-t', '--quiet'], { input: buf });
  expect(r.status).toBe(0);
  expect(r.stdout.toString().trim().split('\n')).toEqual(['etc', 'etc/hostname', 'etc/link']);
});
