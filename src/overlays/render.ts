// Renders `.ww` templates with liquidjs, synchronously: parsed once per source hash, strict
// variables, bounded time/memory/output; the output split into the files the template names.
// The engine (tags, narrowed reads, slots) is liquid-engine.ts; the files a template may include
// template-files.ts; the filters template-filters.ts.
import { dirname } from 'node:path';
import { Context, toValueSync, type Emitter, type Template, type Liquid } from 'liquidjs';
import { WulfError } from '../lib/errors.ts';
import { newReads, tracked, valueAt, type Capture, type Reads } from './track.ts';
import { cleanRel } from './sources.ts';
import { findGoSyntax } from '../lib/go-syntax.ts';
import { PURE_FILTERS } from './template-filters.ts';
import type { RenderEnv } from './template-files.ts';
import { MARK, SLOT_MARK, makeLiquid, withCur, type Cur, type Slot } from './liquid-engine.ts';

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

export interface RenderedFile {
  rel: string;
  data: string;
  symlink?: string;
  abort?: boolean;
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

let liquid: Liquid | undefined;
const parsed = new Map<string, Template[]>();

/** Parse (cached by content hash); a syntax error names overlay, file and line. */
export function parseTemplate(overlay: string, file: string, source: string): Template[] {
  // keyed by the text itself: a Map hashes a string once (callers pass the same string for the same template)
  const key = source;
  let t = parsed.get(key);
  if (t) return t;
  liquid ??= makeLiquid(LIMITS);
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
  const cap: Capture = { on: false };
  const em = new CappedEmitter();
  const c: Cur = { env, reads, overlay, file: rel, data, cap, top: em, slots: [] };
  let text: string;
  try {
    withCur(c, () => {
      const ctx = new Context(tracked(data, reads, cap), liquid!.options, {
        sync: true,
        strictVariables: true,
        renderLimit: renderLimitMs(nodes),
        memoryLimit: LIMITS.memory,
      });
      toValueSync(liquid!.renderer.renderTemplates(tpls, ctx, em as unknown as Emitter));
    });
    text = em.buffer;
  } catch (e) {
    throw templateError(overlay, rel, e);
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
