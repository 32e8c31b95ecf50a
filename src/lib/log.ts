// Logging handed down from main.ts: one line per event, tagged by subsystem, human by default
// or JSON (--log-format json). Repeated identical warnings can be rate-limited with `once`.

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

export function createLogger(opts: { format?: 'human' | 'json'; level?: LogLevel; write?: (line: string) => void } = {}): Logger {
  const format = opts.format ?? 'human';
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const lastSeen = new Map<string, number>();
  const emit = (level: LogLevel, tag: string, msg: string, fields?: Fields) => {
    if (ORDER[level] < min) return;
    const ts = new Date().toISOString();
    if (format === 'json') {
      write(JSON.stringify({ ts, level, tag, msg, ...fields }));
    } else {
      const kv = fields ? Object.entries(fields).filter(([, v]) => v !== undefined && v !== null && v !== '')
        .map(([k, v]) => `${k}=${String(v).includes(' ') ? JSON.stringify(String(v)) : v}`).join(' ') : '';
      write(`${ts.slice(11, 23)} ${level === 'info' ? '' : level.toUpperCase() + ' '}${tag}: ${msg}${kv ? ' ' + kv : ''}`);
    }
  };
  return {
    debug: (t, m, f) => emit('debug', t, m, f),
    info: (t, m, f) => emit('info', t, m, f),
    warn: (t, m, f) => emit('warn', t, m, f),
    error: (t, m, f) => emit('error', t, m, f),
    limited(key, level, tag, msg, fields, intervalMs = 10_000) {
      const now = Date.now();
      const prev = lastSeen.get(key);
      if (prev !== undefined && now - prev < intervalMs) return;
      lastSeen.set(key, now);
      if (lastSeen.size > 10_000) lastSeen.clear();
      emit(level, tag, msg, fields);
    },
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger({ write: () => {} });
