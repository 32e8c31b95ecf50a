// Opening the store a command should use: WULF_STORE, else `store:` in wulf.conf, else the files.
import type { Paths } from '../config/paths.ts';
import { existsSync, readFileSync } from 'node:fs';
import { readYaml } from '../config/yaml-read.ts';
import type { ConfigStore, NodesConf } from './store.ts';
import { fileStore } from './files.ts';
import { PostgresStore } from './postgres.ts';
import { PostgresState } from './state-pg.ts';
import type { RuntimeState } from '../runtime/state-file.ts';
import { parseStoreSpec, type StoreSpec } from './spec.ts';

export function configuredSpec(paths: Paths, env: Record<string, string | undefined>): StoreSpec {
  if (env.WULF_STORE) return parseStoreSpec(env.WULF_STORE, 'WULF_STORE');
  // only the one key: a node command does not start validating the server's settings
  if (!existsSync(paths.wulfConf)) return { kind: 'files' };
  const top = readYaml(readFileSync(paths.wulfConf, 'utf8'), paths.wulfConf).value as Record<string, unknown> | null;
  const v = top && typeof top === 'object' ? top.store : undefined;
  return v == null ? { kind: 'files' } : parseStoreSpec(String(v), paths.wulfConf);
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
  try {
    return await f(s);
  } finally {
    await s.close();
  }
}

/** The configuration from the configured store (one read, closed after). */
export function readConfigured(paths: Paths, env: Record<string, string | undefined>): Promise<NodesConf> {
  return withStore(paths, env, (s) => s.read());
}

/** Runtime state from PostgreSQL when that is the store (undefined on the files: state.cbor is the place). */
export async function readStoreState(
  paths: Paths,
  env: Record<string, string | undefined>,
): Promise<{ state: RuntimeState; where: string } | undefined> {
  const spec = configuredSpec(paths, env);
  if (spec.kind !== 'postgres') return undefined;
  const s = new PostgresStore(spec.url);
  try {
    return { state: (await new PostgresState(s, '').load()).state, where: s.where };
  } finally {
    await s.close();
  }
}
