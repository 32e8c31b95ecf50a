// warewulf.conf → the current spelling (`wulf upgrade config`, as `wwctl upgrade config` does:
// syslog and datastore dropped, ipv6net split, container mounts → image mounts, nfs exports →
// export paths) and, for `wulf import-warewulf`, → wulf.conf: keys without effect in wulf left
// out (each reported with its line), Warewulf's defaults that differ from wulf's written out, and
// the wulf-only keys of an existing wulf.conf kept. Comments and key order stay.
import { isMap, isSeq, type Document } from 'yaml';
import { parseWulfConf } from '../config/wulfconf.ts';
import { ineffectiveKeys } from '../config/wwconf-keys.ts';
import { WulfError, errorLine } from '../lib/errors.ts';
import { STRINGIFY } from '../config/yaml-doc.ts';
import { deleteTop, lineAt, parseYamlDoc } from './yaml-safe.ts';

export interface Problem {
  file: string;
  line: number;
  why: string;
}
export const problemLine = (p: Problem) => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.why}`;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** wulf.conf keys Warewulf does not have: an existing wulf.conf keeps them through an import. */
const WULF_ONLY: string[][] = [
  ['dhcp', 'mode'],
  ['dhcp', 'interface'],
  ['dhcp', 'port'],
  ['dhcp', 'lease time'],
  ['tftp', 'port'],
  ['dns'],
  ['warewulf', 'secure address'],
  ['warewulf', 'overlay include paths'],
  ['warewulf', 'overlay render timeout'],
];

export interface ConfUpgrade {
  text: string;
  value: unknown;
  problems: Problem[];
  changed: boolean;
}

function del(doc: Document, path: string[]): void {
  if (path.length === 1) {
    deleteTop(doc, path[0]!);
    return;
  }
  doc.deleteIn(path);
  const parent = path.slice(0, -1);
  if (parent.length) {
    const p = doc.getIn(parent, true);
    if (isMap(p) && p.items.length === 0) doc.deleteIn(parent);
  }
}

/**
 * Upgrade warewulf.conf text. `forWulf`: also leave out what has no effect in wulf and make
 * Warewulf's defaults explicit where wulf's differ; `keep`: the current wulf.conf text, whose
 * wulf-only keys are carried over.
 */
export function upgradeConfText(text: string, file: string, opts: { forWulf?: boolean; keep?: string } = {}): ConfUpgrade {
  const parsed = parseYamlDoc(text || '{}\n', file);
  const { doc } = parsed;
  const top = isObj(parsed.value) ? parsed.value : {};
  const problems: Problem[] = [];
  const note = (path: (string | number)[], why: string) =>
    problems.push({ file, line: lineAt(parsed, path), why: `${path.filter((x) => typeof x === 'string').join('.')}: ${why}` });
  if (!isMap(doc.contents)) {
    if (text.trim()) throw new WulfError(`${file}: expected a map of settings`);
  }
  if (top.WW_INTERNAL !== undefined) {
    note(['WW_INTERNAL'], 'the file format version: dropped');
    del(doc, ['WW_INTERNAL']);
  }
  const ww = isObj(top.warewulf) ? top.warewulf : {};
  if (ww.syslog !== undefined) {
    note(['warewulf', 'syslog'], 'obsolete (logs go to stdout/stderr): dropped');
    del(doc, ['warewulf', 'syslog']);
  }
  if (ww.datastore !== undefined) {
    // paths has no effect in wulf: for wulf.conf the key just goes
    note(
      ['warewulf', 'datastore'],
      opts.forWulf ? 'obsolete (paths.datadir since Warewulf 4.5; no effect in wulf): dropped' : 'obsolete: became paths.datadir',
    );
    if (!opts.forWulf && doc.getIn(['paths', 'datadir']) === undefined) doc.setIn(['paths', 'datadir'], ww.datastore);
    del(doc, ['warewulf', 'datastore']);
  }
  if (top.ipv6net !== undefined) {
    const m = /^([0-9a-fA-F:.]+)\/(\d+)$/.exec(String(top.ipv6net));
    if (m) {
      if (top.ipaddr6 === undefined) doc.set('ipaddr6', m[1]);
      if (top.prefixlen6 === undefined) doc.set('prefixlen6', m[2]);
    } else note(['ipv6net'], `"${String(top.ipv6net)}" is not an IPv6 CIDR address: dropped`);
    del(doc, ['ipv6net']);
  }
  if (top['container mounts'] !== undefined) {
    if (top['image mounts'] === undefined) doc.set('image mounts', doc.get('container mounts', true));
    del(doc, ['container mounts']);
  }
  const nfs = isObj(top.nfs) ? top.nfs : undefined;
  if (opts.forWulf && nfs && Array.isArray(nfs['export paths'])) {
    // per-export mount keys: their lines now, before the list may be rebuilt below
    nfs['export paths'].forEach((e, i) => {
      for (const k of ['mount', 'mount options'])
        if (isObj(e) && e[k] !== undefined)
          note(['nfs', 'export paths', i, k], "node mounts belong in the default profile's fstab resource (the import moved them there)");
    });
  }
  if (nfs && Array.isArray(nfs.exports)) {
    const ext = Array.isArray(nfs['export paths']) ? nfs['export paths'] : [];
    doc.setIn(['nfs', 'export paths'], doc.createNode([...nfs.exports.map((p) => ({ path: String(p) })), ...ext]));
    del(doc, ['nfs', 'exports']);
  }
  if (opts.forWulf) {
    const exports = doc.getIn(['nfs', 'export paths'], true);
    if (isSeq(exports)) for (const e of exports.items) for (const k of ['mount', 'mount options']) if (isMap(e)) e.delete(k);
    for (const n of ineffectiveKeys(doc.toJS())) {
      if (n.key.includes('[]')) continue;
      const path = n.key === 'api' || n.key === 'paths' ? [n.key] : n.key.split(/\.(?=[^.]+$)/);
      note(path, `no effect in wulf (${n.why}): left out`);
      del(doc, path);
    }
    // no-effect keys whose value wulf already matches go too: they would only say what wulf does anyway
    for (const path of [
      ['warewulf', 'autobuild overlays'],
      ['warewulf', 'grubboot'],
      ['dhcp', 'template'],
      ['wwclient', 'port'],
      ['api'],
      ['paths'],
    ]) {
      if (doc.hasIn(path)) del(doc, path);
    }
    // Warewulf's secure defaults to true when the file does not say (wulf's to false)
    if (!doc.hasIn(['warewulf', 'secure'])) {
      doc.setIn(['warewulf', 'secure'], true);
      problems.push({ file, line: 0, why: 'warewulf.secure: not set, which in Warewulf means true: written as secure: true' });
    }
    if (opts.keep) {
      let keep: unknown;
      try {
        keep = parseYamlDoc(opts.keep, 'wulf.conf').value;
      } catch {
        keep = undefined;
      }
      for (const path of WULF_ONLY) {
        let v: unknown = keep;
        for (const k of path) v = isObj(v) ? v[k] : undefined;
        if (v !== undefined && !doc.hasIn(path)) doc.setIn(path, doc.createNode(v));
      }
    }
  }
  const out = doc.toString(STRINGIFY);
  let value: unknown;
  try {
    value = parseYamlDoc(out, file).value;
    parseWulfConf(out, file);
  } catch (e) {
    throw new WulfError(`${file}: the upgraded file does not read back: ${errorLine(e)}`);
  }
  return { text: out, value, problems, changed: out !== text };
}
