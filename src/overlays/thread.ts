// The overlay service's build thread: one long-lived worker that builds one archive at a time, so
// that template rendering (user code: a loop may spin) never runs on the server's event loop,
// where DHCP, TFTP and HTTP are answered. Each build has a hard wall-clock limit: past it the
// worker is terminated (which stops even a loop that never reaches Liquid's own time check) and
// the build fails; the caller serves the previous good archive. The next build starts a new worker.
// The worker keeps its Builder (template memo, node views, gzip members) between builds; a new
// config snapshot is sent once, as JSON (a structured clone of 10,000 nodes costs ~150 ms).
import type { Paths } from '../config/paths.ts';
import type { WulfConf } from '../config/wulfconf.ts';
import { compiled } from '../lib/assets.ts';
import { WulfError } from '../lib/errors.ts';
import type { ArchiveInfo } from './archive-file.ts';
import type { Kind, Snapshot } from './build.ts';
import { LIMITS } from './render.ts';

export type ThreadMsg =
  | { op: 'snap'; paths: Paths; hostAllow?: string[]; conf: string; wulf: WulfConf; limits: typeof LIMITS }
  | { op: 'build'; seq: number; node: string; kind: Kind };
export interface ThreadStats {
  renders: number;
  hits: number;
  misses: number;
}
export interface ThreadReply {
  seq: number;
  info?: ArchiveInfo;
  error?: string;
  files?: string[];
  stats?: ThreadStats;
}

export class BuildTimeout extends WulfError {
  constructor(node: string, kind: Kind, ms: number) {
    super(
      `${kind} overlay of ${node}: rendering took longer than ${ms / 1000} s and was stopped (a looping template? wulf.conf warewulf: overlay render timeout)`,
      { code: 'ETIMEOUT' },
    );
  }
}

export class BuildThread {
  private w?: Worker;
  private sentSnap = -1;
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private waiting?: { seq: number; resolve: (r: ThreadReply) => void; reject: (e: unknown) => void };
  /** counters of workers stopped so far, plus the running one's latest */
  private done: ThreadStats = { renders: 0, hits: 0, misses: 0 };
  private live: ThreadStats = { renders: 0, hits: 0, misses: 0 };

  constructor(
    private paths: Paths,
    private hostAllow: string[] | undefined,
    private onFiles: (keys: string[]) => void,
  ) {}

  stats(): ThreadStats {
    return {
      renders: this.done.renders + this.live.renders,
      hits: this.done.hits + this.live.hits,
      misses: this.done.misses + this.live.misses,
    };
  }

  /** Build and write one archive in the worker; rejects after `limitMs` (the worker is then stopped). */
  build(s: Snapshot, node: string, kind: Kind, limitMs: number): Promise<ArchiveInfo> {
    const p = this.queue.then(() => this.run(s, node, kind, limitMs));
    this.queue = p.catch(() => undefined);
    return p;
  }

  private start(): Worker {
    // compiled: build/build.ts embeds src/overlays/worker.ts as an extra entrypoint (…/overlays/worker.js)
    const w = new Worker(compiled ? new URL('./overlays/worker.js', import.meta.url).href : new URL('./worker.ts', import.meta.url).href);
    w.onmessage = (ev: MessageEvent<ThreadReply>) => {
      const r = ev.data;
      if (r.stats) this.live = r.stats;
      if (r.files) this.onFiles(r.files);
      if (this.waiting?.seq === r.seq) {
        const x = this.waiting;
        this.waiting = undefined;
        x.resolve(r);
      }
    };
    w.onerror = (ev) => {
      const x = this.waiting;
      this.stop();
      x?.reject(new WulfError(`overlay build thread: ${(ev as ErrorEvent).message}`));
    };
    (w as unknown as { unref?: () => void }).unref?.(); // a CLI process that used the service exits when it is done
    this.w = w;
    this.sentSnap = -1;
    return w;
  }

  /** Stop the worker (a new one starts with the next build). */
  stop(): void {
    if (!this.w) return;
    const w = this.w;
    this.w = undefined;
    this.sentSnap = -1;
    this.waiting = undefined;
    this.done = this.stats();
    this.live = { renders: 0, hits: 0, misses: 0 };
    w.terminate();
  }

  private async run(s: Snapshot, node: string, kind: Kind, limitMs: number): Promise<ArchiveInfo> {
    const w = this.w ?? this.start();
    if (this.sentSnap !== s.id) {
      w.postMessage({
        op: 'snap',
        paths: this.paths,
        hostAllow: this.hostAllow,
        conf: JSON.stringify(s.conf),
        wulf: s.wulf,
        limits: { ...LIMITS },
      } satisfies ThreadMsg);
      this.sentSnap = s.id;
    }
    const seq = ++this.seq;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reply = await new Promise<ThreadReply>((resolve, reject) => {
      this.waiting = { seq, resolve, reject };
      timer = setTimeout(() => {
        this.stop();
        reject(new BuildTimeout(node, kind, limitMs));
      }, limitMs);
      w.postMessage({ op: 'build', seq, node, kind } satisfies ThreadMsg);
    }).finally(() => clearTimeout(timer));
    if (reply.error !== undefined) throw new WulfError(reply.error, { code: 'EBUILD' });
    return reply.info!;
  }
}
