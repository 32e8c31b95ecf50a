// Renders `.ww` templates with liquidjs, synchronously: parsed once per source hash, strict
// variables, bounded time/memory/output. Custom tags switch the output file, make symlinks, abort,
// include controller or image files; filters do IP math, passwd merging and systemd escaping.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, posix } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Context, Liquid, Tag, Value, toValueSync, type TagToken, type TopLevelToken, type Emitter, type Template } from 'liquidjs';
import { WulfError } from '../lib/errors.ts';
import { addIPv4, isNetmask, maskToPrefix, networkOf, prefixToMask } from '../lib/ip.ts';
import { FILE_PREFIX, SEP, newReads, tracked, type Reads } from './track.ts';
import { cleanRel } from './sources.ts';

export const LIMITS = { outputBytes: 64 * 1024 * 1024, renderMs: 10_000, memory: 64 * 1024 * 1024, parseBytes: 8 * 1024 * 1024 };

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

export interface RenderedFile { rel: string; data: string; symlink?: string; abort?: boolean }
export interface RenderResult { files: RenderedFile[]; nobackup: boolean; reads: Reads }

export class TemplateError extends WulfError {
  constructor(readonly overlay: string, readonly file: string, readonly line: number | undefined, msg: string) {
    super(`overlay ${overlay}: ${file}${line ? `:${line}` : ''}: ${msg}`, { code: 'ETEMPLATE', hint: `wulf overlay show ${overlay} ${file}` });
  }
}

const MARK = `\u0000wulf${randomBytes(6).toString('hex')}:`;
interface Cur { env: RenderEnv; reads: Reads; overlay: string; file: string; data: Record<string, unknown> }
let cur: Cur | undefined;

const hashOf = (b: Uint8Array | string) => createHash('sha1').update(b).digest('hex');

function readHostFile(path: string, optional: boolean): string {
  const c = cur!;
  let abs: string;
  if (isAbsolute(path)) {
    const n = normalize(path);
    const inConf = n.startsWith(c.env.confDir + '/');
    if (!inConf && !c.env.hostAllow.some((a) => n === a || (a.endsWith('/') && n.startsWith(a)))) {
      throw new Error(`include_file "${path}": only files under ${c.env.confDir} or ${c.env.hostAllow.join(', ')} may be included`);
    }
    abs = inConf ? n : c.env.hostRoot + n;
  } else {
    abs = join(c.env.confDir, path);
    if (!normalize(abs).startsWith(c.env.confDir + '/')) throw new Error(`include_file "${path}" leaves ${c.env.confDir}`);
  }
  const key = FILE_PREFIX + 'c' + abs;
  if (!existsSync(abs)) {
    c.reads.global.set(key, 'missing');
    if (optional) return '';
    throw new Error(`include_file "${path}": ${abs} does not exist`);
  }
  // a symlink in confDir must not lead out of it
  if (!isAbsolute(path)) {
    const real = realpathSync(abs);
    const realConf = realpathSync(c.env.confDir);
    if (!real.startsWith(realConf + '/')) throw new Error(`include_file "${path}" resolves outside ${c.env.confDir}`);
  }
  const buf = readFileSync(abs);
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
  if (kind === 'c') { try { return hashOf(readFileSync(rest)); } catch { return 'missing'; } }
  const [img, rel] = rest.split(SEP) as [string, string];
  const buf = env.imageFile?.(img, '/' + rel);
  return buf ? hashOf(buf) : 'missing';
}

function argTag(name: string, run: (v: unknown, optional: boolean, ctx: Context) => string) {
  return class extends Tag {
    private value: Value | undefined;
    private optional = false;
    constructor(token: TagToken, remain: TopLevelToken[], liquid: Liquid) {
      super(token, remain, liquid);
      let args = token.args.trim();
      const m = /^(.*?)[\s,]+optional$/.exec(args);
      if (m) { this.optional = true; args = m[1]!; }
      if (args) this.value = new Value(args, liquid);
      else if (name !== 'abort' && name !== 'nobackup') throw new Error(`{% ${name} %} needs an argument`);
    }
    *render(ctx: Context, emitter: Emitter): Generator<unknown, void, unknown> {
      const v = this.value ? yield this.value.value(ctx, false) : undefined;
      emitter.write(run(v, this.optional, ctx));
    }
  };
}

function makeLiquid(): Liquid {
  const liquid = new Liquid({
    strictVariables: true, strictFilters: true, ownPropertyOnly: false, greedy: false,
    parseLimit: LIMITS.parseBytes, renderLimit: LIMITS.renderMs, memoryLimit: LIMITS.memory,
    relativeReference: false, dynamicPartials: false, templates: {},
  });
  liquid.registerTag('file', argTag('file', (v) => `${MARK}F${String(v)}\u0000`));
  liquid.registerTag('softlink', argTag('softlink', (v) => `${MARK}L${String(v)}\u0000`));
  liquid.registerTag('abort', argTag('abort', () => `${MARK}A\u0000`));
  liquid.registerTag('nobackup', argTag('nobackup', () => `${MARK}N\u0000`));
  liquid.registerTag('include_file', argTag('include_file', (v, opt) => readHostFile(String(v), opt)));
  liquid.registerTag('include_image', argTag('include_image', (v, opt, ctx) => readImageFile(String(v), opt, ctx.getSync(['imageName']))));
  const num = (x: unknown) => Number(x);
  const filters: Record<string, (...a: any[]) => unknown> = {
    prefix: (mask: unknown) => (isNetmask(String(mask)) ? maskToPrefix(String(mask)) : null),
    netmask: (p: unknown) => prefixToMask(num(p)),
    ip_cidr: (ip: unknown, mask: unknown) => `${ip}/${/^\d+$/.test(String(mask)) ? mask : maskToPrefix(String(mask))}`,
    network: (ip: unknown, mask: unknown) => networkOf(String(ip), /^\d+$/.test(String(mask)) ? prefixToMask(num(mask)) : String(mask)),
    ip_add: (ip: unknown, n: unknown) => addIPv4(String(ip), num(n)),
    unique_field: (text: unknown, sep: unknown = ':', idx: unknown = 0) => uniqueField(String(text ?? ''), String(sep), num(idx)),
    systemd_escape: (s: unknown) => systemdEscape(String(s), false),
    systemd_escape_path: (s: unknown) => systemdEscape(String(s), true),
    basename: (s: unknown) => posix.basename(String(s)),
    dirname: (s: unknown) => posix.dirname(String(s)),
    inc: (n: unknown) => num(n) + 1,
    dec: (n: unknown) => num(n) - 1,
    shell_quote: (s: unknown) => `'${String(s ?? '').replaceAll("'", "'\\''")}'`,
  };
  for (const [k, f] of Object.entries(filters)) liquid.registerFilter(k, f);
  return liquid;
}

/** Keep the first line for each value of field `idx` (lines split on `sep`); blank lines dropped. */
export function uniqueField(text: string, sep: string, idx: number): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const k = line.split(sep)[idx] ?? '';
    if (seen.has(k)) continue;
    seen.add(k); out.push(line);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** systemd-escape(1) rules; `path` mode as in --path. */
export function systemdEscape(s: string, path: boolean): string {
  let t = s;
  if (path) {
    t = t.split('/').filter((x) => x).join('/');
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
  const key = hashOf(source);
  let t = parsed.get(key);
  if (t) return t;
  liquid ??= makeLiquid();
  try { t = liquid.parse(source); }
  catch (e) { throw templateError(overlay, file, e); }
  if (parsed.size > 5000) parsed.clear();
  parsed.set(key, t);
  return t;
}

function templateError(overlay: string, file: string, e: unknown): TemplateError {
  if (e instanceof TemplateError) return e;
  const err = e as Error & { token?: { getPosition?: () => [number, number] }; originalError?: Error };
  let line: number | undefined;
  try { line = err.token?.getPosition?.()[0]; } catch { /* none */ }
  let msg = (err.originalError && !(err.originalError as { token?: unknown }).token ? err.originalError.message : err.message) ?? String(e);
  const m = /, line:(\d+), col:\d+/.exec(msg);
  if (m) { line ??= Number(m[1]); }
  msg = msg.replace(/, file:[^,]*/, '').replace(/, line:\d+, col:\d+/g, '').split('\n')[0]!;
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
export function renderTemplate(overlay: string, rel: string, source: string, data: Record<string, unknown>, env: RenderEnv): RenderResult {
  const tpls = parseTemplate(overlay, rel, source);
  const reads = newReads();
  const prev = cur;
  cur = { env, reads, overlay, file: rel, data };
  let text: string;
  try {
    const ctx = new Context(tracked(data, reads), liquid!.options, { sync: true, strictVariables: true, renderLimit: LIMITS.renderMs, memoryLimit: LIMITS.memory });
    const em = new CappedEmitter();
    toValueSync(liquid!.renderer.renderTemplates(tpls, ctx, em as unknown as Emitter));
    text = em.buffer;
  } catch (e) {
    throw templateError(overlay, rel, e);
  } finally { cur = prev; }
  return { ...splitOutput(overlay, rel, text, /\{%-?\s*file\s/.test(source)), reads };
}

function splitOutput(overlay: string, rel: string, text: string, multi: boolean): { files: RenderedFile[]; nobackup: boolean } {
  const files: RenderedFile[] = [];
  let nobackup = false;
  let f: RenderedFile = { rel: rel.replace(/\.ww$/, ''), data: '' };
  const dir = dirname(rel) === '.' ? '' : dirname(rel);
  const parts = text.split(MARK);
  f.data = parts[0]!;
  for (const p of parts.slice(1)) {
    const end = p.indexOf('\u0000');
    const op = p[0], arg = p.slice(1, end), rest = p.slice(end + 1);
    if (op === 'F') {
      files.push(f);
      let target: string;
      try { target = cleanRel(arg.startsWith('/') ? arg : `${dir}/${arg}`, 'file'); }
      catch (e) { throw new TemplateError(overlay, rel, undefined, (e as Error).message); }
      if (!target) throw new TemplateError(overlay, rel, undefined, `{% file "${arg}" %} names no file`);
      f = { rel: target, data: rest };
      continue;
    }
    if (op === 'L') f.symlink = arg;
    else if (op === 'A') f.abort = true;
    else if (op === 'N') nobackup = true;
    f.data += rest;
  }
  files.push(f);
  // in a template that uses {% file %}, the default file is dropped when it holds only whitespace
  const out = files.filter((x, i) => !(i === 0 && multi && !x.data.trim() && !x.symlink));
  return { files: out, nobackup };
}

export { basename };
