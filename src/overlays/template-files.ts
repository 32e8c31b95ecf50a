// The controller and image files a template may read (include_file, include_image, import_link,
// readlink): which paths are allowed, where they really lead, and the signature each read records
// so a changed file rebuilds what read it.
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { createHash } from 'node:crypto';
import { FILE_PREFIX, SEP, type Reads } from './track.ts';
import { cleanRel } from './sources.ts';

export interface RenderEnv {
  /** controller config dir: relative include_file paths resolve here */
  confDir: string;
  /** prefix for absolute include_file paths ('' = the real /) */
  hostRoot: string;
  /** absolute host paths include_file may read besides confDir */
  hostAllow: string[];
  /** a file from the node's image, or undefined */
  imageFile?: (image: string, path: string) => Uint8Array | undefined;
}

/** What a file read needs of the render running: where files come from and where the read is recorded. */
export interface FileReader {
  env: RenderEnv;
  reads: Reads;
}

const hashOf = (b: Uint8Array | string) => createHash('sha1').update(b).digest('hex');

const PRIVATE_NAME = /(^|\/)etc\/ssh\/.*(_key|\.key|\.pem)$/;
const PRIVATE_TEXT = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/**
 * The bytes of a regular file, never of a FIFO, device or socket (opening one blocks or has
 * effects): opened with O_NONBLOCK|O_NOFOLLOW and checked with fstat. Throws a one-line Error.
 */
export function readRegular(p: string): Buffer {
  const st = lstatSync(p);
  if (!st.isFile()) throw new Error(`${p} is not a regular file`);
  const fd = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  try {
    const now = fstatSync(fd);
    if (!now.isFile() || now.ino !== st.ino) throw new Error(`${p} is not a regular file`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

const under = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');
const realOr = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
};

/** Where a controller path a template names is read: relative ones in the config dir, absolute ones only when allowed. */
function hostPath(c: FileReader, path: string, tag: string): { abs: string; listed: boolean } {
  if (isAbsolute(path)) {
    const n = normalize(path);
    const inConf = n.startsWith(c.env.confDir + '/');
    if (!inConf && !c.env.hostAllow.some((a) => n === a || (a.endsWith('/') && n.startsWith(a)))) {
      throw new Error(`${tag} "${path}": only files under ${c.env.confDir} or ${c.env.hostAllow.join(', ')} may be included`);
    }
    return { abs: inConf ? n : c.env.hostRoot + n, listed: c.env.hostAllow.includes(n) };
  }
  const abs = join(c.env.confDir, path);
  if (!normalize(abs).startsWith(c.env.confDir + '/')) throw new Error(`${tag} "${path}" leaves ${c.env.confDir}`);
  return { abs, listed: false };
}

/**
 * Where a controller path leads, every link resolved (Warewulf's readlink, and ImportLink's target),
 * as the node sees it (without the WULF_HOST_ROOT prefix). Recorded so a changed link rebuilds.
 */
export function resolveHostLink(c: FileReader, path: string, tag: string): string {
  const { abs } = hostPath(c, path, tag);
  const real = realOr(abs);
  c.reads.global.set(FILE_PREFIX + 'l' + abs, real ?? 'missing');
  if (real === undefined) throw new Error(`${tag} "${path}": ${abs} does not exist`);
  const root = c.env.hostRoot ? (realOr(c.env.hostRoot) ?? c.env.hostRoot) : '';
  return root && real.startsWith(root + '/') ? real.slice(root.length) : real;
}

/** The text of a controller file (include_file), if its path and where it really leads are allowed. */
export function readHostFile(c: FileReader, path: string, optional: boolean): string {
  const realConf = realOr(c.env.confDir) ?? c.env.confDir;
  const { abs, listed } = hostPath(c, path, 'include_file');
  const key = FILE_PREFIX + 'c' + abs;
  const real = realOr(abs);
  if (real === undefined) {
    c.reads.global.set(key, 'missing');
    if (optional) return '';
    throw new Error(`include_file "${path}": ${abs} does not exist`);
  }
  // where the path really leads (every symlink resolved) must itself be allowed: the config dir, or
  // an allowed entry's own real place (so /etc/localtime may be a link into /usr/share/zoneinfo)
  const inConf = under(real, realConf + '/');
  if (
    !inConf &&
    !c.env.hostAllow.some((a) => {
      const ra = realOr(c.env.hostRoot + a);
      return ra !== undefined && (a.endsWith('/') ? under(real, ra + '/') : real === ra);
    })
  ) {
    throw new Error(`include_file "${path}" resolves to ${real}, outside ${c.env.confDir} and the allowed paths`);
  }
  let buf: Buffer;
  try {
    buf = readRegular(real);
  } catch (e) {
    throw new Error(`include_file "${path}": ${(e as Error).message.split('\n')[0]}`);
  }
  // private keys on the controller only when wulf.conf lists the file by its full path
  if (!inConf && !listed && (PRIVATE_NAME.test(real) || PRIVATE_TEXT.test(buf.toString('latin1')))) {
    throw new Error(
      `include_file "${path}": a private key; list its full path in wulf.conf (warewulf: overlay include paths) to include it`,
    );
  }
  c.reads.global.set(key, hashOf(buf));
  return buf.toString('utf8');
}

/** The text of a file of the node's image (include_image). */
export function readImageFile(c: FileReader, path: string, optional: boolean, image: unknown): string {
  const rel = cleanRel(path, 'include_image path');
  const img = typeof image === 'string' ? image : '';
  const key = FILE_PREFIX + 'i' + img + SEP + rel;
  const buf = img && c.env.imageFile ? c.env.imageFile(img, '/' + rel) : undefined;
  c.reads.global.set(key, buf ? hashOf(buf) : 'missing');
  if (!buf) {
    if (optional) return '';
    throw new Error(`include_image "${path}": ${img ? `not found in image ${img}` : 'the node has no image'}`);
  }
  return new TextDecoder().decode(buf);
}

/** File key → its current signature (for cache checks); same encoding as recorded. */
export function fileSig(key: string, env: RenderEnv): string {
  const kind = key[FILE_PREFIX.length];
  const rest = key.slice(FILE_PREFIX.length + 1);
  if (kind === 'c') {
    try {
      return hashOf(readRegular(realpathSync(rest)));
    } catch {
      return 'missing';
    }
  }
  if (kind === 'l') return realOr(rest) ?? 'missing';
  const [img, rel] = rest.split(SEP) as [string, string];
  const buf = env.imageFile?.(img, '/' + rel);
  return buf ? hashOf(buf) : 'missing';
}
