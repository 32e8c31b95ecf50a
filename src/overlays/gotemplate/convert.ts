// Go template tree → Liquid text for wulf's overlay data. Whitespace trim markers are applied by
// the parser, so the Liquid carries none; conditions follow Go's truth (empty string, list, map,
// false, nil are false: `!= blank`); sub-expressions Liquid cannot nest become `assign`/`capture`
// temporaries. Whatever has no faithful equivalent is reported with its line, never guessed.
import type { Arg, Node, Pipe } from './parse.ts';
import { ANY, BOOL, IPXE_BMC_KEYS, MISSING_WHY, NETDEV, NETDEV_FIELDS, NODE, NODE_FIELDS, NUM, ROOT_FIELDS, ROOT_KEYS, ROOT_TY, STR, type Field, type TemplateKind, type Ty } from './fields.ts';

export interface ConvertProblem { line: number; message: string }

/** A Liquid value: an expression (a path or literal, maybe with filters) and its Go type. */
interface Val { liq: string; ty: Ty; simple: boolean; lit?: string }
/** A condition: comparison atoms joined by and/or. */
type Cond = { k: 'atom'; l: string; op?: string; r?: string } | { k: 'and' | 'or'; xs: Cond[]; vals?: Val[] };

class Unconvertible extends Error { constructor(readonly line: number, msg: string) { super(msg); } }

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NEG: Record<string, string> = { '==': '!=', '!=': '==', '<': '>=', '>=': '<', '>': '<=', '<=': '>' };
const CMP: Record<string, string> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

/** A Liquid string literal for s, or undefined when none can hold it. */
function quote(s: string): string | undefined {
  if (!s.includes('"')) return `"${s}"`;
  if (!s.includes("'")) return `'${s}'`;
  return undefined;
}

function join(base: string, key: string): string {
  if (key.startsWith('=')) return key.slice(1);
  if (!key) return base;
  const k = IDENT.test(key) ? key : `[${quote(key) ?? JSON.stringify(key)}]`;
  return !base ? k : k.startsWith('[') ? base + k : `${base}.${k}`;
}

export class Converter {
  problems: ConvertProblem[] = [];
  private out = '';
  private n = 0;
  private used: Set<string>;
  private scopes: Map<string, Val>[];
  private dot: Val;

  constructor(kind: TemplateKind = 'overlay') {
    this.used = new Set([...ROOT_KEYS, ...(kind === 'overlay' ? [] : IPXE_BMC_KEYS)]);
    this.dot = { liq: '', ty: ROOT_TY[kind], simple: true };
    this.scopes = [new Map([['', this.dot]])];
  }

  convert(nodes: Node[]): string {
    this.nodes(nodes);
    return this.out;
  }

  private fresh(base: string): string {
    let name = base, i = 2;
    while (this.used.has(name)) name = `${base}_${i++}`;
    this.used.add(name);
    return name;
  }
  private tmp(): string { return this.fresh(`tmp${++this.n}`); }
  /** Append Liquid; the argument is evaluated first, so temporaries it assigns come before it. */
  private emit(s: string) { this.out += s; }

  private nodes(ns: Node[]) {
    for (const n of ns) {
      try { this.node(n); }
      catch (e) {
        if (!(e instanceof Unconvertible)) throw e;
        this.problems.push({ line: e.line, message: e.message });
      }
    }
  }

  private text(s: string) {
    if (!s) return;
    if (s.includes('{{') || s.includes('{%')) { this.emit(`{% raw %}${s}{% endraw %}`); return; }
    // a "{" right before the next tag would make "{{{" or "{{%": keep it literal
    this.emit(s.endsWith('{') ? `${s.slice(0, -1)}{% raw %}{{% endraw %}` : s);
  }

  private node(n: Node) {
    switch (n.k) {
      case 'text': return this.text(n.v);
      case 'break': case 'continue': this.emit(`{% ${n.k} %}`); return;
      case 'unsupported': throw new Unconvertible(n.line, n.why);
      case 'out': return this.action(n.pipe);
      case 'if': return this.ifNode(n.branches, n.els);
      case 'with': return this.withNode(n.branches[0]!, n.branches.length > 1, n.els, n.line);
      case 'range': return this.rangeNode(n.pipe, n.body, n.els, n.line);
    }
  }

  private scoped(fn: () => void, dot?: Val) {
    const saved = this.dot;
    this.scopes.push(new Map());
    if (dot) this.dot = dot;
    try { fn(); } finally { this.scopes.pop(); this.dot = saved; }
  }

  private lookup(name: string, line: number): Val {
    for (let i = this.scopes.length - 1; i >= 0; i--) { const v = this.scopes[i]!.get(name); if (v) return v; }
    throw new Unconvertible(line, `undefined variable $${name}`);
  }

  /** Bind Go variable `name` to a Liquid variable holding v (assigned here). */
  private declare(name: string, v: Val, line: number, assign: boolean) {
    if (assign) {
      const old = this.lookup(name, line);
      this.emit(`{% assign ${old.liq} = ${this.valueText(v)} %}`);
      return;
    }
    const liq = this.fresh(name || 'v');
    this.emit(`{% assign ${liq} = ${this.valueText(v)} %}`);
    this.scopes[this.scopes.length - 1]!.set(name, { liq, ty: v.ty, simple: true });
  }

  /** v as the right side of an assign (a netdevs map stands for its sorted list). */
  private valueText(v: Val): string { return v.ty.k === 'netdevs' ? join(v.liq, 'netdevs') : v.liq || 'nil'; }

  // ---- actions ----

  private action(p: Pipe) {
    const line = p.line;
    if (p.decl.length > 1) throw new Unconvertible(line, 'only range declares two variables');
    const last = p.cmds[p.cmds.length - 1]!;
    if (p.decl.length === 0 && last[0]?.k === 'ident' && this.tagCall(last, p, line)) return;
    const v = this.pipeVal(p);
    if (p.decl.length) return this.declare(p.decl[0]!, v, line, p.assign);
    this.print(v, line);
  }

  private print(v: Val, line: number) {
    if (v.lit !== undefined) return this.text(v.lit);
    switch (v.ty.k) {
      case 'list': this.emit(`{{ ${this.operand(v, line)} | join: " " | prepend: "[" | append: "]" }}`); return;
      case 'map': case 'netdevs': case 'netdev': case 'node': case 'root': case 'struct':
        throw new Unconvertible(line, 'printing a whole map or struct (Go prints map[...]/{...}) has no Liquid equivalent');
    }
    this.emit(`{{ ${v.liq || 'nil'} }}`);
  }

  /** Functions that are Liquid tags (file, softlink, abort, nobackup, Include…) written where they stand. */
  private tagCall(cmd: Arg[], p: Pipe, line: number): boolean {
    const name = (cmd[0] as { name: string }).name;
    const extra = p.cmds.length > 1 ? this.pipeVal({ ...p, cmds: p.cmds.slice(0, -1) }) : undefined;
    const args = (): Val[] => [...cmd.slice(1).map((a) => this.val(a, line)), ...(extra ? [extra] : [])];
    switch (name) {
      case 'file': case 'softlink': {
        const a = args();
        if (a.length !== 1) throw new Unconvertible(line, `${name} takes one argument`);
        this.emit(`{% ${name} ${this.operand(a[0]!, line)} %}`); return true;
      }
      case 'abort': case 'nobackup':
        if (cmd.length > 1 || extra) throw new Unconvertible(line, `${name} takes no argument`);
        this.emit(`{% ${name} %}`); return true;
      case 'Include': case 'IncludeFrom': this.emit(this.includeTag(name, args(), line)); return true;
      case 'ImportLink': case 'readlink': {
        const a = args();
        if (a.length !== 1) throw new Unconvertible(line, `${name} takes one argument`);
        this.emit(`{% ${name === 'ImportLink' ? 'import_link' : 'readlink'} ${this.operand(a[0]!, line)} %}`); return true;
      }
    }
    return false;
  }

  private includeTag(name: string, a: Val[], line: number): string {
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
  private operand(v: Val, _line: number): string {
    if (v.ty.k === 'netdevs') return join(v.liq, 'netdevs');
    if (v.simple) return v.liq || 'nil';
    const t = this.tmp();
    this.emit(`{% assign ${t} = ${v.liq} %}`);
    return t;
  }

  private literal(s: string, line: number): Val {
    const q = quote(s);
    if (q !== undefined && !s.includes('\n')) return { liq: q, ty: STR, simple: true, lit: s };
    const t = this.tmp();
    this.emit(`{% capture ${t} %}${s.includes('{{') || s.includes('{%') ? `{% raw %}${s}{% endraw %}` : s}{% endcapture %}`);
    void line;
    return { liq: t, ty: STR, simple: true, lit: s };
  }

  private field(v: Val, name: string, line: number): Val {
    let table: Record<string, Field> | undefined;
    switch (v.ty.k) {
      case 'root': {
        // Warewulf's .Ipv6: the server has both an IPv6 address and a prefix length
        if (name === 'Ipv6') return this.asVal({ k: 'and', xs: [{ k: 'atom', l: 'server.ipaddr6', op: '!=', r: 'blank' }, { k: 'atom', l: 'server.prefixlen6', op: '!=', r: 'blank' }] }, line);
        const f = ROOT_FIELDS[name] ?? NODE_FIELDS[name]; if (f) return this.at(v, f); break;
      }
      case 'node': table = NODE_FIELDS; break;
      case 'netdev': table = NETDEV_FIELDS; break;
      case 'struct': table = v.ty.fields; break;
      case 'bool': if (v.ty.methods?.includes(name)) return v; break;
      case 'netdevs': return { liq: join(join(v.liq, 'netdev'), name), ty: NETDEV, simple: true };
      case 'map': return { liq: join(this.operand(v, line), name), ty: v.ty.of, simple: true };
      case 'any': return { liq: join(this.operand(v, line), name), ty: ANY, simple: true };
    }
    const f = table?.[name];
    if (!f) throw new Unconvertible(line, `.${name}: ${MISSING_WHY[name] ?? "not a field wulf's template data has here"}`);
    return this.at(v, f);
  }

  private at(v: Val, [key, ty]: Field): Val {
    if (key.startsWith('"')) return this.literal(key.slice(1), 0);
    const base = v.simple ? v.liq : this.operand(v, 0);
    return { liq: join(base, key), ty, simple: true };
  }

  private val(a: Arg, line: number): Val {
    switch (a.k) {
      case 'dot': return this.dot;
      case 'str': return this.literal(a.v, line);
      case 'num': return { liq: a.text, ty: NUM, simple: true, lit: a.text };
      case 'bool': return { liq: String(a.v), ty: BOOL, simple: true, lit: String(a.v) };
      case 'nil': return { liq: 'nil', ty: ANY, simple: true };
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
      case 'ident': return this.asVal(this.call(a.name, [], undefined, line), line);
    }
  }

  private pipeVal(p: Pipe): Val {
    return this.asVal(this.pipeAny(p), p.line);
  }

  private pipeAny(p: Pipe): Val | Cond {
    let cur: Val | Cond | undefined;
    for (const cmd of p.cmds) {
      const head = cmd[0]!;
      if (head.k === 'ident') cur = this.call(head.name, cmd.slice(1), cur === undefined ? undefined : this.asVal(cur, p.line), p.line);
      else if (cmd.length > 1 || cur !== undefined) throw new Unconvertible(p.line, 'only a function can take arguments or a piped value');
      else cur = this.val(head, p.line);
    }
    return cur!;
  }

  private isCond(x: Val | Cond): x is Cond { return 'k' in x; }

  private asVal(x: Val | Cond, line: number): Val {
    if (!this.isCond(x)) return x;
    if (x.k === 'or' && x.vals) {
      const [a, ...rest] = x.vals;
      return { liq: [this.operand(a!, line), ...rest.map((v) => `default: ${this.operand(v, line)}`)].join(' | '), ty: a!.ty, simple: !rest.length };
    }
    if (x.k === 'and' && x.vals && x.vals.length > 1) throw new Unconvertible(line, 'and used as a value (Go returns its first empty argument or its last) has no Liquid equivalent');
    return this.boolTemp(x);
  }

  /** A condition's truth in a temporary (true/false). */
  private boolTemp(c: Cond): Val {
    const t = this.tmp();
    this.emit(`{% if ${this.condText(c)} %}{% assign ${t} = true %}{% else %}{% assign ${t} = false %}{% endif %}`);
    return { liq: t, ty: BOOL, simple: true };
  }

  private truth(v: Val, line: number): Cond {
    if (v.lit !== undefined) return { k: 'atom', l: v.ty.k === 'str' ? (v.lit === '' ? 'false' : 'true') : v.lit === '0' || v.lit === 'false' ? 'false' : 'true' };
    if (v.ty.k === 'netdevs') return { k: 'atom', l: join(v.liq, 'netdevs'), op: '!=', r: 'blank' };
    return { k: 'atom', l: this.operand(v, line), op: '!=', r: 'blank' };
  }

  private cond(x: Val | Cond, line: number): Cond { return this.isCond(x) ? x : this.truth(x, line); }

  private not(cond: Cond, line: number): Cond {
    if (cond.k !== 'atom') return { k: cond.k === 'and' ? 'or' : 'and', xs: cond.xs.map((x) => this.not(x, line)) };
    const c = cond as Extract<Cond, { k: 'atom' }>;
    if (c.op && NEG[c.op]) return { k: 'atom', l: c.l, op: NEG[c.op], r: c.r };
    if (!c.op && (c.l === 'true' || c.l === 'false')) return { k: 'atom', l: c.l === 'true' ? 'false' : 'true' };
    void line;
    return { k: 'atom', l: this.boolTemp(c).liq, op: '==', r: 'false' };
  }

  /** Liquid condition text: and/or chains evaluate right to left, so only the last operand may be a chain of the other kind. */
  private condText(c: Cond): string {
    if (c.k === 'atom') return c.op ? `${c.l} ${c.op} ${c.r}` : c.l;
    const flat: Cond[] = [];
    for (const x of c.xs) if (x.k === c.k) flat.push(...x.xs); else flat.push(x);
    const simple = flat.filter((x) => x.k === 'atom');
    const compound = flat.filter((x) => x.k !== 'atom');
    const parts = simple.map((x) => this.condText(x));
    compound.forEach((x, i) => {
      if (i === compound.length - 1) parts.push(this.condText(x));
      else parts.push(this.boolTemp(x).liq);
    });
    return parts.join(` ${c.k} `);
  }

  private call(name: string, raw: Arg[], extra: Val | undefined, line: number): Val | Cond {
    const args = (): Val[] => [...raw.map((a) => this.val(a, line)), ...(extra ? [extra] : [])];
    const need = (a: Val[], n: number) => { if (a.length !== n) throw new Unconvertible(line, `${name} takes ${n} argument${n === 1 ? '' : 's'}`); return a; };
    const filter = (input: Val, f: string, ...fa: Val[]): Val => ({
      liq: `${input.liq || 'nil'} | ${f}${fa.length ? ': ' + fa.map((x) => this.operand(x, line)).join(', ') : ''}`,
      ty: STR, simple: false,
    });
    const chainOn = (input: Val): Val => (input.ty.k === 'netdevs' ? { liq: join(input.liq, 'netdevs'), ty: input.ty, simple: true } : input);
    const simple1 = (f: string, ty: Ty = STR) => { const [x] = need(args(), 1); return { ...filter(chainOn(x!), f), ty }; };
    if (CMP[name]) {
      const a = args();
      if (a.length < 2 || (name !== 'eq' && a.length !== 2)) throw new Unconvertible(line, `${name} takes ${name === 'eq' ? 'two or more' : 'two'} arguments`);
      const l = a[0]!;
      const atoms = a.slice(1).map((r): Cond => {
        const blankSide = l.lit === '' ? r : r.lit === '' ? l : undefined;
        if (blankSide && (name === 'eq' || name === 'ne')) return { k: 'atom', l: this.operand(blankSide, line), op: name === 'eq' ? '==' : '!=', r: 'blank' };
        return { k: 'atom', l: this.operand(l, line), op: CMP[name], r: this.operand(r, line) };
      });
      return atoms.length === 1 ? atoms[0]! : { k: 'or', xs: atoms };
    }
    switch (name) {
      case 'and': case 'or': {
        const xs = [...raw.map((a) => this.argAny(a, line)), ...(extra ? [extra] : [])];
        if (xs.length < 1) throw new Unconvertible(line, `${name} needs arguments`);
        // Go's and/or return one of their arguments: kept for a use as a value (or → default chain)
        const vals = xs.every((x) => !this.isCond(x)) ? (xs as Val[]) : undefined;
        return { k: name, xs: xs.map((x) => this.cond(x, line)), ...(vals ? { vals } : {}) };
      }
      case 'not': {
        const xs = [...raw.map((a) => this.argAny(a, line)), ...(extra ? [extra] : [])];
        if (xs.length !== 1) throw new Unconvertible(line, 'not takes one argument');
        return this.not(this.cond(xs[0]!, line), line);
      }
      case 'empty': { const [x] = need(args(), 1); return this.not(this.truth(x!, line), line); }
      case 'contains': { const [sub, s] = need(args(), 2); return { k: 'atom', l: this.operand(s!, line), op: 'contains', r: this.operand(sub!, line) }; }
      case 'hasKey': { const [m, k] = need(args(), 2); return { k: 'atom', l: `${this.operand(m!, line)}[${this.operand(k!, line)}]`, op: '!=', r: 'nil' }; }
      case 'hasPrefix': case 'hasSuffix': case 'regexMatch': {
        const [p, s] = need(args(), 2);
        const t = this.tmp();
        this.emit(`{% assign ${t} = ${filter(s!, name === 'regexMatch' ? 'regex_match' : name === 'hasPrefix' ? 'has_prefix' : 'has_suffix', p!).liq} %}`);
        return { k: 'atom', l: t };
      }
      case 'len': return { ...simple1('size'), ty: NUM };
      case 'lower': return simple1('downcase');
      case 'upper': return simple1('upcase');
      case 'trim': return simple1('strip');
      case 'basename': return simple1('basename');
      case 'SystemdEscape': return simple1('systemd_escape');
      case 'SystemdEscapePath': return simple1('systemd_escape_path');
      case 'toString': { const [x] = need(args(), 1); return x!; }
      case 'inc': case 'dec': { const [x] = need(args(), 1); return { ...filter(x!, name === 'inc' ? 'plus' : 'minus', { liq: '1', ty: NUM, simple: true }), ty: NUM }; }
      case 'add': case 'sub': case 'mul': {
        const [a, b] = need(args(), 2);
        return { ...filter(a!, name === 'add' ? 'plus' : name === 'sub' ? 'minus' : 'times', b!), ty: NUM };
      }
      case 'replace': { const [o, nw, s] = need(args(), 3); return filter(s!, 'replace', o!, nw!); }
      case 'join': { const [sep, l] = need(args(), 2); return filter(chainOn(l!), 'join', sep!); }
      case 'splitList': case 'split': {
        const [sep, s] = need(args(), 2);
        if (name === 'split') throw new Unconvertible(line, 'split returns a map keyed _0, _1… ranged in string order (_10 before _2): use splitList');
        return { ...filter(s!, 'split', sep!), ty: { k: 'list', of: STR } };
      }
      case 'trimPrefix': case 'trimSuffix': { const [p, s] = need(args(), 2); return filter(s!, name === 'trimPrefix' ? 'trim_prefix' : 'trim_suffix', p!); }
      case 'squote': { const [x] = need(args(), 1); return { liq: `${this.operand(x!, line)} | prepend: "'" | append: "'"`, ty: STR, simple: false }; }
      case 'default': {
        const [d, x] = need(args(), 2);
        return { ...filter(x!, 'default', d!), ty: x!.ty.k === 'any' ? d!.ty : x!.ty };
      }
      case 'coalesce': {
        const a = args();
        if (!a.length) throw new Unconvertible(line, 'coalesce needs arguments');
        return { liq: [this.operand(a[0]!, line), ...a.slice(1).map((x) => `default: ${this.operand(x, line)}`)].join(' | '), ty: a[0]!.ty, simple: a.length === 1 };
      }
      case 'substr': {
        const [s, e, str] = need(args(), 3);
        const a = Number(s!.lit), b = Number(e!.lit);
        if (s!.ty.k !== 'num' || e!.ty.k !== 'num' || s!.lit === undefined || e!.lit === undefined || a < 0 || b < a) throw new Unconvertible(line, 'substr converts only with literal 0 ≤ start ≤ end');
        return filter(str!, 'slice', { liq: String(a), ty: NUM, simple: true }, { liq: String(b - a), ty: NUM, simple: true });
      }
      case 'index': {
        const a = args();
        if (a.length < 2) throw new Unconvertible(line, 'index needs a collection and a key');
        let v = a[0]!;
        for (const k of a.slice(1)) {
          if (v.ty.k === 'netdevs') v = { liq: `${join(v.liq, 'netdev')}[${this.operand(k, line)}]`, ty: NETDEV, simple: true };
          else if (k.lit !== undefined && k.ty.k === 'str' && !['node', 'root', 'netdev', 'struct'].includes(v.ty.k)) v = this.field(v, k.lit, line);
          else if (v.ty.k === 'list' || v.ty.k === 'map' || v.ty.k === 'any') v = { liq: `${this.operand(v, line)}[${this.operand(k, line)}]`, ty: v.ty.k === 'any' ? ANY : v.ty.of, simple: true };
          else if (k.lit !== undefined) v = this.field(v, k.lit, line);
          else throw new Unconvertible(line, 'index with a computed key into a struct');
        }
        return v;
      }
      case 'printf': case 'print': return this.format(name, args(), line);
      case 'cat': {
        // Sprig's cat: the values joined by single spaces (nil ones left out)
        const a = args();
        if (!a.length) throw new Unconvertible(line, 'cat needs arguments');
        const parts: Val[] = [];
        a.forEach((x, i) => { if (i) parts.push({ liq: '" "', ty: STR, simple: true, lit: ' ' }); parts.push(x); });
        if (a.some((x) => x.liq === 'nil')) throw new Unconvertible(line, 'cat with a nil argument');
        return this.concat(parts, line);
      }
      case 'ternary': {
        const xs = [...raw.map((a) => this.argAny(a, line)), ...(extra ? [extra] : [])];
        if (xs.length !== 3) throw new Unconvertible(line, 'ternary takes three arguments');
        const [a, b] = [this.asVal(xs[0]!, line), this.asVal(xs[1]!, line)];
        const c = this.condText(this.cond(xs[2]!, line));
        const t = this.tmp();
        this.emit(`{% if ${c} %}{% assign ${t} = ${this.operand(a, line)} %}{% else %}{% assign ${t} = ${this.operand(b, line)} %}{% endif %}`);
        return { liq: t, ty: a.ty, simple: true };
      }
      case 'list': {
        const a = args();
        return { liq: ['nil', ...a.map((x) => `push: ${this.operand(x, line)}`)].join(' | '), ty: { k: 'list', of: a[0]?.ty ?? ANY }, simple: !a.length };
      }
      case 'append': {
        const [l, x] = need(args(), 2);
        return { liq: `${this.operand(chainOn(l!), line)} | push: ${this.operand(x!, line)}`, ty: l!.ty.k === 'list' ? l!.ty : { k: 'list', of: x!.ty }, simple: false };
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
      case 'regexReplaceAll': { const [re, s, rep] = need(args(), 3); return filter(s!, 'regex_replace', re!, rep!); }
      case 'Include': case 'IncludeFrom': {
        const t = this.tmp();
        this.emit(`{% capture ${t} %}${this.includeTag(name, args(), line)}{% endcapture %}`);
        return { liq: t, ty: STR, simple: true };
      }
      case 'IncludeBlock': {
        const [p, mark] = need(args(), 2);
        const t = this.tmp();
        this.emit(`{% capture ${t} %}{% include_file ${this.operand(p!, line)} optional %}{% endcapture %}`);
        return filter({ liq: t, ty: STR, simple: true }, 'lines_before_match', mark!, mark!);
      }
      case 'file': case 'softlink': case 'abort': case 'nobackup':
        throw new Unconvertible(line, `${name} converts only as an action of its own ({{ ${name} … }})`);
      case 'ImportLink': throw new Unconvertible(line, 'ImportLink converts only as an action of its own ({{ ImportLink PATH }})');
      case 'readlink': {
        const [p] = need(args(), 1);
        const t = this.tmp();
        this.emit(`{% capture ${t} %}{% readlink ${this.operand(p!, line)} %}{% endcapture %}`);
        return { liq: t, ty: STR, simple: true };
      }
      case 'IgnitionJson': throw new Unconvertible(line, 'IgnitionJson: wulf has no ignition support in templates');
    }
    throw new Unconvertible(line, `function ${name} has no Liquid equivalent in wulf`);
  }

  private argAny(a: Arg, line: number): Val | Cond {
    if (a.k === 'pipe' && !a.names.length) return this.pipeAny(a.pipe);
    if (a.k === 'ident') return this.call(a.name, [], undefined, line);
    return this.val(a, line);
  }

  /** printf/print as concatenation: %s %v %d and %% only. */
  private format(name: string, a: Val[], line: number): Val {
    const whole = a.find((x, i) => (name === 'print' || i > 0) && ['list', 'map', 'netdevs', 'netdev', 'node', 'root', 'struct'].includes(x.ty.k));
    if (whole) throw new Unconvertible(line, `${name} of a whole list or map (Go prints [a b] / map[k:v]) has no Liquid equivalent`);
    const pieces: Val[] = [];
    if (name === 'print') {
      for (const x of a) if (x.ty.k !== 'str' && x.lit === undefined && x.ty.k !== 'any') throw new Unconvertible(line, 'print of non-string values (Go puts spaces between them)'); else pieces.push(x);
    } else {
      const f = a[0];
      if (!f || f.lit === undefined) throw new Unconvertible(line, 'printf needs a literal format');
      let i = 1, lit = '';
      const re = /%(.)/gs;
      let last = 0, m: RegExpExecArray | null;
      while ((m = re.exec(f.lit))) {
        lit += f.lit.slice(last, m.index);
        last = re.lastIndex;
        if (m[1] === '%') { lit += '%'; continue; }
        if (!'svd'.includes(m[1]!)) throw new Unconvertible(line, `printf verb %${m[1]} has no Liquid equivalent (only %s, %v, %d)`);
        if (lit) { pieces.push(this.literal(lit, line)); lit = ''; }
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
  private concat(pieces: Val[], line: number): Val {
    if (pieces.every((p) => p.lit !== undefined)) return this.literal(pieces.map((p) => p.lit).join(''), line);
    const [first, ...rest] = pieces;
    // a literal head is a string already; a value head may be nil or a number: append "" makes it text
    const head = first!.lit !== undefined && first!.ty.k === 'str' ? first!.liq : `${this.operand(first!, line)} | append: ""`;
    return { liq: [head, ...rest.map((p) => `append: ${this.operand(p, line)}`)].join(' | '), ty: STR, simple: false };
  }

  // ---- blocks ----

  private ifNode(branches: { pipe: Pipe; body: Node[]; line: number }[], els: Node[] | undefined, nested = false) {
    const [b, ...more] = branches;
    const cond = this.condText(this.cond(this.pipeAny(this.noDecl(b!.pipe)), b!.line));
    this.emit(`{% if ${cond} %}`);
    this.scoped(() => this.nodes(b!.body));
    if (more.length) {
      // an else-if condition that needs temporaries is evaluated in its else branch, as Go does
      const saved = this.out;
      this.out = '';
      let c2: string | undefined;
      try { c2 = this.condText(this.cond(this.pipeAny(this.noDecl(more[0]!.pipe)), more[0]!.line)); }
      catch (e) { this.out = saved; throw e; }
      const pre = this.out;
      this.out = saved;
      if (!pre) {
        this.emit(`{% elsif ${c2} %}`);
        this.scoped(() => this.nodes(more[0]!.body));
        const rest = more.slice(1);
        if (rest.length) { this.emit('{% else %}'); this.ifNode(rest, els, true); } else if (els) { this.emit('{% else %}'); this.scoped(() => this.nodes(els)); }
      } else {
        this.emit('{% else %}');
        this.ifNode(more, els, true);
      }
    } else if (els) { this.emit('{% else %}'); this.scoped(() => this.nodes(els)); }
    this.emit('{% endif %}');
    void nested;
  }

  private noDecl(p: Pipe): Pipe {
    if (p.decl.length) throw new Unconvertible(p.line, 'a variable declared in an if condition');
    return p;
  }

  private withNode(b: { pipe: Pipe; body: Node[]; line: number }, elseWith: boolean, els: Node[] | undefined, line: number) {
    if (elseWith) throw new Unconvertible(line, '{{else with}} is not supported');
    let v = this.pipeVal({ ...b.pipe, decl: [] });
    if (b.pipe.decl.length) { this.declare(b.pipe.decl[0]!, v, line, b.pipe.assign); v = this.lookup(b.pipe.decl[0]!, line); }
    if (!v.simple) v = { ...v, liq: this.operand(v, line), simple: true };
    this.emit(`{% if ${this.condText(this.truth(v, line))} %}`);
    this.scoped(() => this.nodes(b.body), v);
    if (els) { this.emit('{% else %}'); this.scoped(() => this.nodes(els)); }
    this.emit('{% endif %}');
  }

  private rangeNode(p: Pipe, body: Node[], els: Node[] | undefined, line: number) {
    if (p.assign) throw new Unconvertible(line, 'range with = (assignment) is not supported');
    const coll = this.pipeVal({ ...p, decl: [] });
    const [kName, vName] = p.decl.length === 2 ? p.decl : [undefined, p.decl[0]];
    let listExpr: string, elem: Ty, key: (item: string) => Val | undefined;
    const ty = coll.ty;
    if (ty.k === 'netdevs') {
      listExpr = join(coll.liq, 'netdevs'); elem = NETDEV;
      key = (it) => ({ liq: `${it}.name`, ty: STR, simple: true });
    } else if (ty.k === 'list') {
      listExpr = this.operand(coll, line); elem = ty.of;
      key = () => undefined;
    } else if (ty.k === 'map' || ty.k === 'any') {
      // Go ranges over a map in key order: `entries` gives {key, value} sorted by key (a list's items with their index)
      const t = this.tmp();
      this.emit(`{% assign ${t} = ${this.operand(coll, line)} | entries %}`);
      listExpr = t; elem = ty.k === 'map' ? ty.of : ANY;
      const item = this.fresh('entry');
      this.emit(`{% for ${item} in ${listExpr} %}`);
      this.scoped(() => {
        const scope = this.scopes[this.scopes.length - 1]!;
        const value: Val = { liq: `${item}.value`, ty: elem, simple: true };
        if (kName !== undefined) scope.set(kName, { liq: `${item}.key`, ty: ty.k === 'map' ? STR : ANY, simple: true });
        if (vName !== undefined) scope.set(vName, value);
        this.dot = value;
        this.nodes(body);
      });
      return this.endFor(els);
    } else throw new Unconvertible(line, `range over a ${ty.k === 'node' || ty.k === 'root' || ty.k === 'struct' || ty.k === 'netdev' ? 'struct' : ty.k}`);
    const item = this.fresh(vName ?? (elem === NODE ? 'node' : elem === NETDEV ? 'nd' : 'item'));
    this.emit(`{% for ${item} in ${listExpr} %}`);
    this.scoped(() => {
      const scope = this.scopes[this.scopes.length - 1]!;
      const value: Val = { liq: item, ty: elem, simple: true };
      if (kName !== undefined) {
        const k = key(item);
        if (k) scope.set(kName, k);
        else {
          const iv = this.fresh(kName || 'i');
          this.emit(`{% assign ${iv} = forloop.index0 %}`);
          scope.set(kName, { liq: iv, ty: NUM, simple: true });
        }
      }
      if (vName !== undefined) scope.set(vName, value);
      this.dot = value;
      this.nodes(body);
    });
    this.endFor(els);
  }

  private endFor(els: Node[] | undefined) {
    if (els) { this.emit('{% else %}'); this.scoped(() => this.nodes(els)); }
    this.emit('{% endfor %}');
  }
}

export { Unconvertible };
