// Errors a user can fix: one line of message, an optional hint. main.ts turns them into exit codes;
// anything that is not a WulfError is a bug and shows its stack only with --debug.

export class WulfError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: number;
  constructor(message: string, opts: { code?: string; hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'WulfError';
    this.code = opts.code ?? 'EUSER';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** Shorthand for throwing a user-facing error. */
export function fail(message: string, hint?: string, code?: string): never {
  throw new WulfError(message, { hint, code });
}

/** A one-line text for any thrown value (never a stack). */
export function errorLine(e: unknown): string {
  if (e instanceof WulfError) return e.message;
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

const ERRNO_WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such file or directory',
  ENOSPC: 'no space left on device',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
};

/**
 * A file-system error on a path (a file the user can fix: its permissions, a full disk) as one line,
 * e.g. "cannot open /etc/wulf/wulf.conf: permission denied (EACCES)"; undefined for anything else.
 */
export function fsErrorLine(e: unknown): string | undefined {
  const x = e as NodeJS.ErrnoException | undefined;
  if (!(x instanceof Error) || !x.code || !x.path || !ERRNO_WORDS[x.code]) return undefined;
  return `cannot ${x.syscall ?? 'access'} ${x.path}: ${ERRNO_WORDS[x.code]} (${x.code})`;
}
