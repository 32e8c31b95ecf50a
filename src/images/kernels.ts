// Kernels inside an image: found by path patterns, versions parsed from the path, the default is
// the highest version that is not +debug or a rescue kernel; a node may name a version prefix or
// an absolute path inside the image. Symlinks are resolved inside the image root, never the host.
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';

export interface KernelInfo {
  version: string;
  path: string;
  rel: string;
}

/** Resolve /rel inside root following symlinks as the image would see them. */
export function resolveInRoot(root: string, rel: string, depth = 0): string | undefined {
  if (depth > 40) return undefined;
  const parts = posix
    .normalize('/' + rel)
    .split('/')
    .filter(Boolean);
  const done: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p === '..') {
      done.pop();
      continue;
    }
    const cand = [...done, p].join('/');
    let st;
    try {
      st = lstatSync(join(root, cand));
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      const t = readlinkSync(join(root, cand));
      const next = t.startsWith('/') ? t : [...done, t].join('/');
      return resolveInRoot(root, [posix.normalize('/' + next), ...parts.slice(i + 1)].join('/'), depth + 1);
    }
    done.push(p);
  }
  return done.join('/');
}

const list = (root: string, rel: string) => {
  const r = resolveInRoot(root, rel);
  if (r === undefined) return [];
  try {
    return readdirSync(join(root, r));
  } catch {
    return [];
  }
};

/** Natural order: numeric runs compare as numbers ("5.14.0-687.10.1" > "5.14.0-9"). */
export function compareVersions(a: string, b: string): number {
  const ta = a.match(/\d+|\D+/g) ?? [],
    tb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
    const x = ta[i],
      y = tb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d/.test(x),
      ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d) return d;
      continue;
    }
    if (nx !== ny) return nx ? 1 : -1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export const isSpecialKernel = (v: string) => v.includes('+debug') || /rescue/.test(v);

/** Every kernel in the image, highest version first. */
export function listKernels(root: string): KernelInfo[] {
  const found = new Map<string, KernelInfo>();
  const add = (rel: string, version: string) => {
    const real = resolveInRoot(root, rel);
    if (real === undefined) return;
    try {
      if (!lstatSync(join(root, real)).isFile()) return;
    } catch {
      return;
    }
    if (!found.has(version)) found.set(version, { version, rel: '/' + rel, path: join(root, real) });
  };
  for (const n of list(root, 'boot')) {
    const m = /^(?:vmlinuz|Image)-(.+)$/.exec(n);
    if (m) add(`boot/${n}`, m[1]!.replace(/^linux/, '') || 'linux');
  }
  for (const base of ['lib/modules', 'usr/lib/modules']) {
    for (const v of list(root, base)) {
      for (const f of ['vmlinuz', 'vmlinuz.gz']) add(`${base}/${v}/${f}`, v);
    }
  }
  return [...found.values()].sort((a, b) => compareVersions(b.version, a.version));
}

/** The kernel a node gets: spec = absolute path inside the image, or a version prefix; default otherwise. */
export function pickKernel(kernels: KernelInfo[], root: string, spec?: string): KernelInfo | undefined {
  if (spec && spec.startsWith('/')) {
    const hit = kernels.find((k) => k.rel === posix.normalize(spec));
    if (hit) return hit;
    const real = resolveInRoot(root, spec);
    if (real === undefined) return undefined;
    try {
      if (!lstatSync(join(root, real)).isFile()) return undefined;
    } catch {
      return undefined;
    }
    const v = /(?:vmlinuz|Image)-(.+)$/.exec(spec)?.[1] ?? /modules\/([^/]+)\//.exec(spec)?.[1] ?? spec;
    return { version: v, rel: posix.normalize(spec), path: join(root, real) };
  }
  if (spec) return kernels.find((k) => k.version === spec) ?? kernels.find((k) => k.version.startsWith(spec));
  return kernels.find((k) => !isSpecialKernel(k.version));
}
