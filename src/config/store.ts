// The one door for nodes.conf. Reads go through yaml-read.ts: one scanner pass that refuses
// duplicate keys (file and line) and builds the value (Bun.YAML when the text has anchors or block
// scalars). Writes take an exclusive lock, re-read, check the revision, let the caller change the
// entries it touches, validate the whole configuration, and rewrite only the entries that changed
// (yaml-splice.ts; entries with anchors/aliases are expanded; the whole YAML Document only when the
// file has a shape the scanner does not follow), then replace the file atomically keeping a backup.
// Comments and key order are kept either way.
import { existsSync, readFileSync } from 'node:fs';
import { WulfError } from '../lib/errors.ts';
import { acquireLock, removeStaleTemps, writeFileAtomic } from '../lib/atomic.ts';
import type { Paths } from './paths.ts';
import { nodeFromYaml, nodeToYaml } from './node-yaml.ts';
import { validateConf } from './validate.ts';
import { checkNetworks } from './netcheck.ts';
import type { NodesConf } from './cascade.ts';
import type { NodeData } from './schema.ts';
import { parseFull, readYaml } from './yaml-read.ts';
import type { Scan } from './yaml-scan.ts';
import { expandAliases, rewriteDocument, type Change } from './yaml-doc.ts';
import { canSplice, splice } from './yaml-splice.ts';
import { isLegacyEntry, upgradeEntry } from './legacy-nodes.ts';

export type { NodesConf } from './cascade.ts';

/** Where the one-line note about an older nodes.conf spelling goes (once per process). */
export const legacyNotice = {
  write: (line: string) => {
    process.stderr.write(line + '\n');
  },
  shown: false,
};

/** A change detector for the file's text (64-bit wyhash: a 10 MB nodes.conf hashes in milliseconds, SHA-256 took ~50 ms). */
export const revisionOf = (text: string) => Bun.hash(text).toString(16).padStart(16, '0');

const SECTIONS = [
  ['nodeprofiles', 'profiles', 'profile'],
  ['nodes', 'nodes', 'node'],
] as const;

/** Parse and decode; the YAML-shaped values are let go as they are decoded unless `keepRaw` (less peak memory). */
function load(text: string, file: string, keepRaw = false): { conf: NodesConf; scan: Scan; raw: Record<string, unknown> } {
  const { value, scan } = readYaml(text, file);
  const raw = value ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new WulfError(`${file}: expected "nodeprofiles:" and "nodes:" maps`);
  const top = raw as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (k !== 'nodeprofiles' && k !== 'nodes' && k !== 'WW_INTERNAL') throw new WulfError(`${file}: unknown top-level key "${k}"`);
  }
  const conf: NodesConf = { profiles: {}, nodes: {}, revision: revisionOf(text) };
  for (const [key, prop, kind] of SECTIONS) {
    const s = top[key];
    if (s == null) continue;
    if (typeof s !== 'object' || Array.isArray(s)) throw new WulfError(`${file}: "${key}" must be a map`);
    const out = conf[prop];
    const src = s as Record<string, unknown>;
    for (const name of Object.keys(src)) {
      let e = src[name];
      if (isLegacyEntry(e)) {
        // a 4.3–4.5 spelling (`keys:`...): read as `wulf upgrade nodes` would write it
        e = upgradeEntry(e, kind, {}, () => {});
        if (!legacyNotice.shown) {
          legacyNotice.shown = true;
          legacyNotice.write(
            `wulf: note: ${file} uses an older Warewulf spelling (${kind} ${name}); it is read as upgraded: run 'wulf upgrade nodes' to rewrite it`,
          );
        }
      }
      out[name] = nodeFromYaml(e, () => `${file}: ${kind} ${name}`);
      if (!keepRaw || !scan.aliasLine) src[name] = undefined; // a writer needs them only to expand aliases
    }
  }
  return { conf, scan, raw: top };
}

/** Parse nodes.conf text (Warewulf 4.5–4.7 files accepted unchanged). */
export function parseNodesConf(text: string, file = 'nodes.conf'): NodesConf {
  return load(text, file).conf;
}

/** Fast read-only load; an absent file is an empty configuration. */
export function readNodesConf(paths: Paths): NodesConf {
  if (!existsSync(paths.nodesConf)) return { profiles: {}, nodes: {}, revision: 'none' };
  return parseNodesConf(readFileSync(paths.nodesConf, 'utf8'), paths.nodesConf);
}

/**
 * The map handed to a change function, recording which entries it looks at, sets or deletes.
 * Only those can have changed; each is compared with its state before (as JSON) afterwards.
 * This replaces a copy of the whole configuration, which cost seconds at 50,000 nodes.
 */
export function tracked(target: Record<string, NodeData>) {
  const before = new Map<string, string | undefined>();
  const json = (k: string) => (Object.hasOwn(target, k) ? JSON.stringify(target[k]) : undefined);
  const note = (k: string | symbol) => {
    if (typeof k === 'string' && !before.has(k)) before.set(k, json(k));
  };
  const proxy = new Proxy(target, {
    get(t, k) {
      note(k);
      return Reflect.get(t, k);
    },
    set(t, k, v) {
      note(k);
      return Reflect.set(t, k, v);
    },
    deleteProperty(t, k) {
      note(k);
      return Reflect.deleteProperty(t, k);
    },
    defineProperty(t, k, d) {
      note(k);
      return Reflect.defineProperty(t, k, d);
    },
    getOwnPropertyDescriptor(t, k) {
      note(k);
      return Reflect.getOwnPropertyDescriptor(t, k);
    },
  });
  const changed = () => [...before].filter(([k, was]) => json(k) !== was).map(([k]) => k);
  return { proxy, changed };
}

/** JSON with sorted keys: equal data, equal text. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, x[k]]),
        )
      : x,
  );
}

/** The written text must read back as what was meant: `got` is the entry as read from it. */
function checkReadsBack(c: Change, got: NodeData | undefined, file: string): void {
  const ok = c.value ? got !== undefined && canonical(got) === canonical(nodeFromYaml(c.value, c.name)) : got === undefined;
  if (!ok) {
    throw new WulfError(
      `${file}: ${c.section === 'nodes' ? 'node' : 'profile'} ${c.name} would not read back as written; nothing was written`,
      { hint: 'please report this with the value you set' },
    );
  }
}

export interface UpdateResult<T> {
  result: T;
  revision: string;
  changed: boolean;
  aliasesExpanded: number;
}

/**
 * Run `mutate` on a fresh copy of the configuration under the lock and write the result.
 * `expectedRevision` (from an earlier read, e.g. an editor session) makes a stale writer fail.
 */
export async function updateNodesConf<T>(
  paths: Paths,
  mutate: (conf: NodesConf) => T | Promise<T>,
  opts: { expectedRevision?: string } = {},
): Promise<UpdateResult<T>> {
  const file = paths.nodesConf;
  const lock = await acquireLock(`${file}.lock`);
  try {
    removeStaleTemps(file);
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const { conf: before, scan, raw } = load(text, file, true);
    if (opts.expectedRevision && opts.expectedRevision !== before.revision) {
      throw new WulfError(`${file} changed since it was read (revision ${opts.expectedRevision} → ${before.revision})`, {
        hint: 'nothing was written; read it again and redo the change',
        code: 'ESTALE',
      });
    }
    const profiles = tracked(before.profiles),
      nodes = tracked(before.nodes);
    const conf = Object.freeze({ profiles: profiles.proxy, nodes: nodes.proxy, revision: before.revision });
    const result = await mutate(conf);
    const plain = { profiles: before.profiles, nodes: before.nodes };
    validateConf(plain);
    const changes: Change[] = [];
    for (const [section, prop] of SECTIONS) {
      for (const name of (prop === 'nodes' ? nodes : profiles).changed()) {
        const data = plain[prop][name];
        changes.push({ section, name, value: data ? nodeToYaml(data) : undefined });
      }
    }
    if (!changes.length) return { result, revision: before.revision, changed: false, aliasesExpanded: 0 };
    // bonds, VLANs and network tags of what changed (merged with profiles): one line, nothing written
    checkNetworks(
      plain,
      changes.filter((c) => c.section === 'nodes' && c.value).map((c) => c.name),
      changes.filter((c) => c.section === 'nodeprofiles').map((c) => c.name),
    );

    let out: string | undefined;
    let aliasesExpanded = 0;
    let spliced = text && canSplice(scan, changes) ? { changes } : undefined; // entry by entry, in place
    if (spliced && scan.aliasLine) {
      // entries with anchors, aliases or merge keys are written out as what they read as, each its own copy
      const more: Change[] = [];
      for (const [section, prop] of SECTIONS) {
        const changed = new Set(changes.filter((c) => c.section === section).map((c) => c.name));
        for (const e of scan.sections.get(section)?.entries ?? []) {
          if (!e.alias) continue;
          aliasesExpanded++;
          if (changed.has(e.name)) continue;
          const v = (raw[section] as Record<string, unknown> | undefined)?.[e.name];
          if (!plain[prop][e.name]) {
            spliced = undefined;
            break;
          }
          more.push({
            section,
            name: e.name,
            value: v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {},
          });
        }
      }
      if (spliced) spliced = { changes: [...changes, ...more] };
    }
    const done = spliced ? splice(text, scan, spliced.changes) : undefined;
    if (done) {
      for (const [c, r] of done.rendered) {
        const back = readYaml(`x:\n${r}`, file).value as { x: Record<string, unknown> };
        checkReadsBack(c, nodeFromYaml(back.x[c.name], c.name), file);
      }
      out = done.text;
    } else {
      const doc = parseFull(text || 'nodeprofiles: {}\nnodes: {}\n');
      if (doc.errors.length) throw new WulfError(`${file}: ${doc.errors[0]!.message.split('\n')[0]}`);
      aliasesExpanded = expandAliases(doc);
      out = rewriteDocument(doc, changes);
      // the whole file was rendered again: every entry must read back as before or as changed
      const back = load(out, file).conf;
      for (const [section, prop] of SECTIONS) {
        const mine = new Map(changes.filter((c) => c.section === section).map((c) => [c.name, c]));
        for (const c of mine.values()) checkReadsBack(c, back[prop][c.name], file);
        const names = new Set([...Object.keys(back[prop]), ...Object.keys(plain[prop])]);
        for (const n of names) {
          if (!mine.has(n) && canonical(back[prop][n]) !== canonical(plain[prop][n])) {
            throw new WulfError(
              `${file}: ${section === 'nodes' ? 'node' : 'profile'} ${n} would not read back as before; nothing was written`,
              { hint: 'please report this with the file' },
            );
          }
        }
      }
    }
    writeFileAtomic(file, out, { backup: `${file}.bak`, mode: 0o640 });
    return { result, revision: revisionOf(out), changed: true, aliasesExpanded };
  } finally {
    lock.release();
  }
}
