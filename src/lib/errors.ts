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
