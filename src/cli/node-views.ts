// What `node list` and `profile list` print: the default, network, ipmi, long and all-fields
// views over merged nodes, plus YAML/JSON maps keyed by name.
import type { MergedNode } from '../config/cascade.ts';
import { nodeToYaml } from '../config/node-yaml.ts';
import type { NodeData } from '../config/schema.ts';
import { table } from './table.ts';

const show = (v: unknown): string =>
  v === undefined || v === null || v === ''
    ? '--'
    : Array.isArray(v) && v.every((x) => typeof x !== 'object')
      ? v.join(',')
      : typeof v === 'object'
        ? JSON.stringify(v)
        : String(v);

export function defaultView(nodes: MergedNode[]): string {
  return table(
    ['NODE NAME', 'PROFILES', 'NETWORK'],
    nodes.map((n) => {
      const nets = Object.entries(n.data.networkDevices ?? {});
      const primary = n.primary ? n.data.networkDevices?.[n.primary] : undefined;
      return [
        n.id,
        show(n.data.profiles),
        primary?.ipaddr ? `${n.primary}:${primary.ipaddr}` : nets.length ? nets.map(([k]) => k).join(',') : '--',
      ];
    }),
  );
}

export function networkView(nodes: MergedNode[]): string {
  const rows: string[][] = [];
  for (const n of nodes) {
    const nets = Object.entries(n.data.networkDevices ?? {});
    if (!nets.length) rows.push([n.id, '--', '--', '--', '--', '--']);
    for (const [name, d] of nets) rows.push([n.id, name, show(d.hwaddr), show(d.ipaddr), show(d.gateway), show(d.device)]);
  }
  return table(['NODE', 'NETWORK', 'HWADDR', 'IPADDR', 'GATEWAY', 'DEVICE'], rows);
}

export function ipmiView(nodes: MergedNode[]): string {
  return table(
    ['NODE', 'IPMI IPADDR', 'PORT', 'USERNAME', 'INTERFACE', 'DRIVER'],
    nodes.map((n) => {
      const i = n.data.ipmi ?? {};
      return [
        n.id,
        show(i.ipaddr),
        show(i.port),
        show(i.username),
        show(i.interface),
        show(i.driver ?? (i.ipaddr ? 'ipmitool' : undefined)),
      ];
    }),
  );
}

export function longView(nodes: MergedNode[]): string {
  return table(
    ['NODE NAME', 'KERNEL VERSION', 'IMAGE', 'OVERLAYS (S/R)'],
    nodes.map((n) => [
      n.id,
      show(n.data.kernel?.version),
      show(n.data.imageName),
      `${show(n.data.systemOverlay)}/${show(n.data.runtimeOverlay)}`,
    ]),
  );
}

/** NODE FIELD PROFILE VALUE with the origin of every set value (Warewulf's `list -a`). */
export function allView(nodes: MergedNode[], label = 'NODE'): string {
  const rows: string[][] = [];
  for (const n of nodes) {
    for (const leaf of n.leaves) {
      if (leaf.title.endsWith('.Password') || leaf.title === 'Ipmi.Password') {
        rows.push([n.id, leaf.title, n.origins.get(leaf.title) ?? '--', '********']);
        continue;
      }
      rows.push([n.id, leaf.title, n.origins.get(leaf.title) ?? '--', show(leaf.value)]);
    }
  }
  return table([label, 'FIELD', 'PROFILE', 'VALUE'], rows);
}

/** name → merged node in nodes.conf spelling (for -y / -j). */
export function dataMap(nodes: MergedNode[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of nodes) out[n.id] = nodeToYaml(n.data);
  return out;
}

export function ownMap(entries: [string, NodeData][]): Record<string, unknown> {
  return Object.fromEntries(entries.map(([k, v]) => [k, nodeToYaml(v)]));
}
