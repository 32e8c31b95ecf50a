// image exec/shell: namespaces + chroot (PID 1, own hostname), binds (ro, copy), the resolv.conf
// image mount leaving no trace, one session per image, exit script, rebuild only on change; syncuser.
import { compiledBin } from '../helpers/cli.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { pathsFor } from '../../src/config/paths.ts';
import { imageArtifactPath } from '../../src/images/service.ts';
import { syncUsers } from '../../src/images/syncuser.ts';
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
    const r = await wulf(root, ['image', 'exec', 'bb', '--', '/bin/sh', '-c', 'echo procs=$(ls /proc | grep -c "^[0-9]"); hostname; cat /etc/hostname; test -s /etc/resolv.conf && echo resolv; echo $WULF_IMAGE_SHELL']);
    const [procs, ...rest] = r.out.split('\n');
    expect(Number(procs!.slice(6))).toBeLessThan(8);                  // a fresh PID namespace, not the host's
    expect(rest).toEqual(['bb', 'busybox', 'resolv', 'bb', '']);
    expect(r.code).toBe(0);
    expect(existsSync(join(rf(), 'etc/resolv.conf'))).toBe(false);   // mount point removed again
    expect(Math.floor(statSync(join(rf(), 'etc')).mtimeMs)).toBe(Math.floor(etcMtime));
    expect(r.err).toContain('unchanged, build skipped');
    expect(imageArtifactPath(pathsFor(root), 'bb')!.digest).toBe(before);
    const code = await wulf(root, ['image', 'exec', 'bb', '--', '/bin/sh', '-c', 'exit 7']);
    expect(code.code).toBe(7);
  }, 30_000);

  test('binds (rw, ro, copy), exit script, rebuild after a change, --build=false', async () => {
    const host = join(w, 'share'); mkdirSync(host);
    writeFileSync(join(host, 'in.txt'), 'from host\n');
    const cfg = join(w, 'cfg.txt'); writeFileSync(cfg, 'copied\n');
    mkdirSync(join(rf(), 'etc/warewulf'), { recursive: true });
    writeFileSync(join(rf(), 'etc/warewulf/image_exit.sh'), 'echo exit-script-ran > /tmp/exit-marker\n');
    const before = imageArtifactPath(pathsFor(root), 'bb')!.digest;
    const r = await wulf(root, ['image', 'exec', '--bind', `${host}:/mnt/share`, '--bind', `${host}:/srv:ro`, '--bind', `${cfg}:/etc/cfg.txt:copy`, 'bb', '--', '/bin/sh', '-c',
      'cat /mnt/share/in.txt; echo w > /mnt/share/out.txt; echo x > /srv/y 2>/dev/null || echo ro-refused; cat /etc/cfg.txt; echo new > /root/made-inside']);
    expect(r.out).toBe('from host\nro-refused\ncopied\n');
    expect(readFileSync(join(host, 'out.txt'), 'utf8')).toBe('w\n');
    expect(existsSync(join(rf(), 'mnt/share'))).toBe(false);
    expect(existsSync(join(rf(), 'etc/cfg.txt'))).toBe(false);       // copy removed: unmodified
    expect(readFileSync(join(rf(), 'tmp/exit-marker'), 'utf8')).toBe('exit-script-ran\n');
    expect(readFileSync(join(rf(), 'root/made-inside'), 'utf8')).toBe('new\n');
    expect(r.err).toContain('image bb: built');
    expect(imageArtifactPath(pathsFor(root), 'bb')!.digest).not.toBe(before);
    const nb = await wulf(root, ['image', 'exec', '--build=false', 'bb', '--', '/bin/sh', '-c', 'echo more > /root/more']);
    expect(nb.code).toBe(0);
    expect(nb.err).not.toContain('image bb');
  }, 30_000);

  test('one session per image at a time', async () => {
    const long = Bun.spawn([compiledBin, 'image', 'exec', '--build=false', 'bb', '--', '/bin/sh', '-c', 'sleep 3'], { env: { ...process.env, WULF_ROOT: root }, stdout: 'ignore', stderr: 'ignore' });
    await Bun.sleep(1000);
    const r = await wulf(root, ['image', 'exec', '--build=false', 'bb', '--', '/bin/true']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('already has a shell/exec session open');
    expect(await long.exited).toBe(0);
  }, 30_000);
});

describe('syncuser', () => {
  test('server users win, image-only users stay, files re-owned, conflicts reported', () => {
    const img = join(w, 'sync'); makeRootfs(img);
    const hostEtc = join(w, 'hostetc'); mkdirSync(hostEtc);
    writeFileSync(join(img, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nalice:x:1500:1500::/home/alice:/bin/sh\nimgonly:x:4242:4242::/:/bin/sh\n');
    writeFileSync(join(img, 'etc/group'), 'root:x:0:\nalice:x:1500:\nimgonly:x:4242:\n');
    writeFileSync(join(img, 'home-file'), 'a');
    chownSync(join(img, 'home-file'), 1500, 1500);
    writeFileSync(join(hostEtc, 'passwd'), 'root:x:0:0::/root:/bin/bash\nalice:x:2001:2001::/home/alice:/bin/bash\n');
    writeFileSync(join(hostEtc, 'group'), 'root:x:0:\nalice:x:2001:\n');
    const report = syncUsers(img, { write: false, hostEtc });
    expect(report.changed).toEqual(['user alice: 1500 → 2001', 'group alice: 1500 → 2001']);
    expect(report.written).toBe(false);
    const r = syncUsers(img, { write: true, hostEtc });
    expect(r.conflicts).toEqual([]);
    expect(r.chowned).toBe(1);
    expect(statSync(join(img, 'home-file')).uid).toBe(2001);
    const pw = readFileSync(join(img, 'etc/passwd'), 'utf8');
    expect(pw).toContain('alice:x:2001:2001');
    expect(pw).toContain('imgonly:x:4242');
    writeFileSync(join(hostEtc, 'passwd'), 'root:x:0:0::/root:/bin/bash\nbob:x:4242:4242::/:/bin/sh\n');
    const c = syncUsers(img, { write: true, hostEtc });
    expect(c.conflicts.length).toBeGreaterThan(0);
    expect(c.written).toBe(false);
  });
});
