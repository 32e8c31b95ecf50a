// Worker entry for buildMany: builds and writes the archives of a slice of nodes with its own
// Builder (own template memo and gzip member cache), and reports hashes back.
import { Builder } from './build.ts';
import { writeArchive } from './archive-file.ts';
import { errorLine } from '../lib/errors.ts';
import type { WorkerJob, WorkerResult } from './cache.ts';

declare const self: Worker;

self.onmessage = (ev: MessageEvent<WorkerJob>) => {
  const job = ev.data;
  const b = new Builder({ paths: job.paths, hostAllow: job.hostAllow });
  const snap = b.snapshot(job.conf, job.wulf);
  const res: WorkerResult = { ok: [], failed: [] };
  for (const node of job.nodes) {
    for (const kind of job.kinds) {
      try { res.ok.push({ node, kind, info: writeArchive(job.paths, node, kind, b.pack(b.entries(snap, node, kind))) }); }
      catch (e) { res.failed.push({ node, kind, error: errorLine(e) }); }
    }
  }
  self.postMessage(res);
};
