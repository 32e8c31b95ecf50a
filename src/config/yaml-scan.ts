// A one-pass reader of block-style YAML, the shape of nodes.conf and wulf.conf. It finds what a
// value parser hides: duplicate keys (with their lines), anchors, aliases and merge keys, and where
// each top-level section and each entry of it (a node, a profile) starts and ends, so one entry can
// be rewritten in place. For the plain subset (block maps and sequences, one-line scalars and flow
// collections) it also builds the value, so one pass costs about what Bun.YAML alone does (a second
// pass beside Bun.YAML would double it); scalars resolve as YAML 1.2's core schema, as in Bun.YAML
// (test/config/yaml-scan.test.ts compares the two on random documents). Anything outside that subset leaves
// `value` unset (the caller asks Bun.YAML), and what it cannot even follow (multi-line quoted or
// flow scalars, `?` keys, documents, tabs) sets `complex`: the caller uses the full YAML library.
// The tokens of one line (scalars, keys, flow collections) are read by yaml-lex.ts; this file keeps the structure.

import {
  CR,
  DEFER,
  Giveup,
  SP,
  TAB,
  firstLine,
  flow,
  keyAfter,
  lineKey,
  plainValue,
  quoteEnd,
  resolvePlain,
  setOwn,
  skipSp,
  unquote,
  type Ctx,
} from './yaml-lex.ts';

/** [from, to): from the key line to the last line of the value; alias: it has an anchor, alias or merge key */
export interface Entry {
  name: string;
  line: number;
  from: number;
  to: number;
  alias?: boolean;
}
export interface Section {
  key: string;
  line: number;
  from: number;
  to: number;
  /** offset just after the `:` of the key line, and just after that line's newline */
  valueAt: number;
  lineEnd: number;
  /** what follows `key:` on its line: nothing (a block map or null follows), `{}`, or anything else */
  value: 'none' | 'empty-flow' | 'other';
  indent: number; // column of the entries
  entries: Entry[];
  block: boolean; // the entries are a block map directly under the key
}
export interface Duplicate {
  key: string;
  path: string;
  line: number;
  first: number;
} // 1-based lines
export interface Scan {
  /** the parsed value, when the text is in the plain subset (otherwise undefined: parse it with Bun.YAML) */
  value?: unknown;
  dup?: Duplicate;
  aliasLine: number; // first line with an anchor, alias or merge key; 0: none
  aliasOutside?: boolean; // one of them is not inside an entry of a section
  complex?: { line: number; why: string };
  sections: Map<string, Section>;
}

type Obj = Record<string, unknown>;
// `up` and `name` give a map's path for messages (`nodes.n1`), built only when one is needed
interface Frame {
  col: number;
  map?: Obj;
  seq?: unknown[];
  up?: Frame;
  name: string;
  start: number;
  section?: Section;
}
class Found extends Error {} // a duplicate key: stop reading

/** A `key:` or `-` with nothing after it on its line: a nested block may follow below. */
interface Slot {
  holder: Obj | unknown[];
  key: string | number;
  col: number;
  isKey: boolean;
  up: Frame;
  name: string;
  section?: Section;
}

export function scanYaml(text: string): Scan {
  return new Scanner(text).run();
}

/** A map's path for messages (`nodes.n1`, `list[]`). */
function pathOf(f: Frame | undefined): string {
  const parts: string[] = [];
  for (; f; f = f.up) if (f.name) parts.unshift(f.name);
  return parts.join('.').replace(/\.\[\]/g, '[]');
}

/** One pass over the text, a line at a time: the frames of the open collections, the open section and entry. */
class Scanner {
  private readonly scan: Scan = { aliasLine: 0, sections: new Map() };
  private readonly frames: Frame[] = [];
  private root: Obj | unknown[] | null = null;
  private simple = true; // the value built here is the whole truth
  private slot: Slot | undefined;
  private readonly dashes: number[] = []; // columns of this line's `- ` indicators
  private line = 0;
  private pos = 0;
  private lastSigEnd = 0;
  private scalarParent = -1; // inside a block scalar of the node at this column: deeper lines are its text
  private plainParent = -1; // after a one-line plain scalar: deeper lines would continue it
  private section: Section | undefined;
  private entry: Entry | undefined;
  private flowAt: Frame | undefined;
  private flowName = '';
  private readonly cx: Ctx;

  constructor(private readonly text: string) {
    this.cx = {
      alias: () => this.alias(),
      dup: (map, k) => {
        if (!Object.hasOwn(map, k)) return;
        this.scan.dup = {
          key: k,
          path: pathOf({ col: 0, up: this.flowAt, name: this.flowName, start: 0 }),
          line: this.line,
          first: this.line,
        };
        throw new Found();
      },
    };
  }

  run(): Scan {
    const { scan } = this;
    try {
      while (this.pos < this.text.length) this.readLine();
    } catch (err) {
      if (err instanceof Found) return scan;
      if (!(err instanceof Giveup)) throw err;
      scan.complex = { line: this.line, why: err.why };
      return scan;
    }
    this.closeSection(this.lastSigEnd);
    if (this.simple) scan.value = this.root;
    return scan;
  }

  /** An anchor, alias or merge key: the value is left to Bun.YAML, and where it stands is noted. */
  private alias(): void {
    this.simple = false;
    if (!this.scan.aliasLine) this.scan.aliasLine = this.line;
    if (this.entry) this.entry.alias = true;
    else this.scan.aliasOutside = true;
  }

  private closeEntry(at: number): void {
    if (this.entry) {
      this.entry.to = at;
      this.entry = undefined;
    }
  }

  private closeSection(at: number): void {
    this.closeEntry(at);
    if (this.section) {
      this.section.to = at;
      this.section = undefined;
    }
  }

  private assign(holder: Obj | unknown[], key: string | number, v: unknown): void {
    if (v === DEFER) {
      this.simple = false;
      v = null;
    }
    setOwn(holder as Record<string | number, unknown>, key, v);
  }

  /** A new collection in the open slot (or as the root), with its frame. */
  private open(col: number, start: number, v: Obj | unknown[]): Frame {
    const { slot } = this;
    const f: Frame = { col, up: slot?.up, name: slot?.name ?? '', start };
    if (Array.isArray(v)) f.seq = v;
    else f.map = v;
    if (slot) {
      this.assign(slot.holder, slot.key, v);
      if (slot.section) {
        if (f.map) f.section = slot.section;
        else slot.section.block = false;
      }
      this.slot = undefined;
    } else this.root = v;
    this.frames.push(f);
    return f;
  }

  /** One line: blank, comment and continuation lines are passed over; others hold a key or `- ` items. */
  private readLine(): void {
    const { text } = this;
    const len = text.length;
    this.line++;
    let eol = text.indexOf('\n', this.pos);
    if (eol < 0) eol = len;
    let end = eol;
    if (end > this.pos && text.charCodeAt(end - 1) === CR) end--;
    const start = this.pos;
    this.pos = eol + 1;
    const next = Math.min(this.pos, len);
    let i = start;
    while (i < end && text.charCodeAt(i) === SP) i++;
    if (i === end) return; // blank
    const indent = i - start;
    if (this.scalarParent >= 0 && indent > this.scalarParent) {
      this.lastSigEnd = next;
      return;
    }
    this.scalarParent = -1;
    const c0 = text.charCodeAt(i);
    if (c0 === 35) return; // a comment line
    if (this.plainParent >= 0 && indent > this.plainParent) {
      this.simple = false;
      this.lastSigEnd = next;
      return;
    } // a plain scalar goes on
    this.plainParent = -1;
    if (c0 === TAB) throw new Giveup('a tab in the indentation');
    if (indent === 0 && (c0 === 37 || /^(?:---|\.\.\.)(?:\s|$)/.test(text.slice(i, Math.min(end, i + 4)))))
      throw new Giveup('a directive or document marker');
    const prevSigEnd = this.lastSigEnd;
    this.lastSigEnd = next;
    this.readNode(start, i, end, next, indent, prevSigEnd);
  }

  /** The `- ` items and the key of a significant line, then its value. */
  private readNode(start: number, i: number, end: number, next: number, indent: number, prevSigEnd: number): void {
    const { text, dashes, frames } = this;
    dashes.length = 0;
    while (text.charCodeAt(i) === 45 && (i + 1 === end || text.charCodeAt(i + 1) === SP)) {
      dashes.push(i - start);
      i = skipSp(text, i + 1, end);
    }
    const first = dashes.length ? dashes[0]! : indent;
    if (text.charCodeAt(i) === 38) {
      this.alias();
      this.scan.aliasOutside = true;
      while (i < end && text.charCodeAt(i) !== SP) i++;
      i = skipSp(text, i, end);
    }
    const k = i < end ? lineKey(text, i, end) : undefined;
    const kAfter = keyAfter;
    const kcol = i - start;

    if (this.slot) {
      // is this line the open slot's nested block?
      const slot = this.slot;
      const deeper = first > slot.col || (dashes.length > 0 && first === slot.col && slot.isKey);
      if (!deeper) this.slot = undefined;
      else if (!dashes.length && k === undefined) {
        this.simple = false;
        this.scalarParent = slot.col;
        this.slot = undefined;
        return;
      } // `key:` and its text below
    }
    if (!this.slot) {
      while (frames.length && frames[frames.length - 1]!.col > first) frames.pop();
      const t = frames[frames.length - 1];
      if (t?.seq && !dashes.length && t.col === first) frames.pop(); // a sequence at its key's column ends
    }

    const holder = this.holderOf(first, kcol, k, start);
    const frame = frames[frames.length - 1]!;
    let valueAt = i;
    let key: string | number;
    if (k !== undefined) {
      this.keyOf(k, kAfter, holder as Obj, frame, kcol, start, next, prevSigEnd);
      key = k;
      valueAt = kAfter;
    } else key = (holder as unknown[]).length;
    const ownSection = k !== undefined && frames.length === 1 && holder === this.root ? this.section : undefined;
    const col = k !== undefined ? kcol : dashes[dashes.length - 1]!;
    this.readValue(holder, key, k, col, valueAt, end, frame, ownSection);
  }

  /** The collection this line's key or item goes in: the open one at its column, or a new one. */
  private holderOf(first: number, kcol: number, k: string | undefined, start: number): Obj | unknown[] {
    const { dashes, frames } = this;
    if (dashes.length) {
      let f: Frame | undefined =
        this.slot || (!frames.length && this.root === null) ? this.open(first, start, []) : frames[frames.length - 1];
      if (!f?.seq || f.col !== first) throw new Giveup('a "-" where a key was expected');
      for (let d = 1; d < dashes.length; d++) {
        const inner: unknown[] = [];
        f.seq!.push(inner);
        f = { col: dashes[d]!, seq: inner, up: f, name: '[]', start };
        frames.push(f);
      }
      if (k !== undefined) {
        const m: Obj = {};
        f.seq!.push(m);
        f = { col: kcol, map: m, up: f, name: '[]', start };
        frames.push(f);
        return m;
      }
      return f.seq!;
    }
    if (k !== undefined) {
      const f: Frame | undefined =
        this.slot || (!frames.length && this.root === null) ? this.open(kcol, start, {}) : frames[frames.length - 1];
      if (!f?.map || f.col !== kcol) throw new Giveup('a key at an unexpected indentation');
      return f.map;
    }
    throw new Giveup('a scalar where a key or "-" was expected');
  }

  /** A key: a duplicate stops the scan; a top-level key opens a section, a key under a section's map an entry. */
  private keyOf(
    name: string,
    valueAt: number,
    holder: Obj,
    frame: Frame,
    kcol: number,
    start: number,
    next: number,
    prevSigEnd: number,
  ): void {
    const { scan, line } = this;
    if (name === '__proto__') this.simple = false;
    if (name === '<<') {
      this.alias();
      if (this.frames.length <= 2) scan.aliasOutside = true;
    } // merged into a section or the file itself
    if (Object.hasOwn(holder, name)) {
      scan.dup = { key: name, path: pathOf(frame), line, first: firstLine(this.text, frame.start, frame.col, name) };
      throw new Found();
    }
    if (this.frames.length === 1 && holder === this.root) {
      // a top-level key
      this.closeSection(prevSigEnd);
      const section: Section = {
        key: name,
        line,
        from: start,
        to: next,
        valueAt,
        lineEnd: next,
        value: 'other',
        indent: -1,
        entries: [],
        block: true,
      };
      this.section = section;
      scan.sections.set(name, section);
    } else if (frame.section && frame.section === this.section) {
      // an entry of that section
      const section = this.section;
      if (section.indent < 0) section.indent = kcol;
      this.closeEntry(prevSigEnd);
      const entry: Entry = { name, line, from: start, to: next };
      this.entry = entry;
      section.entries.push(entry);
    }
  }

  /** The value after `key:` or `- `: nothing (a nested block may follow), an alias, a block scalar, a flow collection, a scalar. */
  private readValue(
    holder: Obj | unknown[],
    key: string | number,
    k: string | undefined,
    col: number,
    valueAt: number,
    end: number,
    frame: Frame,
    ownSection: Section | undefined,
  ): void {
    const { text } = this;
    let v = skipSp(text, valueAt, end);
    let vc = text.charCodeAt(v);
    while (v < end && (vc === 38 || vc === 33)) {
      // &anchor / !tag before the value
      if (vc === 38) this.alias();
      else this.simple = false;
      while (v < end && text.charCodeAt(v) !== SP) v++;
      v = skipSp(text, v, end);
      vc = text.charCodeAt(v);
    }
    if (v >= end || (vc === 35 && text.charCodeAt(v - 1) === SP)) {
      if (ownSection) ownSection.value = 'none';
      this.assign(holder, key, null);
      this.slot = { holder, key, col, isKey: k !== undefined, up: frame, name: k ?? '[]', section: ownSection };
      return;
    }
    let e = end;
    if (vc === 42) {
      // *alias
      this.alias();
      this.assign(holder, key, DEFER);
      while (v < end && text.charCodeAt(v) !== SP) v++;
      e = v;
    } else if (vc === 124 || vc === 62) {
      // | or > block scalar
      if (text.slice(v, end).split('#')[0]!.includes('+')) throw new Giveup('a block scalar that keeps trailing lines (|+)');
      this.assign(holder, key, DEFER);
      this.scalarParent = col;
      return;
    } else if (vc === 91 || vc === 123) {
      this.flowAt = frame;
      this.flowName = k ?? '[]';
      const [x, fe] = flow(text, v, end, this.cx);
      if (ownSection && /^\{\s*\}$/.test(text.slice(v, fe))) ownSection.value = 'empty-flow';
      this.assign(holder, key, x);
      e = fe;
    } else if (vc === 34 || vc === 39) {
      e = quoteEnd(text, v, end);
      if (e < 0) throw new Giveup('a quoted scalar that spans lines');
      this.assign(holder, key, unquote(text, v, e));
    } else {
      this.assign(holder, key, resolvePlain(plainValue(text, v, vc, end)));
      this.plainParent = col;
      return;
    }
    const rest = skipSp(text, e, end);
    if (rest < end && !(text.charCodeAt(rest) === 35 && rest > e)) throw new Giveup('text after a value');
  }
}
