// Import sources: parse SOURCE into a transport, and resolve local OCI layouts, oci-archive and
// docker-archive files into an ordered list of layer files (plus config) to apply.
import { closeSync, existsSync, lstatSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import { WulfError } from '../lib/errors.ts';
import { checkLayers, MT, parseDockerRef, pickPlatform, type Descriptor, type Manifest } from './registry.ts';

export type Source =
  | { kind: 'dir'; path: string }
  | { kind: 'tarball'; path: string }
  | { kind: 'oci'; path: string; ref?: string }
  | { kind: 'oci-archive'; path: string; ref?: string }
  | { kind: 'docker-archive'; path: string; ref?: string }
  | { kind: 'docker'; ref: string };

const TRANSPORTS = ['docker', 'oci', 'oci-archive', 'docker-archive', 'file', 'dir'];

function splitRef(rest: string): { path: string; ref?: string } {
  // FILE[:REF] where FILE may itself contain ':' only if it exists as given
  if (existsSync(rest)) return { path: rest };
  const i = rest.lastIndexOf(':');
  if (i > 0) return { path: rest.slice(0, i), ref: rest.slice(i + 1) };
  return { path: rest };
}

export function parseSource(src: string): Source {
  if (/^(docker|oci):\/\//.test(src)) {
    parseDockerRef(src);
    return { kind: 'docker', ref: src };
  }
  const m = /^([a-z][a-z0-9-]*):(.*)$/.exec(src);
  if (m && !existsSync(src)) {
    const [, t, rest] = m as unknown as [string, string, string];
    if (!TRANSPORTS.includes(t))
      throw new WulfError(`unknown transport "${t}:" in ${src}`, {
        hint: 'use docker://, oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE, a directory or a tarball',
        code: 'EARG',
      });
    if (t === 'docker' || (t === 'oci' && rest.startsWith('//'))) return { kind: 'docker', ref: rest.replace(/^\/\//, '') };
    const { path, ref } = splitRef(rest.replace(/^\/\//, ''));
    if (t === 'file' || t === 'dir') return parseSource(path);
    if (t !== 'oci' && existsSync(path) && statSync(path).isFile()) mustBeArchive(path, `${t}:FILE`);
    return { kind: t as 'oci' | 'oci-archive' | 'docker-archive', path, ...(ref ? { ref } : {}) };
  }
  if (!existsSync(src))
    throw new WulfError(`${src}: no such file or directory`, {
      hint: 'for a registry image use docker://registry/repo:tag',
      code: 'ENOENT',
    });
  const st = statSync(src);
  if (st.isDirectory()) {
    if (existsSync(join(src, 'oci-layout'))) return { kind: 'oci', path: src };
    return { kind: 'dir', path: src };
  }
  mustBeArchive(src, 'a rootfs tarball');
  return { kind: 'tarball', path: src };
}

/**
 * Refuse a file that is not a tar archive (plain, gzip or zstd) before anything is unpacked:
 * otherwise the extractor fails half-way with its own words.
 */
function mustBeArchive(path: string, what: string): void {
  const head = new Uint8Array(512);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, 512, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new WulfError(`${path}: cannot read: ${(e as Error).message}`, { code: 'EIO' });
  }
  const gzip = n >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const zstd = n >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd;
  if (gzip || zstd) return;
  if (n === 512 && tarChecksumOk(head)) return;
  throw new WulfError(`${path} is not a tar archive (plain, gzip or zstd): cannot import it as ${what}`, {
    hint: 'give a directory, a rootfs .tar/.tar.gz/.tar.zst, oci:DIR, oci-archive:FILE, docker-archive:FILE or docker://registry/repo:tag',
    code: 'EFORMAT',
  });
}

/** A tar header block: its checksum field (octal, at 148) is the sum of the block with that field as spaces. */
function tarChecksumOk(h: Uint8Array): boolean {
  const field = new TextDecoder()
    .decode(h.subarray(148, 156))
    .replace(/[\0 ]+$/, '')
    .trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === parseInt(field, 8);
}

/** A default image name from the source: repo basename and tag. */
export function defaultName(s: Source): string {
  let base: string;
  if (s.kind === 'docker') {
    const r = parseDockerRef(s.ref);
    base = basename(r.repo) + (r.ref !== 'latest' && !r.ref.includes(':') ? `-${r.ref}` : '');
  } else base = basename(s.path).replace(/\.(tar|tgz|tar\.gz|tar\.zst|oci|ociarchive)$/, '') + ('ref' in s && s.ref ? `-${s.ref}` : '');
  return base.replace(/[^A-Za-z0-9._+-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'image';
}

export interface Resolved {
  layers: { file: string; digest?: string }[];
  config?: Record<string, unknown>;
  digest?: string;
  platform?: string;
}

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new WulfError(`${what}: cannot read ${file} (${(e as Error).message.split('\n')[0]})`, { code: 'EFORMAT' });
  }
}

function inside(dir: string, rel: string, what: string): string {
  const root = realpathSync(dir);
  let p: string;
  try {
    p = realpathSync(resolve(dir, rel));
  } catch {
    throw new WulfError(`${what}: ${rel} is missing`, { code: 'EFORMAT' });
  }
  if (p !== root && !p.startsWith(root + sep)) throw new WulfError(`${what}: ${rel} points outside the archive`, { code: 'EESCAPE' });
  return p;
}

function ociBlob(dir: string, d: Descriptor): string {
  const [alg, hex] = d.digest.split(':');
  if (!alg || !hex || !/^[a-z0-9]+$/.test(alg) || !/^[0-9a-f]+$/.test(hex))
    throw new WulfError(`bad digest ${d.digest}`, { code: 'EFORMAT' });
  return inside(dir, join('blobs', alg, hex), 'OCI layout');
}

/** Resolve an OCI image layout directory to its layers. */
export function resolveOciLayout(
  dir: string,
  ref: string | undefined,
  platform: { os: string; architecture: string; variant?: string },
): Resolved {
  if (!existsSync(join(dir, 'index.json'))) throw new WulfError(`${dir} is not an OCI layout (no index.json)`, { code: 'EFORMAT' });
  const index = readJson<Manifest>(join(dir, 'index.json'), 'OCI layout');
  const list = index.manifests ?? [];
  let desc: Descriptor | undefined;
  if (ref)
    desc =
      list.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref) ??
      list.find((m) => m.annotations?.['org.opencontainers.image.ref.name']?.endsWith(':' + ref));
  else if (list.length === 1) desc = list[0];
  else desc = list.find((m) => m.platform) ? pickPlatform(index, platform) : undefined;
  if (!desc) {
    const refs = list
      .map((m) => m.annotations?.['org.opencontainers.image.ref.name'])
      .filter(Boolean)
      .join(', ');
    throw new WulfError(ref ? `no image tagged "${ref}" in ${dir}` : `${dir} holds ${list.length} images; name one with :TAG`, {
      hint: refs ? `tags: ${refs}` : undefined,
      code: 'ENOTFOUND',
    });
  }
  let m = readJson<Manifest>(ociBlob(dir, desc), 'OCI layout');
  let digest = desc.digest;
  if (desc.mediaType === MT.ociIndex || desc.mediaType === MT.dockerList || m.manifests) {
    const d2 = pickPlatform(m, platform);
    digest = d2.digest;
    m = readJson<Manifest>(ociBlob(dir, d2), 'OCI layout');
  }
  const layers = checkLayers(m).map((l) => ({ file: ociBlob(dir, l), digest: l.digest }));
  const config = m.config ? readJson<Record<string, unknown>>(ociBlob(dir, m.config), 'OCI layout') : undefined;
  return { layers, config, digest, platform: platformOf(config) };
}

export function platformOf(config: Record<string, unknown> | undefined): string | undefined {
  if (!config?.os || !config.architecture) return undefined;
  return `${config.os}/${config.architecture}${config.variant ? '/' + config.variant : ''}`;
}

/** Resolve an unpacked `docker save` archive (manifest.json, layer.tar symlinks). */
export function resolveDockerArchive(dir: string, ref: string | undefined): Resolved {
  if (!existsSync(join(dir, 'manifest.json'))) throw new WulfError('not a docker-archive (no manifest.json)', { code: 'EFORMAT' });
  const list = readJson<{ Config: string; RepoTags?: string[]; Layers: string[] }[]>(join(dir, 'manifest.json'), 'docker-archive');
  const norm = (t: string) => t.replace(/^docker\.io\//, '').replace(/^library\//, '');
  const e = ref ? list.find((x) => x.RepoTags?.some((t) => t === ref || norm(t) === norm(ref))) : list[0];
  if (!e)
    throw new WulfError(ref ? `no image tagged "${ref}" in the docker-archive` : 'the docker-archive is empty', { code: 'ENOTFOUND' });
  const layers = e.Layers.map((l) => {
    const file = inside(dir, l, 'docker-archive');
    const b = basename(file).replace(/\.tar$/, '');
    return { file, ...(/^[0-9a-f]{64}$/.test(b) ? { digest: `sha256:${b}` } : {}) };
  });
  for (const l of layers)
    if (!lstatSync(l.file).isFile()) throw new WulfError(`docker-archive: layer ${l.file} is not a file`, { code: 'EFORMAT' });
  const config = readJson<Record<string, unknown>>(inside(dir, e.Config, 'docker-archive'), 'docker-archive');
  return { layers, config, platform: platformOf(config) };
}
