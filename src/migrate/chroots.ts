// Warewulf image chroots (<chroots>/<name>/rootfs) for the import: a signature of the tree (names,
// types, modes, owners, sizes, mtimes, link targets) that says whether it changed since the last
// import, a refusal of device files, and the copy into a staging dir of wulf's image store.
import { lstatSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { WulfError } from '../lib/errors.ts';

export interface Chroot {
  name: string;
  rootfs: string;
  signature: string;
  files: number;
}
export const MARKER = 'warewulf-import.json';

/** Walk the tree without following links; a device node, FIFO or socket is a one-line error. */
export function scanChroot(name: string, rootfs: string): Chroot {
  const h = createHash('sha256');
  let files = 0;
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(join(rootfs, rel)).sort();
    } catch (e) {
      throw new WulfError(`${join(rootfs, rel)}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(join(rootfs, r));
      const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : '';
      if (!kind) {
        const what = st.isBlockDevice()
          ? 'a block device'
          : st.isCharacterDevice()
            ? 'a character device'
            : st.isFIFO()
              ? 'a FIFO'
              : 'a socket';
        throw new WulfError(`image ${name}: ${join(rootfs, r)} is ${what}; an image chroot should not hold one: nothing was imported`, {
          hint: `remove it from the chroot (a node's /dev is made at boot), or import the image yourself with 'wulf image import ${rootfs} ${name}'`,
          code: 'EFORMAT',
        });
      }
      files++;
      h.update(
        `${r}\0${kind}\0${st.mode}\0${st.uid}\0${st.gid}\0${st.size}\0${Math.floor(st.mtimeMs)}\0${kind === 'l' ? readlinkSync(join(rootfs, r)) : ''}\n`,
      );
      if (kind === 'd') walk(r);
    }
  };
  walk('');
  return { name, rootfs, signature: h.digest('hex').slice(0, 32), files };
}

/** The chroots of a Warewulf site: <dir>/<name>/rootfs with a valid wulf image name. */
export function listChroots(dir: string, check: (name: string) => boolean, bad: (path: string, why: string) => void): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.filter((n) => {
    const rootfs = lstatSync(join(dir, n, 'rootfs'), { throwIfNoEntry: false });
    if (!rootfs?.isDirectory()) {
      if (rootfs) bad(join(dir, n, 'rootfs'), 'not a directory (a symlink?): image left out');
      return false;
    }
    if (!check(n)) {
      bad(join(dir, n), 'not a valid wulf image name (letters, digits, . _ + -): image left out');
      return false;
    }
    return true;
  });
}

/** Copy a chroot into `stageDir/rootfs` (cp -a keeps owners, modes, links, times) and write the image metadata. */
export async function stageChroot(c: Chroot, stageDir: string): Promise<void> {
  const p = Bun.spawn(['cp', '-a', '--reflink=auto', '-T', c.rootfs, join(stageDir, 'rootfs')], { stdout: 'ignore', stderr: 'pipe' });
  const err = await new Response(p.stderr).text();
  if ((await p.exited) !== 0) {
    throw new WulfError(`copying ${c.rootfs} failed: ${err.trim().split('\n')[0]}`, { code: /No space left/.test(err) ? 'ENOSPC' : 'EIO' });
  }
  const now = new Date().toISOString();
  writeFileSync(
    join(stageDir, 'image.json'),
    JSON.stringify({ name: c.name, source: c.rootfs, created: now, imported: now, layers: [] }, null, 2) + '\n',
  );
  writeFileSync(join(stageDir, MARKER), JSON.stringify({ source: c.rootfs, signature: c.signature }) + '\n');
}
