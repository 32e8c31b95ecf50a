// Where embedded assets live: inside the compiled binary (/$bunfs/root/…) or, when run from
// source, in the repository. Read them with readFileSync / Bun.file only: fs streams and
// openSync fail on embedded paths.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const repoRoot = join(dirname(new URL(import.meta.url).pathname), '..', '..');
export const compiled = import.meta.url.includes('$bunfs') || (typeof Bun !== 'undefined' && Bun.main.includes('$bunfs'));

/** The folder that holds overlays/ (embedded or in the repo). */
export function assetRoot(): string {
  return compiled ? '/$bunfs/root' : repoRoot;
}

/** A repo-relative asset path (e.g. 'overlays/hosts'); build/assets/* is embedded as assets/*. */
export function assetPath(rel: string): string {
  if (compiled && rel.startsWith('build/assets')) rel = rel.slice('build/'.length);
  return join(assetRoot(), rel);
}

/** The embedded iPXE binary of that name, or the host's /usr/lib/ipxe copy when run from source. */
export function ipxeBinary(name: string): Uint8Array | undefined {
  for (const p of [assetPath(`build/assets/ipxe/${name}`), `/usr/lib/ipxe/${name}`]) {
    try {
      if (existsSync(p)) return readFileSync(p);
    } catch {
      /* try next */
    }
  }
  return undefined;
}

export interface BuildInfo {
  version: string;
  commit: string;
  built: string;
  ipxe: string[];
}
export function buildInfo(): BuildInfo {
  try {
    return JSON.parse(readFileSync(assetPath('build/assets/build-info.json'), 'utf8'));
  } catch {
    return { version: '0.1.0-dev', commit: 'source', built: '', ipxe: [] };
  }
}
