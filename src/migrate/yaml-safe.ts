// Reading a Warewulf YAML file to change it: a YAML Document (comments and key order kept), with
// line numbers for reports, refusing the shapes that would blow up when expanded (alias bombs).
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { WulfError } from '../lib/errors.ts';

export interface ParsedYaml {
  doc: Document.Parsed;
  lines: LineCounter;
  value: unknown;
}

/** Parse `text`; a syntax error or an alias bomb is a one-line error naming `file` and the line. */
export function parseYamlDoc(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, lineCounter: lines, prettyErrors: true });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line;
    throw new WulfError(
      `${file}${line ? `:${line}` : ''}: YAML syntax error: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 200 });
  } catch (e) {
    throw new WulfError(
      `${file}: ${/alias/i.test((e as Error).message) ? 'too many YAML aliases (a YAML bomb?): refused' : (e as Error).message.split('\n')[0]}`,
    );
  }
  return { doc, lines, value };
}

/** The 1-based line of the node at `path` (keys), or 0. */
export function lineAt(p: ParsedYaml, path: (string | number)[]): number {
  let node: unknown = p.doc.contents;
  let keyNode: { range?: [number, number, number] | null } | undefined;
  for (const k of path) {
    const m = node as { items?: { key?: { value?: unknown; range?: [number, number, number] }; value?: unknown }[] } | undefined;
    if (!m?.items) return keyNode?.range ? p.lines.linePos(keyNode.range[0]).line : 0;
    const pair = typeof k === 'number' ? undefined : m.items.find((it) => (it.key as { value?: unknown } | undefined)?.value === k);
    if (typeof k === 'number') {
      node = m.items[k];
      keyNode = node as typeof keyNode;
      continue;
    }
    if (!pair) return keyNode?.range ? p.lines.linePos(keyNode.range[0]).line : 0;
    keyNode = pair.key as typeof keyNode;
    node = pair.value;
  }
  return keyNode?.range ? p.lines.linePos(keyNode.range[0]).line : 0;
}

/** Delete the top-level key `key`, keeping a comment that sat above it (on the next key, or the document). */
export function deleteTop(doc: Document, key: string): void {
  const m = doc.contents;
  if (!isMap(m)) return;
  const i = m.items.findIndex((p) => isScalar(p.key) && p.key.value === key);
  if (i < 0) return;
  const k = m.items[i]!.key as { commentBefore?: string | null };
  if (k.commentBefore) {
    const next = m.items[i + 1]?.key as { commentBefore?: string | null } | undefined;
    if (i === 0) doc.commentBefore = [doc.commentBefore, k.commentBefore].filter(Boolean).join('\n');
    else if (next) next.commentBefore = [k.commentBefore, next.commentBefore].filter(Boolean).join('\n');
  }
  m.items.splice(i, 1);
}
