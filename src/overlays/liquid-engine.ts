// The Liquid engine of overlay templates: the tags that switch the output file, make symlinks, abort
// or include controller and image files; if/unless whose conditions record only what they test; and
// node values written straight to the output held as slots (one render serves every node alike).
import { randomBytes } from 'node:crypto';
import {
  type Context,
  Liquid,
  Output,
  Tag,
  TokenKind,
  Value,
  evalToken,
  isTruthy,
  toValue,
  type TagToken,
  type TopLevelToken,
  type Emitter,
  type Template,
} from 'liquidjs';
import { compilePath, isGlobalPath, settle, type Capture, type CompiledPath, type Pending } from './track.ts';
import { GO_FILTERS } from '../lib/go-filters.ts';
import { FILTERS, PURE_FILTERS } from './template-filters.ts';
import { readHostFile, readImageFile, resolveHostLink, type FileReader } from './template-files.ts';

/** Marks in the rendered text: MARK where a tag switches the output file, makes a link, aborts (render.ts splits on them);
 *  SLOT_MARK where a slot's value goes (fillSlots puts it in). */
export const MARK = `\u0000wulf${randomBytes(6).toString('hex')}:`;
export const SLOT_MARK = `\u0000wulfslot${randomBytes(6).toString('hex')}:`;

/** A node value written straight to the output: its path and the pure filters applied to it. */
export interface Slot {
  path: CompiledPath;
  filters: string[];
}

/** The template being rendered, as the tags, conditions and output hook see it (set by withCur for one render). */
export interface Cur extends FileReader {
  overlay: string;
  file: string;
  data: Record<string, unknown>;
  cap: Capture;
  top?: object;
  slots: Slot[];
}
let cur: Cur | undefined;

/** Run `fn` with `c` as the template being rendered (the previous one back afterwards). */
export function withCur<T>(c: Cur, fn: () => T): T {
  const prev = cur;
  cur = c;
  try {
    return fn();
  } finally {
    cur = prev;
  }
}

export interface EngineLimits {
  parseBytes: number;
  renderMs: number;
  memory: number;
}

function argTag(name: string, run: (v: unknown, optional: boolean, ctx: Context) => string, words: string[] = []) {
  return class extends Tag {
    private value: Value | undefined;
    private optional = false;
    private chomp = false;
    constructor(token: TagToken, remain: TopLevelToken[], liquid: Liquid) {
      super(token, remain, liquid);
      let args = token.args.trim();
      // trailing words: `optional` (a missing file reads as empty) and, for includes, `chomp` (one final newline dropped, as Warewulf's Include does)
      for (let m; (m = /^(.*?)[\s,]+(optional|chomp)$/.exec(args)) && (m[2] === 'optional' || words.includes(m[2]!)); ) {
        if (m[2] === 'optional') this.optional = true;
        else this.chomp = true;
        args = m[1]!;
      }
      // {% abort all %}: none of the template's files is written (Warewulf's abort), not only the current one
      if (name === 'abort' && args === 'all') {
        this.all = true;
        args = '';
      }
      if (args) this.value = new Value(args, liquid);
      else if (name !== 'abort' && name !== 'nobackup') throw new Error(`{% ${name} %} needs an argument`);
    }
    private all = false;
    *render(ctx: Context, emitter: Emitter): Generator<unknown, void, unknown> {
      const v = this.all ? 'all' : this.value ? yield this.value.value(ctx, false) : undefined;
      const out = run(v, this.optional, ctx);
      emitter.write(this.chomp && out.endsWith('\n') ? out.slice(0, -1) : out);
    }
  };
}

/** The one Liquid of overlay templates: wulf's tags and filters, strict, within `limits`. */
export function makeLiquid(limits: EngineLimits): Liquid {
  // greedy: `{%-` / `-%}` trim all whitespace on that side, newlines included (Shopify Liquid and Go template
  // semantics), so a tag on its own line written as `{%- tag %}` leaves no blank line behind
  const liquid = new Liquid({
    strictVariables: true,
    strictFilters: true,
    ownPropertyOnly: false,
    greedy: true,
    parseLimit: limits.parseBytes,
    renderLimit: limits.renderMs,
    memoryLimit: limits.memory,
    relativeReference: false,
    dynamicPartials: false,
    templates: {},
  });
  liquid.registerTag(
    'file',
    argTag('file', (v) => `${MARK}F${String(v)}\u0000`),
  );
  liquid.registerTag(
    'softlink',
    argTag('softlink', (v) => `${MARK}L${String(v)}\u0000`),
  );
  liquid.registerTag(
    'abort',
    argTag('abort', (v) => `${MARK}A${v === 'all' ? '*' : ''}\u0000`),
  );
  liquid.registerTag(
    'nobackup',
    argTag('nobackup', () => `${MARK}N\u0000`),
  );
  liquid.registerTag(
    'include_file',
    argTag('include_file', (v, opt) => readHostFile(cur!, String(v), opt), ['chomp']),
  );
  // Warewulf's ImportLink (the output becomes a link to where a controller link leads) and readlink
  liquid.registerTag(
    'import_link',
    argTag('import_link', (v) => `${MARK}L${resolveHostLink(cur!, String(v), 'import_link')}\u0000`),
  );
  liquid.registerTag(
    'readlink',
    argTag('readlink', (v) => resolveHostLink(cur!, String(v), 'readlink')),
  );
  liquid.registerTag(
    'include_image',
    argTag('include_image', (v, opt, ctx) => readImageFile(cur!, String(v), opt, ctx.getSync(['imageName'])), ['chomp']),
  );
  // Liquid's own file tags would look for partials in the working directory: say what to use instead
  for (const name of ['include', 'render', 'layout']) {
    liquid.registerTag(
      name,
      class extends Tag {
        constructor(token: TagToken, remain: TopLevelToken[], l: Liquid) {
          super(token, remain, l);
          throw new Error(
            `{% ${name} %} is not available in overlay templates: use {% include_file "PATH" %} for a controller file ` +
              `or {% include_image "PATH" %} for a file of the node's image`,
          );
        }
        *render(): Generator<unknown, void, unknown> {
          /* never parsed */
        }
      },
    );
  }
  for (const [k, f] of Object.entries({ ...GO_FILTERS, ...FILTERS })) liquid.registerFilter(k, f);
  liquid.registerTag('if', truthTag(liquid.tags['if'] as unknown as TagClass));
  liquid.registerTag('unless', truthTag(liquid.tags['unless'] as unknown as TagClass));
  return liquid;
}

// ---- read narrowing: what a node value was used for decides how much of it a memo key needs ----

type Tok = { kind: number; props?: Tok[]; content?: string; operator?: string };
type TagClass = new (
  ...a: any[]
) => Tag & { branches: { value: Value; templates: Template[]; test?: (v: unknown, c: Context) => boolean }[]; elseTemplates?: Template[] };
type ValueParts = {
  initial: { postfix: Tok[] };
  filters: { name: string; args: unknown[]; render: (v: unknown, c: Context) => unknown }[];
};

/** The last property name of a plain `a.b.c` / `a["b"]` access (no computed keys, no size/first/last), else undefined. */
function leafKey(tok: Tok | undefined): string | undefined {
  if (!tok || tok.kind !== TokenKind.PropertyAccess || !tok.props?.length) return undefined;
  for (const p of tok.props) if (p.content === undefined || p.props) return undefined;
  const k = tok.props[tok.props.length - 1]!.content!;
  return k === 'size' || k === 'first' || k === 'last' ? undefined : k;
}

/** Evaluate one operand with the final read held back; returns the value and the read if it is the plain leaf. */
function* operand(c: Cur, tok: Tok, ctx: Context, lenient: boolean): Generator<unknown, { v: unknown; p?: Pending }, unknown> {
  c.cap.on = true;
  c.cap.pending = undefined;
  let v: unknown;
  try {
    v = yield evalToken(tok as never, ctx, lenient);
  } finally {
    c.cap.on = false;
  }
  const p = c.cap.pending as Pending | undefined;
  c.cap.pending = undefined;
  if (!p) return { v };
  const key = leafKey(tok);
  if (key !== undefined && p.key === key && p.value === v) return { v, p };
  settle(c.reads, p, 'full');
  return { v };
}

/** An if/unless condition: operands only tested for truth (alone, and/or/not) record their type, not their value. */
function* condition(value: Value, ctx: Context): Generator<unknown, unknown, unknown> {
  const c = cur;
  const lenient = !!ctx.opts.lenientIf;
  const parts = value as unknown as ValueParts;
  if (!c || parts.filters.length || ctx.opts.jsTruthy) return yield value.value(ctx, lenient);
  const stack: { v: unknown; p?: Pending }[] = [];
  const ops = ctx.opts.operators as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const tok of parts.initial.postfix) {
    if (tok.kind !== TokenKind.Operator) {
      stack.push(yield* operand(c, tok, ctx, lenient));
      continue;
    }
    const op = tok.operator!;
    const truth = op === 'and' || op === 'or' || op === 'not';
    const r = stack.pop()!,
      l = op === 'not' ? undefined : stack.pop()!;
    for (const o of [l, r]) if (o?.p) settle(c.reads, o.p, truth ? 'weak' : 'full');
    stack.push({ v: yield op === 'not' ? ops[op]!(r.v, ctx) : ops[op]!(l!.v, r.v, ctx) });
  }
  stack.forEach((o, i) => {
    if (o.p) settle(c.reads, o.p, i === 0 ? 'weak' : 'full');
  });
  return stack[0]?.v;
}

/** if/unless with narrowed condition reads; rendering is otherwise the built-in tag's. */
function truthTag(Base: TagClass): TagClass {
  return class extends Base {
    override *render(ctx: Context, emitter: Emitter): Generator<unknown, void, unknown> {
      const r = this.liquid.renderer;
      for (const { value, templates, test } of this.branches) {
        const v = yield toValue(yield* condition(value, ctx));
        if ((test ?? isTruthy)(v, ctx)) {
          yield r.renderTemplates(templates, ctx, emitter);
          return;
        }
      }
      yield r.renderTemplates(this.elseTemplates ?? [], ctx, emitter);
    }
  };
}

// {{ a.b }} (optionally | shell_quote / systemd_escape…) written to the template's own output becomes a slot
const outputRender = Output.prototype.render;
Output.prototype.render = function* (this: Output, ctx: Context, emitter: Emitter): Generator<unknown, void, unknown> {
  const c = cur;
  const parts = this.value as unknown as ValueParts;
  const tok = parts.initial.postfix.length === 1 ? parts.initial.postfix[0] : undefined;
  if (!c || emitter !== c.top || !tok || leafKey(tok) === undefined || parts.filters.some((f) => !PURE_FILTERS[f.name] || f.args.length)) {
    return yield* outputRender.call(this, ctx, emitter) as Generator<unknown, void, unknown>;
  }
  const { v, p } = yield* operand(c, tok, ctx, false);
  if (p && typeof v === 'string' && v.trim() !== '' && !isGlobalPath(p.path)) {
    settle(c.reads, p, 'slot');
    emitter.write(`${SLOT_MARK}${c.slots.length}\u0000`);
    c.slots.push({ path: compilePath(p.path), filters: parts.filters.map((f) => f.name) });
    return;
  }
  if (p) settle(c.reads, p, 'full');
  let val = v;
  for (const f of parts.filters) val = yield f.render(val, ctx);
  emitter.write(yield toValue(val));
};
