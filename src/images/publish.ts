// After `wulf image build` (and rollback) on the PostgreSQL store: the image's current boot archive
// and every kernel in its rootfs are recorded by digest (src/store/artifacts.ts), so a controller
// that has neither the build nor the rootfs fetches exactly those bytes from a peer. On the files
// nothing is recorded: one controller serves what it built, as always.
import { hostname } from 'node:os';
import { statSync } from 'node:fs';
import type { Paths } from '../config/paths.ts';
import { configuredSpec } from '../store/open.ts';
import { PostgresStore } from '../store/postgres.ts';
import { forgetArtifacts, recordArtifacts, type ArtifactRow } from '../store/artifacts.ts';
import { imageArtifactPath } from './service.ts';
import { listKernels } from './kernels.ts';
import { rootfsDir } from './layout.ts';

/** sha256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = new Bun.CryptoHasher('sha256');
  for await (const chunk of Bun.file(path).stream()) h.update(chunk);
  return h.digest('hex');
}

const memo = new Map<string, string>();
/** sha256 of a file, remembered by path, size, mtime and inode (a kernel is hashed once per change). */
export async function sha256Memo(path: string): Promise<string | undefined> {
  let key: string;
  try {
    const st = statSync(path);
    key = `${path}\u0000${st.size}\u0000${st.mtimeMs}\u0000${st.ino}`;
  } catch {
    return undefined;
  }
  const have = memo.get(key);
  if (have) return have;
  const d = await sha256File(path);
  memo.set(key, d);
  return d;
}

/** What an image's current build consists of, by digest: the archive and each kernel. */
export async function builtArtifacts(paths: Paths, name: string, builtBy: string): Promise<Omit<ArtifactRow, 'image' | 'builtAt'>[]> {
  const art = imageArtifactPath(paths, name);
  const rows: Omit<ArtifactRow, 'image' | 'builtAt'>[] = [];
  if (art) rows.push({ kind: 'image', variant: '', rel: '', digest: art.digest, size: art.size, builtBy });
  for (const k of listKernels(rootfsDir(paths, name))) {
    const digest = await sha256Memo(k.path);
    if (digest) rows.push({ kind: 'kernel', variant: k.version, rel: k.rel, digest, size: statSync(k.path).size, builtBy });
  }
  return rows;
}

async function onPostgres<T>(
  paths: Paths,
  env: Record<string, string | undefined>,
  f: (s: PostgresStore) => Promise<T>,
): Promise<T | undefined> {
  const spec = configuredSpec(paths, env);
  if (spec.kind !== 'postgres') return undefined;
  const store = new PostgresStore(spec.url);
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/** Record the image's build in the PostgreSQL store, when that is the store; the number of rows, or undefined on the files. */
export function publishImage(paths: Paths, env: Record<string, string | undefined>, name: string): Promise<number | undefined> {
  return onPostgres(paths, env, async (store) => {
    const rows = await builtArtifacts(paths, name, env.WULF_CONTROLLER || hostname());
    await recordArtifacts(store, name, rows);
    return rows.length;
  });
}

/** An image deleted (or renamed away) on the PostgreSQL store: its digests are no longer current anywhere. */
export async function unpublishImage(paths: Paths, env: Record<string, string | undefined>, name: string): Promise<void> {
  await onPostgres(paths, env, (store) => forgetArtifacts(store, name));
}
