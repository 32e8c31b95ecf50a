// Discovery: an unknown MAC takes the first discoverable node (by cluster, then name), written through
// the store; one binding at a time in this process, and the write itself re-checks that the node is
// still discoverable, so a node is never bound twice.
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
    const candidate = firstDiscoverable(config.current().conf);
    if (!candidate) return;
    const run = discovering.then(async () => {
      if (config.current().byMac.has(mac)) return;
      const bind = (conf: NodesConf) => {
        const id = Object.keys(conf.nodes).find((n) => n === candidate.id && conf.nodes[n]!.discoverable === 'true');
        if (!id) return;
        const node = conf.nodes[id]!;
        const net = candidate.primary ?? 'default';
        node.networkDevices ??= {};
        node.networkDevices[net] = { ...(node.networkDevices[net] ?? {}), hwaddr: mac };
        delete node.discoverable;
        log.info('discovery', `bound ${mac} to node ${id} (network ${net})`);
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

function firstDiscoverable(conf: NodesConf): MergedNode | undefined {
  return mergeAll(conf)
    .filter((m) => m.data.discoverable === 'true')
    .sort(
      (a, b) =>
        (a.data.clusterName ?? '').localeCompare(b.data.clusterName ?? '') || a.id.localeCompare(b.id, undefined, { numeric: true }),
    )[0];
}
