// One server per state directory: an exclusive lock on <run>/serve.lock and the pid beside it, so a
// second `wulf serve` (which would answer DHCP twice) is refused with the first one's pid.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { acquireLock } from '../lib/atomic.ts';
import { WulfError, errorLine } from '../lib/errors.ts';
import type { Paths } from '../config/paths.ts';

/** Take the server lock and write the pid file; the returned function releases both. */
export async function lockServer(paths: Paths): Promise<() => Promise<void>> {
  const pidFile = `${paths.runDir}/serve.pid`;
  const lockFile = `${paths.runDir}/serve.lock`;
  let lock: Awaited<ReturnType<typeof acquireLock>>;
  try {
    lock = await acquireLock(lockFile, 0);
  } catch (e) {
    // only a lock held by someone else means another server; a read-only or foreign state directory is said as such
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ELOCKED') {
      const m = /^([A-Z]+): ([^,]+)/.exec((e as Error).message ?? '');
      throw new WulfError(`cannot create ${lockFile}: ${m ? `${m[2]} (${m[1]})` : errorLine(e)}`, { code: code ?? 'EIO' });
    }
    let pid = '';
    try {
      pid = readFileSync(pidFile, 'utf8').trim();
    } catch {
      /* none */
    }
    throw new WulfError(`another wulf serve${/^\d+$/.test(pid) ? ` (pid ${pid})` : ''} is already running for ${paths.stateDir}`, {
      hint: 'stop it first (two servers must never both answer DHCP)',
    });
  }
  try {
    writeFileSync(pidFile, `${process.pid}\n`);
  } catch {
    /* informational only */
  }
  return async () => {
    try {
      unlinkSync(pidFile);
    } catch {
      /* gone */
    }
    await lock.release();
  };
}

/** Run each stop function, the last started first, going on past any that fails. */
export async function stopInReverse(stoppers: (() => Promise<void> | void)[]): Promise<void> {
  for (const stop of stoppers.reverse()) {
    try {
      await stop();
    } catch {
      /* keep stopping */
    }
  }
}
