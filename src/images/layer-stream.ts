// Opens a layer blob (plain, gzip or zstd tar, told apart by magic bytes) as a decompressed
// stream, hashing the raw bytes on the way so the digest is checked once the stream ends.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { PassThrough, Transform, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { WulfError } from '../lib/errors.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

export function sniffCompression(file: string): Compression {
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(4);
  try {
    readSync(fd, b, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

export interface OpenedLayer {
  stream: Readable;
  done: Promise<void>;
}

/**
 * A decompressed view of `file`. If `digest` ("sha256:hex") is given, `done` rejects when the
 * raw bytes do not hash to it (and the stream errors, so a consumer stops).
 */
export function openLayer(file: string, digest?: string): OpenedLayer {
  const comp = sniffCompression(file);
  const hash = createHash('sha256');
  let resolveDone!: () => void, rejectDone!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => {});
  const hasher = new Transform({
    transform(chunk, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      if (digest && digest.startsWith('sha256:')) {
        const got = 'sha256:' + hash.digest('hex');
        if (got !== digest) {
          const e = new WulfError(`digest mismatch for layer ${digest.slice(0, 19)}…: content hashes to ${got.slice(0, 19)}…`, {
            code: 'EDIGEST',
          });
          rejectDone(e);
          cb(e);
          return;
        }
      }
      resolveDone();
      cb();
    },
  });
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  raw.on('error', (e) => {
    rejectDone(e);
    hasher.destroy(e);
  });
  raw.pipe(hasher);
  let out: Readable;
  if (comp === 'none') out = hasher;
  else {
    const d = comp === 'gzip' ? zlib.createGunzip({ chunkSize: 1 << 18 }) : zlib.createZstdDecompress();
    hasher.on('error', (e) => d.destroy(e));
    d.on('error', (e) =>
      rejectDone(
        e instanceof WulfError
          ? e
          : new WulfError(`layer ${digest?.slice(0, 19) ?? file} is not valid ${comp} data (${e.message})`, { code: 'ELAYER' }),
      ),
    );
    hasher.pipe(d);
    out = d;
  }
  const pass = new PassThrough({ highWaterMark: 1 << 20 });
  out.on('error', (e) =>
    pass.destroy(e instanceof WulfError ? e : new WulfError(`layer ${digest?.slice(0, 19) ?? file}: ${e.message}`, { code: 'ELAYER' })),
  );
  out.pipe(pass);
  return { stream: pass, done };
}
