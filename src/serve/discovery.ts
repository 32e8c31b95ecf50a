// Discovery: an unknown MAC takes the first discoverable node (by cluster, then name), written through
// the store; one binding at a time in this process. The write decides again on the fresh copy it runs
// on (PostgreSQL: under the revision row's lock, so across controllers too): a MAC some node already
// has (another controller bound it a moment ago) binds nothing more, and a candidate that is no longer
// discoverable gives way to the next one in the same order, so a node is bound exactly once and a
// second unknown MAC racing the first is still answered.
import { errorLine } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Paths } from '../config/paths.ts';
import { mergeAll, type MergedNode, type NodesConf } from '../config/cascade.ts';
import { updateNodesConf } from '../config/store.ts';
import type { PostgresStore } from '../store/postgres.ts';
import type { ConfigSource } from './config-source.ts';

/** Bind an unknown MAC to a discoverable node; resolves once the configuration holding it is current. */
export function createDiscovery(config: ConfigSource, paths: Paths, log: Logger, db?: PostgresStore) {
  let discovering: Promise<unknown> = Promise.resolve();
  return async (mac: string): Promise<void> => {
    const now = config.current().conf;
    if (!firstDiscoverable(mergeAll(now), now)) return;
    const run = discovering.then(async () => {
      if (config.current().byMac.has(mac)) return;
      const bind = (conf: NodesConf) => {
        const merged = mergeAll(conf);
        const owner = merged.find((m) => Object.values(m.data.networkDevices ?? {}).some((nd) => nd.hwaddr?.toLowerCase() === mac));
        if (owner) return; // bound meanwhile (another controller): nothing to do, the fresh read answers it
        const candidate = firstDiscoverable(merged, conf);
        const node = candidate && conf.nodes[candidate.id];
        if (!candidate || !node) return;
        const net = candidate.primary ?? 'default';
        node.networkDevices ??= {};
        node.networkDevices[net] = { ...(node.networkDevices[net] ?? {}), hwaddr: mac };
        delete node.discoverable;
        log.info('discovery', `bound ${mac} to node ${candidate.id} (network ${net})`);
      };
      if (db) {
        await db.update(bind);
        config.apply(await db.read());
      } else {
        await updateNodesConf(paths, bind);
        config.reload();
      }
    });
    discovering = run.catch((e) => log.error('discovery', errorLine(e)));
    await discovering;
  };
}

/** discoverable on the node itself (what binding clears), in cluster then name order */
function firstDiscoverable(merged: MergedNode[], conf: NodesConf): MergedNode | undefined {
  return merged
    .filter((m) => m.data.discoverable === 'true' && conf.nodes[m.id]?.discoverable === 'true')
    .sort(
      (a, b) =>
        (a.data.clusterName ?? '').localeCompare(b.data.clusterName ?? '') || a.id.localeCompare(b.id, undefined, { numeric: true }),
    )[0];
}
