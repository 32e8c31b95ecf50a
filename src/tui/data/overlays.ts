// Overlays for the TUI: the file tree of every overlay, a file rendered for one node, and what
// would change for a node since it was last served — the `wulf overlay show/diff` verbs, captured.
import type { Paths } from '../../config/paths.ts';
import type { Ctx, Verb } from '../../cli/command.ts';
import { errorLine } from '../../lib/errors.ts';
import { silentLogger } from '../../lib/log.ts';
import { listOverlayNames, readOverlay } from '../../overlays/sources.ts';

export interface TreeItem { key: string; label: string; overlay: string; rel?: string; kind: 'overlay' | 'file' | 'dir' | 'symlink' }

export function overlayTree(paths: Paths): { items: TreeItem[]; error?: string } {
  const items: TreeItem[] = [];
  try {
    for (const o of listOverlayNames(paths.siteOverlaysDir)) {
      items.push({ key: o.name, label: `${o.name}${o.site ? (o.dist ? ' (site, shadows shipped)' : ' (site)') : ''}`, overlay: o.name, kind: 'overlay' });
      let src;
      try { src = readOverlay(paths.siteOverlaysDir, o.name); } catch (e) { items.push({ key: `${o.name}/!`, label: `  ! ${errorLine(e)}`, overlay: o.name, kind: 'file' }); continue; }
      for (const f of src.files) {
        const depth = f.rel.split('/').length;
        const base = f.rel.split('/').pop()!;
        items.push({ key: `${o.name}/${f.rel}`, label: `${'  '.repeat(depth)}${base}${f.type === 'dir' ? '/' : f.type === 'symlink' ? ` -> ${f.target}` : ''}`, overlay: o.name, rel: f.rel, kind: f.type });
      }
    }
    return { items };
  } catch (e) { return { items, error: errorLine(e) }; }
}

async function capture(paths: Paths, verb: Verb, flags: Record<string, string>, pos: string[]): Promise<string[]> {
  const lines: string[] = [];
  const push = (t: string) => { for (const l of t.replace(/\n$/, '').split('\n')) lines.push(l); };
  const ctx: Ctx = { paths, log: silentLogger, env: {}, out: push, err: push, isTTY: false, debug: false, logFormat: 'human', confirm: async () => false };
  try { await verb.run(ctx, flags, pos); } catch (e) { lines.push(`error: ${errorLine(e)}`); }
  return lines;
}

async function overlayVerb(name: string): Promise<Verb> {
  const { noun } = await import('../../cli/overlay.ts');
  return noun.verbs.find((v) => v.name === name)!;
}

/** A file as a node gets it (templates rendered), or its plain text. */
export async function previewFile(paths: Paths, overlay: string, rel: string, node: string | undefined): Promise<string[]> {
  return capture(paths, await overlayVerb('show'), node ? { render: node } : {}, [overlay, rel]);
}

export async function overlayDiff(paths: Paths, node: string): Promise<string[]> {
  return capture(paths, await overlayVerb('diff'), {}, [node]);
}
