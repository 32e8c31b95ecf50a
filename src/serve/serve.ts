// `wulf serve`: DHCP, TFTP and HTTP in one process. Holds the configuration in memory, reloads
// it when the files change (keeping the last good one when a new one is invalid), keeps the
// runtime state (leases, node status) in the CBOR file, and logs one line per boot event.
import { readFileSync, statSync, unlinkSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { WulfError, errorLine } from '../lib/errors.ts';
import { acquireLock, type Lock } from '../lib/atomic.ts';
import { ipxeBinary } from '../lib/assets.ts';
import { escapeControl, type Logger } from '../lib/log.ts';
import type { Paths } from '../config/paths.ts';
import { mergeAll, type MergedNode, type NodesConf } from '../config/cascade.ts';
import { readNodesConf, updateNodesConf } from '../config/store.ts';
import { readWulfConf, type WulfConf } from '../config/wulfconf.ts';
import type { ConfigStore } from '../store/store.ts';
import type { PostgresStore } from '../store/postgres.ts';
import { PostgresState, pgStateWriter } from '../store/state-pg.ts';
import { createDhcpServer, type DhcpServer } from '../dhcp/server.ts';
import type { PolicyContext, Reservation } from '../dhcp/policy.ts';
import { leaseOfMac, leasesFromJSON, leasesToJSON, type LeaseTable } from '../dhcp/leases.ts';
import { createTftpServer, type TftpServer } from '../tftp/server.ts';
import { bufferProvider, chainProviders, rootProvider } from '../tftp/providers.ts';
import { createApp, statArtifact, type Bindings, type PeerSource } from '../http/app.ts';
import { StatusBoard } from '../runtime/board.ts';
import { readState, stateWriter } from '../runtime/state-file.ts';
import { createOverlayService } from '../overlays/service.ts';
import { findKernel, imageArtifactPath } from '../images/service.ts';
import { ensureImageStore } from '../images/layout.ts';
import { startRouterAdvertisements } from './ra.ts';
import { siteBoot } from './bootfiles.ts';
import { ensureTls, serverNames, serverTls } from './tls.ts';

export interface ServeOptions {
  paths: Paths;
  log: Logger;
  address?: string;
  /** provisioning interface(s), comma-separated: DHCP listens and answers there only; RAs go there (default dhcp.interface, else the one holding the address) */
  interface?: string;
  httpPort?: number;
  dhcpPort?: number;
  tftpPort?: number;
  /** HTTPS port (default warewulf.tls port; HTTP port + 1 when httpPort is given, 0 with 0) */
  tlsPort?: number;
  /** where replies to relay agents go (67; the loopback simulator uses another port) */
  dhcpRelayPort?: number;
  dhcp?: boolean;
  tftp?: boolean;
  /** send IPv6 router advertisements on the provisioning interfaces but lo (default: when root) */
  ra?: boolean;
  /** nodes and profiles from this store instead of nodes.conf (PostgreSQL); absent: nodes.conf as always */
  store?: ConfigStore;
}
export interface RunningServer {
  httpPort: number;
  status: StatusBoard;
  /** the HTTPS port, undefined when TLS is off */
  tlsPort?: number;
  stop(): Promise<void>;
  /** re-read the configuration now (SIGHUP); a no-op when the revisions did not change */
  reload(): void;
}

interface Snapshot {
  conf: NodesConf;
  wulf: WulfConf;
  byMac: Map<string, MergedNode>;
  reservations: Map<string, Reservation>;
  addresses: Map<string, string[]>;
}

function index(conf: NodesConf, wulf: WulfConf): Snapshot {
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
        reservations.set(mac, {
          ipaddr: nd.ipaddr,
          hostname: m.id,
          netmask: nd.netmask || wulf.netmask,
          gateway: nd.gateway,
          dns: dns.length ? dns : undefined,
          node: m.id,
        });
      }
    }
  }
  return { conf, wulf, byMac, reservations, addresses };
}

/** Named interfaces (a comma- or space-separated list, or a YAML list), else the one holding the server address. */
export function provisioningInterfaces(named: string | undefined, serverIp: string): string[] {
  const list = (named ?? '').split(/[\s,]+/).filter(Boolean);
  if (list.length) return list;
  for (const [name, addrs] of Object.entries(networkInterfaces()))
    if ((addrs ?? []).some((a) => a.family === 'IPv4' && a.address === serverIp)) return [name];
  return [];
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const { paths, log } = o;
  const db = o.store?.kind === 'postgres' ? o.store : undefined;
  let lock: Lock;
  const pidFile = `${paths.runDir}/serve.pid`;
  const lockFile = `${paths.runDir}/serve.lock`;
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
  // an install from before the store was 0700: tighten it now (image trees hold device nodes and setuid files)
  try {
    ensureImageStore(paths);
  } catch (e) {
    log.warn('images', `cannot make ${paths.imagesDir} 0700: ${errorLine(e)}`);
  }
  const stoppers: (() => Promise<void> | void)[] = [
    () => lock.release(),
    () => {
      try {
        unlinkSync(pidFile);
      } catch {
        /* gone */
      }
    },
  ];
  const stopAll = async () => {
    for (const s of stoppers.reverse()) {
      try {
        await s();
      } catch {
        /* keep stopping */
      }
    }
  };
  try {
    let snap = index(db ? await db.read() : readNodesConf(paths), readWulfConf(paths));
    const boot = siteBoot(paths, snap.wulf.tftp.tftproot, log, ipxeBinary); // tftp.tftproot, tftp.ipxe
    const address = o.address ?? (snap.wulf.ipaddr || '0.0.0.0');
    const httpPort = o.httpPort ?? snap.wulf.warewulf.port;
    const authority = `${address === '0.0.0.0' ? '127.0.0.1' : address}:${httpPort}`;
    // --http-port moves the HTTPS port along (HTTP + 1) unless it is given too
    const tlsPort = o.tlsPort ?? (o.httpPort === undefined ? snap.wulf.warewulf.tlsPort : o.httpPort === 0 ? 0 : o.httpPort + 1);

    // state: leases and status survive restarts
    let saved = readState(paths.stateFile, log);
    // on PostgreSQL the runtime state lives there too (state.cbor stays a local copy); a store without any
    // yet starts from state.cbor, so moving a site to PostgreSQL keeps its leases
    const pgState = db ? new PostgresState(db as PostgresStore, hostname()) : undefined;
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
    const status = new StatusBoard(
      () => touchState(),
      () => snap.wulf.warewulf.updateInterval,
    );
    const writer = stateWriter(
      paths.stateFile,
      () => ({ version: 1, leases: leasesToJSON(leases), status: status.snapshot(), unknown: status.unknownSnapshot() }),
      log,
    );
    status.load(saved.status);
    status.loadUnknown(saved.unknown ?? {});
    stoppers.push(() => writer.flush());
    const pgWriter = pgState
      ? pgStateWriter(
          pgState,
          () => ({ version: 1, leases: leasesToJSON(leases), status: status.snapshot(), unknown: status.unknownSnapshot() }),
          log,
        )
      : undefined;
    if (pgWriter) stoppers.push(() => pgWriter.flush());
    function touchState() {
      writer.touch();
      pgWriter?.touch();
    }
    // one line per boot event: `boot: n1 stage=kernel sent=vmlinuz ip=… bytes=…` (fields in JSON)
    status.subscribe((_s, e) => log.info('boot', e.node, { stage: e.stage, sent: e.sent, ip: e.ipaddr, bytes: e.bytes }));

    // configuration reload without restart
    let lastBad = '';
    const refused = (e: unknown) => {
      const msg = errorLine(e);
      if (msg !== lastBad) log.warn('config', `new configuration refused, still serving the last good one: ${msg}`);
      lastBad = msg;
    };
    const apply = (conf: NodesConf) => {
      const wulf = readWulfConf(paths);
      if (conf.revision === snap.conf.revision && wulf.revision === snap.wulf.revision) return;
      // PostgreSQL revisions count up: a read that finishes after a newer one is not applied over it
      if (db && Number(conf.revision) < Number(snap.conf.revision)) return;
      snap = index(conf, wulf);
      for (const mac of snap.byMac.keys()) status.forgetUnknown(mac);
      overlays.invalidate();
      lastBad = '';
      log.info('config', `reloaded (${db ? 'store' : 'nodes.conf'} revision ${conf.revision}, ${snap.byMac.size} known MACs)`);
    };
    // on PostgreSQL: ask for the revision (one small query, shared by the requests that arrive meanwhile) and
    // read the configuration when it moved; the store unreachable keeps the last good configuration serving,
    // and is asked again by the 5 s poll only (a node is not kept waiting on a connect timeout)
    let checking: Promise<void> | undefined;
    let storeDown = false;
    const refreshFromStore = () =>
      (checking ??= (async () => {
        try {
          const rev = await db!.revision();
          apply(rev === snap.conf.revision ? snap.conf : await db!.read());
          storeDown = false;
        } catch (e) {
          storeDown = true;
          refused(e);
        } finally {
          checking = undefined;
        }
      })());
    /** before answering a node: fresh when the store answers within 2 s (a 50,000-node read takes ~1 s), else the last configuration */
    const freshFromStore = async () => {
      if (!storeDown) await Promise.race([refreshFromStore(), Bun.sleep(2000)]);
    };
    const reload = () => {
      if (db) {
        void refreshFromStore();
        return;
      }
      try {
        apply(readNodesConf(paths));
      } catch (e) {
        refused(e);
      }
    };
    // Before answering a node, the config files are checked (two stats): an edit made a moment ago
    // is read now, not when the watcher's debounce or the poll gets to it.
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
    const ensureFresh = () => {
      const now = confStat();
      if (now !== seenStat) {
        seenStat = now;
        reload();
      }
    };
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
    stoppers.push(() => {
      watcher?.close();
      clearInterval(poll);
      clearTimeout(pending);
    });

    const tlsOn = snap.wulf.warewulf.tls;
    let https: ReturnType<typeof Bun.serve> | undefined;

    // recheckMs 0: every archive request re-checks the overlay sources and the controller files its
    // templates read (a few stats), so an edit is never answered with the archive from before it
    const overlays = createOverlayService({ paths, getConf: () => snap.conf, getWulfConf: () => snap.wulf, log, recheckMs: 0 });

    // discovery: an unknown MAC takes the first discoverable node, persisted through the store
    let discovering: Promise<unknown> = Promise.resolve();
    const nodeByMac = async (mac: string): Promise<MergedNode | undefined> => {
      if (db) await freshFromStore();
      else ensureFresh();
      const known = snap.byMac.get(mac);
      if (known) return known;
      const candidates = mergeAll(snap.conf)
        .filter((m) => m.data.discoverable === 'true')
        .sort(
          (a, b) =>
            (a.data.clusterName ?? '').localeCompare(b.data.clusterName ?? '') || a.id.localeCompare(b.id, undefined, { numeric: true }),
        );
      if (!candidates.length) return undefined;
      const run = discovering.then(async () => {
        if (snap.byMac.has(mac)) return;
        const bind = (conf: NodesConf) => {
          const id = Object.keys(conf.nodes).find((n) => n === candidates[0]!.id && conf.nodes[n]!.discoverable === 'true');
          if (!id) return;
          const node = conf.nodes[id]!;
          const m = candidates[0]!;
          const net = m.primary ?? 'default';
          node.networkDevices ??= {};
          node.networkDevices[net] = { ...(node.networkDevices[net] ?? {}), hwaddr: mac };
          delete node.discoverable;
          log.info('discovery', `bound ${mac} to node ${id} (network ${net})`);
        };
        if (db) {
          await db.update(bind);
          apply(await db.read());
        } else {
          await updateNodesConf(paths, bind);
          reload();
        }
      });
      discovering = run.catch((e) => log.error('discovery', errorLine(e)));
      await discovering;
      return snap.byMac.get(mac);
    };

    const app = createApp({
      log,
      status,
      nodeByMac,
      kernel: (n) => {
        const k = n.data.imageName ? findKernel(paths, n.data.imageName, n.data.kernel?.version) : undefined;
        return k ? statArtifact(k.path) : undefined;
      },
      image: (n) => {
        const a = n.data.imageName ? imageArtifactPath(paths, n.data.imageName) : undefined;
        return a ? { path: a.path, size: a.size, etag: a.digest } : undefined;
      },
      overlay: async (n, kind) => {
        const a = await overlays.archive(n.id, kind);
        return { path: a.path, size: a.size, etag: a.hash };
      },
      ipxeBinary: boot.binary,
      nodeAddresses: (n) => {
        const now = Date.now();
        const held = [...(snap.addresses.get(n.id) ?? [])];
        for (const nd of Object.values(n.data.networkDevices ?? {})) {
          const l = nd.hwaddr ? leaseOfMac(leases, nd.hwaddr.toLowerCase(), now) : undefined;
          if (l) held.push(l.ip);
        }
        return held;
      },
      settings: () => ({
        authority,
        secure: snap.wulf.warewulf.secure,
        confDir: paths.confDir,
        secureAddress: snap.wulf.warewulf.secureAddress,
        tls: tlsOn,
        tlsPort: https?.port ?? tlsPort,
      }),
    });
    // the app guards the path and asks the server for the peer itself (middleware.ts)
    const handler = (tls: boolean) => (req: Request, server: PeerSource) => app.fetch(req, { server, tls } satisfies Bindings);
    const onError = (e: Error) => {
      log.limited('http-error', 'error', 'http', errorLine(e));
      return new Response('internal error\n', { status: 500 });
    };
    let http: ReturnType<typeof Bun.serve>;
    try {
      http = Bun.serve({
        port: httpPort,
        hostname: address,
        idleTimeout: 120,
        fetch: handler(false),
        error: onError,
      });
    } catch (e) {
      throw new WulfError(`HTTP port ${httpPort} on ${address} is not available: ${errorLine(e)}`, {
        hint: 'another web server or wulf is using it; pick --http-port',
      });
    }
    stoppers.push(() => http.stop(true));
    if (tlsOn) {
      // the CA and server certificate are made here when missing (installs older than TLS, a deleted
      // file) and the certificate re-issued when an address it must name is missing
      try {
        const made = await ensureTls(paths.confDir, serverNames(snap.wulf, [address]));
        if (made) log.info('tls', made);
      } catch (e) {
        throw new WulfError(`cannot set up TLS in ${paths.confDir}/tls: ${errorLine(e)}`, {
          hint: 'fix the files or the permissions, or set warewulf.tls: false in wulf.conf',
        });
      }
      try {
        https = Bun.serve({
          port: tlsPort,
          hostname: address,
          idleTimeout: 120,
          tls: serverTls(paths.confDir),
          fetch: handler(true),
          error: onError,
        });
      } catch (e) {
        throw new WulfError(`HTTPS port ${tlsPort} on ${address} is not available: ${errorLine(e)}`, {
          hint: 'pick --tls-port or warewulf.tls port, or set warewulf.tls: false',
        });
      }
      const h = https;
      stoppers.push(() => h.stop(true));
    }

    const ipOwner = (ip: string) => {
      for (const r of snap.reservations.values()) if (r.ipaddr === ip) return r.node;
      return undefined;
    };
    if (o.tftp !== false && snap.wulf.tftp.enabled) {
      const tftp: TftpServer = createTftpServer({
        port: o.tftpPort ?? snap.wulf.tftp.port,
        address: address === '0.0.0.0' ? undefined : address,
        log,
        provider: chainProviders(
          bufferProvider((name) => ipxeBinary(name)),
          ...boot.roots.map(rootProvider),
        ),
        onEvent: (e) => {
          const ip = e.client.split(':')[0]!;
          const node = ipOwner(ip);
          if (node && (e.kind === 'done' || e.kind === 'start'))
            status.record(node, 'ipxe', escapeControl(e.file), ip, { bytes: e.kind === 'done' ? e.bytes : 0, done: e.kind === 'done' });
          if (e.kind === 'error') log.limited(`tftp-${ip}`, 'warn', 'tftp', `${e.file}: ${e.error}`, { ip }); // per address: the peer picks the names
        },
      });
      await tftp.start();
      stoppers.push(() => tftp.stop());
    }
    // the provisioning interfaces: DHCP listens and answers there only, router advertisements go there
    const serverIp = address === '0.0.0.0' ? snap.wulf.ipaddr : address;
    const ifaces = provisioningInterfaces(o.interface ?? snap.wulf.dhcp.interface, serverIp);
    if (o.dhcp !== false && snap.wulf.dhcp.mode !== 'off') {
      if (!serverIp) throw new WulfError('DHCP needs the server address', { hint: 'set ipaddr in wulf.conf or pass --address' });
      const dhcp: DhcpServer = createDhcpServer({
        port: o.dhcpPort ?? snap.wulf.dhcp.port,
        log,
        ...(o.dhcpRelayPort ? { relayPort: o.dhcpRelayPort } : {}),
        ...(ifaces.length ? { interfaces: ifaces } : {}),
        getContext: (): PolicyContext => ({
          serverIp,
          netmask: snap.wulf.netmask || '255.255.255.0',
          mode: snap.wulf.dhcp.mode === 'proxy' ? 'proxy' : 'full',
          reservations: snap.reservations,
          leases,
          now: Date.now(),
          httpBase: `http://${serverIp}:${httpPort}`,
          range:
            snap.wulf.dhcp.rangeStart && snap.wulf.dhcp.rangeEnd
              ? { start: snap.wulf.dhcp.rangeStart, end: snap.wulf.dhcp.rangeEnd }
              : undefined,
          bootfiles: boot.bootfiles(snap.wulf),
          leaseTime: snap.wulf.dhcp.leaseTime,
        }),
        onLeaseChange: (_c, t) => {
          leases = t;
          touchState();
        },
        onEvent: (e) => {
          if (!e.node && (e.kind === 'discover' || e.kind === 'offer' || e.kind === 'ack') && !snap.byMac.has(e.mac))
            status.seenUnknown(e.mac, e.ip ?? '', 'dhcp');
          if (e.node && (e.kind === 'ack' || e.kind === 'offer'))
            status.record(e.node, 'dhcp', e.kind.toUpperCase() + (e.ipxe ? ' (iPXE)' : ''), e.ip ?? '', { done: e.kind === 'ack' });
        },
        ...(snap.wulf.dhcp.mode === 'proxy' ? { bootServerPort: 4011 } : {}),
      });
      if (!ifaces.length)
        log.warn(
          'dhcp',
          `no provisioning interface: set dhcp.interface in wulf.conf (no interface holds ${serverIp}); answering on every interface`,
        );
      await dhcp.start();
      stoppers.push(() => dhcp.stop());
    }
    if (o.ra ?? process.getuid?.() === 0) {
      for (const i of ifaces.filter((x) => x !== 'lo')) {
        const ra = startRouterAdvertisements(i, log);
        if (ra) stoppers.push(() => ra.stop());
      }
    }
    log.info(
      'serve',
      `serving on ${address}: HTTP ${httpPort}${https ? `, HTTPS ${https.port}` : ''}${o.tftp !== false && snap.wulf.tftp.enabled ? `, TFTP ${o.tftpPort ?? snap.wulf.tftp.port}` : ''}${o.dhcp !== false && snap.wulf.dhcp.mode !== 'off' ? `, DHCP ${o.dhcpPort ?? snap.wulf.dhcp.port} (${snap.wulf.dhcp.mode})` : ''}; ${snap.byMac.size} known MACs`,
    );
    return { httpPort: http.port ?? httpPort, tlsPort: https?.port, status, stop: stopAll, reload };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
