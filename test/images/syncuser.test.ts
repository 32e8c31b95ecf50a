// image syncuser on a real tree, as root: a controller (WULF_HOST_ROOT/etc, the temp root) and a Debian-like image whose ids
// collide (uid 100 is messagebus on the controller, sshd in the image; gid 105 docker-registry vs the
// image's setgid ssh-agent). The report, the dry run, the merged files, the re-owned files (setgid bit
// and file capabilities kept, symlinks re-owned themselves, nothing on another mount touched), the
// runtime overlay agreeing with the image, and the refusal of a symlinked etc/passwd.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  lchownSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathsFor } from '../../src/config/paths.ts';
import { rootfsDir } from '../../src/images/layout.ts';
import { lgetxattr, lsetxattr } from '../../src/images/sysfs.ts';
import { tmp, wulf } from './peers.ts';

const CTL_PASSWD =
  'root:x:0:0:root:/root:/bin/bash\nmessagebus:x:100:106::/nonexistent:/usr/sbin/nologin\nalice:x:2001:2001::/home/alice:/bin/bash\n';
const CTL_GROUP = 'root:x:0:\ndocker-registry:x:105:\nmessagebus:x:106:\nalice:x:2001:\n';
const IMG_PASSWD =
  'root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\nmessagebus:x:101:104::/nonexistent:/usr/sbin/nologin\n' +
  'alice:x:1500:1500::/home/alice:/bin/sh\n';
const IMG_GROUP = 'root:x:0:\nmessagebus:x:104:\nssh-agent:x:105:\nalice:x:1500:\nnogroup:x:65534:\n';
// cap_net_raw in the permitted set, effective (VFS_CAP_REVISION_2)
const CAP = new Uint8Array([0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

let w: string,
  root: string,
  rf: string,
  mnt: string,
  mounted = false;
const own = (p: string) => {
  const s = lstatSync(p);
  return `${s.uid}:${s.gid}`;
};

function image(name: string, passwd: string, group: string): string {
  const src = join(w, `src-${name}`);
  mkdirSync(join(src, 'etc'), { recursive: true });
  mkdirSync(join(src, 'bin'));
  writeFileSync(join(src, 'bin/sh'), '#!/bin/false\n', { mode: 0o755 }); // import wants a root filesystem
  writeFileSync(join(src, 'etc/passwd'), passwd);
  writeFileSync(join(src, 'etc/group'), group);
  return src;
}

beforeAll(async () => {
  w = tmp('syncuser');
  root = join(w, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), CTL_PASSWD);
  writeFileSync(join(root, 'etc/group'), CTL_GROUP);
  for (const [n, p, g] of [
    ['deb', IMG_PASSWD, IMG_GROUP],
    ['lnk', IMG_PASSWD, IMG_GROUP],
    ['lnkdir', IMG_PASSWD, IMG_GROUP],
  ] as const) {
    const r = await wulf(root, ['image', 'import', image(n, p, g), n]);
    if (r.code !== 0) throw new Error(r.err);
  }
  rf = rootfsDir(pathsFor(root), 'deb');
  const f = (rel: string, uid: number, gid: number, mode = 0o644) => {
    mkdirSync(join(rf, rel, '..'), { recursive: true });
    writeFileSync(join(rf, rel), rel);
    chownSync(join(rf, rel), uid, gid);
    chmodSync(join(rf, rel), mode);
  };
  f('usr/bin/ssh-agent', 0, 105, 0o2755);
  f('run/sshd/privsep', 100, 65534);
  f('var/lib/dbus/machine-id', 101, 104);
  f('home/alice/notes', 1500, 1500, 0o600);
  f('usr/bin/ping', 101, 0, 0o755);
  lsetxattr(join(rf, 'usr/bin/ping'), 'security.capability', CAP);
  // a symlink owned by sshd pointing out of the image, at a file of uid 100 outside it
  writeFileSync(join(w, 'outside'), 'x');
  chownSync(join(w, 'outside'), 100, 105);
  symlinkSync(join(w, 'outside'), join(rf, 'run/sshd/link'));
  lchownSync(join(rf, 'run/sshd/link'), 100, 105);
  // another filesystem mounted inside the image: its files are not the image's
  mnt = join(rf, 'mnt/other');
  mkdirSync(mnt, { recursive: true });
  const m = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'uid=100,gid=105,size=1m', 'none', mnt]);
  if (m.exitCode !== 0) throw new Error(`mount tmpfs failed: ${m.stderr.toString()}`);
  mounted = true;
  writeFileSync(join(mnt, 'foreign'), 'x');
  chownSync(join(mnt, 'foreign'), 100, 105);
  mkdirSync(join(root, 'etc/wulf'), { recursive: true });
  writeFileSync(
    join(root, 'etc/wulf/nodes.conf'),
    `nodeprofiles:
  default:
    runtime overlay: [syncuser]
nodes:
  n1:
    profiles: [default]
    image name: deb
`,
  );
});
afterAll(() => {
  if (mounted) Bun.spawnSync(['umount', mnt]);
  rmSync(w, { recursive: true, force: true });
});

const render = async (file: string) => {
  const r = await wulf(root, ['overlay', 'show', 'syncuser', `etc/${file}.ww`, '--render', 'n1']);
  expect(r.err).toBe('');
  return r.out.replace(/\n$/, '');
};

let overlayBefore: { passwd: string; group: string };

test('report only (--write=false): one line per conflict with its file count, nothing changed', async () => {
  overlayBefore = { passwd: await render('passwd'), group: await render('group') };
  const r = await wulf(root, ['image', 'syncuser', 'deb', '--write=false']);
  expect(r.code).toBe(0);
  expect(r.err.split('\n').filter((l) => l.startsWith('conflict: '))).toEqual([
    "conflict: group messagebus: gid 104 in the image, 106 on the controller: takes the controller's gid (1 file)",
    "conflict: group alice: gid 1500 in the image, 2001 on the controller: takes the controller's gid (1 file)",
    'conflict: group ssh-agent: gid 105 in the image belongs to group docker-registry on the controller: ssh-agent moves to gid 999 (2 files)',
    "conflict: user messagebus: uid 101 in the image, 100 on the controller: takes the controller's uid (2 files)",
    "conflict: user alice: uid 1500 in the image, 2001 on the controller: takes the controller's uid (1 file)",
    'conflict: user sshd: uid 100 in the image belongs to user messagebus on the controller: sshd moves to uid 999 (2 files)',
  ]);
  expect(r.err).toContain('report only, nothing written');
  expect(readFileSync(join(rf, 'etc/passwd'), 'utf8')).toBe(IMG_PASSWD);
  expect(own(join(rf, 'run/sshd/privsep'))).toBe('100:65534');
  // --dry-run is the same
  const d = await wulf(root, ['image', 'syncuser', 'deb', '--dry-run']);
  expect([d.code, d.err.includes('report only')]).toEqual([0, true]);
});

test('--write: merged passwd/group with no id twice, every file keeps its logical owner', async () => {
  const r = await wulf(root, ['image', 'syncuser', 'deb']);
  expect(r.code).toBe(0);
  expect(r.err).toContain('syncuser deb: 6 conflict(s)');
  const passwd = readFileSync(join(rf, 'etc/passwd'), 'utf8');
  const group = readFileSync(join(rf, 'etc/group'), 'utf8');
  expect(passwd).toBe(CTL_PASSWD + 'sshd:x:999:65534::/run/sshd:/usr/sbin/nologin\n');
  expect(group).toBe(CTL_GROUP + 'ssh-agent:x:999:\nnogroup:x:65534:\n');
  expect(own(join(rf, 'run/sshd/privsep'))).toBe('999:65534'); // sshd's, not messagebus's
  expect(own(join(rf, 'var/lib/dbus/machine-id'))).toBe('100:106'); // messagebus's controller ids
  expect(own(join(rf, 'home/alice/notes'))).toBe('2001:2001');
  const agent = statSync(join(rf, 'usr/bin/ssh-agent'));
  expect([agent.uid, agent.gid, agent.mode & 0o7777]).toEqual([0, 999, 0o2755]); // setgid ssh-agent kept
  expect(own(join(rf, 'usr/bin/ping'))).toBe('100:0');
  expect(lgetxattr(join(rf, 'usr/bin/ping'), 'security.capability')).toEqual(CAP); // chown clears it; restored
  expect(own(join(rf, 'run/sshd/link'))).toBe('999:999'); // the link itself…
  expect(own(join(w, 'outside'))).toBe('100:105'); // …never its target
  expect(own(join(mnt, 'foreign'))).toBe('100:105'); // another filesystem: untouched
  expect(own(mnt)).toBe('100:105');
});

test('the runtime overlay gives the node what the image got, before and after the sync; a second sync changes nothing', async () => {
  const passwd = readFileSync(join(rf, 'etc/passwd'), 'utf8').replace(/\n$/, '');
  const group = readFileSync(join(rf, 'etc/group'), 'utf8').replace(/\n$/, '');
  expect(overlayBefore).toEqual({ passwd, group });
  expect({ passwd: await render('passwd'), group: await render('group') }).toEqual({ passwd, group });
  const again = await wulf(root, ['image', 'syncuser', 'deb']);
  expect([again.code, again.err.trim()]).toEqual([0, 'syncuser deb: already in sync']);
});

test('a symlinked etc/passwd (or etc/) is refused with one line, and nothing is written through it', async () => {
  const lr = rootfsDir(pathsFor(root), 'lnk');
  rmSync(join(lr, 'etc/passwd'));
  symlinkSync(join(root, 'etc/passwd'), join(lr, 'etc/passwd'));
  const r = await wulf(root, ['image', 'syncuser', 'lnk']);
  expect(r.code).toBe(1);
  expect(r.err).toBe(
    'wulf: image lnk: etc/passwd is a symlink; syncuser refuses to read or write through it (replace it with a regular file)\n',
  );
  expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toBe(CTL_PASSWD);
  const dr = rootfsDir(pathsFor(root), 'lnkdir');
  rmSync(join(dr, 'etc'), { recursive: true });
  mkdirSync(join(w, 'elsewhere'));
  writeFileSync(join(w, 'elsewhere/group'), 'keep:x:5:\n');
  symlinkSync(join(w, 'elsewhere'), join(dr, 'etc'));
  const d = await wulf(root, ['image', 'syncuser', 'lnkdir']);
  expect([d.code, d.err.split('\n')[0]]).toEqual([
    1,
    'wulf: image lnkdir: etc is a symlink; syncuser refuses to read or write through it (replace it with a regular file)',
  ]);
  expect(readFileSync(join(w, 'elsewhere/group'), 'utf8')).toBe('keep:x:5:\n');
});
