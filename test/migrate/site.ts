// The test Warewulf site (test/fixtures/warewulf-site) copied into a temp dir, made whole: busybox as
// the chroot's /bin/sh, cluster ssh host keys made with ssh-keygen; and a snapshot of a tree (every
// entry's type, mode, owner, size, mtime, inode and content hash) to prove nothing changed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.ts';

export const fixture = join(repoRoot, 'test', 'fixtures', 'warewulf-site');

export function copySite(dest: string): string {
  mkdirSync(dest, { recursive: true });
  const r = spawnSync('cp', ['-a', '-T', fixture, dest]);
  if (r.status !== 0) throw new Error(`cp: ${r.stderr}`);
  copyFileSync('/bin/busybox', join(dest, 'var/lib/warewulf/chroots/tiny/rootfs/bin/sh'));
  const keys = join(dest, 'etc/warewulf/keys');
  mkdirSync(keys, { recursive: true });
  for (const t of ['ed25519', 'rsa']) {
    const k = spawnSync('ssh-keygen', ['-q', '-t', t, '-N', '', '-C', 'warewulf site key', '-f', join(keys, `ssh_host_${t}_key`)]);
    if (k.status !== 0) throw new Error(`ssh-keygen: ${k.stderr}`);
  }
  return dest;
}

/** path → "type mode uid:gid size mtime ino sha" for every entry under `dir` (`skip`: names of subtrees left out). */
export function snapshot(dir: string, skip: string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    let names: string[] = [];
    try {
      names = readdirSync(join(dir, rel)).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      if (skip.includes(r)) continue;
      const st = lstatSync(join(dir, r));
      const body = st.isFile()
        ? createHash('sha1')
            .update(readFileSync(join(dir, r)))
            .digest('hex')
        : st.isSymbolicLink()
          ? readlinkSync(join(dir, r))
          : '';
      out.set(
        r,
        `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? '' : st.size} ${st.isDirectory() ? '' : st.mtimeMs} ${st.ino} ${body}`,
      );
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}
