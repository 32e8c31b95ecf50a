// `wulf configure -a | hostfile | nfs | ssh` (compiled). Relocated (WULF_ROOT + WULF_HOST_ROOT): every
// step's files, and exportfs not run because it reads /etc/exports only. Not relocated, with the real
// nfs-kernel-server's exportfs: in a mount namespace of the test's own where /etc and /var/lib are
// overlayfs mounts over temp dirs (nothing of this machine changes), wulf writes /etc/exports, runs
// `exportfs -ra`, and the export table (/var/lib/nfs/etab, `exportfs -s`) then holds the export. This
// kernel has no nfsd, and wulf says that nothing is served; a bad export line fails with exportfs's reason.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin, modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';

const t = tempRoot('wulf-configure-cli-');
const w = (...args: string[]) => runWulf(modes[0]!, t.dir, args);
beforeAll(() => {
  requireCompiled();
  expect(w('init', '--address', '10.9.0.1/24', '--interface', 'lo').code).toBe(0);
  expect(w('node', 'add', 'c[1-2]', '--ipaddr', '10.9.0.11', '--netmask', '255.255.255.0').code).toBe(0);
});
afterAll(t.cleanup);

describe('relocated', () => {
  test('-a runs systemd, nfs, ssh and hostfile, each reported; exportfs is not run on a relocated root', () => {
    writeFileSync(join(t.dir, 'etc/hosts'), '127.0.0.1 localhost\n# my own line\n');
    const r = w('configure', '-a');
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out.match(/^== configure \w+$/gm)).toEqual([
      '== configure systemd',
      '== configure nfs',
      '== configure ssh',
      '== configure hostfile',
    ]);
    expect(r.out).toContain(
      `exportfs not run: it reads /etc/exports only, and this wulf writes the controller's files to ${t.dir}/etc/exports`,
    );
    expect(readFileSync(join(t.dir, 'etc/exports'), 'utf8')).toMatch(/^\/home 10\.9\.0\.0\/24\(rw,sync\)$/m);
    const hosts = readFileSync(join(t.dir, 'etc/hosts'), 'utf8');
    expect(hosts).toContain('# my own line');
    expect(hosts).toMatch(/^10\.9\.0\.12\s+c2\b/m);
    expect(readFileSync(join(t.dir, 'etc/hosts.wwbackup'), 'utf8')).toBe('127.0.0.1 localhost\n# my own line\n');
    expect(existsSync(join(t.dir, 'etc/systemd/system/wulf.service'))).toBe(true);
    expect(existsSync(join(t.dir, 'etc/wulf/keys/ssh_host_ed25519_key'))).toBe(true);
    // wwctl's configure ssh also makes root's key, in authorized_keys for the ssh.authorized_keys overlay
    const pub = readFileSync(join(t.dir, 'root/.ssh/id_ed25519.pub'), 'utf8').trim();
    expect(readFileSync(join(t.dir, 'root/.ssh/authorized_keys'), 'utf8')).toContain(pub);
    expect(statSync(join(t.dir, 'root/.ssh')).mode & 0o777).toBe(0o700);
    // again: nothing changes, keys kept, authorized_keys not appended twice
    const again = w('configure', '--all');
    expect(again.code).toBe(0);
    expect(again.out).toContain(`${t.dir}/etc/hosts unchanged`);
    expect(again.out).toContain('ssh_host_ed25519_key exists (kept)');
    expect(readFileSync(join(t.dir, 'root/.ssh/authorized_keys'), 'utf8').split(pub).length).toBe(2);
  });

  test('hostfile writes /etc/hosts only; a step failing under -a is reported and the others still run', () => {
    w('node', 'add', 'c3', '--ipaddr', '10.9.0.13');
    const r = w('configure', 'hostfile');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(`wrote ${t.dir}/etc/hosts`); // the first version is kept as .wwbackup once, not again
    expect(readFileSync(join(t.dir, 'etc/hosts'), 'utf8')).toMatch(/^10\.9\.0\.13\s+c3\b/m);
    // a directory where the unit file goes: the systemd step fails, nfs/ssh/hostfile still run
    const unit = join(t.dir, 'etc/systemd/system/wulf.service');
    Bun.spawnSync(['rm', '-f', unit]);
    mkdirSync(unit);
    const a = w('configure', '-a');
    expect(a.code).toBe(1);
    expect(a.err).toMatch(/^wulf: configure systemd: /m);
    expect(a.err).toContain('configure -a: 1 of 4 steps failed');
    expect(a.out).toContain('== configure hostfile');
    expect(a.err).not.toContain('    at ');
  });
});

test('not relocated, with the real exportfs: /etc/exports written, exportfs -ra fills the export table; no nfsd here is said so', () => {
  if (!existsSync('/usr/sbin/exportfs')) throw new Error('exportfs is missing (apt-get install nfs-kernel-server)');
  const ns = tempRoot('wulf-nfs-ns-');
  try {
    for (const d of ['eu', 'ew', 'vu', 'vw', 'share']) mkdirSync(join(ns.dir, d));
    const script = `set -e
mount -t overlay overlay -o lowerdir=/etc,upperdir=${ns.dir}/eu,workdir=${ns.dir}/ew /etc
mount -t overlay overlay -o lowerdir=/var/lib,upperdir=${ns.dir}/vu,workdir=${ns.dir}/vw /var/lib
${compiledBin} init --address 10.9.0.1/24 --interface lo >/dev/null
sed -i 's#- path: /home#- path: ${ns.dir}/share#' /etc/wulf/wulf.conf
echo "== nfs"; ${compiledBin} configure nfs; echo "rc=$?"
echo "== etab"; cat /var/lib/nfs/etab
echo "== exports"; cat /etc/exports
echo "== bad"; printf '/nonexistent-wulf-test 10.9.0.0/24(rw,no_subtree_check)\\n' > ${ns.dir}/own
cat ${ns.dir}/own /etc/exports > ${ns.dir}/new && cat ${ns.dir}/new > /etc/exports
${compiledBin} configure nfs || echo "rc=$?"
`;
    const r = Bun.spawnSync(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script], {
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'WULF_ROOT' && k !== 'WULF_HOST_ROOT')) as Record<
        string,
        string
      >,
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const out = r.stdout.toString(),
      err = r.stderr.toString();
    const part = (name: string) => out.split(`== ${name}\n`)[1]!.split('\n== ')[0]!;
    expect(part('nfs')).toContain('wrote /etc/exports');
    expect(part('nfs')).toMatch(new RegExp(`^exportfs -ra: 1 export in the table: ${ns.dir}/share\\s+10\\.9\\.0\\.0/24\\(.*rw`, 'm'));
    expect(part('nfs')).toContain('this kernel has no NFS server');
    expect(part('nfs')).toContain('rc=0');
    expect(part('etab')).toMatch(new RegExp(`^${ns.dir}/share\\s+10\\.9\\.0\\.0/24\\(rw,sync`, 'm'));
    expect(part('exports')).toMatch(new RegExp(`^${ns.dir}/share 10\\.9\\.0\\.0/24\\(rw,sync\\)$`, 'm'));
    // the controller's own line above wulf's marker is kept, and exportfs refuses it: one line, exit 1
    expect(part('bad')).toContain('rc=1');
    expect(err).toMatch(/^wulf: exportfs -ra failed: exportfs: Failed to stat \/nonexistent-wulf-test: No such file or directory$/m);
    expect(err).not.toContain('    at ');
    // nothing of the machine's own /etc changed
    expect(readFileSync('/etc/exports', 'utf8')).not.toContain('wulf');
    expect(existsSync('/etc/wulf/wulf.conf') && readFileSync('/etc/wulf/wulf.conf', 'utf8').includes(ns.dir)).toBe(false);
  } finally {
    ns.cleanup();
  }
}, 60_000);
