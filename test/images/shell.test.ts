// image exec/shell: namespaces + chroot (PID 1, own hostname), binds (ro, copy), the resolv.conf
// image mount leaving no trace, one session per image, exit script, rebuild only on change (syncuser: syncuser.test.ts).
import { compiledBin } from '../helpers/cli.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathsFor } from '../../src/config/paths.ts';
import { imageArtifactPath } from '../../src/images/service.ts';
import { makeRootfs, need, tmp, wulf } from './peers.ts';

let w: string, root: string;
const rf = () => join(root, 'var/lib/wulf/images/bb/rootfs');

beforeAll(async () => {
  need('unshare', 'util-linux');
  w = tmp('shell');
  root = join(w, 'root');
  makeRootfs(join(w, 'fs'));
  const r = await wulf(root, ['image', 'import', '--build', join(w, 'fs'), 'bb']);
  if (r.code !== 0) throw new Error(r.err);
});
afterAll(() => rmSync(w, { recursive: true, force: true }));

describe('image exec', () => {
  test('runs in its own PID and UTS namespace inside the image; no rebuild when nothing changed', async () => {
    const before = imageArtifactPath(pathsFor(root), 'bb')!.digest;
    const etcMtime = statSync(join(rf(), 'etc')).mtimeMs;
    const r = await wulf(root, [
      'image',
      'exec',
      'bb',
      '--',
      '/bin/sh',
      '-c',
      'echo procs=$(ls /proc | grep -c "^[0-9]"); hostname; cat /etc/hostname; test -s /etc/resolv.conf && echo resolv; echo $WULF_IMAGE_SHELL',
    ]);
    const [procs, ...rest] = r.out.split('\n');
    expect(Number(procs!.slice(6))).toBeLessThan(8); // a fresh PID namespace, not the host's
    expect(rest).toEqual(['bb', 'busybox', 'resolv', 'bb', '']);
    expect(r.code).toBe(0);
    expect(existsSync(join(rf(), 'etc/resolv.conf'))).toBe(false); // mount point removed again
    expect(Math.floor(statSync(join(rf(), 'etc')).mtimeMs)).toBe(Math.floor(etcMtime));
    expect(r.err).toContain('unchanged, build skipped');
    expect(imageArtifactPath(pathsFor(root), 'bb')!.digest).toBe(before);
    const code = await wulf(root, ['image', 'exec', 'bb', '--', '/bin/sh', '-c', 'exit 7']);
    expect(code.code).toBe(7);
  }, 30_000);

  test('binds (rw, ro, copy), exit script, rebuild after a change, --build=false', async () => {
    const host = join(w, 'share');
    mkdirSync(host);
    writeFileSync(join(host, 'in.txt'), 'from host\n');
    const cfg = join(w, 'cfg.txt');
    writeFileSync(cfg, 'copied\n');
    mkdirSync(join(rf(), 'etc/warewulf'), { recursive: true });
    writeFileSync(join(rf(), 'etc/warewulf/image_exit.sh'), 'echo exit-script-ran > /tmp/exit-marker\n');
    const before = imageArtifactPath(pathsFor(root), 'bb')!.digest;
    const r = await wulf(root, [
      'image',
      'exec',
      '--bind',
      `${host}:/mnt/share`,
      '--bind',
      `${host}:/srv:ro`,
      '--bind',
      `${cfg}:/etc/cfg.txt:copy`,
      'bb',
      '--',
      '/bin/sh',
      '-c',
      'cat /mnt/share/in.txt; echo w > /mnt/share/out.txt; echo x > /srv/y 2>/dev/null || echo ro-refused; cat /etc/cfg.txt; echo new > /root/made-inside',
    ]);
    expect(r.out).toBe('from host\nro-refused\ncopied\n');
    expect(readFileSync(join(host, 'out.txt'), 'utf8')).toBe('w\n');
    expect(existsSync(join(rf(), 'mnt/share'))).toBe(false);
    expect(existsSync(join(rf(), 'etc/cfg.txt'))).toBe(false); // copy removed: unmodified
    expect(readFileSync(join(rf(), 'tmp/exit-marker'), 'utf8')).toBe('exit-script-ran\n');
    expect(readFileSync(join(rf(), 'root/made-inside'), 'utf8')).toBe('new\n');
    expect(r.err).toContain('image bb: built');
    expect(imageArtifactPath(pathsFor(root), 'bb')!.digest).not.toBe(before);
    const nb = await wulf(root, ['image', 'exec', '--build=false', 'bb', '--', '/bin/sh', '-c', 'echo more > /root/more']);
    expect(nb.code).toBe(0);
    expect(nb.err).not.toContain('image bb');
  }, 30_000);

  test('one session per image at a time', async () => {
    const long = Bun.spawn([compiledBin, 'image', 'exec', '--build=false', 'bb', '--', '/bin/sh', '-c', 'sleep 3'], {
      env: { ...process.env, WULF_ROOT: root },
      stdout: 'ignore',
      stderr: 'ignore',
    });
    await Bun.sleep(1000);
    const r = await wulf(root, ['image', 'exec', '--build=false', 'bb', '--', '/bin/true']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('already has a shell/exec session open');
    // nor a build: the session's mounts (/proc, resolv.conf…) would be packed into the image
    const digest = imageArtifactPath(pathsFor(root), 'bb')!.digest;
    const b = await wulf(root, ['image', 'build', '--force', 'bb']);
    expect(b.code).toBe(1);
    expect(b.err).toContain('image "bb" has a shell/exec session open; its mounts would end up in the image');
    expect(imageArtifactPath(pathsFor(root), 'bb')!.digest).toBe(digest);
    expect(await long.exited).toBe(0);
    const after = await wulf(root, ['image', 'build', '--force', 'bb']); // the session has ended
    expect(after.code).toBe(0);
  }, 30_000);
});

describe('image exec --node (read-only view with the node overlays)', () => {
  let nr: string;
  const nrf = () => join(nr, 'var/lib/wulf/images/bb/rootfs');
  beforeAll(async () => {
    nr = join(w, 'noderoot');
    const fs = join(w, 'fs-node');
    makeRootfs(fs);
    for (const args of [
      ['init', '--address', '127.0.0.1/8', '--interface', 'lo'],
      ['image', 'import', '--build', fs, 'bb'],
      ['node', 'add', 'n1', '--image', 'bb', '--ipaddr', '127.0.20.1', '--netdev', 'eth0', '--hwaddr', '52:54:00:aa:00:01'],
    ]) {
      const r = await wulf(nr, args);
      if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.err}`);
    }
  });

  for (const [label, env] of [
    ['overlayfs', {}],
    ['bind-mount fallback', { WULF_VIEW_NO_OVERLAYFS: '1' }],
  ] as const) {
    test(`${label}: the node's files over the image, writes refused, nothing persists, no rebuild`, async () => {
      const before = imageArtifactPath(pathsFor(nr), 'bb')!.digest;
      const etcMtime = statSync(join(nrf(), 'etc')).mtimeMs;
      const r = await wulf(
        nr,
        [
          'image',
          'exec',
          'bb',
          '--node',
          'n1',
          '--',
          '/bin/sh',
          '-c',
          'cat /etc/hostname; hostname; grep -c n1 /etc/hosts; cat /etc/passwd | head -1; ls /bin/busybox; ' +
            'echo x > /etc/hostname || echo refused1; echo y > /root/new || echo refused2; rm /bin/cat || echo refused3; echo t > /tmp/t && cat /tmp/t',
        ],
        env,
      );
      expect(r.out).toBe('n1\nn1\n1\nroot:x:0:0:root:/root:/bin/sh\n/bin/busybox\nrefused1\nrefused2\nrefused3\nt\n');
      expect(r.err).toContain('Read-only file system');
      expect(r.code).toBe(0);
      expect(readFileSync(join(nrf(), 'etc/hostname'), 'utf8')).toBe('busybox\n');
      expect(existsSync(join(nrf(), 'root/new'))).toBe(false);
      expect(existsSync(join(nrf(), 'bin/cat'))).toBe(true);
      expect(existsSync(join(nrf(), 'etc/hosts'))).toBe(false); // only in the view
      expect(statSync(join(nrf(), 'etc')).mtimeMs).toBe(etcMtime);
      expect(r.err).not.toContain('image bb'); // no build on exit
      expect(imageArtifactPath(pathsFor(nr), 'bb')!.digest).toBe(before);
      expect((await wulf(nr, ['image', 'exec', 'bb', '--node', 'n1', '--', '/bin/sh', '-c', 'exit 3'], env)).code).toBe(3);
    }, 30_000);
  }

  test('an unknown node is a clear error', async () => {
    const r = await wulf(nr, ['image', 'exec', 'bb', '--node', 'nope', '--', '/bin/true']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('node "nope" does not exist');
  });
});
