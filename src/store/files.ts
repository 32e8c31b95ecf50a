// The file backend: nodes.conf exactly as before (src/config/store.ts: lock, fresh read, revision
// check, whole validation, in-place splice, atomic rename with a backup). This only adapts it.
import { existsSync, readFileSync } from 'node:fs';
import { readNodesConf, revisionOf, updateNodesConf } from '../config/store.ts';
import type { Paths } from '../config/paths.ts';
import type { ConfigStore, Mutate } from './store.ts';

export function fileStore(paths: Paths): ConfigStore {
  return {
    kind: 'files',
    where: paths.nodesConf,
    read: async () => readNodesConf(paths),
    revision: async () => (existsSync(paths.nodesConf) ? revisionOf(readFileSync(paths.nodesConf, 'utf8')) : 'none'),
    update: <T>(mutate: Mutate<T>, opts?: { expectedRevision?: string }) => updateNodesConf(paths, mutate, opts),
    schemaVersion: async () => undefined,
    close: async () => {},
  };
}
