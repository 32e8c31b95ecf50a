// The overlay service the HTTP server calls: archive(node, kind) returns a ready file, rebuilt only
// when something it depends on changed (config, overlay sources, included files, other nodes a
// template read). One build per node/kind at a time; a failed render keeps the last good archive.
// Builds run on the build thread (thread.ts) with a hard wall-clock limit, never on the caller's
// event loop (the server's DHCP, TFTP and HTTP); only `entries` (show/diff) renders in-thread.
import { statSync } from 'node:fs';
import type { NodesConf } from '../config/cascade.ts';
import type { WulfConf } from '../config/wulfconf.ts';
import type { Paths } from '../config/paths.ts';
import type { Logger } from '../lib/log.ts';
import { compiled } from '../lib/assets.ts';
import { errorLine } from '../lib/errors.ts';
import { Builder, KINDS, checkKind, type Kind, type SharedRender, type Snapshot } from './build.ts';
import type { Entry } from './archive-pack.ts';
import { markServed, pruneArchives, servedHash, writeArchive, type ArchiveInfo } from './archive-file.ts';
import { distOverlaysDir, treeSignature } from './sources.ts';
import { FILE_PREFIX } from './track.ts';
import { renderLimitMs } from './render.ts';
import { BuildThread } from './thread.ts';

export type { ArchiveInfo } from './archive-file.ts';
export type { Kind } from './build.ts';

export interface OverlayServiceOptions {
  paths: Paths;
  getConf: () => NodesConf;
  getWulfConf: () => WulfConf;
  log: Logger;
  imageFile?: (image: string, path: string) => Uint8Array | undefined;
  /** absolute host files include_file may read (default /etc/passwd, /etc/group, /root/.ssh/, /etc/localtime) */
  hostAllow?: string[];
  /** how often (ms) sources and included files are re-checked for changes; default 200 */
  recheckMs?: number;
}

export interface BuildManyResult {
  built: number;
  failed: { node: string; kind: Kind; error: string }[];
  ms: number;
}

export interface OverlayService {
  /** The archive to serve for a node; builds it if missing or stale. Marks it as the last served. */
  archive(nodeId: string, kind: Kind): Promise<ArchiveInfo>;
  /** Build (or check) many nodes, in parallel workers when there are many. */
  buildMany(nodeIds: string[], kinds?: Kind[], workers?: number): Promise<BuildManyResult>;
  /** The files a node's archive would hold now (for show/diff). */
  entries(nodeId: string, kind: Kind): Map<string, Entry>;
  /** Forget the current snapshot so the next call re-checks everything. */
  invalidate(): void;
  stats(): { renders: number; memoHits: number; memoMisses: number; snapshots: number };
}

const FAILURE_RETRY_MS = 60_000;

/**
 * The hard wall-clock limit of one archive build: wulf.conf `warewulf: overlay render timeout`
 * (seconds), else Liquid's own per-template limit (10 s + 2 ms per node) plus 5 s, so that the
 * in-template check, which names the line, normally fires first and the stop catches the rest.
 */
export function buildLimitMs(wulf: WulfConf, nodes: number): number {
  return wulf.warewulf.renderTimeoutMs ?? renderLimitMs(nodes) + 5000;
}

export function createOverlayService(opts: OverlayServiceOptions): OverlayService {
  const { paths, log } = opts;
  const builder = new Builder({ paths, imageFile: opts.imageFile, hostAllow: opts.hostAllow });
  // a custom imageFile (a function: tests) cannot go to a worker; such a service builds in-thread
  const thread = opts.imageFile ? undefined : new BuildThread(paths, opts.hostAllow, (keys) => builder.addFileKeys(keys));
  const inputs = new Inputs(builder, opts);
  const current = () => inputs.current();
  const index = new Map<string, { snap: number; info: ArchiveInfo }>();
  const inflight = new Map<string, Promise<ArchiveInfo>>();
  const failures = new Map<string, { sig: string; at: number; error: unknown }>(); // by the inputs' signature

  /** Build one archive: on the build thread, stopped past the wall-clock limit (see buildLimitMs). */
  async function buildNow(node: string, kind: Kind, s: Snapshot): Promise<ArchiveInfo> {
    if (thread) return thread.build(s, node, kind, buildLimitMs(s.wulf, s.nodeCount));
    return writeArchive(paths, node, kind, builder.pack(builder.entries(s, node, kind)));
  }

  async function archive(node: string, kind: Kind): Promise<ArchiveInfo> {
    checkKind(kind);
    const key = `${node}\0${kind}`;
    const s = current();
    const have = index.get(key);
    if (have && have.snap === s.id) {
      markServed(paths, node, kind, have.info.hash);
      return have.info;
    }
    // the same inputs failed already (a template error, a runaway loop cut at the time limit):
    // answer at once with the previous good archive instead of rendering again on every fetch;
    // retried when the inputs change, or after a minute (files read from an image are not in the signature)
    const failed = failures.get(key);
    if (failed?.sig === inputs.sig && Date.now() - failed.at < FAILURE_RETRY_MS) {
      if (have) {
        markServed(paths, node, kind, have.info.hash);
        return have.info;
      }
      throw failed.error;
    }
    const running = inflight.get(key);
    if (running) return running;
    const sig = inputs.sig;
    const p = (async () => {
      await null;
      try {
        const info = await buildNow(node, kind, s);
        const prev = index.get(key);
        index.set(key, { snap: s.id, info });
        failures.delete(key);
        if (prev?.info.hash !== info.hash) {
          log.debug('overlay', `built ${kind} overlay`, { node, hash: info.hash, size: info.size });
          pruneArchives(paths, node, kind, [info.hash, servedHash(paths, node, kind)]);
        }
        markServed(paths, node, kind, info.hash);
        return info;
      } catch (e) {
        const prev = index.get(key);
        failures.set(key, { sig, at: Date.now(), error: e });
        log.error('overlay', `cannot build ${kind} overlay: ${errorLine(e)}`, { node, serving: prev ? prev.info.hash : 'nothing' });
        if (prev) return prev.info;
        throw e;
      } finally {
        inflight.delete(key);
      }
    })();
    inflight.set(key, p);
    return p;
  }

  async function buildMany(nodeIds: string[], kinds: Kind[] = KINDS, workers?: number): Promise<BuildManyResult> {
    kinds.forEach(checkKind);
    const t0 = performance.now();
    const s = current();
    const n = Math.max(1, Math.min(workers ?? navigator.hardwareConcurrency ?? 1, 16, Math.ceil(nodeIds.length / 200)));
    const failed: BuildManyResult['failed'] = [];
    let built = 0;
    if (n <= 1 || opts.imageFile) {
      for (const node of nodeIds)
        for (const kind of kinds) {
          try {
            const info = await buildNow(node, kind, s);
            index.set(`${node}\0${kind}`, { snap: s.id, info });
            built++;
          } catch (e) {
            failed.push({ node, kind, error: errorLine(e) });
          }
        }
      return { built, failed, ms: performance.now() - t0 };
    }
    const results = await buildInWorkers(paths, builder, s, nodeIds, kinds, n, opts.hostAllow);
    for (const r of results) {
      for (const ok of r.ok) {
        index.set(`${ok.node}\0${ok.kind}`, { snap: s.id, info: ok.info });
        built++;
      }
      failed.push(...r.failed);
    }
    return { built, failed, ms: performance.now() - t0 };
  }

  return {
    archive,
    buildMany,
    entries: (node, kind) => builder.entries(current(), node, checkKind(kind)),
    invalidate: () => inputs.invalidate(),
    stats: () => {
      const t = thread?.stats() ?? { renders: 0, hits: 0, misses: 0 };
      return {
        renders: builder.renders + t.renders,
        memoHits: builder.memo.hits + t.hits,
        memoMisses: builder.memo.misses + t.misses,
        snapshots: inputs.snapshots,
      };
    },
  };
}

/**
 * The inputs of every archive as one snapshot, re-checked at most every `recheckMs` and taken anew when
 * their signature changes: config and wulf.conf revisions, the overlay trees, the host files templates included.
 */
class Inputs {
  private snap: Snapshot | undefined;
  /** the signature of the current snapshot's inputs */
  sig = '';
  private checkedAt = 0;
  snapshots = 0;
  private readonly recheck: number;

  constructor(
    private readonly builder: Builder,
    private readonly opts: OverlayServiceOptions,
  ) {
    this.recheck = opts.recheckMs ?? 200;
  }

  current(): Snapshot {
    const now = Date.now();
    if (this.snap && now - this.checkedAt < this.recheck) return this.snap;
    const conf = this.opts.getConf(),
      wulf = this.opts.getWulfConf();
    const site = treeSignature(this.opts.paths.siteOverlaysDir);
    const dist = compiled ? 'embedded' : treeSignature(distOverlaysDir());
    const sig = `${conf.revision}\0${wulf.revision}\0${site}\0${dist}\0${this.fileStats()}`;
    this.checkedAt = now;
    if (!this.snap || sig !== this.sig) {
      this.snap = this.builder.snapshot(conf, wulf);
      this.sig = sig;
      this.snapshots++;
    }
    return this.snap;
  }

  /** Forget the snapshot so the next call re-checks everything. */
  invalidate(): void {
    this.snap = undefined;
    this.checkedAt = 0;
  }

  /** The size, mtime and inode of each host file a template included. */
  private fileStats(): string {
    let s = '';
    for (const k of this.builder.fileKeys()) {
      if (k[FILE_PREFIX.length] !== 'c') continue;
      const p = k.slice(FILE_PREFIX.length + 1);
      try {
        const st = statSync(p);
        s += `${p}:${st.size}:${st.mtimeMs}:${st.ino};`;
      } catch {
        s += `${p}:-;`;
      }
    }
    return s;
  }
}

/** Build the nodes' archives in `n` worker threads, each on a slice of the nodes. */
async function buildInWorkers(
  paths: Paths,
  builder: Builder,
  s: Snapshot,
  nodeIds: string[],
  kinds: Kind[],
  n: number,
  hostAllow: string[] | undefined,
): Promise<WorkerResult[]> {
  const chunks: string[][] = Array.from({ length: n }, () => []);
  nodeIds.forEach((id, i) => chunks[Math.floor((i * n) / nodeIds.length)]!.push(id));
  // the workers start on the first kind; meanwhile this thread builds the first node's archives, which
  // renders once what is the same for every node (hosts over all nodes), and hands those renders on
  const sharedFollows = kinds.length > 1;
  const pool = chunks.map((nodes) => runWorker({ paths, conf: s.conf, wulf: s.wulf, nodes, kinds, hostAllow, sharedFollows }));
  if (sharedFollows) {
    await null;
    for (const kind of kinds.slice(1)) {
      try {
        builder.entries(s, nodeIds[0]!, kind);
      } catch {
        /* the worker reports it */
      }
    }
    const shared = builder.sharedRenders(s);
    for (const w of pool) w.post({ shared });
  }
  return Promise.all(pool.map((w) => w.done));
}

export interface WorkerJob {
  paths: Paths;
  conf: NodesConf;
  wulf: WulfConf;
  nodes: string[];
  kinds: Kind[];
  hostAllow?: string[];
  sharedFollows?: boolean;
}
export interface WorkerResult {
  ok: { node: string; kind: Kind; info: ArchiveInfo }[];
  failed: BuildManyResult['failed'];
}

function runWorker(job: WorkerJob): { done: Promise<WorkerResult>; post: (m: { shared: SharedRender[] }) => void } {
  let w: Worker | undefined;
  const done = new Promise<WorkerResult>((resolve, reject) => {
    // compiled: build/build.ts embeds src/overlays/worker.ts as an extra entrypoint (…/overlays/worker.js)
    try {
      w = new Worker(compiled ? new URL('./overlays/worker.js', import.meta.url).href : new URL('./worker.ts', import.meta.url).href);
    } catch (e) {
      reject(e);
      return;
    }
    const worker = w;
    worker.onmessage = (ev: MessageEvent<WorkerResult>) => {
      resolve(ev.data);
      worker.terminate();
    };
    worker.onerror = (ev) => {
      reject(new Error(`overlay worker: ${(ev as ErrorEvent).message}`));
      worker.terminate();
    };
    worker.postMessage(job);
  });
  return {
    done,
    post: (m) => {
      try {
        w?.postMessage(m);
      } catch {
        /* ended */
      }
    },
  };
}
