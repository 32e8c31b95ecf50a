// nodes.conf text → the current spelling (`wulf upgrade nodes`, `wulf import-warewulf`): every entry
// the upgrade changes is written in Warewulf 4.7's key order; other entries, comments and key order
// stay as they are. Each thing the upgrade dropped or decided is a problem line `file:line: why`.
import { isMap } from 'yaml';
import { upgradeNodes, type UpgradeOpts } from '../config/legacy-nodes.ts';
import { nodeFromYaml, nodeToYaml } from '../config/node-yaml.ts';
import { makeNode, STRINGIFY } from '../config/yaml-doc.ts';
import { WulfError } from '../lib/errors.ts';
import { deleteTop, lineAt, parseYamlDoc } from './yaml-safe.ts';
import type { Problem } from './wwconf.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

export interface NodesTextUpgrade {
  text: string;
  changed: boolean;
  problems: Problem[];
  profiles: Record<string, Obj>;
  nodes: Record<string, Obj>;
}

export function upgradeNodesText(text: string, file: string, opts: UpgradeOpts = {}, wwconf?: unknown): NodesTextUpgrade {
  const parsed = parseYamlDoc(text || 'nodeprofiles: {}\nnodes: {}\n', file);
  const { doc } = parsed;
  const top = parsed.value ?? {};
  if (!isObj(top)) throw new WulfError(`${file}: expected "nodeprofiles:" and "nodes:" maps`);
  for (const k of Object.keys(top))
    if (!['nodeprofiles', 'nodes', 'WW_INTERNAL'].includes(k))
      throw new WulfError(`${file}:${lineAt(parsed, [k])}: unknown top-level key "${k}"`);
  const up = upgradeNodes(top, opts, wwconf);
  const problems: Problem[] = up.notes.map((n) => {
    const base = n.section ? [n.section, n.entry] : [];
    const keyPath =
      n.key.split('.').length > 1 && n.key.startsWith('network devices.')
        ? ['network devices', ...n.key.slice('network devices.'.length).split('.')]
        : [n.key];
    const line = lineAt(parsed, [...base, ...keyPath]) || lineAt(parsed, base);
    const who = n.section === 'nodes' ? `node ${n.entry}: ` : n.section === 'nodeprofiles' ? `profile ${n.entry}: ` : '';
    return { file, line, why: `${who}${n.key}: ${n.why}` };
  });
  if (top.WW_INTERNAL !== undefined) deleteTop(doc, 'WW_INTERNAL');
  for (const key of up.changed) {
    const [section, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)] as ['nodeprofiles' | 'nodes', string];
    const value = up[section][name]!;
    // through wulf's own decoder and encoder: the canonical key order, and a value wulf reads back
    const data = nodeFromYaml(value, `${file}: ${section === 'nodes' ? 'node' : 'profile'} ${name}`);
    if (!isMap(doc.get(section, true))) doc.set(section, doc.createNode({}));
    doc.setIn([section, name], makeNode(doc, nodeToYaml(data)));
  }
  const out = up.changed.size || top.WW_INTERNAL !== undefined ? doc.toString(STRINGIFY) : text;
  return { text: out, changed: out !== text, problems, profiles: up.nodeprofiles, nodes: up.nodes };
}
