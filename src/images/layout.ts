// Where an image lives on disk and what its metadata says:
// imagesDir/<name>/{rootfs/, image.json, build/<sha256>.img.gz|.img.zst, build/current, build/previous}.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Paths } from '../config/paths.ts';
import { WulfError } from '../lib/errors.ts';

export interface ImageMeta {
  name: string;
  source: string;
  digest?: string; // manifest digest for registry/OCI sources
  created: string; // from the image config, else the import time
  imported: string;
  platform?: string; // os/arch[/variant]
  layers: string[]; // layer digests in order
  config?: { env?: string[]; cmd?: string[]; entrypoint?: string[]; labels?: Record<string, string> };
}

export interface BuildPointer {
  digest: string; // sha256 hex of the artifact file
  file: string; // file name inside build/
  size: number;
  compression: 'gzip' | 'zstd';
  treeKey: string; // digest of the rootfs listing it was built from
  built: string;
  entries: number;
}

export const imageDir = (p: Paths, name: string) => join(p.imagesDir, name);
export const rootfsDir = (p: Paths, name: string) => join(p.imagesDir, name, 'rootfs');
export const metaFile = (p: Paths, name: string) => join(p.imagesDir, name, 'image.json');
export const buildDir = (p: Paths, name: string) => join(p.imagesDir, name, 'build');
export const currentFile = (p: Paths, name: string) => join(p.imagesDir, name, 'build', 'current');
export const previousFile = (p: Paths, name: string) => join(p.imagesDir, name, 'build', 'previous');

/**
 * The image store is its owner's alone (0700; root's, but the demo's user's in a demo): image trees
 * hold device nodes and setuid files exactly as their layers say, which a local user could otherwise
 * open or run. Made so when missing (its parents keep the usual modes) and tightened when an older
 * install left it 0755. Every image write and serve's start call this; nothing else in wulf needs
 * another user to enter it (serve, the TUI and the CLI run as the store's owner).
 */
export function ensureImageStore(p: Paths): void {
  mkdirSync(dirname(p.imagesDir), { recursive: true });
  try {
    mkdirSync(p.imagesDir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (statSync(p.imagesDir).mode & 0o077) chmodSync(p.imagesDir, 0o700);
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
export function checkImageName(name: string | undefined): string {
  if (!name || !NAME_RE.test(name))
    throw new WulfError(`invalid image name "${name ?? ''}"`, { hint: 'use letters, digits, ".", "_", "+", "-"', code: 'EARG' });
  return name;
}

export function imageExists(p: Paths, name: string): boolean {
  return existsSync(rootfsDir(p, name));
}

export function mustExist(p: Paths, name: string): string {
  checkImageName(name);
  if (!imageExists(p, name)) throw new WulfError(`image "${name}" does not exist`, { hint: "see 'wulf image list'", code: 'ENOENT' });
  return name;
}

export function readMeta(p: Paths, name: string): ImageMeta {
  try {
    return JSON.parse(readFileSync(metaFile(p, name), 'utf8')) as ImageMeta;
  } catch {
    const t = (() => {
      try {
        return statSync(rootfsDir(p, name)).mtime.toISOString();
      } catch {
        return new Date(0).toISOString();
      }
    })();
    return { name, source: 'unknown', created: t, imported: t, layers: [] };
  }
}

export function readPointer(file: string): BuildPointer | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as BuildPointer;
  } catch {
    return undefined;
  }
}

/** Names of every registered image (a directory with rootfs/, not a temp dir). */
export function listImageNames(p: Paths): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(p.imagesDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') return [];
    throw new WulfError(`cannot read ${p.imagesDir}: permission denied (the image store is its owner's alone; run as root)`, {
      code: 'EACCES',
    });
  }
  return names.filter((n) => NAME_RE.test(n) && existsSync(join(p.imagesDir, n, 'rootfs'))).sort();
}
