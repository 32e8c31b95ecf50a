// `wulf serve`: DHCP, TFTP and HTTP in one process, composed here. The configuration (config-source.ts),
// what survives restarts (runtime-state.ts), discovery, and the provisioning seam every listener asks
// "what does this MAC get" (provisioning.ts) are their own files; listeners.ts holds the sockets.
import { errorLine } from '../lib/errors.ts';
import { ipxeBinary } from '../lib/assets.ts';
import { createOverlayService } from '../overlays/service.ts';
import { clusterWide } from '../overlays/data.ts';
import { ensureImageStore } from '../images/layout.ts';
import { siteBoot } from './bootfiles.ts';
import { lockServer, stopInReverse } from './lock.ts';
import { openConfigSource } from './config-source.ts';
import { openRuntime } from './runtime-state.ts';
import { storeHealth } from './store-health.ts';
import { createDiscovery } from './discovery.ts';
import { createProvisioning } from './provisioning.ts';
import { createArtifactResolver } from './artifacts.ts';
import { listenAll, provisioningInterfaces } from './listeners.ts';
import { joinCluster } from './cluster.ts';
import type { RunningServer, ServeOptions } from './options.ts';
import type { PostgresStore } from '../store/postgres.ts';

export { provisioningInterfaces };
export type { RunningServer, ServeOptions };

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const { paths, log } = o;
  const db = o.store?.kind === 'postgres' ? (o.store as PostgresStore) : undefined;
  const stoppers: (() => Promise<void> | void)[] = [await lockServer(paths)];
  const stopAll = () => stopInReverse(stoppers);
  try {
    // an install from before the store was 0700: tighten it now (image trees hold device nodes and setuid files)
    try {
      ensureImageStore(paths);
    } catch (e) {
      log.warn('images', `cannot make ${paths.imagesDir} 0700: ${errorLine(e)}`);
    }
    const health = db && storeHealth(db.where, log); // PostgreSQL lost and back: one line each, and in /status
    const config = await openConfigSource(paths, log, db, health);
    const { wulf } = config.current();
    const boot = siteBoot(paths, wulf.tftp.tftproot, log, ipxeBinary); // tftp.tftproot, tftp.ipxe
    const address = o.address ?? (wulf.ipaddr || '0.0.0.0');
    const httpPort = o.httpPort ?? wulf.warewulf.port;
    const runtime = await openRuntime(paths, log, () => config.current().cluster.warewulf.updateInterval, db, o.controller, health);
    stoppers.push(
      () => runtime.stop(),
      () => config.stop(),
    );
    // recheckMs 0: every archive request re-checks the overlay sources and the controller files its
    // templates read (a few stats), so an edit is never answered with the archive from before it
    const getConf = () => config.current().conf;
    // templates see the cluster's settings (on PostgreSQL the store's), never this controller's listening address:
    // several controllers, the same bytes on each; the iPXE script still names this controller (serverIp, local)
    const getWulfConf = () => clusterWide(config.current().cluster, !!db);
    const overlays = createOverlayService({ paths, getConf, getWulfConf, log, recheckMs: 0 });
    config.onChange((s) => {
      for (const mac of s.byMac.keys()) runtime.status.forgetUnknown(mac);
      overlays.invalidate();
    });
    const serverIp = address === '0.0.0.0' ? wulf.ipaddr : address;
    const cluster = await joinCluster(o, db, { wulf, address, serverIp, httpPort }); // PostgreSQL: registry, range, heartbeat
    if (cluster) stoppers.push(cluster.stop);
    config.onChange((s) => cluster?.configChanged(s.wulf));
    const discover = createDiscovery(config, paths, log, db);
    const dynamicRange = cluster?.range; // on PostgreSQL the range held in the store, else wulf.conf's
    // kernels and images by the store's digest, fetched from a peer when missing here
    const artifacts = db && createArtifactResolver({ paths, db, controller: o.controller, log, onImageFiles: overlays.invalidate });
    const pdeps = { paths, config, runtime, overlays, boot, discover, serverIp, httpPort, dynamicRange, artifacts };
    const provisioning = createProvisioning(pdeps);
    const deps = { config, address, serverIp, httpPort, runtime, provisioning, boot, leases: cluster?.leases };
    const http = await listenAll(o, deps, stoppers);
    log.info('serve', `${http.summary}; ${config.current().byMac.size} known MACs`);
    return { httpPort: http.httpPort, tlsPort: http.tlsPort, status: runtime.status, stop: stopAll, reload: config.reload };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
