// The runtime state (DHCP leases, node boot status, unknown MACs seen) in one CBOR file, written
// atomically and at most about once a second. A missing or unreadable file starts empty (and says so once).
import { existsSync, readFileSync } from 'node:fs';
import { decode, encode } from 'cbor-x';
import { writeFileAtomic } from '../lib/atomic.ts';
import type { Logger } from '../lib/log.ts';

export interface RuntimeState {
  version: 1;
  leases: unknown[];
  status: Record<string, unknown>;
  /** MACs that asked for something but belong to no node, by MAC */
  unknown?: Record<string, unknown>;
}

export function readState(file: string, log?: Logger): RuntimeState {
  const empty: RuntimeState = { version: 1, leases: [], status: {}, unknown: {} };
  if (!existsSync(file)) return empty;
  try {
    const v = decode(readFileSync(file)) as Partial<RuntimeState>;
    return {
      version: 1,
      leases: Array.isArray(v.leases) ? v.leases : [],
      status: v.status && typeof v.status === 'object' ? v.status : {},
      unknown: v.unknown && typeof v.unknown === 'object' ? v.unknown : {},
    };
  } catch (e) {
    log?.warn('state', `${file} is unreadable (${(e as Error).message}); starting with empty state`);
    return empty;
  }
}

export function writeState(file: string, s: RuntimeState): void {
  writeFileAtomic(file, encode(s), { mode: 0o600 });
}

/** Debounced writer: `touch()` after every change, `flush()` on shutdown. */
export function stateWriter(file: string, snapshot: () => RuntimeState, log: Logger, delayMs = 1000) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    try {
      writeState(file, snapshot());
    } catch (e) {
      log.limited('state-write', 'error', 'state', `cannot write ${file}: ${(e as Error).message}`);
    }
  };
  return {
    touch() {
      if (!timer) timer = setTimeout(flush, delayMs);
    },
    flush,
  };
}
