// The configuration the TUI shows: nodes.conf merged through the cascade and wulf.conf, re-read
// when either file changes underneath (checked by stat, cheaply, about once a second). On the
// PostgreSQL store the nodes come from there: its revision is asked about once a second, in the
// background, and the configuration read again when it moved (`ready` is the first read).
import { existsSync, statSync } from 'node:fs';
import { mergeAll, mergeNode, naturalCompare, type MergedNode, type NodesConf } from '../../config/cascade.ts';
import type { Paths } from '../../config/paths.ts';
import { readNodesConf } from '../../config/store.ts';
import { defaultWulfConf, readWulfConf, type WulfConf } from '../../config/wulfconf.ts';
import { errorLine } from '../../lib/errors.ts';
import type { ConfigStore } from '../../store/store.ts';

export interface ConfigSnapshot {
  conf: NodesConf;
  merged: MergedNode[];
  byId: Map<string, MergedNode>;
  wulf: WulfConf;
  /** a read error: the previous good snapshot stays on screen */
  error?: string;
  /** only the first nodes are merged yet (first paint); completeMerge() does the rest */
  partial: boolean;
  version: number;
}

/** Nodes merged before the first paint; the rest follow right after it. */
const FIRST_PAINT_NODES = 200;

const sigOf = (p: string) => {
  if (!existsSync(p)) return 'none';
  const s = statSync(p);
  return `${s.mtimeMs}:${s.size}:${s.ino}`;
};

export class ConfigSource {
  snap: ConfigSnapshot;
  private sig = '';
  /** the first read (at once for the files) */
  readonly ready: Promise<void>;
  private inFlight?: Promise<void>;
  private lastAsk = 0;
  private seen = 0;

  constructor(
    private readonly paths: Paths,
    readonly store?: ConfigStore,
  ) {
    this.snap = {
      conf: { profiles: {}, nodes: {}, revision: 'none' },
      merged: [],
      byId: new Map(),
      wulf: defaultWulfConf(),
      partial: false,
      version: 0,
    };
    if (store) this.ready = this.fetch(FIRST_PAINT_NODES, true);
    else {
      this.reload(FIRST_PAINT_NODES);
      this.ready = Promise.resolve();
    }
  }

  /** PostgreSQL: read when the revision moved (or always: `force`); the first read's failure is thrown. */
  private fetch(firstN = Infinity, first = false, force = false): Promise<void> {
    this.inFlight ??= (async () => {
      try {
        if (
          !force &&
          !first &&
          !this.snap.error &&
          (await this.store!.revision()) === this.snap.conf.revision &&
          this.sig === this.currentSig()
        )
          return;
        this.sig = this.currentSig();
        this.set(await this.store!.read(), readWulfConf(this.paths), firstN);
      } catch (e) {
        if (first) throw e;
        this.snap = { ...this.snap, error: errorLine(e), version: this.snap.version + 1 };
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  private set(conf: NodesConf, wulf: WulfConf, firstN: number): void {
    const ids = Object.keys(conf.nodes);
    const partial = ids.length > firstN;
    const merged = partial
      ? ids
          .sort(naturalCompare)
          .slice(0, firstN)
          .map((id) => mergeNode(conf, id))
      : mergeAll(conf);
    this.snap = { conf, merged, byId: new Map(merged.map((m) => [m.id, m])), wulf, partial, version: this.snap.version + 1 };
  }

  private currentSig(): string {
    return `${sigOf(this.paths.nodesConf)}|${sigOf(this.paths.wulfConf)}`;
  }

  /** Merge every node (after a partial first load). */
  completeMerge(): void {
    if (!this.snap.partial) return;
    const merged = mergeAll(this.snap.conf);
    this.snap = { ...this.snap, merged, byId: new Map(merged.map((m) => [m.id, m])), partial: false, version: this.snap.version + 1 };
  }

  /** Re-read when a file changed; true when the snapshot changed. */
  check(): boolean {
    if (this.store) {
      if (!this.inFlight && Date.now() - this.lastAsk >= 1000) {
        this.lastAsk = Date.now();
        void this.fetch();
      }
      const moved = this.snap.version !== this.seen;
      this.seen = this.snap.version;
      return moved;
    }
    const sig = this.currentSig();
    if (sig === this.sig) return false;
    this.reload();
    return true;
  }

  /** Re-read both files; `firstN` merges only that many nodes now (see completeMerge). */
  reload(firstN = Infinity): void {
    if (this.store) {
      void (this.inFlight ?? Promise.resolve()).then(() => this.fetch(firstN, false, true));
      return;
    }
    this.sig = this.currentSig();
    try {
      this.set(readNodesConf(this.paths), readWulfConf(this.paths), firstN);
    } catch (e) {
      this.snap = { ...this.snap, error: errorLine(e), version: this.snap.version + 1 };
    }
  }
}

/** The server URL: --server, else wulf.conf's ipaddr and port (loopback when unset). */
export function serverUrl(flag: string | undefined, wulf: WulfConf): string {
  if (flag) return /^https?:\/\//.test(flag) ? flag : `http://${flag}`;
  return `http://${wulf.ipaddr || '127.0.0.1'}:${wulf.warewulf.port}`;
}
