// The one YAML reader for wulf's own files (nodes.conf, wulf.conf, `node edit`/`import` text), so
// every command sees the same thing: values as Bun.YAML gives them (YAML 1.2 core schema, anchors
// and merge keys resolved as Warewulf's reader does; built by the scanner for plain text, by
// Bun.YAML otherwise), and a duplicate key anywhere is an error naming the file and line — never
// a silent "last one wins".
import { isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { WulfError } from '../lib/errors.ts';
import { scanYaml, type Scan } from './yaml-scan.ts';

export interface YamlRead {
  value: unknown;
  scan: Scan;
}

const where = (file: string, line: number) => (line > 0 ? `${file}:${line}` : file);

/** Parse with the full YAML library (no duplicate check of its own: it is quadratic on large maps). */
export function parseFull(text: string, lineCounter?: LineCounter): Document.Parsed {
  return parseDocument(text, { uniqueKeys: false, keepSourceTokens: false, lineCounter });
}

function syntaxError(text: string, file: string, fallback: string): WulfError {
  const lc = new LineCounter();
  const err = parseFull(text, lc).errors[0];
  const line = err?.linePos?.[0]?.line ?? 0;
  const msg = err ? err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') : fallback.replace(/^YAML Parse error: /, '');
  return new WulfError(`${where(file, line)}: YAML syntax error: ${msg}`);
}

/** The scanner could not follow this text: find duplicates and aliases with the full parser (slower). */
function exactScan(text: string, scan: Scan): void {
  const lc = new LineCounter();
  const doc = parseFull(text, lc);
  const lineOf = (n: { range?: [number, number, number] | null }) => (n.range ? lc.linePos(n.range[0]).line : 0);
  visit(doc, {
    Map(_, map, path) {
      const seen = new Map<string, number>();
      for (const pair of map.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key);
        const line = lineOf(pair.key as object);
        const first = seen.get(k);
        if (first !== undefined && !scan.dup) {
          const at = path
            .filter((p) => 'key' in (p as object) && isScalar((p as { key: unknown }).key))
            .map((p) => String((p as { key: { value: unknown } }).key.value));
          scan.dup = { key: k, path: at.join('.'), line, first };
        }
        seen.set(k, line);
        if (k === '<<' && !scan.aliasLine) scan.aliasLine = line;
      }
      if (map.anchor && !scan.aliasLine) scan.aliasLine = lineOf(map);
    },
    Seq(_, seq) {
      if (seq.anchor && !scan.aliasLine) scan.aliasLine = lineOf(seq);
    },
    Scalar(_, s) {
      if (s.anchor && !scan.aliasLine) scan.aliasLine = lineOf(s);
    },
    Alias(_, a) {
      if (!scan.aliasLine) scan.aliasLine = lineOf(a);
    },
  });
}

/**
 * Parse YAML text as wulf reads its files. Duplicate keys are an error `FILE:LINE: duplicate key`;
 * the scan also says whether the text has anchors/aliases and where its sections and entries are.
 * The value comes from the scanner for plain text, else from Bun.YAML (anchors, block scalars...).
 */
export function readYaml(text: string, file: string): YamlRead {
  if (!text.trim()) return { value: null, scan: { value: null, aliasLine: 0, sections: new Map() } };
  const bun = () => {
    try {
      return Bun.YAML.parse(text);
    } catch (e) {
      throw syntaxError(text, file, (e as Error).message.split('\n')[0]!);
    }
  };
  const scan = scanYaml(text);
  let value: unknown;
  if (scan.complex) {
    // the scanner could not follow it: the full parsers decide
    value = bun();
    scan.dup = undefined;
    scan.aliasLine = 0;
    exactScan(text, scan);
  }
  if (scan.dup) {
    const d = scan.dup;
    throw new WulfError(`${where(file, d.line)}: duplicate key "${d.key}"${d.path ? ` in ${d.path}` : ''} (first at line ${d.first})`, {
      hint: 'a key may appear once in each map: merge the two or remove one',
    });
  }
  if (!scan.complex) value = scan.value !== undefined ? scan.value : bun();
  return { value, scan };
}
