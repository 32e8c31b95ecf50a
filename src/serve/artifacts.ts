// Artifacts by digest on the PostgreSQL store (#15): which kernel and image bytes a node gets is the
// store's current digest for its image (src/store/artifacts.ts), not whatever this controller's disk
// holds. A local build or kernel with that digest is served; else a verified copy in the artifact
// cache; else the bytes are fetched from a peer controller by digest (src/images/artifact-cache.ts)
// and the node is told to retry (503, Retry-After: 5) meanwhile — a stale archive is never sent.
// Peers ask GET /artifacts/sha256/<hex>, answered by byDigest. After each fetch, cached digests no
// image names any more are removed. An image the store has no row for
// (built before schema 5, or on the files) is served from the local disk as before.
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, posix } from 'node:path';
import type { MergedNode } from '../config/cascade.ts';
import type { Paths } from '../config/paths.ts';
import type { Logger } from '../lib/log.ts';
import { errorLine } from '../lib/errors.ts';
import type { Artifact, Served } from '../http/app.ts';
import { findKernel, imageArtifactPath } from '../images/service.ts';
import { listImageNames } from '../images/layout.ts';
import { compareVersions, pickKernel } from '../images/kernels.ts';
import { sha256Memo } from '../images/publish.ts';
import { createArtifactCache, type ArtifactCache } from '../images/artifact-cache.ts';
import { fetchedImageFiles } from '../images/archive-files.ts';
import { artifactsByDigest, currentArtifacts, currentDigests, peersWithUrls, type ArtifactRow } from '../store/artifacts.ts';
import type { PostgresStore } from '../store/postgres.ts';

export interface ArtifactResolver {
  /** the node's kernel / image by the store's digest; undefined: the store has no row for the image (serve the local one) */
  kernel(n: MergedNode): Promise<Served | 'local'>;
  image(n: MergedNode): Promise<Served | 'local'>;
  /** a verified file with this digest, for a peer */
  byDigest(digest: string): Promise<Artifact | undefined>;
  readonly cache: ArtifactCache;
}

export interface ArtifactDeps {
  paths: Paths;
  db: PostgresStore;
  /** this controller's name (default: the host name) */
  controller?: string;
  log: Logger;
  /** the other controllers, freshest first (the controllers registry; tests hand in their own) */
  peers?: () => Promise<{ name: string; url: string }[]>;
  /** the files include_image reads for an image changed (serve: the overlay service re-checks) */
  onImageFiles?: () => void;
}

const RETRY_AFTER = 5;
const fileArtifact = (path: string, etag: string): Artifact | undefined => {
  try {
    return { path, size: statSync(path).size, etag };
  } catch {
    return undefined;
  }
};

/** The store's kernel row a node boots: by path inside the image, by version (prefix), else the default. */
export function pickKernelRow(rows: ArtifactRow[], spec: string | undefined): ArtifactRow | undefined {
  if (spec?.startsWith('/')) return rows.find((r) => r.rel === posix.normalize(spec));
  const list = rows.map((r) => ({ version: r.variant, rel: r.rel, path: r.digest })).sort((a, b) => compareVersions(b.version, a.version));
  const k = pickKernel(list, '', spec || undefined);
  return k ? rows.find((r) => r.variant === k.version) : undefined;
}

export function createArtifactResolver(d: ArtifactDeps): ArtifactResolver {
  const cache = createArtifactCache(d.paths, d.log);
  const etc = fetchedImageFiles(join(d.paths.stateDir, 'artifacts'), d.log);
  const etcFailed = new Set<string>();
  const self = d.controller || hostname();
  const last = new Map<string, ArtifactRow[]>();
  const asking = new Map<string, Promise<ArtifactRow[] | undefined>>();
  let downUntil = 0;

  /** The image's rows now (one query shared by the requests that arrive meanwhile); the last known while PostgreSQL is away. */
  function current(image: string): Promise<ArtifactRow[] | undefined> {
    if (Date.now() < downUntil) return Promise.resolve(last.get(image));
    let p = asking.get(image);
    if (!p) {
      p = currentArtifacts(d.db, image)
        .then((rows) => {
          last.set(image, rows);
          return rows;
        })
        .catch((e) => {
          downUntil = Date.now() + 5000;
          d.log.limited('artifacts-store', 'warn', 'artifacts', `cannot read the image digests (${errorLine(e)}); the last known are used`);
          return last.get(image);
        })
        .finally(() => asking.delete(image));
      asking.set(image, p);
    }
    return p;
  }

  const peers = async (builtBy: string) => {
    const all = await (d.peers ?? (() => peersWithUrls(d.db, self)))();
    return [...all.filter((p) => p.name === builtBy), ...all.filter((p) => p.name !== builtBy && p.name !== self)];
  };

  /** After a fetch: the cached bytes of digests no image names any more go (a node mid-download keeps its open file). */
  async function prune() {
    const keep = await currentDigests(d.db).catch(() => undefined);
    const n = keep ? cache.prune(keep) : 0;
    if (keep) etc.prune(keep);
    if (n) d.log.info('artifacts', `removed ${n} cached artifact(s) no image names any more`);
  }

  const pending = (row: ArtifactRow, what: string): Served => ({
    pending: true,
    retryAfter: RETRY_AFTER,
    reason: `sha256:${row.digest.slice(0, 12)} ${what}`,
  });
  /** Start fetching the row's bytes (one download per digest) and say "retry". */
  function fetchRow(row: ArtifactRow): Served {
    if (!cache.fetching(row.digest))
      void cache
        .ensure(row.digest, row.size, () => peers(row.builtBy))
        .then((ok) => {
          if (ok) void prune();
        });
    return pending(row, 'from a peer controller');
  }

  /** A local file with the row's digest, else the verified cached copy, else start the fetch and say "retry". */
  async function serveRow(row: ArtifactRow, local: () => Promise<string | undefined>): Promise<Served> {
    const l = await local();
    return (l && fileArtifact(l, row.digest)) || fileArtifact(cache.path(row.digest) ?? '', row.digest) || fetchRow(row);
  }

  /** include_image reads the image from this build's extracted /etc (or, undefined, from the tree); overlays re-render on a change. */
  const point = (image: string, digest: string | undefined) => {
    if (etc.point(image, digest)) d.onImageFiles?.();
  };

  /**
   * The image archive, as serveRow, but a fetched build is served once its /etc is extracted (overlay
   * templates read the image's passwd and group from it: the same bytes as where the tree is).
   */
  async function serveImage(name: string, row: ArtifactRow): Promise<Served> {
    const a = imageArtifactPath(d.paths, name);
    if (a?.digest === row.digest) {
      point(name, undefined);
      return fileArtifact(a.path, row.digest) ?? fetchRow(row);
    }
    const cached = cache.path(row.digest);
    if (!cached) return fetchRow(row);
    if (!etc.ready(row.digest) && !etcFailed.has(row.digest)) {
      void etc.extract(row.digest, cached).then((ok) => {
        if (!ok) etcFailed.add(row.digest);
      });
      return pending(row, "being unpacked (the image's /etc for overlays)");
    }
    point(name, etc.ready(row.digest) ? row.digest : undefined);
    return fileArtifact(cached, row.digest) ?? fetchRow(row);
  }

  return {
    cache,
    async image(n) {
      const name = n.data.imageName;
      const row = name ? (await current(name))?.find((r) => r.kind === 'image') : undefined;
      if (!name || !row) return 'local';
      return serveImage(name, row);
    },
    async kernel(n) {
      const name = n.data.imageName;
      const rows = name ? (await current(name))?.filter((r) => r.kind === 'kernel') : undefined;
      const row = rows?.length ? pickKernelRow(rows, n.data.kernel?.version) : undefined;
      if (!name || !row) return 'local';
      return serveRow(row, async () => {
        const k = findKernel(d.paths, name, row.variant);
        return k && (await sha256Memo(k.path)) === row.digest ? k.path : undefined;
      });
    },
    async byDigest(digest) {
      const c = cache.path(digest);
      if (c) return fileArtifact(c, digest);
      for (const name of listImageNames(d.paths)) {
        const a = imageArtifactPath(d.paths, name);
        if (a?.digest === digest) return fileArtifact(a.path, digest);
      }
      const rows = await artifactsByDigest(d.db, digest).catch(() => [] as ArtifactRow[]);
      for (const r of rows.filter((x) => x.kind === 'kernel')) {
        const k = findKernel(d.paths, r.image, r.variant);
        if (k && (await sha256Memo(k.path)) === digest) return fileArtifact(k.path, digest);
      }
      return undefined;
    },
  };
}
