// Run one async job per item with at most `fanout` in flight, a per-item timeout (the job's
// AbortSignal fires and its result is cut off even if it ignores the signal), and optional
// staggered starts (one start per `staggerMs`, for boot storms). Each outcome is reported as it lands.

export interface FanoutOptions {
  fanout: number;
  timeoutMs: number;
  /** minimum gap between two job starts */
  staggerMs?: number;
  /** stop starting new jobs (running ones are aborted too) */
  signal?: AbortSignal;
}

export type Outcome<R> = { ok: true; value: R; ms: number } | { ok: false; error: unknown; timedOut: boolean; ms: number };

export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`timed out after ${fmtSeconds(ms)}`);
    this.name = 'TimeoutError';
  }
}

export function fmtSeconds(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function fanout<T, R>(
  items: readonly T[],
  job: (item: T, signal: AbortSignal) => Promise<R>,
  opts: FanoutOptions,
  onOutcome: (item: T, outcome: Outcome<R>, index: number) => void,
): Promise<void> {
  const width = Math.max(1, Math.min(Math.floor(opts.fanout) || 1, items.length));
  const stagger = Math.max(0, opts.staggerMs ?? 0);
  let next = 0;
  let gate: Promise<void> = Promise.resolve();
  let lastStart = -Infinity;

  async function runOne(item: T, index: number): Promise<void> {
    const ac = new AbortController();
    const outer = opts.signal;
    const onOuter = () => ac.abort();
    outer?.addEventListener('abort', onOuter, { once: true });
    const t0 = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => {
        ac.abort();
        rej(new TimeoutError(opts.timeoutMs));
      }, opts.timeoutMs);
    });
    try {
      const running = job(item, ac.signal);
      running.catch(() => {
        /* a late failure after a timeout is already reported */
      });
      const value = await Promise.race([running, timeout]);
      onOutcome(item, { ok: true, value, ms: performance.now() - t0 }, index);
    } catch (error) {
      const timedOut = error instanceof TimeoutError || (ac.signal.aborted && !outer?.aborted);
      onOutcome(
        item,
        {
          ok: false,
          error: timedOut && !(error instanceof TimeoutError) ? new TimeoutError(opts.timeoutMs) : error,
          timedOut,
          ms: performance.now() - t0,
        },
        index,
      );
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
  }

  async function worker(): Promise<void> {
    for (;;) {
      if (opts.signal?.aborted) return;
      const index = next++;
      if (index >= items.length) return;
      if (stagger > 0) {
        // starts pass one gate in turn, each at least `stagger` after the previous one actually
        // started (slots booked ahead bunched up when a loaded machine fired one timer late)
        const turn = gate.then(async () => {
          const wait = lastStart + stagger - performance.now();
          if (wait > 0) await sleep(wait);
          lastStart = performance.now();
        });
        gate = turn;
        await turn;
      }
      await runOne(items[index]!, index);
    }
  }

  await Promise.all(Array.from({ length: width }, worker));
}
