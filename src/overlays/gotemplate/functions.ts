// Go template functions (text/template built-ins, Warewulf's, Sprig's) → Liquid filters, tags,
// operators and temporaries. A function with no faithful equivalent is reported, never guessed.
import type { Arg } from './parse.ts';
import { ANY, NUM, STR, type Ty } from './fields.ts';
import type { Values } from './values.ts';
import { CMP, Unconvertible, join, type Cond, type Part, type Val } from './liquid-terms.ts';

/** One call being converted: its arguments, and the helpers the conversions of the functions share. */
class Call {
  constructor(
    readonly c: Values,
    readonly name: string,
    readonly raw: Arg[],
    readonly extra: Val | undefined,
    readonly line: number,
  ) {}

  /** The arguments as values, the piped one last. */
  args(): Val[] {
    return [...this.raw.map((a) => this.c.val(a, this.line)), ...(this.extra ? [this.extra] : [])];
  }

  /** The arguments as values, exactly `n` of them. */
  need(n: number): Val[] {
    const a = this.args();
    if (a.length !== n) throw new Unconvertible(this.line, `${this.name} takes ${n} argument${n === 1 ? '' : 's'}`);
    return a;
  }

  /** `input | f: args` */
  filter(input: Val, f: string, ...fa: Val[]): Val {
    return {
      liq: `${input.liq || 'nil'} | ${f}${fa.length ? ': ' + fa.map((x) => this.c.operand(x, this.line)).join(', ') : ''}`,
      ty: STR,
      simple: false,
    };
  }

  /** The node's network devices as the list a filter can take. */
  chainOn(input: Val): Val {
    return input.ty.k === 'netdevs' ? { liq: join(input.liq, 'netdevs'), ty: input.ty, simple: true } : input;
  }

  /** A function of one argument that is one filter. */
  simple1(f: string, ty: Ty = STR): Val {
    const [x] = this.need(1);
    return { ...this.filter(this.chainOn(x!), f), ty };
  }
}

/** Convert the call `name raw... [extra]` (extra: the value piped in). */
export function callFunction(c: Values, name: string, raw: Arg[], extra: Val | undefined, line: number): Val | Cond {
  const call = new Call(c, name, raw, extra, line);
  if (CMP[name]) return comparison(call);
  const r =
    conditionFunction(call) ??
    stringFunction(call) ??
    numberFunction(call) ??
    valueFunction(call) ??
    collectionFunction(call) ??
    fileFunction(call);
  if (r) return r;
  throw new Unconvertible(line, `function ${name} has no Liquid equivalent in wulf`);
}

/** eq, ne, lt, le, gt, ge: `eq a b c` is a == b or a == c; a comparison with "" tests for blank. */
function comparison(call: Call): Cond {
  const { c, name, line } = call;
  const a = call.args();
  if (a.length < 2 || (name !== 'eq' && a.length !== 2))
    throw new Unconvertible(line, `${name} takes ${name === 'eq' ? 'two or more' : 'two'} arguments`);
  const l = a[0]!;
  const atoms = a.slice(1).map((r): Cond => {
    const blankSide = l.lit === '' ? r : r.lit === '' ? l : undefined;
    if (blankSide && (name === 'eq' || name === 'ne'))
      return { k: 'atom', l: c.operand(blankSide, line), op: name === 'eq' ? '==' : '!=', r: 'blank' };
    return { k: 'atom', l: c.operand(l, line), op: CMP[name], r: c.operand(r, line) };
  });
  return atoms.length === 1 ? atoms[0]! : { k: 'or', xs: atoms };
}

/** and, or, not, empty, the tests that convert to a condition (contains, hasKey, hasPrefix…) and ternary; else undefined. */
function conditionFunction(call: Call): Val | Cond | undefined {
  const { c, name, raw, extra, line } = call;
  switch (name) {
    case 'and':
    case 'or': {
      // Go evaluates and's arguments up to the first false one, or's up to the first true one: the
      // first always (its temporaries written here), each later one kept with its temporaries apart.
      // A piped value was evaluated before the call, as in Go.
      const parts: Part[] = raw.map((a, i) => (i === 0 ? { pre: '', x: c.argAny(a, line) } : c.captured(() => c.argAny(a, line))));
      if (extra) {
        // (a piped list index is read here, as Go reads it: an error past the end even when and/or would not get to it)
        let x = extra;
        if (!c.safe({ pre: '', x }) && x.liq && x.ty.k !== 'netdevs') {
          const t = c.tmp();
          c.emit(`{% assign ${t} = ${x.liq} %}`);
          x = { liq: t, ty: x.ty, simple: true };
        }
        parts.push({ pre: '', x });
      }
      if (parts.length < 1) throw new Unconvertible(line, `${name} needs arguments`);
      // one Liquid condition (which evaluates every part) only when no later part can fail or needs temporaries
      if (parts.every((p, i) => i === 0 || c.safe(p))) {
        // (a value with filters into a temporary once, for the condition and a use as a value both)
        const xs = parts.map((p) =>
          c.isCond(p.x) || p.x.simple || p.x.ty.k === 'netdevs' ? p.x : { ...p.x, liq: c.operand(p.x, line), simple: true },
        );
        return { k: name, xs: xs.map((x) => c.cond(x, line)), args: xs };
      }
      return { k: 'lazy', op: name, parts, line };
    }
    case 'not': {
      const xs = [...raw.map((a) => c.argAny(a, line)), ...(extra ? [extra] : [])];
      if (xs.length !== 1) throw new Unconvertible(line, 'not takes one argument');
      return c.not(c.cond(xs[0]!, line), line);
    }
    case 'empty': {
      const [x] = call.need(1);
      return c.not(c.truth(x!, line), line);
    }
    case 'contains': {
      const [sub, s] = call.need(2);
      return { k: 'atom', l: c.operand(s!, line), op: 'contains', r: c.operand(sub!, line) };
    }
    case 'hasKey': {
      const [m, k] = call.need(2);
      return { k: 'atom', l: `${c.operand(m!, line)}[${c.operand(k!, line)}]`, op: '!=', r: 'nil' };
    }
    case 'hasPrefix':
    case 'hasSuffix':
    case 'regexMatch': {
      const [p, s] = call.need(2);
      const t = c.tmp();
      c.emit(
        `{% assign ${t} = ${call.filter(s!, name === 'regexMatch' ? 'regex_match' : name === 'hasPrefix' ? 'has_prefix' : 'has_suffix', p!).liq} %}`,
      );
      return { k: 'atom', l: t };
    }
    case 'ternary': {
      const xs = [...raw.map((a) => c.argAny(a, line)), ...(extra ? [extra] : [])];
      if (xs.length !== 3) throw new Unconvertible(line, 'ternary takes three arguments');
      const [a, b] = [c.asVal(xs[0]!, line), c.asVal(xs[1]!, line)];
      const test = c.condText(c.cond(xs[2]!, line));
      const t = c.tmp();
      c.emit(`{% if ${test} %}{% assign ${t} = ${c.operand(a, line)} %}{% else %}{% assign ${t} = ${c.operand(b, line)} %}{% endif %}`);
      return { liq: t, ty: a.ty, simple: true };
    }
  }
  return undefined;
}

/** String functions: case, trim, replace, split, substr, regular expressions, systemd escaping…; else undefined. */
function stringFunction(call: Call): Val | undefined {
  const { c, name, line } = call;
  switch (name) {
    case 'lower':
      return call.simple1('downcase');
    case 'upper':
      return call.simple1('upcase');
    case 'trim':
      return call.simple1('strip');
    case 'basename':
      return call.simple1('basename');
    case 'SystemdEscape':
      return call.simple1('systemd_escape');
    case 'SystemdEscapePath':
      return call.simple1('systemd_escape_path');
    case 'toString': {
      const [x] = call.need(1);
      return x!;
    }
    case 'replace': {
      const [o, nw, s] = call.need(3);
      return call.filter(s!, 'replace', o!, nw!);
    }
    case 'splitList':
    case 'split': {
      // Go's strings.Split keeps empty fields (Liquid's split drops trailing ones); Sprig's split is a
      // map _0, _1… which range visits in string order (_10 before _2), as `entries` does
      const [sep, s] = call.need(2);
      if (name === 'split') return { ...call.filter(s!, 'split_map', sep!), ty: { k: 'map', of: STR } };
      return { ...call.filter(s!, 'split_exact', sep!), ty: { k: 'list', of: STR } };
    }
    case 'trimPrefix':
    case 'trimSuffix': {
      const [p, s] = call.need(2);
      return call.filter(s!, name === 'trimPrefix' ? 'trim_prefix' : 'trim_suffix', p!);
    }
    case 'squote': {
      const [x] = call.need(1);
      return { liq: `${c.operand(x!, line)} | prepend: "'" | append: "'"`, ty: STR, simple: false };
    }
    case 'substr': {
      const [s, e, str] = call.need(3);
      const a = Number(s!.lit),
        b = Number(e!.lit);
      if (s!.ty.k !== 'num' || e!.ty.k !== 'num' || s!.lit === undefined || e!.lit === undefined || a < 0 || b < a)
        throw new Unconvertible(line, 'substr converts only with literal 0 ≤ start ≤ end');
      return call.filter(str!, 'slice', { liq: String(a), ty: NUM, simple: true }, { liq: String(b - a), ty: NUM, simple: true });
    }
    case 'regexSplit': {
      const [re, s, n] = call.need(3);
      return { ...call.filter(s!, 'regex_split', re!, n!), ty: { k: 'list', of: STR } };
    }
    case 'UniqueField': {
      const [sep, idx, text] = call.need(3);
      return call.filter(text!, 'dedupe_field', sep!, idx!);
    }
    case 'regexReplaceAll': {
      const [re, s, rep] = call.need(3);
      return call.filter(s!, 'regex_replace', re!, rep!);
    }
  }
  return undefined;
}

/** len and arithmetic (inc, dec, add, sub, mul); else undefined. */
function numberFunction(call: Call): Val | undefined {
  const { name } = call;
  switch (name) {
    case 'len': {
      // Liquid's size of a map is 0: a map's length is the number of its entries
      const [x] = call.need(1);
      return { ...(x!.ty.k === 'map' ? call.filter(call.filter(x!, 'entries'), 'size') : call.filter(call.chainOn(x!), 'size')), ty: NUM };
    }
    case 'inc':
    case 'dec': {
      const [x] = call.need(1);
      return { ...call.filter(x!, name === 'inc' ? 'plus' : 'minus', { liq: '1', ty: NUM, simple: true }), ty: NUM };
    }
    case 'add':
    case 'sub':
    case 'mul': {
      const [a, b] = call.need(2);
      return { ...call.filter(a!, name === 'add' ? 'plus' : name === 'sub' ? 'minus' : 'times', b!), ty: NUM };
    }
  }
  return undefined;
}

/** default, coalesce, printf/print and cat; else undefined. */
function valueFunction(call: Call): Val | undefined {
  const { c, name, line } = call;
  switch (name) {
    case 'default': {
      const [d, x] = call.need(2);
      return { ...call.filter(x!, 'default', d!), ty: x!.ty.k === 'any' ? d!.ty : x!.ty };
    }
    case 'coalesce': {
      const a = call.args();
      if (!a.length) throw new Unconvertible(line, 'coalesce needs arguments');
      return {
        liq: [c.operand(a[0]!, line), ...a.slice(1).map((x) => `default: ${c.operand(x, line)}`)].join(' | '),
        ty: a[0]!.ty,
        simple: a.length === 1,
      };
    }
    case 'printf':
    case 'print':
      return c.format(name, call.args(), line);
    case 'cat': {
      // Sprig's cat: the values joined by single spaces (nil ones left out)
      const a = call.args();
      if (!a.length) throw new Unconvertible(line, 'cat needs arguments');
      const parts: Val[] = [];
      a.forEach((x, i) => {
        if (i) parts.push({ liq: '" "', ty: STR, simple: true, lit: ' ' });
        parts.push(x);
      });
      if (a.some((x) => x.liq === 'nil')) throw new Unconvertible(line, 'cat with a nil argument');
      return c.concat(parts, line);
    }
  }
  return undefined;
}

/** Lists and maps: join, index, list, append, without; else undefined. */
function collectionFunction(call: Call): Val | undefined {
  const { c, name, line } = call;
  switch (name) {
    case 'join': {
      const [sep, l] = call.need(2);
      return call.filter(call.chainOn(l!), 'join', sep!);
    }
    case 'index': {
      const a = call.args();
      if (a.length < 2) throw new Unconvertible(line, 'index needs a collection and a key');
      let v = a[0]!;
      for (const k of a.slice(1)) {
        if (v.ty.k === 'netdevs') v = c.netdevNamed(v, k, line);
        else if (k.lit !== undefined && k.ty.k === 'str' && !['node', 'root', 'netdev', 'struct'].includes(v.ty.k))
          v = c.field(v, k.lit, line);
        else if (v.ty.k === 'list' || v.ty.k === 'map' || v.ty.k === 'any')
          v = { liq: `${c.operand(v, line)}[${c.operand(k, line)}]`, ty: v.ty.k === 'any' ? ANY : v.ty.of, simple: true };
        else if (k.lit !== undefined) v = c.field(v, k.lit, line);
        else throw new Unconvertible(line, 'index with a computed key into a struct');
      }
      return v;
    }
    case 'list': {
      const a = call.args();
      // an empty list to start from ("" split is []; Liquid's nil literal is a drop that never equals blank)
      return {
        liq: ['"" | split: ","', ...a.map((x) => `push: ${c.operand(x, line)}`)].join(' | '),
        ty: { k: 'list', of: a[0]?.ty ?? ANY },
        simple: false,
      };
    }
    case 'append': {
      const [l, x] = call.need(2);
      return {
        liq: `${c.operand(call.chainOn(l!), line)} | push: ${c.operand(x!, line)}`,
        ty: l!.ty.k === 'list' ? l!.ty : { k: 'list', of: x!.ty },
        simple: false,
      };
    }
    case 'without': {
      const [l, ...xs] = call.args();
      if (!l || !xs.length) throw new Unconvertible(line, 'without takes a list and values');
      return { ...call.filter(call.chainOn(l), 'without', ...xs), ty: l.ty.k === 'list' ? l.ty : { k: 'list', of: ANY } };
    }
  }
  return undefined;
}

/** Warewulf's Include, IncludeFrom, IncludeBlock and readlink; the file actions and IgnitionJson are refused here; else undefined. */
function fileFunction(call: Call): Val | undefined {
  const { c, name, line } = call;
  switch (name) {
    case 'Include':
    case 'IncludeFrom': {
      const t = c.tmp();
      c.emit(`{% capture ${t} %}${c.includeTag(name, call.args(), line)}{% endcapture %}`);
      return { liq: t, ty: STR, simple: true };
    }
    case 'IncludeBlock': {
      const [p, mark] = call.need(2);
      const t = c.tmp();
      c.emit(`{% capture ${t} %}{% include_file ${c.operand(p!, line)} optional %}{% endcapture %}`);
      return call.filter({ liq: t, ty: STR, simple: true }, 'lines_before_match', mark!, mark!);
    }
    case 'file':
    case 'softlink':
    case 'abort':
    case 'nobackup':
      throw new Unconvertible(line, `${name} converts only as an action of its own ({{ ${name} … }})`);
    case 'ImportLink':
      throw new Unconvertible(line, 'ImportLink converts only as an action of its own ({{ ImportLink PATH }})');
    case 'readlink': {
      const [p] = call.need(1);
      const t = c.tmp();
      c.emit(`{% capture ${t} %}{% readlink ${c.operand(p!, line)} %}{% endcapture %}`);
      return { liq: t, ty: STR, simple: true };
    }
    case 'IgnitionJson':
      throw new Unconvertible(line, 'IgnitionJson: wulf has no ignition support in templates');
  }
  return undefined;
}
