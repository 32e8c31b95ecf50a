// OCI Distribution v2 client on fetch: anonymous, Basic and Bearer-token auth (one token per
// repository scope, reused), index → platform manifest, retries with backoff on 429/5xx, and
// streaming blob downloads into a digest-keyed cache with sha256 check and Range resume.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { writeAll } from '../lib/write-all.ts';
import { join } from 'node:path';
import { WulfError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;
const ACCEPT = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest].join(', ');
export const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.diff.tar',
]);

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}
export interface Manifest {
  schemaVersion?: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

export interface DockerRef {
  registry: string;
  repo: string;
  ref: string;
}

/** docker://[host[:port]/]repo[:tag|@digest]; Docker Hub names get library/ and its real host. */
export function parseDockerRef(s: string): DockerRef {
  let rest = s.replace(/^(docker|oci):\/\//, '');
  let registry = 'registry-1.docker.io';
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  if (registry === 'docker.io' || registry === 'index.docker.io') registry = 'registry-1.docker.io';
  let ref = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    ref = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const c = rest.lastIndexOf(':');
    if (c >= 0) {
      ref = rest.slice(c + 1);
      rest = rest.slice(0, c);
    }
  }
  if (!rest || !/^[a-z0-9]+([._/-][a-z0-9]+)*$/.test(rest))
    throw new WulfError(`invalid image reference "${s}"`, { hint: 'expected docker://registry/repo:tag', code: 'EARG' });
  if (registry === 'registry-1.docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  return { registry, repo: rest, ref };
}

export interface RegistryOpts {
  nohttps?: boolean;
  username?: string;
  password?: string;
  signal?: AbortSignal;
  /** called with the bytes received so far for a blob */
  onBytes?: (n: number) => void;
  retries?: number;
  backoffMs?: number;
  log?: Logger;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res, rej) => {
    const t = setTimeout(res, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        rej(signal.reason);
      },
      { once: true },
    );
  });

export class RegistryClient {
  private readonly base: string;
  private tokens = new Map<string, string>();
  private basic?: string;
  private useBasic = false;
  requests = 0;
  constructor(
    readonly registry: string,
    private readonly opts: RegistryOpts = {},
  ) {
    this.base = `${opts.nohttps ? 'http' : 'https'}://${registry}/v2/`;
    if (opts.username !== undefined) this.basic = 'Basic ' + Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64');
  }

  private authHeader(scope: string): string | undefined {
    return this.tokens.get(scope) ?? (this.useBasic ? this.basic : undefined);
  }

  private async getToken(challenge: string, scope: string): Promise<void> {
    const params: Record<string, string> = {};
    for (const m of challenge.slice(7).matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
    if (!params.realm) throw new WulfError(`registry ${this.registry} sent a Bearer challenge without realm`, { code: 'EREGISTRY' });
    const u = new URL(params.realm);
    if (params.service) u.searchParams.set('service', params.service);
    u.searchParams.set('scope', params.scope ?? scope);
    const headers: Record<string, string> = {};
    if (this.basic) headers.authorization = this.basic;
    let r: Response;
    try {
      r = await fetch(u, { headers, signal: this.opts.signal });
    } catch (e) {
      throw this.netError(e, u.host);
    }
    this.requests++;
    if (r.status === 401 || r.status === 403)
      throw new WulfError(
        `registry ${this.registry}: token service refused ${this.basic ? 'the credentials' : 'anonymous access'} (HTTP ${r.status})`,
        {
          hint: this.basic ? 'check --username/--password' : 'pass --username/--password or WULF_OCI_USERNAME/WULF_OCI_PASSWORD',
          code: 'EAUTH',
        },
      );
    if (!r.ok) throw new WulfError(`registry ${this.registry}: token service answered HTTP ${r.status}`, { code: 'EREGISTRY' });
    const j = (await r.json()) as { token?: string; access_token?: string };
    const tok = j.token ?? j.access_token;
    if (!tok) throw new WulfError(`registry ${this.registry}: token service sent no token`, { code: 'EREGISTRY' });
    this.tokens.set(scope, `Bearer ${tok}`);
  }

  private netError(e: unknown, host = this.registry): Error {
    if (this.opts.signal?.aborted)
      return this.opts.signal.reason instanceof Error ? this.opts.signal.reason : new WulfError('interrupted', { code: 'EINTR' });
    const msg = (e as Error).message ?? String(e);
    return new WulfError(`cannot reach registry ${host}: ${msg.split('\n')[0]}`, {
      hint: /certificate|SSL|TLS|wrong version/i.test(msg)
        ? 'for a plain-HTTP lab registry add --nohttps'
        : 'check the address and that the registry is running',
      code: 'ENET',
    });
  }

  /** GET with auth handshake and retries; the response is OK (2xx) or an exception was thrown. */
  async get(path: string, repo: string, headers: Record<string, string> = {}, what = path): Promise<Response> {
    const scope = `repository:${repo}:pull`;
    const retries = this.opts.retries ?? 4;
    let authTried = false;
    for (let attempt = 0; ; attempt++) {
      const h: Record<string, string> = { ...headers };
      const a = this.authHeader(scope);
      if (a) h.authorization = a;
      let r: Response;
      try {
        r = await fetch(this.base + path, { headers: h, signal: this.opts.signal });
      } catch (e) {
        if (attempt < Math.min(retries, 2) && !this.opts.signal?.aborted) {
          await sleep(this.backoff(attempt), this.opts.signal);
          continue;
        }
        throw this.netError(e);
      }
      this.requests++;
      if (r.ok) return r;
      if (r.status === 401 && !authTried) {
        authTried = true;
        const ch = r.headers.get('www-authenticate') ?? '';
        await r.body?.cancel();
        if (/^bearer /i.test(ch)) {
          await this.getToken(ch, scope);
          attempt--;
          continue;
        }
        if (/^basic/i.test(ch) && this.basic) {
          this.useBasic = true;
          attempt--;
          continue;
        }
        throw new WulfError(`registry ${this.registry} requires credentials for ${repo}`, {
          hint: 'pass --username/--password or WULF_OCI_USERNAME/WULF_OCI_PASSWORD',
          code: 'EAUTH',
        });
      }
      if (r.status === 401 || r.status === 403) {
        await r.body?.cancel();
        throw new WulfError(`registry ${this.registry} refused access to ${repo} (HTTP ${r.status})`, {
          hint: 'check --username/--password',
          code: 'EAUTH',
        });
      }
      if ((r.status === 429 || r.status >= 500) && attempt < retries) {
        const ra = Number(r.headers.get('retry-after'));
        await r.body?.cancel();
        await sleep(Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 30_000) : this.backoff(attempt), this.opts.signal);
        continue;
      }
      await r.body?.cancel();
      if (r.status === 404) throw new WulfError(`${what} not found in ${this.registry}/${repo} (HTTP 404)`, { code: 'ENOTFOUND' });
      if (r.status === 429)
        throw new WulfError(`registry ${this.registry} is rate-limiting us (HTTP 429) after ${retries} retries`, {
          hint: 'wait and try again',
          code: 'ERATE',
        });
      throw new WulfError(`registry ${this.registry} answered HTTP ${r.status} for ${what}`, { code: 'EREGISTRY' });
    }
  }

  private backoff(attempt: number): number {
    return (this.opts.backoffMs ?? 500) * 2 ** attempt * (0.75 + Math.random() / 2);
  }

  async manifest(repo: string, ref: string): Promise<{ manifest: Manifest; digest: string; mediaType: string }> {
    const r = await this.get(`${repo}/manifests/${ref}`, repo, { accept: ACCEPT }, `manifest ${ref}`);
    const body = new Uint8Array(await r.arrayBuffer());
    const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
    if (ref.startsWith('sha256:') && ref !== digest) throw new WulfError(`digest mismatch for manifest ${ref}`, { code: 'EDIGEST' });
    const manifest = JSON.parse(new TextDecoder().decode(body)) as Manifest;
    const mediaType = manifest.mediaType ?? r.headers.get('content-type')?.split(';')[0] ?? '';
    return { manifest, digest, mediaType };
  }

  /** Download a blob into cacheDir/blobs/sha256/<hex> (verified), resuming a partial file. */
  async blob(repo: string, d: Descriptor, cacheDir: string): Promise<string> {
    const [alg, hex] = d.digest.split(':');
    if (alg !== 'sha256' || !/^[0-9a-f]{64}$/.test(hex ?? '')) throw new WulfError(`unsupported digest ${d.digest}`, { code: 'EDIGEST' });
    const dir = join(cacheDir, 'blobs', 'sha256');
    const final = join(dir, hex!);
    if (existsSync(final)) {
      // verified when it was stored, but a disk or a hand can change it since: check again, fetch again if bad
      const size = statSync(final).size;
      if ((d.size === undefined || size === d.size) && (await hashFile(createHash('sha256'), final)).digest('hex') === hex) {
        this.opts.onBytes?.(size);
        return final;
      }
      this.opts.log?.warn('image', `cached blob ${d.digest.slice(0, 19)}… is damaged; downloading it again`);
      rmSync(final, { force: true });
    }
    mkdirSync(dir, { recursive: true });
    const partial = `${final}.partial`;
    for (let attempt = 0; ; attempt++) {
      const have = existsSync(partial) ? statSync(partial).size : 0;
      const hash = createHash('sha256');
      const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
      const r = await this.get(`${repo}/blobs/${d.digest}`, repo, headers, `blob ${d.digest.slice(0, 19)}`);
      let got = 0;
      if (r.status === 206 && have > 0) {
        await hashFile(hash, partial);
        got = have;
      } else if (have > 0) rmSync(partial, { force: true });
      const fd = openSync(partial, got > 0 ? 'a' : 'w', 0o600);
      let broken: unknown;
      try {
        const reader = r.body!.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          hash.update(value);
          writeAll(fd, value);
          got += value.length;
          this.opts.onBytes?.(got);
        }
      } catch (e) {
        if (this.opts.signal?.aborted) {
          closeSync(fd);
          throw this.netError(e);
        }
        broken = e;
      } finally {
        try {
          closeSync(fd);
        } catch {
          /* closed */
        }
      }
      const short = d.size !== undefined && got < d.size;
      if (broken !== undefined || short) {
        if (attempt < 3) {
          await sleep(this.backoff(attempt), this.opts.signal);
          continue;
        }
        throw new WulfError(`blob ${d.digest.slice(0, 19)}… truncated: got ${got} of ${d.size ?? '?'} bytes after ${attempt + 1} tries`, {
          hint: 'run the import again to resume',
          code: 'ETRUNC',
        });
      }
      const sum = 'sha256:' + hash.digest('hex');
      if (sum !== d.digest || (d.size !== undefined && got !== d.size)) {
        rmSync(partial, { force: true });
        throw new WulfError(`digest mismatch for blob ${d.digest.slice(0, 19)}…: received data hashes to ${sum.slice(0, 19)}…`, {
          code: 'EDIGEST',
        });
      }
      renameSync(partial, final);
      return final;
    }
  }
}

export function hostPlatform(): { os: string; architecture: string } {
  const a = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  return { os: 'linux', architecture: a };
}

export function parsePlatform(s: string | undefined): { os: string; architecture: string; variant?: string } {
  if (!s) return hostPlatform();
  const [os, architecture, variant] = s.split('/');
  if (!os || !architecture)
    throw new WulfError(`invalid --platform "${s}"`, { hint: 'expected os/arch[/variant], e.g. linux/arm64', code: 'EARG' });
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** Choose the manifest for a platform from an index. */
export function pickPlatform(index: Manifest, want: { os: string; architecture: string; variant?: string }): Descriptor {
  const list = (index.manifests ?? []).filter((m) => !m.annotations?.['vnd.docker.reference.type']);
  const hit = list.find(
    (m) =>
      m.platform?.os === want.os &&
      m.platform?.architecture === want.architecture &&
      (!want.variant || m.platform?.variant === want.variant),
  );
  if (!hit) {
    const have = list
      .map((m) => `${m.platform?.os}/${m.platform?.architecture}${m.platform?.variant ? '/' + m.platform.variant : ''}`)
      .join(', ');
    throw new WulfError(
      `no ${want.os}/${want.architecture}${want.variant ? '/' + want.variant : ''} image in the index (has: ${have || 'none'})`,
      { hint: 'choose one with --platform', code: 'EPLATFORM' },
    );
  }
  return hit;
}

export function checkLayers(m: Manifest): Descriptor[] {
  if (m.schemaVersion === 1) throw new WulfError('unsupported media type: Docker schema 1 manifests are not supported', { code: 'EMEDIA' });
  for (const l of m.layers ?? []) {
    if (l.mediaType && !LAYER_TYPES.has(l.mediaType))
      throw new WulfError(`unsupported media type ${l.mediaType} for layer ${l.digest.slice(0, 19)}…`, { code: 'EMEDIA' });
  }
  if (!m.layers) throw new WulfError(`unsupported media type ${m.mediaType ?? '(none)'}: not an image manifest`, { code: 'EMEDIA' });
  return m.layers;
}

/** Feed a file's bytes into `hash` (a resumed download, a cached blob being checked). */
async function hashFile<H extends { update(b: Buffer): unknown }>(hash: H, path: string): Promise<H> {
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(c as Buffer);
  return hash;
}
