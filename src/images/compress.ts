// Parallel compressors for image archives, both producing what the kernel's initramfs unpacker
// accepts (see lib/initramfs.ts):
// - gzip: ONE gzip member, cut into blocks that are deflated on the thread pool at once, each
//   primed with the previous block's last 32 KiB as dictionary and ended with a sync flush, the
//   last one finished (the layout pigz uses). One stream, so the cpio inside may cross blocks.
// - zstd: one frame per complete cpio archive. The caller ends an archive (writes a trailer) and
//   calls `cut()` whenever `full` says the current frame is big enough; an archive bigger than a
//   block (a large file) is compressed as a stream instead of being held in memory.
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const deflateRaw = promisify(zlib.deflateRaw);
const WINDOW = 32 * 1024;

export interface Compressor {
  /** Append uncompressed bytes (copied; the caller may reuse b). */
  put(b: Uint8Array): Promise<void>;
  /** Whether the current zstd frame is big enough to end at the next archive boundary. */
  readonly full: boolean;
  /** End the current zstd frame (the bytes so far must end on a cpio trailer). No-op for gzip. */
  cut(): Promise<void>;
  /** Flush everything; the output is complete when this resolves. */
  end(): Promise<void>;
}

type Sink = (out: Uint8Array) => void;

interface Pending {
  out: Promise<Uint8Array>;
  buf: Buffer;
}

/** Ordered parallel jobs over pooled input buffers. */
class Pipeline {
  private queue: Pending[] = [];
  private pool: Buffer[] = [];
  constructor(
    private sink: Sink,
    private inflight: number,
    readonly blockBytes: number,
  ) {}
  buffer(): Buffer {
    return this.pool.pop() ?? Buffer.allocUnsafe(this.blockBytes);
  }
  async submit(out: Promise<Uint8Array>, buf: Buffer): Promise<void> {
    out.catch(() => {});
    this.queue.push({ out, buf });
    while (this.queue.length >= this.inflight) await this.drainOne();
  }
  async drainOne(): Promise<void> {
    const item = this.queue.shift()!;
    const out = await item.out;
    if (item.buf.length === this.blockBytes) this.pool.push(item.buf);
    this.sink(out);
  }
  async drain(): Promise<void> {
    while (this.queue.length) await this.drainOne();
  }
}

/** Shared block-filling for both formats. */
abstract class Blocked implements Compressor {
  protected p: Pipeline;
  protected buf: Buffer;
  protected used = 0;
  constructor(sink: Sink, inflight: number, blockBytes: number) {
    this.p = new Pipeline(sink, inflight, blockBytes);
    this.buf = this.p.buffer();
  }
  get full(): boolean {
    return false;
  }
  async cut(): Promise<void> {}
  protected abstract block(last: boolean): Promise<void>;
  abstract end(): Promise<void>;
  async put(b: Uint8Array): Promise<void> {
    let off = 0;
    while (off < b.length) {
      const n = Math.min(b.length - off, this.buf.length - this.used);
      this.buf.set(b.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
      if (this.used === this.buf.length) await this.block(false);
    }
  }
}

export class ParallelGzip extends Blocked {
  private crc = 0;
  private isize = 0;
  private dict: Buffer | undefined;
  constructor(
    private sink: Sink,
    private level = 6,
    inflight = 3,
    blockBytes = 4 << 20,
  ) {
    super(sink, inflight, blockBytes);
    // magic, deflate, no flags, mtime 0, no extra flags, OS unix
    sink(Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3));
  }
  protected async block(last: boolean): Promise<void> {
    const input = this.buf.subarray(0, this.used);
    this.crc = Bun.hash.crc32(input, this.crc);
    this.isize = (this.isize + input.length) >>> 0;
    const opts: zlib.ZlibOptions = { level: this.level, finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH };
    if (this.dict) opts.dictionary = this.dict;
    // the next block's dictionary: a copy, since this buffer returns to the pool
    this.dict =
      input.length >= WINDOW
        ? Buffer.from(input.subarray(input.length - WINDOW))
        : Buffer.concat([this.dict ?? Buffer.alloc(0), input]).subarray(-WINDOW);
    const job = deflateRaw(input, opts) as Promise<Uint8Array>;
    const held = this.buf;
    this.buf = this.p.buffer();
    this.used = 0;
    await this.p.submit(job, held);
  }
  async end(): Promise<void> {
    await this.block(true);
    await this.p.drain();
    const t = Buffer.alloc(8);
    t.writeUInt32LE(this.crc >>> 0, 0);
    t.writeUInt32LE(this.isize, 4);
    this.sink(t);
  }
}

export class FramedZstd implements Compressor {
  private p: Pipeline;
  private buf: Buffer;
  private used = 0;
  private stream: zlib.ZstdCompress | undefined;
  private streamEnd: Promise<void> | undefined;
  constructor(
    private sink: Sink,
    private level = 3,
    inflight = 3,
    private blockBytes = 4 << 20,
  ) {
    // an archive may run past a block by one entry before it can be cut: room for two blocks
    this.p = new Pipeline(sink, inflight, 2 * blockBytes);
    this.buf = this.p.buffer();
  }
  get full(): boolean {
    return this.stream !== undefined || this.used >= this.blockBytes;
  }
  async put(b: Uint8Array): Promise<void> {
    if (!this.stream && this.used + b.length > this.buf.length) {
      // this archive does not fit two blocks (a large file): compress it as a stream, in order
      await this.p.drain();
      const s = zlib.createZstdCompress({ params: { [zlib.constants.ZSTD_c_compressionLevel]: this.level } });
      s.on('data', (d: Uint8Array) => this.sink(d));
      this.streamEnd = new Promise<void>((resolve, reject) => {
        s.once('end', () => resolve());
        s.once('error', reject);
      });
      this.stream = s;
      await this.streamWrite(this.buf.subarray(0, this.used));
      this.used = 0;
    }
    if (this.stream) return this.streamWrite(b);
    this.buf.set(b, this.used);
    this.used += b.length;
  }
  private async streamWrite(b: Uint8Array): Promise<void> {
    const s = this.stream!;
    if (!s.write(Buffer.from(b))) await new Promise<void>((r) => s.once('drain', () => r()));
  }
  async cut(): Promise<void> {
    if (this.stream) {
      const s = this.stream;
      this.stream = undefined;
      s.end();
      await this.streamEnd;
      return;
    }
    if (!this.used) return;
    const input = this.buf.subarray(0, this.used);
    const held = this.buf;
    this.buf = this.p.buffer();
    this.used = 0;
    await this.p.submit(Bun.zstdCompress(input, { level: this.level }), held);
  }
  async end(): Promise<void> {
    await this.cut();
    await this.p.drain();
  }
}
