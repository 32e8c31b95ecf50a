// Worker entry for buildMany: builds and writes the archives of a slice of nodes with its own
// Builder (own template memo and gzip member cache), and reports hashes back. The first kind is
// built at once; before the others it waits for the renders the main thread made once for every
// node (hosts over all nodes), so that each worker does not render them (and load every node) again.
import { Builder, type SharedRender } from './build.ts';
import { writeArchive } from './archive-file.ts';
import { errorLine } from '../lib/errors.ts';
import type { WorkerJob, WorkerResult } from './cache.ts';

declare const self: Worker;

let gotShared: (s: SharedRender[]) => void;
const shared = new Promise<SharedRender[]>((r) => { gotShared = r; });

self.onmessage = (ev: MessageEvent<WorkerJob | { shared: SharedRender[] }>) => {
  if ('shared' in ev.data) { gotShared(ev.data.shared); return; }
  void run(ev.data);
};

async function run(job: WorkerJob) {
  const b = new Builder({ paths: job.paths, hostAllow: job.hostAllow });
  const snap = b.snapshot(job.conf, job.wulf);
  const res: WorkerResult = { ok: [], failed: [] };
  for (const [i, kind] of job.kinds.entries()) {
    if (i > 0 && job.sharedFollows) { b.adoptShared(snap, await shared); job.sharedFollows = false; }
    for (const node of job.nodes) {
      try { res.ok.push({ node, kind, info: writeArchive(job.paths, node, kind, b.pack(b.entries(snap, node, kind))) }); }
      catch (e) { res.failed.push({ node, kind, error: errorLine(e) }); }
    }
  }
  self.postMessage(res);
}
