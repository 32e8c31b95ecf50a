// Renders `.ww` templates with liquidjs, synchronously: parsed once per source hash, strict
// variables, bounded time/memory/output. Custom tags switch the output file, make symlinks, abort,
// include controller or image files; filters do IP math, passwd merging and systemd escaping.
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, posix } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import {
  Context,
  Liquid,
  Output,
  Tag,
  TokenKind,
  Value,
  evalToken,
  isTruthy,
  toValue,
  toValueSync,
  type TagToken,
  type TopLevelToken,
  type Emitter,
  type Template,
} from 'liquidjs';
import { WulfError } from '../lib/errors.ts';
import { addIPv4, isNetmask, maskToPrefix, networkOf, prefixToMask } from '../lib/ip.ts';
import {
  FILE_PREFIX,
  SEP,
  compilePath,
  isGlobalPath,
  newReads,
  settle,
  tracked,
  valueAt,
  type Capture,
  type CompiledPath,
  type Pending,
  type Reads,
} from './track.ts';
import { cleanRel } from './sources.ts';
import { GO_FILTERS } from '../lib/go-filters.ts';
import { findGoSyntax } from '../lib/go-syntax.ts';

/**
 * Bounds of one template run. The time limit grows with the cluster (renderMsPerNode for each node
 * allNodes would hold): a template over every node (hosts) takes ~0.1 ms per node unloaded, many
 * times that on a loaded machine, and must not trip where a small cluster's loop would.
 */
export const LIMITS = {
  outputBytes: 64 * 1024 * 1024,
  renderMs: 10_000,
  renderMsPerNode: 2,
  memory: 64 * 1024 * 1024,
  parseBytes: 8 * 1024 * 1024,
};

/** The time limit of one template run for a cluster of `nodes` nodes. */
export const renderLimitMs = (nodes = 0) => LIMITS.renderMs + LIMITS.renderMsPerNode * Math.max(0, nodes);

export interface RenderEnv {
  /** controller config dir: relative include_file paths resolve here */
  confDir: string;
  /** prefix for absolute include_file paths ('' = the real /) */
  hostRoot: string;
  /** absolute host paths include_file may read besides confDir */
  hostAllow: string[];
  /** a file from the node's image, or undefined */
  imageFile?: (image: string, path: string) => Uint8Array | undefined;
}

export interface RenderedFile {
  rel: string;
  data: string;
  symlink?: string;
  abort?: boolean;
}
/** A node value written straight to the output: its path and the pure filters applied to it. */
export interface Slot {
  path: CompiledPath;
  filters: string[];
}
/**
 * `files` are the output for the data rendered; `marked` (when there are slots) the same files with
 * slot marks (SLOT_MARK + index + NUL) where `slots` values go: fillSlots() puts another node's own
 * values in, so one render serves every node whose other reads are the same.
 */
export interface RenderResult {
  files: RenderedFile[];
  nobackup: boolean;
  reads: Reads;
  slots: Slot[];
  marked?: RenderedFile[];
}

export class TemplateError extends WulfError {
  constructor(
    readonly overlay: string,
    readonly file: string,
    readonly line: number | undefined,
    msg: string,
    hint = `wulf overlay show ${overlay} ${file}`,
  ) {
    super(`overlay ${overlay}: ${file}${line ? `:${line}` : ''}: ${msg}`, { code: 'ETEMPLATE', hint });
  }
}

const MARK = `\u0000wulf${randomBytes(6).toString('hex')}:`;
export const SLOT_MARK = `\u0000wulfslot${randomBytes(6).toString('hex')}:`;
interface Cur {
  env: RenderEnv;
  reads: Reads;
  overlay: string;
  file: string;
  data: Record<string, unknown>;
  cap: Capture;
  top?: object;
  slots: Slot[];
}
let cur: Cur | undefined;

const hashOf = (b: Uint8Array | string) => createHash('sha1').update(b).digest('hex');

const PRIVATE_NAME = /(^|\/)etc\/ssh\/.*(_key|\.key|\.pem)$/;
const PRIVATE_TEXT = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/**
 * The bytes of a regular file, never of a FIFO, device or socket (opening one blocks or has
 * effects): opened with O_NONBLOCK|O_NOFOLLOW and checked with fstat. Throws a one-line Error.
 */
export function readRegular(p: string): Buffer {
  const st = lstatSync(p);
  if (!st.isFile()) throw new Error(`${p} is not a regular file`);
  const fd = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  try {
    const now = fstatSync(fd);
    if (!now.isFile() || now.ino !== st.ino) throw new Error(`${p} is not a regular file`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

const under = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');
const realOr = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
};

/** Where a controller path a template names is read: relative ones in the config dir, absolute ones only when allowed. */
function hostPath(c: Cur, path: string, tag: string): { abs: string; listed: boolean } {
  if (isAbsolute(path)) {
    const n = normalize(path);
    const inConf = n.startsWith(c.env.confDir + '/');
    if (!inConf && !c.env.hostAllow.some((a) => n === a || (a.endsWith('/') && n.startsWith(a)))) {
      throw new Error(`${tag} "${path}": only files under ${c.env.confDir} or ${c.env.hostAllow.join(', ')} may be included`);
    }
    return { abs: inConf ? n : c.env.hostRoot + n, listed: c.env.hostAllow.includes(n) };
  }
  const abs = join(c.env.confDir, path);
  if (!normalize(abs).startsWith(c.env.confDir + '/')) throw new Error(`${tag} "${path}" leaves ${c.env.confDir}`);
  return { abs, listed: false };
}

/**
 * Where a controller path leads, every link resolved (Warewulf's readlink, and ImportLink's target),
 * as the node sees it (without the WULF_HOST_ROOT prefix). Recorded so a changed link rebuilds.
 */
function resolveHostLink(path: string, tag: string): string {
  const c = cur!;
  const { abs } = hostPath(c, path, tag);
  const real = realOr(abs);
  c.reads.global.set(FILE_PREFIX + 'l' + abs, real ?? 'missing');
  if (real === undefined) throw new Error(`${tag} "${path}": ${abs} does not exist`);
  const root = c.env.hostRoot ? (realOr(c.env.hostRoot) ?? c.env.hostRoot) : '';
  return root && real.startsWith(root + '/') ? real.slice(root.length) : real;
}

function readHostFile(path: string, optional: boolean): string {
  const c = cur!;
  const realConf = realOr(c.env.confDir) ?? c.env.confDir;
  const { abs, listed } = hostPath(c, path, 'include_file');
  const key = FILE_PREFIX + 'c' + abs;
  const real = realOr(abs);
  if (real === undefined) {
    c.reads.global.set(key, 'missing');
    if (optional) return '';
    throw new Error(`include_file "${path}": ${abs} does not exist`);
  }
  // where the path really leads (every symlink resolved) must itself be allowed: the config dir, or
  // an allowed entry's own real place (so /etc/localtime may be a link into /usr/share/zoneinfo)
  const inConf = under(real, realConf + '/');
  if (
    !inConf &&
    !c.env.hostAllow.some((a) => {
      const ra = realOr(c.env.hostRoot + a);
      return ra !== undefined && (a.endsWith('/') ? under(real, ra + '/') : real === ra);
    })
  ) {
    throw new Error(`include_file "${path}" resolves to ${real}, outside ${c.env.confDir} and the allowed paths`);
  }
  let buf: Buffer;
  try {
    buf = readRegular(real);
  } catch (e) {
    throw new Error(`include_file "${path}": ${(e as Error).message.split('\n')[0]}`);
  }
  // private keys on the controller only when wulf.conf lists the file by its full path
  if (!inConf && !listed && (PRIVATE_NAME.test(real) || PRIVATE_TEXT.test(buf.toString('latin1')))) {
    throw new Error(
      `include_file "${path}": a private key; list its full path in wulf.conf (warewulf: overlay include paths) to include it`,
    );
  }
  c.reads.global.set(key, hashOf(buf));
  return buf.toString('utf8');
}

function readImageFile(path: string, optional: boolean, image: unknown): string {
  const c = cur!;
  const rel = cleanRel(path, 'include_image path');
  const img = typeof image === 'string' ? image : '';
  const key = FILE_PREFIX + 'i' + img + SEP + rel;
  const buf = img && c.env.imageFile ? c.env.imageFile(img, '/' + rel) : undefined;
  c.reads.global.set(key, buf ? hashOf(buf) : 'missing');
  if (!buf) {
    if (optional) return '';
    throw new Error(`include_image "${path}": ${img ? `not found in image ${img}` : 'the node has no image'}`);
  }
  return new TextDecoder().decode(buf);
}

/** File key → its current signature (for cache checks); same encoding as recorded. */
export function fileSig(key: string, env: RenderEnv): string {
  const kind = key[FILE_PREFIX.length];
  const rest = key.slice(FILE_PREFIX.length + 1);
  if (kind === 'c') {
    try {
      return hashOf(readRegular(realpathSync(rest)));
    } catch {
      return 'missing';
    }
  }
  if (kind === 'l') return realOr(rest) ?? 'missing';
  const [img, rel] = rest.split(SEP) as [string, string];
  const buf = env.imageFile?.(img, '/' + rel);
  return buf ? hashOf(buf) : 'missing';
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

/** Filters whose output depends only on their input string (and is non-blank for non-blank input). */
export const PURE_FILTERS: Record<string, (s: string) => string> = {
  shell_quote: (s) => `'${s.replaceAll("'", "'\\''")}'`,
  systemd_escape: (s) => systemdEscape(s, false),
  systemd_escape_path: (s) => systemdEscape(s, true),
};

function makeLiquid(): Liquid {
  // greedy: `{%-` / `-%}` trim all whitespace on that side, newlines included (Shopify Liquid and Go template
  // semantics), so a tag on its own line written as `{%- tag %}` leaves no blank line behind
  const liquid = new Liquid({
    strictVariables: true,
    strictFilters: true,
    ownPropertyOnly: false,
    greedy: true,
    parseLimit: LIMITS.parseBytes,
    renderLimit: LIMITS.renderMs,
    memoryLimit: LIMITS.memory,
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
    argTag('include_file', (v, opt) => readHostFile(String(v), opt), ['chomp']),
  );
  // Warewulf's ImportLink (the output becomes a link to where a controller link leads) and readlink
  liquid.registerTag(
    'import_link',
    argTag('import_link', (v) => `${MARK}L${resolveHostLink(String(v), 'import_link')}\u0000`),
  );
  liquid.registerTag(
    'readlink',
    argTag('readlink', (v) => resolveHostLink(String(v), 'readlink')),
  );
  liquid.registerTag(
    'include_image',
    argTag('include_image', (v, opt, ctx) => readImageFile(String(v), opt, ctx.getSync(['imageName'])), ['chomp']),
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
  const num = (x: unknown) => Number(x);
  const filters: Record<string, (...a: any[]) => unknown> = {
    prefix: (mask: unknown) => (isNetmask(String(mask)) ? maskToPrefix(String(mask)) : null),
    netmask: (p: unknown) => prefixToMask(num(p)),
    ip_cidr: (ip: unknown, mask: unknown) => `${ip}/${/^\d+$/.test(String(mask)) ? mask : maskToPrefix(String(mask))}`,
    network: (ip: unknown, mask: unknown) => networkOf(String(ip), /^\d+$/.test(String(mask)) ? prefixToMask(num(mask)) : String(mask)),
    ip_add: (ip: unknown, n: unknown) => addIPv4(String(ip), num(n)),
    unique_field: (text: unknown, sep: unknown = ':', idx: unknown = 0) => uniqueField(String(text ?? ''), String(sep), num(idx)),
    // the lines before a marker line (all of them when there is none): an admin's own part of a
    // file that wulf also writes, as Warewulf's IncludeBlock keeps it
    before_marker: (text: unknown, marker: unknown) => {
      const lines = String(text ?? '').split('\n');
      const i = lines.findIndex((l) => l.trim() === String(marker).trim());
      const kept = (i < 0 ? lines : lines.slice(0, i)).join('\n');
      return kept && !kept.endsWith('\n') ? `${kept}\n` : kept;
    },
    systemd_escape: (s: unknown) => systemdEscape(String(s), false),
    systemd_escape_path: (s: unknown) => systemdEscape(String(s), true),
    basename: (s: unknown) => posix.basename(String(s)),
    dirname: (s: unknown) => posix.dirname(String(s)),
    // "a, b  c" → [a, b, c]: lists from tags and captured text
    words: (s: unknown) => (Array.isArray(s) ? s.map(String) : String(s ?? '').split(/[\s,]+/)).filter((x) => x),
    // the values of resolv.conf lines (nameserver: addresses, loopback ones left out; search/domain: domains)
    resolv_values: (text: unknown, key: unknown) => resolvValues(String(text ?? ''), String(key)),
    inc: (n: unknown) => num(n) + 1,
    dec: (n: unknown) => num(n) - 1,
    shell_quote: (s: unknown) => PURE_FILTERS.shell_quote!(String(s ?? '')),
  };
  for (const [k, f] of Object.entries({ ...GO_FILTERS, ...filters })) liquid.registerFilter(k, f);
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

/** The files of a render with a node's own values put into the slots. */
export function fillSlots(r: RenderResult, data: object): RenderedFile[] {
  if (!r.slots.length || !r.marked) return r.files;
  const vals = r.slots.map((s) => {
    let v = String(valueAt(data, s.path));
    for (const f of s.filters) v = PURE_FILTERS[f]!(v);
    return v;
  });
  const fill = (t: string) => {
    if (!t.includes(SLOT_MARK)) return t;
    const parts = t.split(SLOT_MARK);
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i++) {
      const q = parts[i]!;
      const e = q.indexOf('\u0000');
      out += vals[Number(q.slice(0, e))] + q.slice(e + 1);
    }
    return out;
  };
  return r.marked.map((f) => ({ ...f, data: fill(f.data) }));
}

/** Values of a resolv.conf key: nameserver addresses (loopback ones, such as systemd-resolved's 127.0.0.53 stub, left out: on a node
 *  they would be the node itself) or search domains. */
export function resolvValues(text: string, key: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line
      .replace(/[#;].*/, '')
      .trim()
      .split(/\s+/);
    if (f[0] !== key || f.length < 2) continue;
    for (const v of key === 'nameserver' ? [f[1]!] : f.slice(1)) {
      if (key === 'nameserver' && (/^127\./.test(v) || v === '::1' || v === '0.0.0.0')) continue;
      if (!out.includes(v)) out.push(v);
    }
  }
  return out;
}

/** Keep the first line for each value of field `idx` (lines split on `sep`); blank lines dropped. */
export function uniqueField(text: string, sep: string, idx: number): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const k = line.split(sep)[idx] ?? '';
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(line);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** systemd-escape(1) rules; `path` mode as in --path. */
export function systemdEscape(s: string, path: boolean): string {
  let t = s;
  if (path) {
    t = t
      .split('/')
      .filter((x) => x)
      .join('/');
    if (!t) return '-';
  }
  let out = '';
  for (let i = 0; i < t.length; i++) {
    const ch = t[i]!;
    if (ch === '/') out += '-';
    else if ((ch === '.' && i === 0) || !/[A-Za-z0-9:_.]/.test(ch)) {
      for (const b of new TextEncoder().encode(ch)) out += '\\x' + b.toString(16).padStart(2, '0');
    } else out += ch;
  }
  return out;
}

let liquid: Liquid | undefined;
const parsed = new Map<string, Template[]>();

/** Parse (cached by content hash); a syntax error names overlay, file and line. */
export function parseTemplate(overlay: string, file: string, source: string): Template[] {
  // keyed by the text itself: a Map hashes a string once (callers pass the same string for the same template)
  const key = source;
  let t = parsed.get(key);
  if (t) return t;
  liquid ??= makeLiquid();
  // a Warewulf template copied in as it is: say so, rather than a Liquid parse error or a half-rendered file
  const go = findGoSyntax(source);
  if (go)
    throw new TemplateError(
      overlay,
      file,
      go.line,
      `Go template syntax (${go.text}); wulf templates are Liquid: convert it with wulf overlay convert FILE`,
      `wulf overlay convert --write <the overlay's rootfs>/${file} (the Go original is kept beside it as .go-orig)`,
    );
  try {
    t = liquid.parse(source);
  } catch (e) {
    throw templateError(overlay, file, e);
  }
  if (parsed.size > 5000) parsed.clear();
  parsed.set(key, t);
  return t;
}

function templateError(overlay: string, file: string, e: unknown): TemplateError {
  if (e instanceof TemplateError) return e;
  const err = e as Error & { token?: { getPosition?: () => [number, number] }; originalError?: Error };
  let line: number | undefined;
  try {
    line = err.token?.getPosition?.()[0];
  } catch {
    /* none */
  }
  let msg = (err.originalError && !(err.originalError as { token?: unknown }).token ? err.originalError.message : err.message) ?? String(e);
  const m = /, line:(\d+), col:\d+/.exec(msg);
  if (m) {
    line ??= Number(m[1]);
  }
  msg = msg
    .replace(/, file:[^,]*/, '')
    .replace(/, line:\d+, col:\d+/g, '')
    .split('\n')[0]!;
  if (/limit exceeded/.test(msg)) msg += ' (template too slow, too big or looping)';
  return new TemplateError(overlay, file, line, msg);
}

class CappedEmitter {
  buffer = '';
  write(html: unknown) {
    const s = typeof html === 'string' ? html : html == null ? '' : String(html);
    if (this.buffer.length + s.length > LIMITS.outputBytes) throw new Error(`output larger than ${LIMITS.outputBytes} bytes`);
    this.buffer += s;
  }
}

/**
 * Render one template. `rel` is its path inside the overlay (with .ww); `data` the raw template data.
 * Returns the output files (default name: rel without .ww) and what the template read.
 */
export function renderTemplate(
  overlay: string,
  rel: string,
  source: string,
  data: Record<string, unknown>,
  env: RenderEnv,
  nodes = 0,
): RenderResult {
  const tpls = parseTemplate(overlay, rel, source);
  const reads = newReads();
  const prev = cur;
  const cap: Capture = { on: false };
  const em = new CappedEmitter();
  const c: Cur = { env, reads, overlay, file: rel, data, cap, top: em, slots: [] };
  cur = c;
  let text: string;
  try {
    const ctx = new Context(tracked(data, reads, cap), liquid!.options, {
      sync: true,
      strictVariables: true,
      renderLimit: renderLimitMs(nodes),
      memoryLimit: LIMITS.memory,
    });
    toValueSync(liquid!.renderer.renderTemplates(tpls, ctx, em as unknown as Emitter));
    text = em.buffer;
  } catch (e) {
    throw templateError(overlay, rel, e);
  } finally {
    cur = prev;
  }
  const { files, nobackup } = splitOutput(overlay, rel, text, /\{%-?\s*file\s/.test(source));
  if (!c.slots.length) return { files, nobackup, reads, slots: c.slots };
  const r: RenderResult = { files, nobackup, reads, slots: c.slots, marked: files };
  r.files = fillSlots(r, data);
  if (r.files.some((f) => f.data.length > LIMITS.outputBytes))
    throw new TemplateError(overlay, rel, undefined, `output larger than ${LIMITS.outputBytes} bytes`);
  return r;
}

function splitOutput(overlay: string, rel: string, text: string, multi: boolean): { files: RenderedFile[]; nobackup: boolean } {
  const files: RenderedFile[] = [];
  let nobackup = false,
    abortAll = false;
  let f: RenderedFile = { rel: rel.replace(/\.ww$/, ''), data: '' };
  const dir = dirname(rel) === '.' ? '' : dirname(rel);
  const parts = text.split(MARK);
  f.data = parts[0]!;
  for (const p of parts.slice(1)) {
    const end = p.indexOf('\u0000');
    const op = p[0],
      arg = p.slice(1, end),
      rest = p.slice(end + 1);
    if (op === 'F') {
      files.push(f);
      let target: string;
      try {
        target = cleanRel(arg.startsWith('/') ? arg : `${dir}/${arg}`, 'file');
      } catch (e) {
        throw new TemplateError(overlay, rel, undefined, (e as Error).message);
      }
      if (!target) throw new TemplateError(overlay, rel, undefined, `{% file "${arg}" %} names no file`);
      f = { rel: target, data: rest };
      continue;
    }
    if (op === 'L') f.symlink = arg;
    else if (op === 'A') {
      f.abort = true;
      if (arg === '*') abortAll = true;
    } else if (op === 'N') nobackup = true;
    f.data += rest;
  }
  files.push(f);
  if (abortAll) for (const x of files) x.abort = true;
  // in a template that uses {% file %}, the default file is dropped when it holds only whitespace
  const out = files.filter((x, i) => !(i === 0 && multi && !x.data.trim() && !x.symlink));
  return { files: out, nobackup };
}

export { basename };
