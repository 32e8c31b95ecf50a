// Values and conditions of a Go template as Liquid: fields through wulf's data map, pipelines as
// filter chains, Go's truth (empty string, list, map, false, nil are false: `!= blank`), and/or/not
// as Liquid conditions (which chain right to left) or, where a later argument could fail or needs
// temporaries, as Go's short-circuit in nested ifs, and temporaries (`assign`/`capture`) for what
// Liquid cannot nest. The terms (Val, Cond, Part) are liquid-terms.ts; the function table is
// functions.ts; blocks and actions convert.ts.
import type { Arg, Pipe } from './parse.ts';
import {
  ANY,
  BOOL,
  IPXE_BMC_KEYS,
  MISSING_WHY,
  NETDEV,
  NETDEV_FIELDS,
  NODE_FIELDS,
  NUM,
  ROOT_FIELDS,
  ROOT_KEYS,
  ROOT_TY,
  STR,
  type Field,
  type TemplateKind,
  type Ty,
} from './fields.ts';
import { NEG, Unconvertible, join, quote, type Cond, type ConvertProblem, type Part, type Val } from './liquid-terms.ts';

/** The state of one conversion (output so far, names in use, variable scopes, the dot) and value compilation. */
export abstract class Values {
  problems: ConvertProblem[] = [];
  protected out = '';
  protected n = 0;
  protected used: Set<string>;
  protected scopes: Map<string, Val>[];
  protected dot: Val;

  constructor(kind: TemplateKind = 'overlay') {
    this.used = new Set([...ROOT_KEYS, ...(kind === 'overlay' ? [] : IPXE_BMC_KEYS)]);
    this.dot = { liq: '', ty: ROOT_TY[kind], simple: true };
    this.scopes = [new Map([['', this.dot]])];
  }

  fresh(base: string): string {
    let name = base,
      i = 2;
    while (this.used.has(name)) name = `${base}_${i++}`;
    this.used.add(name);
    return name;
  }
  tmp(): string {
    return this.fresh(`tmp${++this.n}`);
  }
  /** Append Liquid; the argument is evaluated first, so temporaries it assigns come before it. */
  emit(s: string) {
    this.out += s;
  }

  /** What fn emits, kept apart (not written) with fn's result. */
  captured<T>(fn: () => T): { pre: string; x: T } {
    const saved = this.out;
    this.out = '';
    try {
      const x = fn();
      return { pre: this.out, x };
    } finally {
      this.out = saved;
    }
  }

  lookup(name: string, line: number): Val {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const v = this.scopes[i]!.get(name);
      if (v) return v;
    }
    throw new Unconvertible(line, `undefined variable $${name}`);
  }

  /** Include/IncludeFrom as wulf's include tags: optional (Warewulf reads a missing file as empty), chomp (it drops one final newline). */
  includeTag(name: string, a: Val[], line: number): string {
    if (name === 'Include') {
      if (a.length !== 1) throw new Unconvertible(line, 'Include takes one argument');
      return `{% include_file ${this.operand(a[0]!, line)} optional chomp %}`;
    }
    if (a.length !== 2) throw new Unconvertible(line, 'IncludeFrom takes two arguments');
    if (a[0]!.liq !== 'imageName') throw new Unconvertible(line, "IncludeFrom reads only from the node's own image (.ImageName) in wulf");
    return `{% include_image ${this.operand(a[1]!, line)} optional chomp %}`;
  }

  // ---- values ----

  /** A plain operand (path or literal) for v: a value with filters is assigned to a temporary first. */
  operand(v: Val, _line: number): string {
    if (v.ty.k === 'netdevs') return join(v.liq, 'netdevs');
    if (v.simple) return v.liq || 'nil';
    const t = this.tmp();
    this.emit(`{% assign ${t} = ${v.liq} %}`);
    return t;
  }

  literal(s: string, line: number): Val {
    const q = quote(s);
    if (q !== undefined && !s.includes('\n')) return { liq: q, ty: STR, simple: true, lit: s };
    const t = this.tmp();
    this.emit(`{% capture ${t} %}${s.includes('{{') || s.includes('{%') ? `{% raw %}${s}{% endraw %}` : s}{% endcapture %}`);
    void line;
    return { liq: t, ty: STR, simple: true, lit: s };
  }

  field(v: Val, name: string, line: number): Val {
    let table: Record<string, Field> | undefined;
    switch (v.ty.k) {
      case 'root': {
        // Warewulf's .Ipv6: the server has both an IPv6 address and a prefix length
        if (name === 'Ipv6')
          return this.asVal(
            {
              k: 'and',
              xs: [
                { k: 'atom', l: 'server.ipaddr6', op: '!=', r: 'blank' },
                { k: 'atom', l: 'server.prefixlen6', op: '!=', r: 'blank' },
              ],
            },
            line,
          );
        const f = ROOT_FIELDS[name] ?? NODE_FIELDS[name];
        if (f) return this.at(v, f);
        break;
      }
      case 'node':
        table = NODE_FIELDS;
        break;
      case 'netdev':
        table = NETDEV_FIELDS;
        break;
      case 'struct':
        table = v.ty.fields;
        break;
      case 'bool':
        if (v.ty.methods?.includes(name)) return v;
        break;
      case 'netdevs':
        return this.netdevNamed(v, this.literal(name, line), line);
      case 'map':
        return { liq: join(this.operand(v, line), name), ty: v.ty.of, simple: true };
      case 'any':
        return { liq: join(this.operand(v, line), name), ty: ANY, simple: true };
    }
    const f = table?.[name];
    if (!f) throw new Unconvertible(line, `.${name}: ${MISSING_WHY[name] ?? "not a field wulf's template data has here"}`);
    return this.at(v, f);
  }

  /**
   * One netdev of a netdevs map by name, false when there is none (Go's nil for a missing map entry;
   * wulf's `netdev` map is strict, and Liquid's `nil` literal is a drop that never equals blank).
   */
  netdevNamed(v: Val, name: Val, line: number): Val {
    return {
      liq: `${join(v.liq, 'netdevs')} | where: "name", ${this.operand(name, line)} | first | default: false`,
      ty: NETDEV,
      simple: false,
    };
  }

  at(v: Val, [key, ty]: Field): Val {
    if (key.startsWith('"')) return this.literal(key.slice(1), 0);
    const base = v.simple ? v.liq : this.operand(v, 0);
    return { liq: join(base, key), ty, simple: true };
  }

  val(a: Arg, line: number): Val {
    switch (a.k) {
      case 'dot':
        return this.dot;
      case 'str':
        return this.literal(a.v, line);
      case 'num':
        return { liq: a.text, ty: NUM, simple: true, lit: a.text };
      case 'bool':
        return { liq: String(a.v), ty: BOOL, simple: true, lit: String(a.v) };
      case 'nil':
        return { liq: 'nil', ty: ANY, simple: true };
      case 'field': {
        let v = a.on ? this.val(a.on, line) : this.dot;
        for (const n of a.names) v = this.field(v, n, line);
        return v;
      }
      case 'var': {
        let v = this.lookup(a.name, line);
        for (const n of a.names) v = this.field(v, n, line);
        return v;
      }
      case 'pipe': {
        let v = this.pipeVal(a.pipe);
        for (const n of a.names) v = this.field(v, n, line);
        return v;
      }
      case 'ident':
        return this.asVal(this.call(a.name, [], undefined, line), line);
    }
  }

  pipeVal(p: Pipe): Val {
    return this.asVal(this.pipeAny(p), p.line);
  }

  pipeAny(p: Pipe): Val | Cond {
    let cur: Val | Cond | undefined;
    for (const cmd of p.cmds) {
      const head = cmd[0]!;
      if (head.k === 'ident') cur = this.call(head.name, cmd.slice(1), cur === undefined ? undefined : this.asVal(cur, p.line), p.line);
      else if (cmd.length > 1 || cur !== undefined) throw new Unconvertible(p.line, 'only a function can take arguments or a piped value');
      else cur = this.val(head, p.line);
    }
    return cur!;
  }

  isCond(x: Val | Cond): x is Cond {
    return 'k' in x;
  }

  asVal(x: Val | Cond, line: number): Val {
    if (!this.isCond(x)) return x;
    if (x.k === 'lazy') return this.lowerValue(x.op, x.parts, x.line);
    if (x.k !== 'atom' && x.args) {
      // Go's and/or return an argument: or's first true one (else its last), and's first false one (else its last).
      // Liquid's default filter is that or when every argument but the last is a string, list or bool
      // (its empty and false are Go's; a number 0 or an empty map would not fall through)
      // (and the arguments all of one kind, or strings and bools, as lowerValue takes them)
      const vals = x.args.filter((a): a is Val => !this.isCond(a));
      const kinds = new Set(vals.map((v) => v.ty.k));
      const oneKind = kinds.size === 1 || [...kinds].every((k) => k === 'str' || k === 'bool' || k === 'any');
      if (
        x.k === 'or' &&
        vals.length === x.args.length &&
        oneKind &&
        vals.slice(0, -1).every((v) => ['str', 'list', 'bool'].includes(v.ty.k) && v.liq !== '')
      ) {
        const [a, ...rest] = vals;
        return {
          liq: [this.operand(a!, line), ...rest.map((v) => `default: ${this.operand(v, line)}`)].join(' | '),
          ty: kinds.size === 1 ? a!.ty : ANY,
          simple: !rest.length,
        };
      }
      return this.lowerValue(
        x.k,
        x.args.map((a) => ({ pre: '', x: a })),
        line,
      );
    }
    return this.boolTemp(x);
  }

  /**
   * Go's and/or as a value, short-circuit: a temporary takes each argument's value in turn, the next
   * one evaluated only while the value so far is true (and) or false (or).
   */
  lowerValue(op: 'and' | 'or', parts: Part[], line: number): Val {
    const mark = this.out.length;
    try {
      return this.lowerValueAt(op, parts, line);
    } catch (e) {
      this.out = this.out.slice(0, mark);
      throw e;
    }
  }

  private lowerValueAt(op: 'and' | 'or', parts: Part[], line: number): Val {
    const t = this.tmp();
    const tys: Ty[] = [];
    let open = 0;
    parts.forEach((p, i) => {
      this.emit(p.pre);
      const v = this.asVal(p.x, line);
      if (v.liq === '') throw new Unconvertible(line, `${op} with the data root as an argument, used as a value, has no Liquid equivalent`);
      this.emit(`{% assign ${t} = ${v.ty.k === 'netdevs' ? join(v.liq, 'netdevs') : v.liq} %}`);
      const ty: Ty = v.ty.k === 'netdevs' ? { k: 'list', of: NETDEV } : v.ty;
      tys.push(ty);
      if (i === parts.length - 1) return;
      this.emit(`{% ${op === 'and' ? 'if' : 'unless'} ${this.condText(this.truth({ liq: t, ty, simple: true }, line))} %}`);
      open++;
    });
    this.emit(`{% end${op === 'and' ? 'if' : 'unless'} %}`.repeat(open));
    if (tys.every((x) => x.k === tys[0]!.k)) return { liq: t, ty: tys[0]!, simple: true };
    // a value that may be a number, list or map, or else a string, has no one Liquid test of Go's truth
    // (0 is true in Liquid), nor prints as Go prints it
    if (tys.some((x) => !['str', 'bool', 'any'].includes(x.k)))
      throw new Unconvertible(
        line,
        `${op} used as a value, with a number, list or map among arguments of other kinds, has no Liquid equivalent`,
      );
    return { liq: t, ty: ANY, simple: true };
  }

  /**
   * Go's and/or as a condition, short-circuit: a boolean temporary, the parts tested in nested ifs
   * (a run of parts that cannot fail and need no temporaries shares one test).
   */
  lowerBool(op: 'and' | 'or', parts: Part[], line: number): string {
    const b = this.tmp();
    const tag = op === 'and' ? 'if' : 'unless';
    this.emit(`{% assign ${b} = ${op === 'or'} %}`);
    const groups: Part[][] = [];
    parts.forEach((p, i) => {
      if (i === 0 || !this.safe(p)) groups.push([p]);
      else groups[groups.length - 1]!.push(p);
    });
    for (const g of groups) {
      this.emit(g[0]!.pre);
      const xs = g.map((p) => this.cond(p.x, line));
      this.emit(`{% ${tag} ${this.condText(xs.length === 1 ? xs[0]! : { k: op, xs })} %}`);
    }
    this.emit(`{% assign ${b} = ${op === 'and'} %}`);
    this.emit(`{% end${tag} %}`.repeat(groups.length));
    return b;
  }

  /**
   * A part Liquid may evaluate whether or not Go would: it needs no temporaries and cannot fail (no
   * list index, which is an error past the end under strict variables; no regular expression).
   */
  safe(p: Part): boolean {
    if (p.pre) return false;
    const ok = (s: string | undefined) => s === undefined || !/\[|regex_/.test(s);
    const x = p.x;
    if (!this.isCond(x)) return ok(x.liq);
    if (x.k === 'lazy') return false;
    if (x.k === 'atom') return ok(x.l) && ok(x.r);
    return x.xs.every((c) => this.safe({ pre: '', x: c }));
  }

  /** A condition's truth in a temporary (true/false). */
  boolTemp(c: Cond): Val {
    const t = this.tmp();
    this.emit(`{% if ${this.condText(c)} %}{% assign ${t} = true %}{% else %}{% assign ${t} = false %}{% endif %}`);
    return { liq: t, ty: BOOL, simple: true };
  }

  truth(v: Val, line: number): Cond {
    if (v.lit !== undefined)
      return { k: 'atom', l: v.ty.k === 'str' ? (v.lit === '' ? 'false' : 'true') : v.lit === '0' || v.lit === 'false' ? 'false' : 'true' };
    if (v.ty.k === 'netdevs') return { k: 'atom', l: join(v.liq, 'netdevs'), op: '!=', r: 'blank' };
    // a struct is never empty in Go; a netdev (a pointer in its map) is when it is missing
    if (v.ty.k === 'root' || v.ty.k === 'struct' || v.ty.k === 'node') return { k: 'atom', l: 'true' };
    if (v.liq === 'nil') return { k: 'atom', l: 'false' };
    // a number is false when 0 (Liquid's 0 is truthy and not blank)
    if (v.ty.k === 'num') return { k: 'atom', l: this.operand(v, line), op: '!=', r: '0' };
    return { k: 'atom', l: this.operand(v, line), op: '!=', r: 'blank' };
  }

  cond(x: Val | Cond, line: number): Cond {
    return this.isCond(x) ? x : this.truth(x, line);
  }

  not(cond: Cond, line: number): Cond {
    if (cond.k === 'lazy') return { k: 'atom', l: this.lowerBool(cond.op, cond.parts, cond.line), op: '==', r: 'false' };
    if (cond.k !== 'atom') return { k: cond.k === 'and' ? 'or' : 'and', xs: cond.xs.map((x) => this.not(x, line)) };
    const c = cond as Extract<Cond, { k: 'atom' }>;
    if (c.op && NEG[c.op]) return { k: 'atom', l: c.l, op: NEG[c.op], r: c.r };
    if (!c.op && (c.l === 'true' || c.l === 'false')) return { k: 'atom', l: c.l === 'true' ? 'false' : 'true' };
    void line;
    return { k: 'atom', l: this.boolTemp(c).liq, op: '==', r: 'false' };
  }

  /** Liquid condition text: and/or chains evaluate right to left, so only the last operand may be a chain of the other kind. */
  condText(c: Cond): string {
    if (c.k === 'atom') return c.op ? `${c.l} ${c.op} ${c.r}` : c.l;
    if (c.k === 'lazy') return this.lowerBool(c.op, c.parts, c.line);
    const flat: Cond[] = [];
    for (const x of c.xs) {
      if (x.k === c.k) flat.push(...x.xs);
      else if (x.k === 'lazy') flat.push({ k: 'atom', l: this.lowerBool(x.op, x.parts, x.line) });
      else flat.push(x);
    }
    const simple = flat.filter((x) => x.k === 'atom');
    const compound = flat.filter((x) => x.k !== 'atom');
    const parts = simple.map((x) => this.condText(x));
    compound.forEach((x, i) => {
      if (i === compound.length - 1) parts.push(this.condText(x));
      else parts.push(this.boolTemp(x).liq);
    });
    return parts.join(` ${c.k} `);
  }

  /** A Go function call: its Liquid value, or a condition (functions.ts). */
  abstract call(name: string, raw: Arg[], extra: Val | undefined, line: number): Val | Cond;

  argAny(a: Arg, line: number): Val | Cond {
    if (a.k === 'pipe' && !a.names.length) return this.pipeAny(a.pipe);
    if (a.k === 'ident') return this.call(a.name, [], undefined, line);
    return this.val(a, line);
  }

  /** printf/print as concatenation: %s %v %d and %% only. */
  format(name: string, a: Val[], line: number): Val {
    const whole = a.find(
      (x, i) => (name === 'print' || i > 0) && ['list', 'map', 'netdevs', 'netdev', 'node', 'root', 'struct'].includes(x.ty.k),
    );
    if (whole) throw new Unconvertible(line, `${name} of a whole list or map (Go prints [a b] / map[k:v]) has no Liquid equivalent`);
    const pieces: Val[] = [];
    if (name === 'print') {
      for (const x of a)
        if (x.ty.k !== 'str' && x.lit === undefined && x.ty.k !== 'any')
          throw new Unconvertible(line, 'print of non-string values (Go puts spaces between them)');
        else pieces.push(x);
    } else {
      const f = a[0];
      if (!f || f.lit === undefined) throw new Unconvertible(line, 'printf needs a literal format');
      let i = 1,
        lit = '';
      const re = /%(.)/gs;
      let last = 0,
        m: RegExpExecArray | null;
      while ((m = re.exec(f.lit))) {
        lit += f.lit.slice(last, m.index);
        last = re.lastIndex;
        if (m[1] === '%') {
          lit += '%';
          continue;
        }
        if (!'svd'.includes(m[1]!)) throw new Unconvertible(line, `printf verb %${m[1]} has no Liquid equivalent (only %s, %v, %d)`);
        if (lit) {
          pieces.push(this.literal(lit, line));
          lit = '';
        }
        const x = a[i++];
        if (!x) throw new Unconvertible(line, 'printf has fewer arguments than verbs');
        pieces.push(x);
      }
      lit += f.lit.slice(last);
      if (lit) pieces.push(this.literal(lit, line));
      if (i !== a.length) throw new Unconvertible(line, 'printf has more arguments than verbs');
    }
    return this.concat(pieces, line);
  }

  /** The pieces' texts one after the other. */
  concat(pieces: Val[], line: number): Val {
    if (pieces.every((p) => p.lit !== undefined)) return this.literal(pieces.map((p) => p.lit).join(''), line);
    const [first, ...rest] = pieces;
    // a literal head is a string already; a value head may be nil or a number: append "" makes it text
    const head = first!.lit !== undefined && first!.ty.k === 'str' ? first!.liq : `${this.operand(first!, line)} | append: ""`;
    return { liq: [head, ...rest.map((p) => `append: ${this.operand(p, line)}`)].join(' | '), ty: STR, simple: false };
  }
}
