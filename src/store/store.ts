// One store interface for the configuration (nodes and profiles), two backends: the files of
// today (nodes.conf; the embedded default) and PostgreSQL (`store: postgres://…` in wulf.conf, or
// WULF_STORE). Both give the same guarantees: a write runs the caller's change on a fresh copy,
// validates the whole configuration, is refused when it was based on an older revision, and
// commits entirely or not at all. Which one a command uses is chosen here, once.
import type { NodesConf } from '../config/cascade.ts';
import type { UpdateResult } from '../config/store.ts';

export type { NodesConf } from '../config/cascade.ts';
export type { UpdateResult } from '../config/store.ts';

export type Mutate<T> = (conf: NodesConf) => T | Promise<T>;

export interface ConfigStore {
  readonly kind: 'files' | 'postgres';
  /** where it is, for messages: the nodes.conf path, or the URL without its password */
  readonly where: string;
  /** the whole configuration at one revision */
  read(): Promise<NodesConf>;
  /** the current revision alone (cheap: a server asks before answering a node) */
  revision(): Promise<string>;
  /** run `mutate` on a fresh copy and commit what it changed, whole or not at all */
  update<T>(mutate: Mutate<T>, opts?: { expectedRevision?: string }): Promise<UpdateResult<T>>;
  /** schema version (PostgreSQL) or undefined (files) */
  schemaVersion(): Promise<number | undefined>;
  close(): Promise<void>;
}

/** Make `conf` hold exactly `src` (same order); used by `store copy`. */
export function replaceAll(conf: NodesConf, src: Pick<NodesConf, 'nodes' | 'profiles'>): void {
  for (const sec of ['nodes', 'profiles'] as const) {
    for (const n of Object.keys(conf[sec])) delete conf[sec][n];
  }
  for (const sec of ['profiles', 'nodes'] as const) {
    for (const [n, d] of Object.entries(src[sec])) conf[sec][n] = structuredClone(d);
  }
}
