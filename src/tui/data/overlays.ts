// Overlays for the TUI: the file tree of every overlay, a file rendered for one node, and what
// would change for a node since it was last served — the same lines `wulf overlay show/diff` print
// (src/overlays/preview.ts gives both).
import type { Paths } from '../../config/paths.ts';
import { errorLine } from '../../lib/errors.ts';
import { silentLogger } from '../../lib/log.ts';
import { listOverlayNames, readOverlay } from '../../overlays/sources.ts';
import { diffLines, diffSinceServed, showFile, shownLines } from '../../overlays/preview.ts';

export interface TreeItem {
  key: string;
  label: string;
  overlay: string;
  rel?: string;
  kind: 'overlay' | 'file' | 'dir' | 'symlink';
}

export function overlayTree(paths: Paths): { items: TreeItem[]; error?: string } {
  const items: TreeItem[] = [];
  try {
    for (const o of listOverlayNames(paths.siteOverlaysDir)) {
      items.push({
        key: o.name,
        label: `${o.name}${o.site ? (o.dist ? ' (site, shadows shipped)' : ' (site)') : ''}`,
        overlay: o.name,
        kind: 'overlay',
      });
      let src;
      try {
        src = readOverlay(paths.siteOverlaysDir, o.name);
      } catch (e) {
        items.push({ key: `${o.name}/!`, label: `  ! ${errorLine(e)}`, overlay: o.name, kind: 'file' });
        continue;
      }
      for (const f of src.files) {
        const depth = f.rel.split('/').length;
        const base = f.rel.split('/').pop()!;
        items.push({
          key: `${o.name}/${f.rel}`,
          label: `${'  '.repeat(depth)}${base}${f.type === 'dir' ? '/' : f.type === 'symlink' ? ` -> ${f.target}` : ''}`,
          overlay: o.name,
          rel: f.rel,
          kind: f.type,
        });
      }
    }
    return { items };
  } catch (e) {
    return { items, error: errorLine(e) };
  }
}

/** What a call printed, line by line, with an error as the last line (after what came before it). */
async function lines(make: () => Promise<Iterable<string>>): Promise<string[]> {
  const out: string[] = [];
  const push = (t: string) => {
    for (const l of t.replace(/\n$/, '').split('\n')) out.push(l);
  };
  try {
    for (const t of await make()) push(t);
  } catch (e) {
    out.push(`error: ${errorLine(e)}`);
  }
  return out;
}

/** A file as a node gets it (templates rendered), or its plain text. */
export async function previewFile(paths: Paths, overlay: string, rel: string, node: string | undefined): Promise<string[]> {
  return lines(async () => shownLines(await showFile(paths, {}, overlay, rel, node || undefined)));
}

export async function overlayDiff(paths: Paths, node: string): Promise<string[]> {
  return lines(async () => diffLines(node, await diffSinceServed(paths, {}, silentLogger, node)));
}
