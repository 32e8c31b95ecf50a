// Go template tree → Liquid text for wulf's template data. Whitespace trim markers are applied by
// the parser, so the Liquid carries none; blocks (if/else if, with, range with index/value over
// lists and maps in key order) and actions (output, variables, the tag functions file, softlink,
// abort, nobackup, Include…) become Liquid tags. Whatever has no faithful equivalent is reported
// with its line, never guessed.
import type { Arg, Node, Pipe } from './parse.ts';
import { ANY, NETDEV, NODE, NUM, STR, type Ty } from './fields.ts';
import { callFunction } from './functions.ts';
import { Values } from './values.ts';
import { Unconvertible, join, type Cond, type ConvertProblem, type Val } from './liquid-terms.ts';

export type { ConvertProblem };

export class Converter extends Values {
  /** the template calls file somewhere */
  switchesFiles = false;

  /** named templates ({{define}}, {{block}}): inlined where {{template}} invokes them */
  private defines = new Map<string, Node[]>();
  private depth = 0;

  convert(nodes: Node[]): string {
    const collect = (ns: Node[]) => {
      for (const n of ns) {
        if (n.k === 'define') {
          this.defines.set(n.name, n.body);
          collect(n.body);
        } else if (n.k === 'if' || n.k === 'with') {
          n.branches.forEach((b) => collect(b.body));
          if (n.els) collect(n.els);
        } else if (n.k === 'range') {
          collect(n.body);
          if (n.els) collect(n.els);
        }
      }
    };
    collect(nodes);
    this.nodes(nodes);
    return this.out;
  }

  /** {{template "name" pipeline}}: the named body, inlined with the pipeline's value as its dot and $ (and none of the caller's variables). */
  private invoke(name: string, pipe: Pipe | undefined, line: number) {
    const body = this.defines.get(name);
    if (!body) throw new Unconvertible(line, `no template named "${name}"`);
    if (this.depth >= 8) throw new Unconvertible(line, `template "${name}" invoked recursively`);
    let dot: Val = { liq: 'nil', ty: ANY, simple: true };
    if (pipe) {
      const v = this.pipeVal({ ...pipe, decl: [] });
      dot = v.simple || v.ty.k === 'netdevs' ? v : { ...v, liq: this.operand(v, line), simple: true };
    }
    const [scopes, saved] = [this.scopes, this.dot];
    this.scopes = [new Map([['', dot]])];
    this.dot = dot;
    this.depth++;
    try {
      this.nodes(body);
    } finally {
      this.scopes = scopes;
      this.dot = saved;
      this.depth--;
    }
  }

  call(name: string, raw: Arg[], extra: Val | undefined, line: number): Val | Cond {
    return callFunction(this, name, raw, extra, line);
  }

  private nodes(ns: Node[]) {
    for (const n of ns) {
      try {
        this.node(n);
      } catch (e) {
        if (!(e instanceof Unconvertible)) throw e;
        this.problems.push({ line: e.line, message: e.message });
      }
    }
  }

  private text(s: string) {
    if (!s) return;
    if (s.includes('{{') || s.includes('{%')) {
      this.emit(`{% raw %}${s}{% endraw %}`);
      return;
    }
    // a "{" right before the next tag would make "{{{" or "{{%": keep it literal
    this.emit(s.endsWith('{') ? `${s.slice(0, -1)}{% raw %}{{% endraw %}` : s);
  }

  private node(n: Node) {
    switch (n.k) {
      case 'text':
        return this.text(n.v);
      case 'break':
      case 'continue':
        this.emit(`{% ${n.k} %}`);
        return;
      case 'unsupported':
        throw new Unconvertible(n.line, n.why);
      case 'define':
        return;
      case 'template':
        return this.invoke(n.name, n.pipe, n.line);
      case 'out':
        return this.action(n.pipe);
      case 'if':
        return this.ifNode(n.branches, n.els);
      case 'with':
        return this.withNode(n.branches[0]!, n.branches.length > 1, n.els, n.line);
      case 'range':
        return this.rangeNode(n.pipe, n.body, n.els, n.line);
    }
  }

  private scoped(fn: () => void, dot?: Val) {
    const saved = this.dot;
    this.scopes.push(new Map());
    if (dot) this.dot = dot;
    try {
      fn();
    } finally {
      this.scopes.pop();
      this.dot = saved;
    }
  }

  /** Bind Go variable `name` to a Liquid variable holding v (assigned here). */
  private declare(name: string, v: Val, line: number, assign: boolean) {
    // the data root, a struct of root fields, or a netdevs map have no Liquid value of their own: the variable names the same place
    const alias = v.liq === '' || v.ty.k === 'netdevs';
    if (assign) {
      const old = this.lookup(name, line);
      if (alias || old.liq === '' || old.ty.k === 'netdevs')
        throw new Unconvertible(line, `$${name} = …: a variable holding the data root or a map of netdevs cannot be reassigned in Liquid`);
      this.emit(`{% assign ${old.liq} = ${this.valueText(v)} %}`);
      return;
    }
    if (alias) {
      this.scopes[this.scopes.length - 1]!.set(name, v);
      return;
    }
    const liq = this.fresh(name || 'v');
    this.emit(`{% assign ${liq} = ${this.valueText(v)} %}`);
    this.scopes[this.scopes.length - 1]!.set(name, { liq, ty: v.ty, simple: true });
  }

  /** v as the right side of an assign (a netdevs map stands for its sorted list). */
  private valueText(v: Val): string {
    return v.ty.k === 'netdevs' ? join(v.liq, 'netdevs') : v.liq || 'nil';
  }

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
      case 'list':
        this.emit(`{{ ${this.operand(v, line)} | join: " " | prepend: "[" | append: "]" }}`);
        return;
      case 'map':
      case 'netdevs':
      case 'netdev':
      case 'node':
      case 'root':
      case 'struct':
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
      case 'file':
      case 'softlink': {
        const a = args();
        if (a.length !== 1) throw new Unconvertible(line, `${name} takes one argument`);
        this.emit(`{% ${name} ${this.operand(a[0]!, line)} %}`);
        return true;
      }
      case 'abort':
      case 'nobackup':
        if (cmd.length > 1 || extra) throw new Unconvertible(line, `${name} takes no argument`);
        // Warewulf's abort writes none of the template's files: in a template that switches files, say so
        this.emit(name === 'abort' && this.switchesFiles ? '{% abort all %}' : `{% ${name} %}`);
        return true;
      case 'Include':
      case 'IncludeFrom':
        this.emit(this.includeTag(name, args(), line));
        return true;
      case 'ImportLink':
      case 'readlink': {
        const a = args();
        if (a.length !== 1) throw new Unconvertible(line, `${name} takes one argument`);
        this.emit(`{% ${name === 'ImportLink' ? 'import_link' : 'readlink'} ${this.operand(a[0]!, line)} %}`);
        return true;
      }
    }
    return false;
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
      try {
        c2 = this.condText(this.cond(this.pipeAny(this.noDecl(more[0]!.pipe)), more[0]!.line));
      } catch (e) {
        this.out = saved;
        throw e;
      }
      const pre = this.out;
      this.out = saved;
      if (!pre) {
        this.emit(`{% elsif ${c2} %}`);
        this.scoped(() => this.nodes(more[0]!.body));
        const rest = more.slice(1);
        if (rest.length) {
          this.emit('{% else %}');
          this.ifNode(rest, els, true);
        } else if (els) {
          this.emit('{% else %}');
          this.scoped(() => this.nodes(els));
        }
      } else {
        this.emit('{% else %}');
        this.ifNode(more, els, true);
      }
    } else if (els) {
      this.emit('{% else %}');
      this.scoped(() => this.nodes(els));
    }
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
    if (b.pipe.decl.length) {
      this.declare(b.pipe.decl[0]!, v, line, b.pipe.assign);
      v = this.lookup(b.pipe.decl[0]!, line);
    }
    if (!v.simple) v = { ...v, liq: this.operand(v, line), simple: true };
    this.emit(`{% if ${this.condText(this.truth(v, line))} %}`);
    this.scoped(() => this.nodes(b.body), v);
    if (els) {
      this.emit('{% else %}');
      this.scoped(() => this.nodes(els));
    }
    this.emit('{% endif %}');
  }

  private rangeNode(p: Pipe, body: Node[], els: Node[] | undefined, line: number) {
    if (p.assign) throw new Unconvertible(line, 'range with = (assignment) is not supported');
    const coll = this.pipeVal({ ...p, decl: [] });
    const [kName, vName] = p.decl.length === 2 ? p.decl : [undefined, p.decl[0]];
    let listExpr: string, elem: Ty, key: (item: string) => Val | undefined;
    const ty = coll.ty;
    if (ty.k === 'netdevs') {
      listExpr = join(coll.liq, 'netdevs');
      elem = NETDEV;
      key = (it) => ({ liq: `${it}.name`, ty: STR, simple: true });
    } else if (ty.k === 'list') {
      listExpr = this.operand(coll, line);
      elem = ty.of;
      key = () => undefined;
    } else if (ty.k === 'map' || ty.k === 'any') {
      // Go ranges over a map in key order: `entries` gives {key, value} sorted by key (a list's items with their index)
      const t = this.tmp();
      this.emit(`{% assign ${t} = ${this.operand(coll, line)} | entries %}`);
      listExpr = t;
      elem = ty.k === 'map' ? ty.of : ANY;
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
    } else
      throw new Unconvertible(
        line,
        `range over a ${ty.k === 'node' || ty.k === 'root' || ty.k === 'struct' || ty.k === 'netdev' ? 'struct' : ty.k}`,
      );
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
    if (els) {
      this.emit('{% else %}');
      this.scoped(() => this.nodes(els));
    }
    this.emit('{% endfor %}');
  }
}

export { Unconvertible };
