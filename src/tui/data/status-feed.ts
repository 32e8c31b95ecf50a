// Live node status for the TUI: GET /status once, then the SSE stream /status/events (or polling
// /status when the server has no stream); when the server is unreachable, whatever status the
// state file holds. Updates land in a map and bump `version`; the screen samples it ≤10×/s.
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Paths } from '../../config/paths.ts';
import { errorLine } from '../../lib/errors.ts';
import { eventOf, parseStatusDoc, type LogEvent, type NodeStatus } from '../state/status.ts';

export type FeedMode = 'connecting' | 'live' | 'polling' | 'files';
export interface FeedOptions {
  url: string;
  paths: Paths;
  fetch?: typeof fetch;
  retryMs?: number;
  pollMs?: number;
  maxEvents?: number;
}

/**
 * Why a request failed, short enough for the status line: the error code when there is one
 * ("ECONNREFUSED"), else the message's first sentence ("The operation timed out", "GET /status:
 * HTTP 500"), cut at a word boundary past 40 characters (never mid-word, never inside an address).
 */
export function shortReason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(code)) return code;
  const line = errorLine(e)
    .split(/\.(?:\s|$)/)[0]!
    .trim();
  if (line.length <= 40) return line || 'unknown error';
  const cut = line.slice(0, 40).replace(/\s+\S*$/, '');
  return (cut || line.slice(0, 39)) + '…';
}

export class StatusFeed {
  readonly statuses = new Map<string, NodeStatus>();
  events: LogEvent[] = [];
  mode: FeedMode = 'connecting';
  /** why the server is not used (files mode), or what the server stream said last */
  detail = '';
  version = 0;
  private seq = 0;
  private stopped = false;
  private abort = new AbortController();
  private fileSig = '';
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: FeedOptions) {
    this.fetch = opts.fetch ?? fetch;
  }

  start(): void {
    void this.loop();
  }
  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }

  /** A pause that ends at once, its timer cleared, when the feed stops (a plain sleep held the exit for up to retryMs). */
  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Merge a JSON document of status records (exported for tests and the file reader). */
  apply(doc: unknown, log: boolean): number {
    const recs = parseStatusDoc(doc, this.statuses);
    const now = Date.now() / 1000;
    for (const r of recs) {
      const prev = this.statuses.get(r.name);
      this.statuses.set(r.name, r);
      if (log && (!prev || prev.stage !== r.stage || prev.sent !== r.sent || prev.lastSeen !== r.lastSeen))
        this.events.push(eventOf(r, now, ++this.seq));
    }
    const max = this.opts.maxEvents ?? 5000;
    if (this.events.length > max * 1.5) this.events = this.events.slice(-max);
    if (recs.length) this.version++;
    return recs.length;
  }

  private setMode(m: FeedMode, detail = ''): void {
    if (m !== this.mode || detail !== this.detail) {
      this.mode = m;
      this.detail = detail;
      this.version++;
    }
  }

  private async loop(): Promise<void> {
    const base = this.opts.url.replace(/\/+$/, '');
    while (!this.stopped) {
      try {
        const r = await this.fetch(`${base}/status`, { signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(2000)]) });
        if (!r.ok) throw new Error(`GET /status: HTTP ${r.status}`);
        this.statuses.clear();
        this.apply(await r.json(), false);
        this.setMode('live');
        const es = await this.fetch(`${base}/status/events`, { signal: this.abort.signal, headers: { accept: 'text/event-stream' } });
        if (es.ok && es.body) {
          await this.readSse(es.body);
          if (!this.stopped) this.setMode('connecting', 'status stream closed; reconnecting');
        } else {
          await es.body?.cancel().catch(() => {});
          this.setMode('polling', `no status stream (HTTP ${es.status}); polling /status`);
          await this.poll(base);
        }
      } catch (e) {
        if (this.stopped) return;
        this.setMode('files', `server unreachable (${shortReason(e)})`);
        this.readFiles();
      }
      await this.pause(this.opts.retryMs ?? 3000);
    }
  }

  private async poll(base: string): Promise<void> {
    while (!this.stopped) {
      await this.pause(this.opts.pollMs ?? 1000);
      if (this.stopped) return;
      const r = await this.fetch(`${base}/status`, { signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(2000)]) });
      if (!r.ok) throw new Error(`GET /status: HTTP ${r.status}`);
      this.apply(await r.json(), true);
    }
  }

  /** Server-sent events: `data:` lines up to a blank line form one JSON event. */
  private async readSse(body: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let buf = '';
    let data: string[] = [];
    for await (const chunk of body) {
      if (this.stopped) break;
      buf += dec.decode(chunk, { stream: true });
      let at = 0,
        nl: number;
      while ((nl = buf.indexOf('\n', at)) >= 0) {
        const end = nl > at && buf.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        if (end === at) {
          if (data.length) {
            this.dispatch(data.length === 1 ? data[0]! : data.join('\n'));
            data = [];
          }
        } else if (buf.startsWith('data:', at)) data.push(buf.slice(at + (buf.charCodeAt(at + 5) === 32 ? 6 : 5), end));
        at = nl + 1;
      }
      buf = at ? buf.slice(at) : buf;
    }
  }

  private dispatch(text: string): void {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return;
    }
    this.apply(doc, true);
  }

  /** No server: the status the state file holds, if it holds any in a form we recognise. */
  readFiles(): void {
    const f = this.opts.paths.stateFile;
    if (!existsSync(f)) return;
    try {
      const st = statSync(f);
      const sig = `${st.mtimeMs}:${st.size}`;
      if (sig === this.fileSig) return;
      this.fileSig = sig;
      // lazy: cbor-x is only needed when the server is down
      const { decode } = require('cbor-x') as { decode: (b: Uint8Array) => unknown };
      const raw = decode(readFileSync(f)) as Record<string, unknown> | undefined;
      const st2 = raw && typeof raw === 'object' ? (raw.status ?? raw.nodes ?? raw) : undefined;
      this.apply(st2 && typeof st2 === 'object' && !('nodes' in st2) ? { nodes: st2 } : st2, false);
    } catch (e) {
      this.detail += `; state file unreadable (${errorLine(e).slice(0, 40)})`;
    }
  }
}
