// Is the PostgreSQL store reachable, as a server sees it while serving? Every part that talks to it
// (the configuration refresh, the runtime state writer, the boot events writer and listener) reports
// here, so losing the store is one warning line and finding it back one info line, and /status (hence
// `wulf node status`) can say since when it is gone and how many status writes wait for it.
import { errorLine, WulfError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

export interface StoreHealth {
  /** a call failed; true when it was because the store cannot be reached (then it is counted down) */
  failed(e: unknown): boolean;
  /** down, said in words (a reconnect attempt that failed, e.g. bun:sql's LISTEN retry) */
  lostBecause(detail: string): void;
  /** a call went through: writers with queued work try now */
  reachable(): void;
  /** the queued status writes went through: the store is back */
  recovered(caughtUp: number): void;
  onReachable(fn: () => void): void;
  /** unix seconds since when it is down, undefined when up */
  downSince(): number | undefined;
  reason(): string;
}

export const isStoreDown = (e: unknown) => e instanceof WulfError && e.code === 'ESTOREDOWN';

export function storeHealth(where: string, log: Logger): StoreHealth {
  let since: number | undefined;
  let why = '';
  const probes: (() => void)[] = [];
  const lost = (reason: string) => {
    if (since !== undefined) return;
    since = Date.now() / 1000;
    why = reason;
    log.warn(
      'store',
      `PostgreSQL lost, still serving the last good one: ${reason}; ` +
        'known nodes are answered from the last configuration, status writes are queued until it is back',
    );
  };
  return {
    failed(e) {
      if (!isStoreDown(e)) return false;
      lost(errorLine(e));
      return true;
    },
    lostBecause: (detail) => lost(`cannot reach PostgreSQL at ${where}: ${detail}`),
    reachable() {
      if (since !== undefined) for (const p of probes) p();
    },
    recovered(n) {
      if (since === undefined) return;
      since = undefined;
      why = '';
      log.info('store', `PostgreSQL reachable again: ${n} queued status write${n === 1 ? '' : 's'} caught up`);
    },
    onReachable: (fn) => void probes.push(fn),
    downSince: () => since,
    reason: () => why,
  };
}
