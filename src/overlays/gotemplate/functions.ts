// Go template functions (text/template built-ins, Warewulf's, Sprig's) → Liquid filters, tags,
// operators and temporaries. A function with no faithful equivalent is reported, never guessed.
import type { Arg } from './parse.ts';
import { ANY, NUM, STR, type Ty } from './fields.ts';
import { CMP, Unconvertible, join, type Cond, type Part, type Val, type Values } from './values.ts';

/** Convert the call `name raw... [extra]` (extra: the value piped in). */
export function callFunction(c: Values, name: string, raw: Arg[], extra: Val | undefined, line: number): Val | Cond {
  const args = (): Val[] => [...raw.map((a) => c.val(a, line)), ...(extra ? [extra] : [])];
  const need = (a: Val[], n: number) => {
    if (a.length !== n) throw new Unconvertible(line, `${name} takes ${n} argument${n === 1 ? '' : 's'}`);
    return a;
  };
  const filter = (input: Val, f: string, ...fa: Val[]): Val => ({
    liq: `${input.liq || 'nil'} | ${f}${fa.length ? ': ' + fa.map((x) => c.operand(x, line)).join(', ') : ''}`,
    ty: STR,
    simple: false,
  });
  const chainOn = (input: Val): Val => (input.ty.k === 'netdevs' ? { liq: join(input.liq, 'netdevs'), ty: input.ty, simple: true } : input);
  const simple1 = (f: string, ty: Ty = STR) => {
    const [x] = need(args(), 1);
    return { ...filter(chainOn(x!), f), ty };
  };
  if (CMP[name]) {
    const a = args();
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
      const [x] = need(args(), 1);
      return c.not(c.truth(x!, line), line);
    }
    case 'contains': {
      const [sub, s] = need(args(), 2);
      return { k: 'atom', l: c.operand(s!, line), op: 'contains', r: c.operand(sub!, line) };
    }
    case 'hasKey': {
      const [m, k] = need(args(), 2);
      return { k: 'atom', l: `${c.operand(m!, line)}[${c.operand(k!, line)}]`, op: '!=', r: 'nil' };
    }
    case 'hasPrefix':
    case 'hasSuffix':
    case 'regexMatch': {
      const [p, s] = need(args(), 2);
      const t = c.tmp();
      c.emit(
        `{% assign ${t} = ${filter(s!, name === 'regexMatch' ? 'regex_match' : name === 'hasPrefix' ? 'has_prefix' : 'has_suffix', p!).liq} %}`,
      );
      return { k: 'atom', l: t };
    }
    case 'len': {
      // Liquid's size of a map is 0: a map's length is the number of its entries
      const [x] = need(args(), 1);
      return { ...(x!.ty.k === 'map' ? filter(filter(x!, 'entries'), 'size') : filter(chainOn(x!), 'size')), ty: NUM };
    }
    case 'lower':
      return simple1('downcase');
    case 'upper':
      return simple1('upcase');
    case 'trim':
      return simple1('strip');
    case 'basename':
      return simple1('basename');
    case 'SystemdEscape':
      return simple1('systemd_escape');
    case 'SystemdEscapePath':
      return simple1('systemd_escape_path');
    case 'toString': {
      const [x] = need(args(), 1);
      return x!;
    }
    case 'inc':
    case 'dec': {
      const [x] = need(args(), 1);
      return { ...filter(x!, name === 'inc' ? 'plus' : 'minus', { liq: '1', ty: NUM, simple: true }), ty: NUM };
    }
    case 'add':
    case 'sub':
    case 'mul': {
      const [a, b] = need(args(), 2);
      return { ...filter(a!, name === 'add' ? 'plus' : name === 'sub' ? 'minus' : 'times', b!), ty: NUM };
    }
    case 'replace': {
      const [o, nw, s] = need(args(), 3);
      return filter(s!, 'replace', o!, nw!);
    }
    case 'join': {
      const [sep, l] = need(args(), 2);
      return filter(chainOn(l!), 'join', sep!);
    }
    case 'splitList':
    case 'split': {
      // Go's strings.Split keeps empty fields (Liquid's split drops trailing ones); Sprig's split is a
      // map _0, _1… which range visits in string order (_10 before _2), as `entries` does
      const [sep, s] = need(args(), 2);
      if (name === 'split') return { ...filter(s!, 'split_map', sep!), ty: { k: 'map', of: STR } };
      return { ...filter(s!, 'split_exact', sep!), ty: { k: 'list', of: STR } };
    }
    case 'trimPrefix':
    case 'trimSuffix': {
      const [p, s] = need(args(), 2);
      return filter(s!, name === 'trimPrefix' ? 'trim_prefix' : 'trim_suffix', p!);
    }
    case 'squote': {
      const [x] = need(args(), 1);
      return { liq: `${c.operand(x!, line)} | prepend: "'" | append: "'"`, ty: STR, simple: false };
    }
    case 'default': {
      const [d, x] = need(args(), 2);
      return { ...filter(x!, 'default', d!), ty: x!.ty.k === 'any' ? d!.ty : x!.ty };
    }
    case 'coalesce': {
      const a = args();
      if (!a.length) throw new Unconvertible(line, 'coalesce needs arguments');
      return {
        liq: [c.operand(a[0]!, line), ...a.slice(1).map((x) => `default: ${c.operand(x, line)}`)].join(' | '),
        ty: a[0]!.ty,
        simple: a.length === 1,
      };
    }
    case 'substr': {
      const [s, e, str] = need(args(), 3);
      const a = Number(s!.lit),
        b = Number(e!.lit);
      if (s!.ty.k !== 'num' || e!.ty.k !== 'num' || s!.lit === undefined || e!.lit === undefined || a < 0 || b < a)
        throw new Unconvertible(line, 'substr converts only with literal 0 ≤ start ≤ end');
      return filter(str!, 'slice', { liq: String(a), ty: NUM, simple: true }, { liq: String(b - a), ty: NUM, simple: true });
    }
    case 'index': {
      const a = args();
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
    case 'printf':
    case 'print':
      return c.format(name, args(), line);
    case 'cat': {
      // Sprig's cat: the values joined by single spaces (nil ones left out)
      const a = args();
      if (!a.length) throw new Unconvertible(line, 'cat needs arguments');
      const parts: Val[] = [];
      a.forEach((x, i) => {
        if (i) parts.push({ liq: '" "', ty: STR, simple: true, lit: ' ' });
        parts.push(x);
      });
      if (a.some((x) => x.liq === 'nil')) throw new Unconvertible(line, 'cat with a nil argument');
      return c.concat(parts, line);
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
    case 'list': {
      const a = args();
      // an empty list to start from ("" split is []; Liquid's nil literal is a drop that never equals blank)
      return {
        liq: ['"" | split: ","', ...a.map((x) => `push: ${c.operand(x, line)}`)].join(' | '),
        ty: { k: 'list', of: a[0]?.ty ?? ANY },
        simple: false,
      };
    }
    case 'append': {
      const [l, x] = need(args(), 2);
      return {
        liq: `${c.operand(chainOn(l!), line)} | push: ${c.operand(x!, line)}`,
        ty: l!.ty.k === 'list' ? l!.ty : { k: 'list', of: x!.ty },
        simple: false,
      };
    }
    case 'without': {
      const [l, ...xs] = args();
      if (!l || !xs.length) throw new Unconvertible(line, 'without takes a list and values');
      return { ...filter(chainOn(l), 'without', ...xs), ty: l.ty.k === 'list' ? l.ty : { k: 'list', of: ANY } };
    }
    case 'regexSplit': {
      const [re, s, n] = need(args(), 3);
      return { ...filter(s!, 'regex_split', re!, n!), ty: { k: 'list', of: STR } };
    }
    case 'UniqueField': {
      const [sep, idx, text] = need(args(), 3);
      return filter(text!, 'dedupe_field', sep!, idx!);
    }
    case 'regexReplaceAll': {
      const [re, s, rep] = need(args(), 3);
      return filter(s!, 'regex_replace', re!, rep!);
    }
    case 'Include':
    case 'IncludeFrom': {
      const t = c.tmp();
      c.emit(`{% capture ${t} %}${c.includeTag(name, args(), line)}{% endcapture %}`);
      return { liq: t, ty: STR, simple: true };
    }
    case 'IncludeBlock': {
      const [p, mark] = need(args(), 2);
      const t = c.tmp();
      c.emit(`{% capture ${t} %}{% include_file ${c.operand(p!, line)} optional %}{% endcapture %}`);
      return filter({ liq: t, ty: STR, simple: true }, 'lines_before_match', mark!, mark!);
    }
    case 'file':
    case 'softlink':
    case 'abort':
    case 'nobackup':
      throw new Unconvertible(line, `${name} converts only as an action of its own ({{ ${name} … }})`);
    case 'ImportLink':
      throw new Unconvertible(line, 'ImportLink converts only as an action of its own ({{ ImportLink PATH }})');
    case 'readlink': {
      const [p] = need(args(), 1);
      const t = c.tmp();
      c.emit(`{% capture ${t} %}{% readlink ${c.operand(p!, line)} %}{% endcapture %}`);
      return { liq: t, ty: STR, simple: true };
    }
    case 'IgnitionJson':
      throw new Unconvertible(line, 'IgnitionJson: wulf has no ignition support in templates');
  }
  throw new Unconvertible(line, `function ${name} has no Liquid equivalent in wulf`);
}
