// Logging handed down from main.ts: one line per event, tagged by subsystem, human by default
// or JSON (--log-format json). Repeated warnings are rate-limited with `limited`: per key (key them
// by peer address, never by a string the peer chooses), and per tag across all keys (spoofed UDP
// sources). Every message and field value is passed through escapeControl, so a peer's string
// (a TFTP file name, an HTTP path, a DHCP host name) can neither forge a line nor drive the terminal.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, string | number | boolean | undefined | null>;

export interface Logger {
  debug(tag: string, msg: string, fields?: Fields): void;
  info(tag: string, msg: string, fields?: Fields): void;
  warn(tag: string, msg: string, fields?: Fields): void;
  error(tag: string, msg: string, fields?: Fields): void;
  /** Log at most once per `key` every `intervalMs` (bad packets, floods). */
  limited(key: string, level: LogLevel, tag: string, msg: string, fields?: Fields, intervalMs?: number): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

// C0 controls, DEL, C1 controls (0x9b is a CSI on some terminals), Unicode line/paragraph
// separators, and bidirectional overrides/isolates (which reorder what a reader sees).
const CONTROL = /[\0-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A string made safe for one log line: control characters become visible escapes (`\n`, `\x1b`, `\u2028`). */
export function escapeControl(s: string): string {
  return s.replace(CONTROL, (c) => {
    const n = c.charCodeAt(0);
    return SHORT[c] ?? (n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16)}`);
  });
}
const clean = (v: Fields[string]) => (typeof v === 'string' ? escapeControl(v) : v);

/** Lines a tag may write at one level through `limited` per interval, whatever the keys (then one summary line). */
const TAG_BUDGET = 50;

export function createLogger(
  opts: { format?: 'human' | 'json'; level?: LogLevel; write?: (line: string) => void; now?: () => number } = {},
): Logger {
  const format = opts.format ?? 'human';
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = opts.now ?? Date.now;
  const lastSeen = new Map<string, number>();
  const tags = new Map<string, { start: number; lines: number; dropped: number }>();
  const emit = (level: LogLevel, tag: string, msg: string, fields?: Fields) => {
    if (ORDER[level] < min) return;
    const ts = new Date(now()).toISOString();
    msg = escapeControl(msg);
    const kvs = fields ? Object.entries(fields).map(([k, v]) => [escapeControl(k), clean(v)] as const) : [];
    if (format === 'json') {
      write(JSON.stringify({ ts, level, tag, msg, ...Object.fromEntries(kvs) }));
    } else {
      const kv = kvs
        .filter(([, v]) => v !== undefined && v !== null && v !== '')
        .map(([k, v]) => `${k}=${String(v).includes(' ') ? JSON.stringify(String(v)) : v}`)
        .join(' ');
      write(`${ts.slice(11, 23)} ${level === 'info' ? '' : level.toUpperCase() + ' '}${tag}: ${msg}${kv ? ' ' + kv : ''}`);
    }
  };
  return {
    debug: (t, m, f) => emit('debug', t, m, f),
    info: (t, m, f) => emit('info', t, m, f),
    warn: (t, m, f) => emit('warn', t, m, f),
    error: (t, m, f) => emit('error', t, m, f),
    limited(key, level, tag, msg, fields, intervalMs = 10_000) {
      const t = now();
      const prev = lastSeen.get(key);
      if (prev !== undefined && t - prev < intervalMs) return;
      const bk = `${tag}\0${level}`;
      let b = tags.get(bk);
      if (b && t - b.start >= intervalMs) {
        if (b.dropped) emit(level, tag, `${b.dropped} more similar lines suppressed in ${Math.round((t - b.start) / 1000)} s`);
        b = undefined;
      }
      if (!b) tags.set(bk, (b = { start: t, lines: 0, dropped: 0 }));
      if (b.lines >= TAG_BUDGET) {
        b.dropped++;
        return;
      }
      b.lines++;
      lastSeen.set(key, t);
      if (lastSeen.size > 10_000) lastSeen.clear();
      emit(level, tag, msg, fields);
    },
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger({ write: () => {} });
