// Opening the store a command should use: WULF_STORE, else `store:` in wulf.conf, else the files.
import type { Paths } from '../config/paths.ts';
import { readWulfConf } from '../config/wulfconf.ts';
import type { ConfigStore } from './store.ts';
import { fileStore } from './files.ts';
import { PostgresStore } from './postgres.ts';
import { parseStoreSpec, type StoreSpec } from './spec.ts';

export function configuredSpec(paths: Paths, env: Record<string, string | undefined>): StoreSpec {
  if (env.WULF_STORE) return parseStoreSpec(env.WULF_STORE, 'WULF_STORE');
  return parseStoreSpec(readWulfConf(paths).store ?? 'files', paths.wulfConf);
}

export function storeFor(spec: StoreSpec, paths: Paths): ConfigStore {
  return spec.kind === 'files' ? fileStore(paths) : new PostgresStore(spec.url);
}

export function openStore(paths: Paths, env: Record<string, string | undefined>): ConfigStore {
  return storeFor(configuredSpec(paths, env), paths);
}

/** Run `f` with the configured store, closing it after. */
export async function withStore<T>(paths: Paths, env: Record<string, string | undefined>, f: (s: ConfigStore) => Promise<T>): Promise<T> {
  const s = openStore(paths, env);
  try { return await f(s); } finally { await s.close(); }
}
