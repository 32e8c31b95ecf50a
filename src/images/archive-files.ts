// Small files out of a built image archive (cpio, gzip or zstd; several archives back to back), for
// a controller that holds an image's build but not its tree: overlay templates read the image's
// /etc (include_image: the syncuser overlay merges its passwd and group) from what was extracted
// here, so they render the same bytes as on the controller that has the tree. Streamed: only the
// wanted files are kept in memory, one at a time. Names with `..`, absolute names and anything but
// regular files are skipped; nothing is written outside `dest`.
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { S_IFMT, S_IFREG } from '../lib/cpio.ts';
import { writeFileAtomic } from '../lib/atomic.ts';
import { errorLine } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

const pad4 = (n: number) => (4 - (n % 4)) % 4;
const hex = (b: Buffer, at: number) => parseInt(b.toString('latin1', at, at + 8), 16);

/** A safe relative name ('etc/passwd'), or undefined. */
function cleanName(raw: string): string | undefined {
  const parts = raw.replace(/^(\.\/|\/)+/, '').split('/');
  if (!parts.length || parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  return parts.join('/');
}

function decoded(archive: string): NodeJS.ReadableStream {
  const head = Buffer.alloc(4);
  const fd = openSync(archive, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  const src = createReadStream(archive);
  if (head[0] === 0x1f && head[1] === 0x8b) return src.pipe(createGunzip());
  if (head.readUInt32LE(0) === 0xfd2fb528) return src.pipe(createZstdDecompress());
  return src;
}

/** Extract the regular files `want` accepts into `dest`; the number written. */
export async function extractFiles(archive: string, dest: string, want: (name: string, size: number) => boolean): Promise<number> {
  let buf: Buffer = Buffer.alloc(0);
  let skip = 0;
  let cur: { name: string; left: number; parts: Buffer[] } | undefined;
  let written = 0;
  const finish = (c: { name: string; parts: Buffer[] }) => {
    const path = join(dest, c.name);
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, Buffer.concat(c.parts), { mode: 0o600 });
      written++;
    } catch {
      /* a name under a file of the same name: skipped */
    }
  };
  for await (const chunk of decoded(archive) as AsyncIterable<Buffer>) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      if (skip) {
        const n = Math.min(skip, buf.length);
        buf = buf.subarray(n);
        skip -= n;
        if (skip) break;
      }
      if (cur) {
        const n = Math.min(cur.left, buf.length);
        cur.parts.push(Buffer.from(buf.subarray(0, n)));
        buf = buf.subarray(n);
        cur.left -= n;
        if (cur.left) break;
        finish(cur);
        skip = pad4(cur.parts.reduce((s, p) => s + p.length, 0));
        cur = undefined;
        continue;
      }
      let z = 0;
      while (z < buf.length && buf[z] === 0) z++; // padding between archives
      buf = buf.subarray(z);
      if (buf.length < 110) break;
      if (buf.toString('latin1', 0, 6) !== '070701') throw new Error('not a newc cpio archive');
      const mode = hex(buf, 14),
        size = hex(buf, 54),
        namesize = hex(buf, 94);
      const hdr = 110 + namesize + pad4(110 + namesize);
      if (buf.length < hdr) break;
      const raw = buf.toString('utf8', 110, 110 + namesize - 1);
      buf = buf.subarray(hdr);
      const name = raw === 'TRAILER!!!' ? undefined : cleanName(raw);
      if (name && (mode & S_IFMT) === S_IFREG && want(name, size)) {
        cur = { name, left: size, parts: [] };
        if (!size) {
          finish(cur);
          cur = undefined;
        }
      } else skip = size + pad4(size);
    }
  }
  return written;
}

/** What a controller without the tree keeps of an image: its /etc, files up to 1 MiB. */
export const imageEtc = (name: string, size: number) => name.startsWith('etc/') && size <= 1 << 20;

export interface FetchedImageFiles {
  /** the image's /etc from this build is extracted */
  ready(digest: string): boolean;
  /** extract it (once; concurrent calls share one run); false when it failed (logged) */
  extract(digest: string, archive: string): Promise<boolean>;
  /** make include_image read `image` from the build `digest` (undefined: from the image's tree); true when that changed */
  point(image: string, digest: string | undefined): boolean;
  /** remove extracted builds not in `keep` */
  prune(keep: Set<string>): void;
}

/** <artifacts>/files/<digest>/ (the extracted /etc) and <artifacts>/images/<name> (the digest include_image reads). */
export function fetchedImageFiles(artifactsDir: string, log: Logger): FetchedImageFiles {
  const files = join(artifactsDir, 'files'),
    images = join(artifactsDir, 'images');
  const running = new Map<string, Promise<boolean>>();
  return {
    ready: (digest) => existsSync(join(files, digest)),
    extract(digest, archive) {
      let p = running.get(digest);
      if (!p) {
        p = (async () => {
          const tmp = join(files, `.tmp-${process.pid}-${digest}`);
          rmSync(tmp, { recursive: true, force: true });
          mkdirSync(tmp, { recursive: true, mode: 0o700 });
          try {
            const n = await extractFiles(archive, tmp, imageEtc);
            renameSync(tmp, join(files, digest));
            log.info('artifacts', `sha256:${digest.slice(0, 12)}: ${n} files of the image's /etc extracted for overlay templates`);
            return true;
          } catch (e) {
            rmSync(tmp, { recursive: true, force: true });
            log.warn('artifacts', `sha256:${digest.slice(0, 12)}: cannot extract the image's /etc: ${errorLine(e)}`);
            return false;
          }
        })().finally(() => running.delete(digest));
        running.set(digest, p);
      }
      return p;
    },
    point(image, digest) {
      const f = join(images, image);
      const was = existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined;
      if (was === digest) return false;
      if (digest) {
        mkdirSync(images, { recursive: true, mode: 0o700 });
        writeFileAtomic(f, digest + '\n');
      } else rmSync(f, { force: true });
      return true;
    },
    prune(keep) {
      for (const f of existsSync(files) ? readdirSync(files) : []) {
        if (/^[0-9a-f]{64}$/.test(f) && !keep.has(f) && !running.has(f)) rmSync(join(files, f), { recursive: true, force: true });
      }
    },
  };
}
