// A parser for Go text/template source (the subset of its grammar templates use): text, actions
// with trim markers already applied to the neighbouring text, comments, if/else if/else, range,
// with, break, continue, and pipelines of commands over fields, variables, literals and calls.
// Pure: source text in, a tree (or the first syntax error with its line) out.

export type Arg =
  | { k: 'dot' }
  | { k: 'field'; on: Arg | null; names: string[] } // on null: the dot
  | { k: 'var'; name: string; names: string[] } // name '' is $
  | { k: 'str'; v: string }
  | { k: 'num'; v: number; text: string }
  | { k: 'bool'; v: boolean }
  | { k: 'nil' }
  | { k: 'ident'; name: string }
  | { k: 'pipe'; pipe: Pipe; names: string[] };

export interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Arg[][];
  line: number;
}

export type Node =
  | { k: 'text'; v: string }
  | { k: 'out'; pipe: Pipe; line: number }
  | { k: 'if' | 'with'; branches: { pipe: Pipe; body: Node[]; line: number }[]; els?: Node[]; line: number }
  | { k: 'range'; pipe: Pipe; body: Node[]; els?: Node[]; line: number }
  | { k: 'break' | 'continue'; line: number }
  | { k: 'define'; name: string; body: Node[]; line: number }
  | { k: 'template'; name: string; pipe?: Pipe; line: number }
  | { k: 'unsupported'; line: number; why: string };

export class GoSyntaxError extends Error {
  constructor(
    readonly line: number,
    msg: string,
  ) {
    super(msg);
  }
}

const SPACE = /[ \t\r\n]/;
const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'break', 'continue', 'define', 'template', 'block']);

interface Raw {
  text: string;
  action?: string;
  line: number;
  comment?: boolean;
}

/** Split source into text and action pieces, applying `{{- ` and ` -}}` to the neighbouring text. */
function split(src: string): Raw[] {
  const out: Raw[] = [];
  let i = 0,
    line = 1,
    trimNext = false;
  const lineAt = (from: number, to: number) => {
    for (let j = from; j < to; j++) if (src[j] === '\n') line++;
  };
  while (i <= src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    const textLine = line;
    lineAt(i, open < 0 ? src.length : open);
    if (open < 0) {
      out.push({ text, line: textLine });
      break;
    }
    let j = open + 2;
    let ltrim = false;
    if (src[j] === '-' && SPACE.test(src[j + 1] ?? '')) {
      ltrim = true;
      j += 2;
    }
    if (ltrim) text = text.replace(/[ \t\r\n]+$/, '');
    out.push({ text, line: textLine });
    const actLine = line;
    // find the closing }} outside string literals and comments
    let k = j,
      inStr = '',
      comment = false;
    while (j < src.length && SPACE.test(src[j]!)) j++;
    if (src.startsWith('/*', j)) {
      const end = src.indexOf('*/', j + 2);
      if (end < 0) throw new GoSyntaxError(actLine, 'unclosed comment');
      comment = true;
      k = end + 2;
    }
    for (; k < src.length; k++) {
      const c = src[k]!;
      if (inStr) {
        if (c === '\\' && inStr !== '`') {
          k++;
          continue;
        }
        if (c === inStr) inStr = '';
        continue;
      }
      if (c === '"' || c === '`' || c === "'") {
        inStr = c;
        continue;
      }
      if (c === '}' && src[k + 1] === '}') break;
    }
    if (k >= src.length) throw new GoSyntaxError(actLine, 'unclosed action (no "}}")');
    let body = src.slice(open + 2 + (ltrim ? 2 : 0), k);
    trimNext = false;
    if (/[ \t\r\n]-$/.test(body)) {
      trimNext = true;
      body = body.slice(0, -2);
    }
    lineAt(open, k + 2);
    i = k + 2;
    if (comment) {
      const t = body.trim();
      if (!t.startsWith('/*') || !t.endsWith('*/')) throw new GoSyntaxError(actLine, 'comment ends before "}}"');
      out.push({ text: '', comment: true, line: actLine });
    } else out.push({ text: '', action: body.trim(), line: actLine });
  }
  return out;
}

/** `adj`: the token follows the previous one without white space ($x.A, (pipe).A) */
type Tok = { t: 'str' | 'num' | 'ident' | 'field' | 'var' | 'op' | 'bool' | 'nil'; v: string; adj?: boolean };

function tokenize(s: string, line: number): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const bad = (m: string) => {
    throw new GoSyntaxError(line, m);
  };
  while (i < s.length) {
    const c = s[i]!;
    if (SPACE.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\') j++;
        j++;
      }
      if (j >= s.length) bad('unterminated string');
      try {
        toks.push({
          t: 'str',
          v: JSON.parse(
            s
              .slice(i, j + 1)
              .replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1')
              .replace(/\\'/g, "'"),
          ) as string,
        });
      } catch {
        bad(`string escape not understood: ${s.slice(i, j + 1)}`);
      }
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = s.indexOf('`', i + 1);
      if (j < 0) bad('unterminated raw string');
      toks.push({ t: 'str', v: s.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === "'") bad('character constants are not supported');
    if (s.startsWith(':=', i)) {
      toks.push({ t: 'op', v: ':=' });
      i += 2;
      continue;
    }
    if ('|()=,'.includes(c)) {
      toks.push({ t: 'op', v: c });
      i++;
      continue;
    }
    let m = /^-?(0x[0-9a-fA-F]+|\d+(\.\d+)?)/.exec(s.slice(i));
    if (m && (c !== '-' || /\d/.test(s[i + 1] ?? ''))) {
      toks.push({ t: 'num', v: m[0] });
      i += m[0].length;
      continue;
    }
    m = /^\$[A-Za-z0-9_]*/.exec(s.slice(i));
    if (m) {
      toks.push({ t: 'var', v: m[0] });
      i += m[0].length;
      continue;
    }
    m = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(s.slice(i));
    if (m) {
      toks.push({ t: 'field', v: m[0], adj: i > 0 && !SPACE.test(s[i - 1]!) });
      i += m[0].length;
      continue;
    }
    if (c === '.') {
      toks.push({ t: 'field', v: '.' });
      i++;
      continue;
    }
    m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i));
    if (m) {
      const w = m[0];
      toks.push({ t: w === 'true' || w === 'false' ? 'bool' : w === 'nil' ? 'nil' : 'ident', v: w });
      i += w.length;
      continue;
    }
    bad(`unexpected "${c}" in action`);
  }
  return toks;
}

function parsePipe(toks: Tok[], line: number): Pipe {
  let pos = 0;
  const bad = (m: string): never => {
    throw new GoSyntaxError(line, m);
  };
  const pipe = (): Pipe => {
    const p: Pipe = { decl: [], assign: false, cmds: [], line };
    // declarations: $x := / $i, $v := / $x =
    let look = pos;
    const names: string[] = [];
    while (toks[look]?.t === 'var' && !toks[look]!.v.slice(1).includes('.')) {
      names.push(toks[look]!.v);
      if (toks[look + 1]?.v === ',') {
        look += 2;
        continue;
      }
      break;
    }
    const after = toks[look + 1];
    if (names.length && after?.t === 'op' && (after.v === ':=' || after.v === '=')) {
      p.decl = names.map((n) => n.slice(1));
      p.assign = after.v === '=';
      pos = look + 2;
    }
    for (;;) {
      const cmd: Arg[] = [];
      while (pos < toks.length && !(toks[pos]!.t === 'op' && (toks[pos]!.v === '|' || toks[pos]!.v === ')'))) cmd.push(arg());
      if (!cmd.length) bad('missing command in pipeline');
      p.cmds.push(cmd);
      if (toks[pos]?.v === '|') {
        pos++;
        continue;
      }
      break;
    }
    return p;
  };
  const chain = (s: string) => s.split('.').filter((x) => x);
  const arg = (): Arg => {
    const t = toks[pos++]!;
    switch (t.t) {
      case 'str':
        return { k: 'str', v: t.v };
      case 'num':
        return { k: 'num', v: Number(t.v), text: t.v };
      case 'bool':
        return { k: 'bool', v: t.v === 'true' };
      case 'nil':
        return { k: 'nil' };
      case 'ident':
        if (KEYWORDS.has(t.v)) bad(`unexpected keyword "${t.v}"`);
        return { k: 'ident', name: t.v };
      case 'field':
        return t.v === '.' ? { k: 'dot' } : { k: 'field', on: null, names: chain(t.v) };
      case 'var': {
        const [name, ...rest] = t.v.slice(1).split('.');
        const v: Arg = { k: 'var', name: name!, names: rest };
        if (toks[pos]?.t === 'field' && toks[pos]!.v !== '.' && toks[pos]!.adj) v.names.push(...chain(toks[pos++]!.v));
        return v;
      }
      case 'op':
        if (t.v === '(') {
          const inner = pipe();
          if (toks[pos++]?.v !== ')') bad('missing ")"');
          const names = toks[pos]?.t === 'field' && toks[pos]!.v !== '.' && toks[pos]!.adj ? chain(toks[pos++]!.v) : [];
          return { k: 'pipe', pipe: inner, names };
        }
    }
    return bad(`unexpected "${t.v}"`);
  };
  const p = pipe();
  if (pos < toks.length) bad(`unexpected "${toks[pos]!.v}"`);
  return p;
}

/** Parse Go template source into a tree. Throws GoSyntaxError (with the line) on bad syntax. */
export function parseGoTemplate(src: string): Node[] {
  const raws = split(src);
  let idx = 0;
  type Stop = { word: 'end' | 'else'; rest: string; line: number };
  const block = (inside: boolean): { nodes: Node[]; stop?: Stop } => {
    const nodes: Node[] = [];
    while (idx < raws.length) {
      const r = raws[idx++]!;
      if (r.text) nodes.push({ k: 'text', v: r.text });
      if (r.comment || r.action === undefined) continue;
      const a = r.action,
        line = r.line;
      const word = /^[A-Za-z_]+/.exec(a)?.[0] ?? '';
      const rest = a.slice(word.length).trim();
      if (word === 'end' || word === 'else') {
        if (!inside) throw new GoSyntaxError(line, `unexpected {{${word}}}`);
        return { nodes, stop: { word, rest, line } };
      }
      if (word === 'if' || word === 'with') {
        const n: Extract<Node, { k: 'if' | 'with' }> = { k: word, branches: [], line };
        let pipeText = rest,
          pline = line;
        for (;;) {
          const pipe = parsePipe(tokenize(pipeText, pline), pline);
          const b = block(true);
          n.branches.push({ pipe, body: b.nodes, line: pline });
          if (!b.stop) throw new GoSyntaxError(line, `{{${word}}} without {{end}}`);
          if (b.stop.word === 'end') break;
          const m = /^(if|with)\b/.exec(b.stop.rest);
          if (m && m[1] === word) {
            pipeText = b.stop.rest.slice(m[0].length).trim();
            pline = b.stop.line;
            continue;
          }
          if (m) throw new GoSyntaxError(b.stop.line, `{{else ${m[1]}}} inside {{${word}}} is not supported`);
          const e = block(true);
          if (e.stop?.word !== 'end') throw new GoSyntaxError(line, `{{${word}}} without {{end}}`);
          n.els = e.nodes;
          break;
        }
        nodes.push(n);
        continue;
      }
      if (word === 'range') {
        const pipe = parsePipe(tokenize(rest, line), line);
        const b = block(true);
        if (!b.stop) throw new GoSyntaxError(line, '{{range}} without {{end}}');
        const n: Extract<Node, { k: 'range' }> = { k: 'range', pipe, body: b.nodes, line };
        if (b.stop.word === 'else') {
          const e = block(true);
          if (e.stop?.word !== 'end') throw new GoSyntaxError(line, '{{range}} without {{end}}');
          n.els = e.nodes;
        }
        nodes.push(n);
        continue;
      }
      if (word === 'break' || word === 'continue') {
        nodes.push({ k: word, line });
        continue;
      }
      if (word === 'define' || word === 'block' || word === 'template') {
        // "name" [pipeline]: a define names a body; template invokes one; block is both at once
        const m = /^("(?:[^"\\]|\\.)*"|`[^`]*`)\s*([\s\S]*)$/.exec(rest);
        if (!m) throw new GoSyntaxError(line, `{{${word}}} needs a quoted template name`);
        const name = m[1]!.startsWith('`') ? m[1]!.slice(1, -1) : (JSON.parse(m[1]!) as string);
        const pipe = m[2]!.trim() ? parsePipe(tokenize(m[2]!, line), line) : undefined;
        if (word === 'define' && pipe) throw new GoSyntaxError(line, '{{define}} takes only a name');
        if (word === 'block' && !pipe) throw new GoSyntaxError(line, '{{block}} needs a pipeline');
        if (word !== 'template') {
          if (inside && word === 'define') throw new GoSyntaxError(line, '{{define}} only at the top level');
          const b = block(true);
          if (b.stop?.word !== 'end') throw new GoSyntaxError(line, `{{${word}}} without {{end}}`);
          nodes.push({ k: 'define', name, body: b.nodes, line });
        }
        if (word !== 'define') nodes.push({ k: 'template', name, pipe, line });
        continue;
      }
      nodes.push({ k: 'out', pipe: parsePipe(tokenize(a, line), line), line });
    }
    if (inside) throw new GoSyntaxError(raws[raws.length - 1]?.line ?? 1, 'missing {{end}}');
    return { nodes };
  };
  return block(false).nodes;
}
