// What a server remembers across restarts: DHCP leases and the status board, written (debounced) to
// state.cbor and, on the PostgreSQL store, to the store as well; a store without runtime state yet
// starts from state.cbor, so moving a site to PostgreSQL keeps its leases.
import { hostname } from 'node:os';
import { errorLine } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Paths } from '../config/paths.ts';
import { leasesFromJSON, leasesToJSON, type LeaseTable } from '../dhcp/leases.ts';
import { StatusBoard } from '../runtime/board.ts';
import { readState, stateWriter, type RuntimeState } from '../runtime/state-file.ts';
import type { PostgresStore } from '../store/postgres.ts';
import { PostgresState, pgStateWriter } from '../store/state-pg.ts';
import { startStatusSync, type StatusSync } from './status-sync.ts';
import type { StoreHealth } from './store-health.ts';

export interface ServerRuntime {
  status: StatusBoard;
  leases(): LeaseTable;
  /** the DHCP server's new lease table (written soon after) */
  setLeases(t: LeaseTable): void;
  /** write what is pending now */
  flush(): Promise<void>;
  /** write what is pending and stop following the other controllers (on stop) */
  stop(): Promise<void>;
}

export async function openRuntime(
  paths: Paths,
  log: Logger,
  updateInterval: () => number,
  db?: PostgresStore,
  controller = hostname(),
  health?: StoreHealth,
): Promise<ServerRuntime> {
  let saved = readState(paths.stateFile, log);
  const pgState = db ? new PostgresState(db, controller) : undefined;
  if (pgState) {
    try {
      const r = await pgState.load();
      if (r.rows) saved = r.state;
      else log.info('state', 'PostgreSQL holds no runtime state yet: starting from state.cbor');
    } catch (e) {
      log.warn('state', `cannot read runtime state from PostgreSQL (${errorLine(e)}); starting from state.cbor`);
    }
  }
  let leases: LeaseTable = leasesFromJSON(saved.leases);
  const status = new StatusBoard(() => touch(), updateInterval);
  const snapshot = (): RuntimeState => ({
    version: 1,
    leases: leasesToJSON(leases),
    status: status.snapshot(),
    unknown: status.unknownSnapshot(),
  });
  const writer = stateWriter(paths.stateFile, snapshot, log);
  const pgWriter = pgState ? pgStateWriter(pgState, snapshot, log, 1000, health) : undefined;
  function touch() {
    writer.touch();
    pgWriter?.touch();
  }
  status.load(saved.status);
  status.loadUnknown(saved.unknown ?? {});
  // one line per boot event: `boot: n1 stage=kernel sent=vmlinuz ip=… bytes=…` (fields in JSON)
  // (another controller's events, recorded here too on PostgreSQL, are in its own log)
  status.subscribe((_s, e) => {
    if (!e.remote) log.info('boot', e.node, { stage: e.stage, sent: e.sent, ip: e.ipaddr, bytes: e.bytes });
  });
  // every controller's boot events through the store (status everywhere)
  const sync: StatusSync | undefined = db && health ? await startStatusSync({ db, status, controller, log, health }) : undefined;
  const flush = async () => {
    await sync?.flush();
    await pgWriter?.flush();
    await writer.flush();
  };
  return {
    status,
    leases: () => leases,
    setLeases(t) {
      leases = t;
      touch();
    },
    flush,
    async stop() {
      await sync?.stop();
      await pgWriter?.flush();
      await writer.flush();
    },
  };
}
