// Rewrite single entries of nodes.conf in place. The scanner (yaml-scan.ts) knows where each
// entry of `nodeprofiles:` and `nodes:` starts and ends; a changed entry's lines alone go through
// the YAML library (comments, order, quoting kept) and are put back between the untouched bytes
// of every other entry. One `node set` among 50,000 nodes so costs one entry, not the file.
import { Document, isAlias, isMap, parseDocument, YAMLMap, type Pair } from 'yaml';
import type { Scan } from './yaml-scan.ts';
import { eachNode, makeNode, STRINGIFY, syncMap, type Change } from './yaml-doc.ts';

type Obj = Record<string, unknown>;
interface Edit {
  from: number;
  to: number;
  text: string;
}

/**
 * In place only for block-style (or empty) sections of text the scanner followed fully, with any
 * anchors, aliases and merge keys inside entries (such entries are rewritten, expanded).
 */
export function canSplice(scan: Scan, changes: Change[]): boolean {
  if (scan.complex || scan.aliasOutside) return false;
  return changes.every((c) => {
    const s = scan.sections.get(c.section);
    return !!s && s.block && s.value !== 'other';
  });
}

const lead = (l: string) => l.length - l.trimStart().length;
const dedent = (text: string, n: number) =>
  text
    .split('\n')
    .map((l) => l.slice(Math.min(n, lead(l))))
    .join('\n');
const indentText = (text: string, n: number) => {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l ? pad + l : l))
    .join('\n');
};

/** One entry as text at `indent`: the old text edited to `value`, or a new entry. */
export function renderEntry(name: string, value: Obj, old: string | undefined, indent: number, aliases = false): string | undefined {
  let doc: Document;
  if (old !== undefined) {
    doc = parseDocument(dedent(old, indent), { uniqueKeys: false, keepSourceTokens: false });
    if (doc.errors.length || !isMap(doc.contents) || doc.contents.items.length !== 1) return undefined;
    const pair = doc.contents.items[0] as Pair;
    if (isMap(pair.value) && !(pair.value.flow && !pair.value.items.length)) syncMap(doc, pair.value, value);
    else pair.value = makeNode(doc, value);
    // aliases differ from the value they stand for, so syncMap has replaced each by a copy; anchors go
    if (aliases) {
      let alias = false;
      eachNode(doc.contents, (n) => {
        if (isAlias(n)) alias = true;
        else if (n.anchor) n.anchor = undefined;
      });
      if (alias) return undefined;
    }
  } else {
    doc = new Document();
    const map = new YAMLMap();
    map.items.push(doc.createPair(name, makeNode(doc, value)) as Pair);
    doc.contents = map as typeof doc.contents;
  }
  const out = doc.toString(STRINGIFY);
  return indentText(out.endsWith('\n') ? out : `${out}\n`, indent);
}

/**
 * The text with `changes` applied entry by entry, and each entry's new text (for checking), or
 * undefined when an entry cannot be edited on its own (the caller rewrites the whole document).
 */
export function splice(text: string, scan: Scan, changes: Change[]): { text: string; rendered: Map<Change, string> } | undefined {
  const edits: Edit[] = [];
  const rendered = new Map<Change, string>();
  for (const [key, sec] of scan.sections) {
    const list = changes.filter((c) => c.section === key);
    if (!list.length) continue;
    const indent = sec.indent > 0 ? sec.indent : 2;
    const byName = new Map(sec.entries.map((e) => [e.name, e]));
    let adds = '';
    let remaining = sec.entries.length;
    for (const c of list) {
      const e = byName.get(c.name);
      if (!c.value) {
        if (e) {
          edits.push({ from: e.from, to: e.to, text: '' });
          remaining--;
        }
        continue;
      }
      const r = renderEntry(c.name, c.value, e ? text.slice(e.from, e.to) : undefined, indent, e?.alias);
      if (r === undefined) return undefined;
      rendered.set(c, r);
      if (e) edits.push({ from: e.from, to: e.to, text: r });
      else {
        adds += r;
        remaining++;
      }
    }
    // the key line: `nodes: {}` once it has no entries; plain `nodes:` when entries follow a `{}`
    let lineEnd = sec.lineEnd;
    if (text[lineEnd - 1] === '\n') lineEnd--;
    if (text[lineEnd - 1] === '\r') lineEnd--;
    const comment = /\s#.*$/.exec(text.slice(sec.valueAt, lineEnd))?.[0] ?? '';
    if (remaining === 0 && sec.value !== 'empty-flow') edits.push({ from: sec.valueAt, to: lineEnd, text: ` {}${comment}` });
    if (remaining > 0 && sec.value === 'empty-flow') edits.push({ from: sec.valueAt, to: lineEnd, text: comment });
    if (adds) {
      const at = sec.entries.length ? sec.entries[sec.entries.length - 1]!.to : sec.lineEnd;
      edits.push({ from: at, to: at, text: at > 0 && text[at - 1] !== '\n' ? `\n${adds}` : adds });
    }
  }
  edits.sort((a, b) => a.from - b.from || a.to - b.to);
  const parts: string[] = [];
  let pos = 0;
  for (const e of edits) {
    if (e.from < pos) return undefined; // overlapping edits: not expected, rewrite the document instead
    parts.push(text.slice(pos, e.from), e.text);
    pos = e.to;
  }
  parts.push(text.slice(pos));
  return { text: parts.join(''), rendered };
}
