// Worker entry for the overlay service. Two uses:
// - buildMany: builds and writes the archives of a slice of nodes with its own Builder (own
//   template memo and gzip member cache), and reports hashes back. The first kind is built at
//   once; before the others it waits for the renders the main thread made once for every node
//   (hosts over all nodes), so that each worker does not render them (and load every node) again.
// - the build thread (thread.ts, messages with `op`): a long-lived worker that builds one archive
//   at a time for the server, so a slow template never blocks the server's event loop; the main
//   thread stops it (terminate) when a build exceeds the wall-clock limit.
import { Builder, type SharedRender, type Snapshot } from './build.ts';
import { writeArchive } from './archive-file.ts';
import { errorLine } from '../lib/errors.ts';
import { LIMITS } from './render.ts';
import type { WorkerJob, WorkerResult } from './service.ts';
import type { ThreadMsg, ThreadReply } from './thread.ts';

declare const self: Worker;

let gotShared: (s: SharedRender[]) => void;
const shared = new Promise<SharedRender[]>((r) => {
  gotShared = r;
});

self.onmessage = (ev: MessageEvent<WorkerJob | { shared: SharedRender[] } | ThreadMsg>) => {
  if ('op' in ev.data) {
    thread(ev.data);
    return;
  }
  if ('shared' in ev.data) {
    gotShared(ev.data.shared);
    return;
  }
  void run(ev.data);
};

async function run(job: WorkerJob) {
  const b = new Builder({ paths: job.paths, hostAllow: job.hostAllow });
  const snap = b.snapshot(job.conf, job.wulf);
  const res: WorkerResult = { ok: [], failed: [] };
  for (const [i, kind] of job.kinds.entries()) {
    if (i > 0 && job.sharedFollows) {
      b.adoptShared(snap, await shared);
      job.sharedFollows = false;
    }
    for (const node of job.nodes) {
      try {
        res.ok.push({ node, kind, info: writeArchive(job.paths, node, kind, b.pack(b.entries(snap, node, kind))) });
      } catch (e) {
        res.failed.push({ node, kind, error: errorLine(e) });
      }
    }
  }
  self.postMessage(res);
}

// ---- the build thread: its Builder (memo, views, gzip members) lives as long as the worker ----
let tb: Builder | undefined;
let tsnap: Snapshot | undefined;

function thread(m: ThreadMsg) {
  if (m.op === 'snap') {
    Object.assign(LIMITS, m.limits);
    tb ??= new Builder({ paths: m.paths, hostAllow: m.hostAllow });
    tsnap = tb.snapshot(JSON.parse(m.conf), m.wulf);
    return;
  }
  const b = tb!,
    s = tsnap!;
  let reply: ThreadReply;
  try {
    reply = { seq: m.seq, info: writeArchive(b.opts.paths, m.node, m.kind, b.pack(b.entries(s, m.node, m.kind))) };
  } catch (e) {
    reply = { seq: m.seq, error: errorLine(e) };
  }
  reply.files = [...b.fileKeys()];
  reply.stats = { renders: b.renders, hits: b.memo.hits, misses: b.memo.misses };
  self.postMessage(reply);
}
