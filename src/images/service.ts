// The images service other rooms call (HTTP/boot, TUI, status): which artifact to send for an
// image, which kernel a node boots, and a listing. Read-only and cheap: no lock, no walk.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Paths } from '../config/paths.ts';
import { buildDir, currentFile, imageExists, listImageNames, readMeta, readPointer, rootfsDir, type ImageMeta } from './layout.ts';
import { listKernels, pickKernel } from './kernels.ts';

export interface ImageArtifact {
  path: string;
  size: number;
  digest: string;
  compression: 'gzip' | 'zstd';
}

/** The built cpio (gzip or zstd) of an image, or undefined if the image is unknown or unbuilt. */
export function imageArtifactPath(paths: Paths, name: string): ImageArtifact | undefined {
  if (!name || name.includes('/') || name.startsWith('.')) return undefined;
  const cur = readPointer(currentFile(paths, name));
  if (!cur) return undefined;
  const path = join(buildDir(paths, name), cur.file);
  try {
    const st = statSync(path);
    return { path, size: st.size, digest: cur.digest, compression: cur.compression };
  } catch {
    return undefined;
  }
}

/** The kernel file for a node: versionSpec = node.kernel.version (prefix or absolute path), else the default. */
export function findKernel(paths: Paths, name: string, versionSpec?: string): { path: string; version: string } | undefined {
  if (!name || name.includes('/') || name.startsWith('.') || !imageExists(paths, name)) return undefined;
  const root = rootfsDir(paths, name);
  const k = pickKernel(listKernels(root), root, versionSpec || undefined);
  return k ? { path: k.path, version: k.version } : undefined;
}

export interface ImageSummary extends ImageMeta {
  artifact?: ImageArtifact;
  kernels: string[];
  defaultKernel?: string;
}

export function listImages(paths: Paths): ImageSummary[] {
  return listImageNames(paths).map((name) => {
    const root = rootfsDir(paths, name);
    const kernels = listKernels(root);
    const art = imageArtifactPath(paths, name);
    return {
      ...readMeta(paths, name),
      name,
      kernels: kernels.map((k) => k.version),
      ...(pickKernel(kernels, root) ? { defaultKernel: pickKernel(kernels, root)!.version } : {}),
      ...(art ? { artifact: art } : {}),
    };
  });
}
