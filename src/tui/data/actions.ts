// What the TUI writes: a field edit and the node actions, all through config/store.ts's one door
// with the revision the screen was showing (a concurrent edit is reported, never overwritten),
// overlay rebuilds through the overlay service, power through the power service's fan-out.
import { clusterWide } from '../../overlays/data.ts';
import type { Paths } from '../../config/paths.ts';
import { updateNodesConf, type UpdateResult } from '../../config/store.ts';
import { readNodesConf } from '../../config/store.ts';
import type { NodesConf } from '../../config/cascade.ts';
import type { ConfigStore } from '../../store/store.ts';
import { templateConfOf } from '../../store/settings-pg.ts';
import { WulfError, errorLine } from '../../lib/errors.ts';
import { silentLogger } from '../../lib/log.ts';
import { createOverlayService } from '../../overlays/service.ts';
import { KINDS } from '../../overlays/build.ts';
import { mergeNode } from '../../config/cascade.ts';
import { defaultDrivers, runPower, summaryLine, targetsFromNodes } from '../../power/run.ts';
import type { PowerAction } from '../../power/driver.ts';
import { applyEdit, type DetailLine } from '../state/detail.ts';
import { ACTION_LABEL, type ActionKind } from '../state/app.ts';

export interface Outcome {
  text: string;
  error: boolean;
  written: boolean;
}

const stale = (e: unknown) => e instanceof WulfError && e.code === 'ESTALE';
/** nodes.conf, or the PostgreSQL store when the TUI runs on one */
const writer =
  (paths: Paths, store?: ConfigStore) =>
  <T>(m: (c: NodesConf) => T, o: { expectedRevision?: string }): Promise<UpdateResult<T>> =>
    store ? store.update(m, o) : updateNodesConf(paths, m, o);
const storeName = (store?: ConfigStore) => (store ? 'the store' : 'nodes.conf');

export async function writeEdit(
  paths: Paths,
  node: string,
  line: DetailLine,
  value: unknown,
  revision: string,
  store?: ConfigStore,
): Promise<Outcome> {
  try {
    const r = await writer(paths, store)(
      (conf) => {
        const n = conf.nodes[node];
        if (!n) throw new WulfError(`node ${node} no longer exists`);
        applyEdit(n, line.field!, line.netdev, value);
      },
      { expectedRevision: revision },
    );
    const what = `${node} ${line.title.trim()}`;
    return {
      text: r.changed
        ? `saved ${what} = ` +
          `${value === undefined ? '(unset)' : Array.isArray(value) ? value.join(',') : typeof value === 'object' ? JSON.stringify(value) : String(value)}`
        : `${what}: no change`,
      error: false,
      written: r.changed,
    };
  } catch (e) {
    if (stale(e))
      return {
        text: `${storeName(store)} was changed by someone else meanwhile — reloaded; your edit was NOT written, redo it`,
        error: true,
        written: false,
      };
    return { text: `not saved: ${errorLine(e)}`, error: true, written: false };
  }
}

export async function runAction(
  paths: Paths,
  action: ActionKind,
  targets: string[],
  value: string | undefined,
  revision: string,
  store?: ConfigStore,
): Promise<Outcome> {
  const label = `${ACTION_LABEL[action]} (${targets.length} node${targets.length === 1 ? '' : 's'})`;
  try {
    switch (action) {
      case 'power-on':
      case 'power-off':
      case 'power-cycle': {
        const conf = store ? await store.read() : readNodesConf(paths);
        const act = action.slice(6) as PowerAction;
        const { results, summary } = await runPower(targetsFromNodes(targets.map((t) => mergeNode(conf, t))), act, {
          drivers: defaultDrivers(),
        });
        const bad = results.find((r) => r.status !== 'ok');
        const why = bad ? ` — ${bad.node}: ${bad.error ?? bad.detail ?? bad.status}` : '';
        return { text: `${summaryLine(`power ${act}`, summary)}${why}`, error: summary.failed > 0 || summary.ok === 0, written: false };
      }
      case 'rebuild': {
        const conf = store ? await store.read() : undefined;
        const wulf = clusterWide(await templateConfOf(paths, store), store?.kind === 'postgres');
        const svc = createOverlayService({
          paths,
          getConf: () => conf ?? readNodesConf(paths),
          getWulfConf: () => wulf,
          log: silentLogger,
        });
        const r = await svc.buildMany(targets, KINDS);
        const failed = r.failed.length ? `, ${r.failed.length} failed: ${r.failed[0]!.node} ${r.failed[0]!.error}` : '';
        return {
          text: `${label}: built ${r.built} archives in ${(r.ms / 1000).toFixed(1)} s${failed}`,
          error: r.failed.length > 0,
          written: false,
        };
      }
      case 'set-profile':
      case 'set-image':
      case 'discoverable': {
        const r = await writer(paths, store)(
          (conf) => {
            for (const t of targets) {
              const n = conf.nodes[t];
              if (!n) throw new WulfError(`node ${t} no longer exists`);
              if (action === 'set-profile') {
                const l = (value ?? '')
                  .split(',')
                  .map((x) => x.trim())
                  .filter(Boolean);
                if (l.length) n.profiles = l;
                else delete n.profiles;
              } else if (action === 'set-image') {
                if (value) n.imageName = value;
                else delete n.imageName;
              } else n.discoverable = 'true';
            }
          },
          { expectedRevision: revision },
        );
        return {
          text: `${label}${value !== undefined ? ` = ${value || '(unset)'}` : ''}: ${r.changed ? 'saved' : 'no change'}`,
          error: false,
          written: r.changed,
        };
      }
    }
  } catch (e) {
    if (stale(e))
      return {
        text: `${label}: ${storeName(store)} was changed by someone else meanwhile — reloaded; NOT written, redo it`,
        error: true,
        written: false,
      };
    return { text: `${label}: ${errorLine(e)}`, error: true, written: false };
  }
}
