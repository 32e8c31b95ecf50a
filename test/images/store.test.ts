// The image store is root-only (0700): image trees hold device nodes and setuid files exactly as
// their layers say, so a local user must not reach them. Made that way by init and import, and
// tightened on an existing (0755) install by the next image write and by serve. Needs root (setpriv).
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { chmodSync, lstatSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin } from '../helpers/cli.ts';
import { freePort, makeTar, need, tmp, wulf } from './peers.ts';

let w: string, root: string, images: string, rf: string;
const mode = (p: string) => statSync(p).mode & 0o7777;

/** Open `path` (read and write) as uid/gid 65534 with no groups: the shell's error line, or '' when it opened. */
function openAsNobody(path: string): string {
  const r = Bun.spawnSync(
    ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', '/bin/sh', '-c', 'exec 3<>"$1" && echo opened', 'sh', path],
    { stdout: 'pipe', stderr: 'pipe' },
  );
  return r.stdout.toString().includes('opened') ? '' : r.stderr.toString().trim();
}

beforeAll(async () => {
  need('setpriv', 'util-linux');
  w = tmp('store');
  chmodSync(w, 0o755); // the test root itself is reachable: only the store may stop a local user
  root = join(w, 'root');
  images = join(root, 'var/lib/wulf/images');
  rf = join(images, 'dev/rootfs');
  const r = await wulf(root, ['init', '--address', '127.0.0.1/8', '--interface', 'lo']);
  if (r.code !== 0) throw new Error(r.err);
});
afterAll(() => rmSync(w));
const rmSync = (p: string) => Bun.spawnSync(['rm', '-rf', p]);

test('init makes the store 0700', () => {
  expect(mode(images)).toBe(0o700);
});

test('a 0666 block device and a setuid file from a layer cannot be reached by uid 65534 (EACCES)', async () => {
  const t = join(w, 'dev.tar');
  writeFileSync(
    t,
    await makeTar([
      { name: 'bin/', type: 'directory' },
      { name: 'bin/sh', body: '#!/bin/sh\n', mode: 0o755 },
      { name: 'dev/', type: 'directory' },
      { name: 'dev/disk0', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o666 },
      { name: 'dev/zero0', type: 'character-device', devmajor: 1, devminor: 5, mode: 0o666 },
      { name: 'usr/', type: 'directory' },
      { name: 'usr/bin/', type: 'directory' },
      { name: 'usr/bin/su', body: '#!/bin/sh\nid\n', mode: 0o4755 },
    ]),
  );
  chmodSync(t, 0o644);
  const r = await wulf(root, ['image', 'import', t, 'dev']);
  expect(r.code).toBe(0);
  // the tree keeps what the layer says (the nodes need it) ...
  const disk = lstatSync(join(rf, 'dev/disk0'));
  expect([disk.isBlockDevice(), disk.mode & 0o7777, disk.rdev]).toEqual([true, 0o666, 7 << 8]);
  expect(mode(join(rf, 'usr/bin/su'))).toBe(0o4755);
  // ... but the store around it is root's alone
  expect(mode(images)).toBe(0o700);
  expect(openAsNobody('/dev/zero')).toBe(''); // control: the same open works on a reachable node
  for (const p of ['dev/disk0', 'dev/zero0', 'usr/bin/su']) expect(openAsNobody(join(rf, p))).toContain('Permission denied');
  const ls = Bun.spawnSync(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', 'ls', images], { stderr: 'pipe' });
  expect(ls.stderr.toString()).toContain('Permission denied');
}, 30_000);

test('wulf image list as another user says why in one line', () => {
  const r = Bun.spawnSync(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', compiledBin, 'image', 'list'], {
    env: { ...process.env, WULF_ROOT: root, NO_COLOR: '1' },
    stderr: 'pipe',
    stdout: 'pipe',
  });
  expect([r.exitCode, r.stderr.toString()]).toEqual([
    1,
    `wulf: cannot read ${images}: permission denied (the image store is its owner's alone; run as root)\n`,
  ]);
});

test('an existing 0755 store is tightened by the next image write', async () => {
  chmodSync(images, 0o755);
  const r = await wulf(root, ['image', 'build', 'dev']);
  expect(r.code).toBe(0);
  expect(mode(images)).toBe(0o700);
}, 60_000);

test('... and by serve at start', async () => {
  chmodSync(images, 0o755);
  const port = await freePort();
  const p = Bun.spawn([compiledBin, 'serve', '--address', '127.0.0.1', '--http-port', String(port), '--no-dhcp', '--no-tftp', '--no-ra'], {
    env: { ...process.env, WULF_ROOT: root, NO_COLOR: '1' },
    stdout: 'ignore',
    stderr: 'pipe',
  });
  try {
    const end = Date.now() + 20_000;
    let up = false;
    while (!up && Date.now() < end) {
      try {
        up = (await fetch(`http://127.0.0.1:${port}/`)).status > 0;
      } catch {
        await Bun.sleep(100);
      }
    }
    expect(up).toBe(true);
    expect(mode(images)).toBe(0o700);
  } finally {
    p.kill('SIGTERM');
    await p.exited;
  }
}, 30_000);
