// The tokens of one line of block-style YAML, for yaml-scan.ts: plain scalars resolved as YAML 1.2's
// core schema, quoted scalars, keys, one-line flow collections. No notion of indentation or nesting
// (the scanner keeps that); what does not close on its line throws Giveup.

export const SP = 32,
  TAB = 9,
  CR = 13;
type Obj = Record<string, unknown>;
/** What this reader cannot follow: the caller uses the full YAML library. */
export class Giveup extends Error {
  constructor(public why: string) {
    super(why);
  }
}
export const DEFER = Symbol('defer'); // a value this reader leaves to Bun.YAML

const NUMBER = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/; // int or float, base 10
/** A plain scalar as the YAML 1.2 core schema resolves it. */
export function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) {
    if (NUMBER.test(s)) return Number(s);
    const c1 = s.charCodeAt(1);
    if (c === 48 && c1 === 120 && /^0x[0-9a-fA-F]+$/.test(s)) return s.length <= 10 ? parseInt(s.slice(2), 16) : DEFER;
    if (c === 48 && c1 === 111 && /^0o[0-7]+$/.test(s)) return s.length <= 12 ? parseInt(s.slice(2), 8) : DEFER;
    if (s.length <= 5 && /^[-+]?\.(?:inf|Inf|INF)$/.test(s)) return c === 45 ? -Infinity : Infinity;
    if (s.length === 4 && /^\.(?:nan|NaN|NAN)$/.test(s)) return NaN;
    return s;
  }
  switch (s) {
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return null;
    case 'true':
    case 'True':
    case 'TRUE':
      return true;
    case 'false':
    case 'False':
    case 'FALSE':
      return false;
  }
  return s;
}

const keyCache = new Map<string, string>();
/** Key text → the property name it becomes (`01` and `1` are the same key). */
function keyName(raw: string): string {
  const c = raw.charCodeAt(0);
  const maybe =
    (c >= 48 && c <= 57) ||
    c === 43 ||
    c === 45 ||
    c === 46 ||
    c === 126 ||
    ((c === 110 || c === 78 || c === 116 || c === 84 || c === 102 || c === 70) &&
      /^(?:null|Null|NULL|true|True|TRUE|false|False|FALSE)$/.test(raw));
  if (!maybe) return raw;
  let k = keyCache.get(raw);
  if (k === undefined) {
    try {
      const o = Bun.YAML.parse(`${raw}: 0`);
      k = o && typeof o === 'object' ? (Object.keys(o)[0] ?? raw) : raw;
    } catch {
      k = raw;
    }
    keyCache.set(raw, k);
  }
  return k;
}

let escaped = false; // the last quoted scalar quoteEnd found has an escape ('' or \x)
/** End (after the closing quote) of a quoted scalar starting at `i`, or -1 if it does not close on this line. */
export function quoteEnd(s: string, i: number, end: number): number {
  const q = s.charCodeAt(i);
  escaped = false;
  for (let j = i + 1; j < end; j++) {
    const c = s.charCodeAt(j);
    if (q === 34 && c === 92) {
      escaped = true;
      j++;
      continue;
    }
    if (c === q) {
      if (q === 39 && s.charCodeAt(j + 1) === 39) {
        escaped = true;
        j++;
        continue;
      }
      return j + 1;
    }
  }
  return -1;
}
/** The value of the quoted scalar s[i, e) that quoteEnd just found. */
export function unquote(s: string, i: number, e: number): unknown {
  if (!escaped) return s.slice(i + 1, e - 1);
  if (s.charCodeAt(i) === 39) return s.slice(i + 1, e - 1).replace(/''/g, "'");
  try {
    return JSON.parse(s.slice(i, e));
  } catch {
    return DEFER;
  }
}
const keyText = (v: unknown) => (v === DEFER ? DEFER : String(v));
/** obj[k] = v as an own property, `__proto__` included. */
export function setOwn(obj: Record<string | number, unknown>, k: string | number, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
  else obj[k] = v;
}

/** What a flow collection reports to the scanner: an anchor or alias, a key (a duplicate stops the scan). */
export interface Ctx {
  alias(): void;
  dup(map: Obj, k: string): void;
}
export const skipSp = (s: string, j: number, end: number) => {
  while (j < end && (s.charCodeAt(j) === SP || s.charCodeAt(j) === TAB)) j++;
  return j;
};

/** A flow collection that must close on this line: its value (or DEFER) and the index after it. */
export function flow(s: string, i: number, end: number, cx: Ctx): [unknown, number] {
  const isMap = s.charCodeAt(i) === 123,
    close = isMap ? 125 : 93;
  const map: Obj = {},
    seq: unknown[] = [];
  let deferred = false;
  let j = skipSp(s, i + 1, end);
  const item = (): unknown => {
    const c = s.charCodeAt(j);
    if (c === 91 || c === 123) {
      const [v, e] = flow(s, j, end, cx);
      j = e;
      return v;
    }
    if (c === 34 || c === 39) {
      const e = quoteEnd(s, j, end);
      if (e < 0) throw new Giveup('a quoted scalar that spans lines');
      const v = unquote(s, j, e);
      j = e;
      return v;
    }
    if (c === 38 || c === 42 || c === 33) {
      // &anchor, *alias, !tag
      if (c !== 33) cx.alias();
      while (j < end && !' ,[]{}\t'.includes(s[j]!)) j++;
      j = skipSp(s, j, end);
      if (c === 42) return DEFER;
      item();
      return DEFER;
    }
    const st = j;
    while (j < end) {
      const d = s.charCodeAt(j);
      if (d === 44 || d === 91 || d === 93 || d === 123 || d === 125) break;
      if (d === 58) {
        const n = s.charCodeAt(j + 1);
        if (j + 1 >= end || n === SP || n === 44 || n === 93 || n === 125) break;
      }
      if (d === 35 && (s.charCodeAt(j - 1) === SP || s.charCodeAt(j - 1) === TAB)) throw new Giveup('a flow collection that spans lines');
      j++;
    }
    const raw = s.slice(st, j).trim();
    if (!raw) throw new Giveup('an empty flow item');
    return resolvePlain(raw);
  };
  while (j < end) {
    if (s.charCodeAt(j) === close) {
      if (deferred) return [DEFER, j + 1];
      return [isMap ? map : seq, j + 1];
    }
    const k = item();
    j = skipSp(s, j, end);
    if (isMap) {
      if (s.charCodeAt(j) !== 58) throw new Giveup('a flow map key without a value');
      const kt = keyText(k);
      if (kt === DEFER || k === null || typeof k === 'object') throw new Giveup('a complex flow key');
      j = skipSp(s, j + 1, end);
      if (s.charCodeAt(j) === 44 || s.charCodeAt(j) === close) throw new Giveup('a flow map key without a value');
      const v = item();
      const name = keyName(kt as string);
      if (name === '<<') cx.alias();
      if (name === '__proto__') deferred = true;
      cx.dup(map, name);
      if (v === DEFER) deferred = true;
      else setOwn(map, name, v);
    } else {
      if (s.charCodeAt(j) === 58) throw new Giveup('a key: value pair inside [ ]');
      if (k === DEFER) deferred = true;
      else seq.push(k);
    }
    j = skipSp(s, j, end);
    if (s.charCodeAt(j) === 44) j = skipSp(s, j + 1, end);
    else if (s.charCodeAt(j) !== close) throw new Giveup('a flow collection that spans lines');
  }
  throw new Giveup('a flow collection that spans lines');
}

/** Where lineKey's key ends: just after its colon (read after each lineKey call). */
export let keyAfter = 0;
/** The key of a block mapping line starting at `i` (keyAfter: the index after its colon), or undefined. */
export function lineKey(s: string, i: number, end: number): string | undefined {
  // the usual line: a plain key starting with a letter, `: `, no comment before it
  const c0 = s.charCodeAt(i);
  if ((c0 >= 97 && c0 <= 122) || (c0 >= 65 && c0 <= 90)) {
    let k = i + 1;
    for (; k < end; k++) {
      const d = s.charCodeAt(k);
      if (d === 58 || d === 35) break;
    }
    if (k < end && s.charCodeAt(k) === 58 && (k + 1 === end || s.charCodeAt(k + 1) === SP)) {
      keyAfter = k + 1;
      return keyName(s.charCodeAt(k - 1) === SP ? s.slice(i, k).trimEnd() : s.slice(i, k));
    }
  }
  const c = s.charCodeAt(i);
  if (c === 34 || c === 39) {
    const e = quoteEnd(s, i, end);
    if (e < 0) throw new Giveup('a quoted scalar that spans lines');
    const k = skipSp(s, e, end);
    if (s.charCodeAt(k) !== 58 || (k + 1 < end && s.charCodeAt(k + 1) !== SP)) return undefined;
    const name = keyText(unquote(s, i, e));
    if (name === DEFER) throw new Giveup('an escaped key');
    keyAfter = k + 1;
    return name as string;
  }
  if (c === 91 || c === 123 || c === 124 || c === 62 || c === 35) return undefined;
  if (c === 63 && (i + 1 === end || s.charCodeAt(i + 1) === SP)) throw new Giveup('a "?" complex key');
  if (c === 42 || c === 33) throw new Giveup('an alias or tag as a key');
  for (let k = i; k < end; k++) {
    const d = s.charCodeAt(k);
    if (d === 35 && s.charCodeAt(k - 1) === SP) return undefined;
    if (d === 58 && (k + 1 === end || s.charCodeAt(k + 1) === SP)) {
      const raw = s.slice(i, k).trimEnd();
      if (!raw) throw new Giveup('an empty key');
      keyAfter = k + 1;
      return raw === '<<' ? raw : keyName(raw);
    }
  }
  return undefined;
}

/** Line number (1-based) of the first `key` of the block map that starts at `start` at column `col`. */
export function firstLine(s: string, start: number, col: number, key: string): number {
  let line = 1;
  for (let p = s.indexOf('\n'); p >= 0 && p < start; p = s.indexOf('\n', p + 1)) line++;
  for (let pos = start; pos < s.length; line++) {
    let end = s.indexOf('\n', pos);
    if (end < 0) end = s.length;
    const next = end + 1;
    if (s.charCodeAt(end - 1) === CR) end--;
    let i = pos;
    while (i < end && (s.charCodeAt(i) === SP || (s.charCodeAt(i) === 45 && s.charCodeAt(i + 1) === SP))) i++;
    if (i - pos === col) {
      try {
        if (lineKey(s, i, end) === key) return line;
      } catch {
        /* not this line */
      }
    }
    pos = next;
  }
  return 0;
}

/** The text of a one-line plain scalar starting at `v` (its first character `vc`), up to a comment. */
export function plainValue(text: string, v: number, vc: number, end: number): string {
  if ((vc === 45 || vc === 63 || vc === 58) && (v + 1 === end || text.charCodeAt(v + 1) === SP))
    throw new Giveup('an indicator where a value was expected');
  if (vc === 64 || vc === 96 || vc === 37 || vc === 44 || vc === 93 || vc === 125)
    throw new Giveup('a reserved character at the start of a value');
  let j = v;
  for (; j < end; j++) {
    const d = text.charCodeAt(j);
    if (d === 35 && (text.charCodeAt(j - 1) === SP || text.charCodeAt(j - 1) === TAB)) break;
    if (d === 58 && (j + 1 === end || text.charCodeAt(j + 1) === SP)) throw new Giveup('a ": " inside a plain value');
  }
  return text.slice(v, j).trimEnd();
}
