// The controller's cache of artifacts fetched from peers, by digest: <state>/artifacts/sha256/<hex>.
// A download goes to <hex>.part, resumes with a Range request after an interruption (from the same
// peer or the next: the bytes are named by their digest), and is renamed into place only after its
// sha256 and size match; bytes that fail verification are deleted and the next peer is asked.
// Concurrent asks for one digest share one download. Only verified files are ever named <hex>.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import type { Paths } from '../config/paths.ts';
import type { Logger } from '../lib/log.ts';
import { errorLine } from '../lib/errors.ts';
import { writeAll } from '../lib/write-all.ts';
import { sha256File } from './publish.ts';

export const DIGEST_RE = /^[0-9a-f]{64}$/;

export interface ArtifactPeer {
  name: string;
  url: string;
}

export interface ArtifactCache {
  readonly dir: string;
  /** the verified file for a digest, or undefined (a malformed digest never maps to a path) */
  path(digest: string): string | undefined;
  /** fetch `digest` (`size` bytes) from the first peer that gives verified bytes; true once it is in place */
  ensure(digest: string, size: number, peers: () => Promise<ArtifactPeer[]>): Promise<boolean>;
  /** a download of this digest is running */
  fetching(digest: string): boolean;
  /** remove the files (and partial downloads) of digests not in `keep`; the number removed */
  prune(keep: Set<string>): number;
}

const IDLE_MS = 30_000;
const short = (d: string) => `sha256:${d.slice(0, 12)}`;

/** GET url into `part`, resuming from its current length; resolves when the body ended (complete or not). */
async function fetchInto(url: string, part: string, size: number): Promise<void> {
  let have = existsSync(part) ? statSync(part).size : 0;
  if (have > size) {
    truncateSync(part, 0);
    have = 0;
  }
  if (have === size && size > 0) return;
  const ac = new AbortController();
  let idle = setTimeout(() => ac.abort(new Error(`no data for ${IDLE_MS / 1000} s`)), IDLE_MS);
  try {
    const res = await fetch(url, { headers: have ? { Range: `bytes=${have}-` } : {}, signal: ac.signal });
    if (res.status === 206 && !(res.headers.get('content-range') ?? '').startsWith(`bytes ${have}-`))
      throw new Error(`answered a range other than bytes ${have}-`);
    if (res.status === 200) have = 0;
    else if (res.status !== 206) throw new Error(`HTTP ${res.status}`);
    const fd = openSync(part, have ? 'a' : 'w', 0o600);
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        clearTimeout(idle);
        idle = setTimeout(() => ac.abort(new Error(`no data for ${IDLE_MS / 1000} s`)), IDLE_MS);
        if (have + chunk.length > size) throw new Error(`sent more than the ${size} bytes the store names`);
        writeAll(fd, chunk);
        have += chunk.length;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } finally {
    clearTimeout(idle);
  }
}

export function createArtifactCache(paths: Paths, log: Logger): ArtifactCache {
  const dir = join(paths.stateDir, 'artifacts', 'sha256');
  const inflight = new Map<string, Promise<boolean>>();

  /** One peer: attempts while each makes progress (an interrupted body resumes at once), then verify. */
  async function fromPeer(peer: ArtifactPeer, digest: string, size: number): Promise<boolean> {
    const part = join(dir, `${digest}.part`);
    const url = `${peer.url}/artifacts/sha256/${digest}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = existsSync(part) ? statSync(part).size : 0;
      try {
        await fetchInto(url, part, size);
      } catch (e) {
        const now = existsSync(part) ? statSync(part).size : 0;
        if (/more than/.test(errorLine(e))) rmSync(part, { force: true });
        const msg = `fetching ${short(digest)} from ${peer.name} (${peer.url}) stopped at ${now} of ${size} bytes: ${errorLine(e)}`;
        log.limited(`artifacts-peer-${peer.name}`, 'warn', 'artifacts', msg);
        if (now > before) continue; // progress: resume with a Range request
        return false;
      }
      const got = existsSync(part) ? statSync(part).size : 0;
      if (got < size) {
        if (got > before) continue; // the body ended early (a connection cut): resume
        return false;
      }
      const actual = await sha256File(part);
      if (actual !== digest) {
        rmSync(part, { force: true });
        log.warn('artifacts', `${short(digest)} from ${peer.name} failed verification (its bytes hash to ${short(actual)}): discarded`);
        return false;
      }
      renameSync(part, join(dir, digest));
      log.info('artifacts', `${short(digest)} fetched from ${peer.name} and verified (${size} bytes)`);
      return true;
    }
    return false;
  }

  async function download(digest: string, size: number, peers: () => Promise<ArtifactPeer[]>): Promise<boolean> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let list: ArtifactPeer[];
    try {
      list = await peers();
    } catch (e) {
      log.limited(`artifacts-peers`, 'warn', 'artifacts', `cannot list the peer controllers: ${errorLine(e)}`);
      return false;
    }
    for (const p of list) {
      if (await fromPeer(p, digest, size)) return true;
    }
    log.limited(
      `artifacts-none-${digest}`,
      'warn',
      'artifacts',
      `no peer gave ${short(digest)} (${list.length ? list.map((p) => p.name).join(', ') : 'no peers with a URL'}); asked again on the next request`,
    );
    return false;
  }

  return {
    dir,
    path(digest) {
      if (!DIGEST_RE.test(digest)) return undefined;
      const p = join(dir, digest);
      return existsSync(p) ? p : undefined;
    },
    fetching: (digest) => inflight.has(digest),
    prune(keep) {
      let n = 0;
      for (const f of existsSync(dir) ? readdirSync(dir) : []) {
        const hex = f.replace(/\.part$/, '');
        if (!DIGEST_RE.test(hex) || keep.has(hex) || inflight.has(hex)) continue;
        rmSync(join(dir, f), { force: true });
        n++;
      }
      return n;
    },
    ensure(digest, size, peers) {
      if (!DIGEST_RE.test(digest)) return Promise.resolve(false);
      if (this.path(digest)) return Promise.resolve(true);
      let p = inflight.get(digest);
      if (!p) {
        p = download(digest, size, peers)
          .catch((e) => {
            log.warn('artifacts', `fetching ${short(digest)} failed: ${errorLine(e)}`);
            return false;
          })
          .finally(() => inflight.delete(digest));
        inflight.set(digest, p);
      }
      return p;
    },
  };
}
