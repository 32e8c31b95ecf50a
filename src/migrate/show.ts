// `import-warewulf --show`: the text of what would be written — wulf.conf whole, the nodes.conf
// entries that change (as YAML), each converted template and iPXE template — for review.
import { stringify } from 'yaml';
import { join } from 'node:path';
import type { Paths } from '../config/paths.ts';
import { nodeToYaml } from '../config/node-yaml.ts';
import { STRINGIFY } from '../config/yaml-doc.ts';
import type { Action } from './commit.ts';
import type { Plan } from './plan.ts';

export function showChanges(plan: Plan, paths: Paths, changes: Action[]): string {
  const out: string[] = [];
  const head = (t: string) => out.push(`----- ${t}`);
  for (const c of changes) {
    if (c.kind === 'wulf.conf') {
      head(c.target);
      out.push(plan.wulfConf.trimEnd());
    }
    if (c.kind === 'nodes.conf') {
      const want = new Set(c.detail.split(', '));
      const pick = (kind: string, m: Plan['profiles']) =>
        Object.fromEntries(
          Object.entries(m)
            .filter(([n]) => want.has(`${kind} ${n}`))
            .map(([n, d]) => [n, nodeToYaml(d)]),
        );
      head(`${c.target} (the entries that change)`);
      out.push(stringify({ nodeprofiles: pick('profile', plan.profiles), nodes: pick('node', plan.nodes) }, STRINGIFY).trimEnd());
    }
    if (c.kind === 'file' && /\.(ipxe|ww)$/.test(c.target)) {
      head(c.target);
      out.push(
        plan.files
          .find((f) => f.dest === c.target)!
          .data.toString('utf8')
          .trimEnd(),
      );
    }
    if (c.kind === 'overlay') {
      for (const e of plan.overlays.find((o) => o.name === c.target)!.entries) {
        if (e.type === 'file' && e.rel.endsWith('.ww')) {
          head(join(paths.siteOverlaysDir, c.target, 'rootfs', e.rel));
          out.push(e.data!.toString('utf8').trimEnd());
        }
      }
    }
  }
  return out.join('\n');
}
