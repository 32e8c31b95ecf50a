// Small files out of a built image archive (a controller without the image's tree reads its /etc
// from the build it fetched): gzip, zstd and plain cpio, several archives back to back with zero
// padding, only regular files the filter accepts, and hostile names never written outside dest.
import { afterAll, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractFiles, imageEtc } from '../../src/images/archive-files.ts';
import { CpioWriter, S_IFDIR, S_IFLNK, S_IFREG } from '../../src/lib/cpio.ts';

const dir = mkdtempSync(join(tmpdir(), 'wulf-archive-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const enc = new TextEncoder();

function archive(): Uint8Array<ArrayBuffer> {
  const a = new CpioWriter();
  a.add({ name: 'etc', mode: S_IFDIR | 0o755 });
  a.add({ name: 'etc/passwd', mode: S_IFREG | 0o644, data: enc.encode('root:x:0:0::/root:/bin/sh\nimgonly:x:4242:4242::/:/bin/sh\n') });
  a.add({ name: 'etc/empty', mode: S_IFREG | 0o644 });
  a.add({ name: 'etc/localtime', mode: S_IFLNK | 0o777, data: enc.encode('/usr/share/zoneinfo/UTC') });
  a.add({ name: 'etc/../../escape', mode: S_IFREG | 0o644, data: enc.encode('no') });
  a.add({ name: 'usr/bin/tool', mode: S_IFREG | 0o755, data: new Uint8Array(3000).fill(7) });
  a.add({ name: 'etc/big', mode: S_IFREG | 0o644, data: new Uint8Array((1 << 20) + 1) });
  const first = a.finish();
  const b = new CpioWriter(); // the hardlinks' archive, after zero padding
  b.add({ name: './etc/group', mode: S_IFREG | 0o644, data: enc.encode('root:x:0:\n') });
  const second = b.finish();
  const out = new Uint8Array(first.length + 512 + second.length);
  out.set(first, 0);
  out.set(second, first.length + 512);
  return out;
}

for (const kind of ['gzip', 'zstd', 'cpio'] as const) {
  test(`${kind}: the image's /etc regular files up to 1 MiB, from every archive in it; nothing else, nothing outside`, async () => {
    const raw = archive();
    const file = join(dir, `a.${kind}`);
    writeFileSync(file, kind === 'gzip' ? Bun.gzipSync(raw) : kind === 'zstd' ? Bun.zstdCompressSync(raw) : raw);
    const dest = join(dir, `out-${kind}`);
    expect(await extractFiles(file, dest, imageEtc)).toBe(3);
    expect(readdirSync(dest)).toEqual(['etc']);
    expect(readdirSync(join(dest, 'etc')).sort()).toEqual(['empty', 'group', 'passwd']);
    expect(readFileSync(join(dest, 'etc/passwd'), 'utf8')).toContain('imgonly:x:4242');
    expect(readFileSync(join(dest, 'etc/group'), 'utf8')).toBe('root:x:0:\n');
    expect(existsSync(join(dir, 'escape'))).toBe(false);
  });
}

test('not a cpio archive: an error, not a guess', async () => {
  const file = join(dir, 'junk.gz');
  writeFileSync(file, Bun.gzipSync(new Uint8Array(4096).fill(65)));
  await expect(extractFiles(file, join(dir, 'junk'), imageEtc)).rejects.toThrow(/not a newc cpio/);
});
