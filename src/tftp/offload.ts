// A few worker threads that each serve one TFTP transfer at a time in a blocking loop (worker.ts).
// A transfer goes to an idle thread when there is one; otherwise the event loop serves it as
// before, so a boot storm never queues behind the threads.
import { compiled } from '../lib/assets.ts';
import type { OffloadJob, OffloadResult } from './worker.ts';

export type OffloadRequest = Omit<OffloadJob, 'id' | 'abort'>;
export interface OffloadPool {
  /** Start the transfer on an idle thread: returns its abort function, or undefined when all are busy. */
  tryRun(job: OffloadRequest, done: (r: OffloadResult) => void): (() => void) | undefined;
  stop(): Promise<void>;
}

interface Slot {
  w: Worker;
  abort: Int32Array;
  job?: { id: number; done: (r: OffloadResult) => void };
  dead: boolean;
}

export function createOffloadPool(threads: number, onCrash: (message: string) => void): OffloadPool {
  const slots: Slot[] = [];
  let nextId = 1;
  for (let i = 0; i < threads; i++) {
    let w: Worker;
    // compiled: build/build.ts embeds src/tftp/worker.ts as an extra entrypoint (…/tftp/worker.js)
    try {
      w = new Worker(compiled ? new URL('./tftp/worker.js', import.meta.url).href : new URL('./worker.ts', import.meta.url).href);
    } catch (e) {
      onCrash(`cannot start a TFTP thread: ${(e as Error).message}`);
      break;
    }
    const slot: Slot = { w, abort: new Int32Array(new SharedArrayBuffer(4)), dead: false };
    w.onmessage = (ev: MessageEvent<OffloadResult>) => {
      const job = slot.job;
      if (!job || job.id !== ev.data.id) return;
      slot.job = undefined;
      job.done(ev.data);
    };
    w.onerror = (ev) => {
      slot.dead = true;
      const job = slot.job;
      slot.job = undefined;
      onCrash(`TFTP thread failed: ${(ev as ErrorEvent).message}`);
      job?.done({ id: job.id, result: 'abort', error: 'transfer thread failed', bytes: 0, retransmits: 0, ignored: 0 });
    };
    (w as Worker & { unref(): void }).unref(); // the threads never keep the process alive
    slots.push(slot);
  }
  return {
    tryRun(req, done) {
      const slot = slots.find((s) => !s.dead && !s.job);
      if (!slot) return undefined;
      const id = nextId++;
      Atomics.store(slot.abort, 0, 0);
      slot.job = { id, done };
      slot.w.postMessage({ ...req, id, abort: slot.abort } satisfies OffloadJob);
      return () => {
        if (slot.job?.id === id) Atomics.store(slot.abort, 0, 1);
      };
    },
    async stop() {
      for (const s of slots) if (s.job) Atomics.store(s.abort, 0, 1);
      const until = performance.now() + 1000; // a blocking read wakes every 100 ms to see the flag
      while (slots.some((s) => s.job && !s.dead) && performance.now() < until) await Bun.sleep(10);
      for (const s of slots) s.w.terminate();
      slots.length = 0;
    },
  };
}
