// Kernel detection table: path patterns, version order, +debug/rescue skipped for the default,
// version-prefix and absolute-path selection, symlinks resolved inside the image only.
import { expect, test } from 'bun:test';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compareVersions, listKernels, pickKernel } from '../../src/images/kernels.ts';
import { tmp } from './peers.ts';

function image(files: string[], links: [string, string][] = []): string {
  const r = tmp('kern');
  for (const f of files) {
    mkdirSync(dirname(join(r, f)), { recursive: true });
    writeFileSync(join(r, f), f);
  }
  for (const [l, t] of links) {
    mkdirSync(dirname(join(r, l)), { recursive: true });
    symlinkSync(t, join(r, l));
  }
  return r;
}

const table: {
  name: string;
  files: string[];
  links?: [string, string][];
  all: string[];
  def?: string;
  spec?: [string, string | undefined][];
}[] = [
  {
    name: 'Debian',
    files: ['boot/vmlinuz-6.1.0-9-amd64', 'boot/vmlinuz-6.1.0-21-amd64', 'boot/vmlinuz-6.1.0-21-amd64+debug'],
    all: ['6.1.0-21-amd64+debug', '6.1.0-21-amd64', '6.1.0-9-amd64'],
    def: '6.1.0-21-amd64',
    spec: [
      ['6.1.0-9', '6.1.0-9-amd64'],
      ['6.1', '6.1.0-21-amd64+debug'],
      ['5', undefined],
    ],
  },
  {
    name: 'Rocky (modules dir, rescue)',
    files: [
      'lib/modules/5.14.0-687.10.1.el9_8.0.1.x86_64/vmlinuz',
      'lib/modules/5.14.0-70.13.1.el9_0.x86_64/vmlinuz',
      'boot/vmlinuz-0-rescue-0123abcd',
    ],
    all: ['5.14.0-687.10.1.el9_8.0.1.x86_64', '5.14.0-70.13.1.el9_0.x86_64', '0-rescue-0123abcd'],
    def: '5.14.0-687.10.1.el9_8.0.1.x86_64',
  },
  {
    name: 'SUSE aarch64 Image and gz',
    files: ['boot/Image-6.4.0-150600.23-default', 'usr/lib/modules/6.4.0-150600.22-default/vmlinuz.gz'],
    all: ['6.4.0-150600.23-default', '6.4.0-150600.22-default'],
    def: '6.4.0-150600.23-default',
  },
  {
    name: 'usrmerge lib symlink',
    files: ['usr/lib/modules/6.12.0-1/vmlinuz'],
    links: [['lib', 'usr/lib']],
    all: ['6.12.0-1'],
    def: '6.12.0-1',
  },
  { name: 'a symlink to the host is not followed out', files: [], links: [['boot/vmlinuz-9.9.9', '/etc/passwd']], all: [], def: undefined },
  { name: 'only debug', files: ['boot/vmlinuz-6.1.0+debug'], all: ['6.1.0+debug'], def: undefined },
  { name: 'none', files: ['etc/hostname'], all: [], def: undefined },
];

for (const t of table) {
  test(`kernels: ${t.name}`, () => {
    const r = image(t.files, t.links);
    try {
      const ks = listKernels(r);
      expect(ks.map((k) => k.version)).toEqual(t.all);
      expect(pickKernel(ks, r)?.version).toBe(t.def);
      for (const [spec, want] of t.spec ?? []) expect(pickKernel(ks, r, spec)?.version).toBe(want);
      for (const k of ks) expect(pickKernel(ks, r, k.rel)?.path).toBe(k.path);
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });
}

test('version order is numeric per run', () => {
  expect(compareVersions('5.14.0-687.10.1', '5.14.0-70.13.1')).toBeGreaterThan(0);
  expect(compareVersions('6.1.0-21', '6.1.0-9')).toBeGreaterThan(0);
  expect(compareVersions('6.10', '6.9.12')).toBeGreaterThan(0);
  expect(compareVersions('1.0', '1.0')).toBe(0);
});
