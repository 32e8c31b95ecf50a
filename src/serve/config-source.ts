// The configuration a running server answers from: nodes.conf (or the PostgreSQL store) and wulf.conf,
// indexed by MAC, re-read when the files change — watched, polled every 5 s, and checked before each
// answer to a node — while an invalid new configuration is refused and the last good one keeps serving.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { errorLine } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Paths } from '../config/paths.ts';
import { mergeAll, type MergedNode, type NodesConf } from '../config/cascade.ts';
import { readNodesConf } from '../config/store.ts';
import { readWulfConf, type WulfConf } from '../config/wulfconf.ts';
import type { Reservation } from '../dhcp/policy.ts';
import type { PostgresStore } from '../store/postgres.ts';
import { readSettings, revisions, templateConf, type StoredSettings } from '../store/settings-pg.ts';
import { differingKeys } from '../config/cluster-settings.ts';
import { readWulfConfRaw } from '../config/wulfconf.ts';
import type { StoreHealth } from './store-health.ts';

/** One configuration, indexed: nodes by MAC, DHCP reservations by MAC, every address a node is given. */
export interface Snapshot {
  conf: NodesConf;
  /** this controller's wulf.conf: where it listens, its DHCP and TFTP, its own address in iPXE scripts */
  wulf: WulfConf;
  /** what nodes are told and templates see: on PostgreSQL the store's cluster-wide settings over wulf.conf, and WWSERVERS */
  cluster: WulfConf;
  byMac: Map<string, MergedNode>;
  reservations: Map<string, Reservation>;
  addresses: Map<string, string[]>;
}

export function indexConfig(conf: NodesConf, wulf: WulfConf, cluster: WulfConf = wulf): Snapshot {
  const byMac = new Map<string, MergedNode>();
  const reservations = new Map<string, Reservation>();
  const addresses = new Map<string, string[]>();
  for (const m of mergeAll(conf)) {
    for (const [, nd] of Object.entries(m.data.networkDevices ?? {})) {
      // every address nodes.conf gives the node (any network device): what its requests may come from
      for (const a of [nd.ipaddr, nd.ipaddr6?.split('/')[0]]) if (a) addresses.set(m.id, [...(addresses.get(m.id) ?? []), a]);
      if (!nd.hwaddr) continue;
      const mac = nd.hwaddr.toLowerCase();
      byMac.set(mac, m);
      if (nd.ipaddr) {
        const dns = Object.entries(nd.tags ?? {})
          .filter(([k]) => /^DNS\d+$/.test(k))
          .sort()
          .map(([, v]) => v);
        const netmask = nd.netmask || wulf.netmask; // this controller's segment, like its dynamic leases
        reservations.set(mac, {
          ipaddr: nd.ipaddr,
          hostname: m.id,
          netmask,
          gateway: nd.gateway,
          dns: dns.length ? dns : undefined,
          node: m.id,
        });
      }
    }
  }
  return { conf, wulf, cluster, byMac, reservations, addresses };
}

export interface ConfigSource {
  current(): Snapshot;
  /** before answering a node: an edit made a moment ago is read now (files: two stats; PostgreSQL: the revision, ≤ 2 s) */
  fresh(): Promise<void>;
  /** re-read now (SIGHUP, the watcher); a no-op when the revisions did not change */
  reload(): void;
  /** take a configuration just written (discovery) */
  apply(conf: NodesConf): void;
  /** called with each new snapshot */
  onChange(fn: (s: Snapshot) => void): void;
  stop(): void;
}

export async function openConfigSource(paths: Paths, log: Logger, db?: PostgresStore, health?: StoreHealth): Promise<ConfigSource> {
  // PostgreSQL: the store's cluster-wide settings (none yet: wulf.conf's) and the registered controllers
  let shared: StoredSettings | undefined;
  let controllers: string[] = [];
  const confs = () => {
    const wulf = readWulfConf(paths);
    return { wulf, cluster: db ? templateConf(paths, shared, controllers) : wulf };
  };
  if (db) {
    const r = await revisions(db);
    shared = r.settings ? await readSettings(db) : undefined;
    controllers = r.controllers;
    const differ = shared ? differingKeys(readWulfConfRaw(paths).top, shared.settings) : [];
    if (differ.length)
      log.warn('config', `${paths.wulfConf} differs from the store's cluster-wide settings on ${differ.join(', ')}: using the store's`);
  }
  const first = confs();
  let snap = indexConfig(db ? await db.read() : readNodesConf(paths), first.wulf, first.cluster);
  const listeners: ((s: Snapshot) => void)[] = [];
  let lastBad = '';
  const refused = (e: unknown) => {
    if (health?.failed(e)) return; // the store is down: said once, by the store's health
    const msg = errorLine(e);
    if (msg !== lastBad) log.warn('config', `new configuration refused, still serving the last good one: ${msg}`);
    lastBad = msg;
  };
  const apply = (conf: NodesConf) => {
    const { wulf, cluster } = confs();
    const sameCluster = cluster.revision === snap.cluster.revision && String(cluster.servers) === String(snap.cluster.servers);
    if (conf.revision === snap.conf.revision && wulf.revision === snap.wulf.revision && sameCluster) return;
    // PostgreSQL revisions count up: a read that finishes after a newer one is not applied over it
    if (db && Number(conf.revision) < Number(snap.conf.revision)) return;
    snap = indexConfig(conf, wulf, cluster);
    for (const fn of listeners) fn(snap);
    lastBad = '';
    log.info('config', `reloaded (${db ? 'store' : 'nodes.conf'} revision ${conf.revision}, ${snap.byMac.size} known MACs)`);
  };
  const settings = async (rev: string, ctl: string[]) => {
    if (rev !== (shared?.revision ?? '')) shared = rev ? await readSettings(db!) : undefined;
    controllers = ctl;
  };
  const store = db ? storeRefresher(db, () => snap, apply, refused, settings, health) : undefined;
  const reload = () => {
    if (store) return void store.refresh();
    try {
      apply(readNodesConf(paths));
    } catch (e) {
      refused(e);
    }
  };
  // files: two stats before each answer, so an edit is read now, not when the watcher's debounce or the poll gets to it
  const confStat = () =>
    [paths.nodesConf, paths.wulfConf]
      .map((f) => {
        try {
          const st = statSync(f);
          return `${st.ino}:${st.size}:${st.mtimeMs}`;
        } catch {
          return '-';
        }
      })
      .join(';');
  let seenStat = confStat();
  let pending: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(paths.confDir, () => {
      clearTimeout(pending);
      pending = setTimeout(reload, 150);
    });
  } catch {
    /* no conf dir yet */
  }
  const poll = setInterval(reload, 5000); // fs.watch misses some editors' renames: poll as well
  return {
    current: () => snap,
    async fresh() {
      if (store) return store.fresh();
      const now = confStat();
      if (now !== seenStat) {
        seenStat = now;
        reload();
      }
    },
    reload,
    apply,
    onChange: (fn) => void listeners.push(fn),
    stop() {
      watcher?.close();
      clearInterval(poll);
      clearTimeout(pending);
    },
  };
}

/**
 * On PostgreSQL: ask for the revision (one small query, shared by the requests that arrive meanwhile) and read
 * the configuration when it moved; the store unreachable keeps the last good configuration serving, and is
 * asked again by the 5 s poll only (a node is not kept waiting on a connect timeout).
 */
function storeRefresher(
  db: PostgresStore,
  snap: () => Snapshot,
  apply: (c: NodesConf) => void,
  refused: (e: unknown) => void,
  settings: (revision: string, controllers: string[]) => Promise<void>,
  health?: StoreHealth,
) {
  let checking: Promise<void> | undefined;
  let down = false;
  const refresh = () =>
    (checking ??= (async () => {
      try {
        const r = await revisions(db); // the nodes', the settings' and the controllers' in one query
        await settings(r.settings, r.controllers);
        apply(r.nodes === snap().conf.revision ? snap().conf : await db.read());
        down = false;
        health?.reachable();
      } catch (e) {
        down = true;
        refused(e);
      } finally {
        checking = undefined;
      }
    })());
  /** fresh when the store answers within 2 s (a 50,000-node read takes ~1 s), else the last configuration */
  const fresh = async () => {
    if (!down) await Promise.race([refresh(), Bun.sleep(2000)]);
  };
  return { refresh, fresh };
}
