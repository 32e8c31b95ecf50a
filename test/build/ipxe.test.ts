// The build fetches Debian's ipxe package itself when it is not installed (build/ipxe.ts).
import { test, expect, afterAll } from 'bun:test';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempRoot } from '../helpers/cli.ts';
import { fetchIpxePackage, IPXE_FILES } from '../../build/ipxe.ts';

const t = tempRoot('wulf-ipxe-');
afterAll(() => t.cleanup());

test('without an installed ipxe package the build fetches and unpacks it into its cache, once', () => {
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = t.dir;
  try {
    const a = fetchIpxePackage();
    if (typeof a === 'string') throw new Error(a);
    expect([...a.files.keys()].sort()).toEqual([...IPXE_FILES].sort());
    expect(a.dir.startsWith(join(t.dir, 'wulf', 'ipxe'))).toBe(true);
    // ipxe.efi is an absolute symlink to /boot/ipxe.efi in the package: resolved inside the tree
    expect(a.files.get('ipxe.efi')!.startsWith(a.dir)).toBe(true);
    const efi = readFileSync(a.files.get('ipxe.efi')!);
    expect(efi.subarray(0, 2).toString()).toBe('MZ'); // a PE/COFF executable
    expect(readFileSync(a.licence!, 'utf8')).toContain('GPL');
    const stamp = statSync(join(a.dir, '.complete')).mtimeMs;
    const b = fetchIpxePackage();
    if (typeof b === 'string') throw new Error(b);
    expect(statSync(join(b.dir, '.complete')).mtimeMs).toBe(stamp); // cached, not fetched again
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  }
}, 60_000);

test('on a machine whose apt has read no package lists, the build reads lists of its own into its cache (the system lists left untouched)', () => {
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = join(t.dir, 'own');
  const sysLists = statSync('/var/lib/apt/lists').mtimeMs;
  try {
    const a = fetchIpxePackage({ own: true });
    if (typeof a === 'string') throw new Error(a);
    expect([...a.files.keys()].sort()).toEqual([...IPXE_FILES].sort());
    expect(readFileSync(a.files.get('undionly.kpxe')!).length).toBeGreaterThan(50_000);
    const own = join(t.dir, 'own', 'wulf', 'ipxe', 'apt', 'lists');
    expect(readdirSync(own).some((f) => f.endsWith('_Packages') || f.includes('Packages'))).toBe(true);
    expect(statSync('/var/lib/apt/lists').mtimeMs).toBe(sysLists);
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  }
}, 180_000);
