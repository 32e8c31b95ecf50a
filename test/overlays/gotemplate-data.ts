// Template data for the converter's equality tests: wulf's overlay data for a node (as
// src/overlays/build.ts assembles it) and, from that same data, the Warewulf-shaped data the Go side
// renders — built by walking the converter's own field map, so both sides see the same values
// under the names each language uses. Unset strings are "" for Go, as Warewulf's zero values.
import { mergeNode, type NodesConf } from '../../src/config/cascade.ts';
import type { WulfConf } from '../../src/config/wulfconf.ts';
import { buildView, nodeView, serverView } from '../../src/overlays/data.ts';
import { NETDEV_FIELDS, NODE_FIELDS, ROOT_FIELDS, type Field, type Ty } from '../../src/overlays/gotemplate/fields.ts';

export function wulfData(conf: NodesConf, wulf: WulfConf, id: string, overlay = 'site', rel = 'f.ww'): Record<string, unknown> {
  const ids = Object.keys(conf.nodes).sort();
  const all = ids.map((n) => nodeView(mergeNode(conf, n)));
  const root: Record<string, unknown> = {
    ...all[ids.indexOf(id)]!,
    server: serverView(wulf),
    build: buildView(overlay, `${overlay}/${rel}`, new Date(Date.UTC(2026, 0, 2, 3, 4, 5))),
  };
  root.allNodes = all;
  return root;
}

function at(data: unknown, path: string): unknown {
  let cur = data;
  for (const seg of path.split('.').filter((x) => x)) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function goValue(ty: Ty, v: unknown, root: unknown): unknown {
  switch (ty.k) {
    case 'str':
      return v === null || v === undefined ? '' : String(v);
    case 'bool':
      return !!v;
    case 'num':
      return v === null || v === undefined ? 0 : Number(v);
    case 'list':
      return Array.isArray(v) ? v.map((x) => goValue(ty.of, x, root)) : [];
    case 'map':
      return v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, goValue(ty.of, x, root)])) : {};
    case 'any':
      return plain(v) ?? '';
    case 'node':
      return goStruct(NODE_FIELDS, v, root);
    case 'netdev':
      return goStruct(NETDEV_FIELDS, v, root);
    case 'struct':
      return goStruct(ty.fields, v, root);
    case 'netdevs': {
      const list = (at(v, 'netdevs') ?? []) as Record<string, unknown>[];
      return Object.fromEntries(list.map((nd) => [nd.name as string, goStruct(NETDEV_FIELDS, nd, root)]));
    }
    case 'root':
      return goRoot(root);
  }
}

function goStruct(fields: Record<string, Field>, v: unknown, root: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, [key, ty]] of Object.entries(fields)) {
    const value = key.startsWith('"') ? key.slice(1) : key.startsWith('=') ? at(root, key.slice(1)) : key ? at(v, key) : v;
    out[name] = goValue(ty, value, root);
  }
  return out;
}

/** Warewulf's TemplateStruct fields (those the converter maps) from wulf's data for one node. */
export function goRoot(root: unknown): Record<string, unknown> {
  const out = goStruct({ ...NODE_FIELDS, ...ROOT_FIELDS }, root, root);
  const s = (root as { server: { ipaddr6: unknown; prefixlen6: unknown } }).server;
  out.Ipv6 = !!(s.ipaddr6 && s.prefixlen6);
  return out;
}
