// Which store a command uses: WULF_STORE beats `store:` in wulf.conf beats the files. A spec is
// "files" or a postgres:// (postgresql://) URL; a unix socket directory is given libpq's way,
// as ?host=/dir. Anything else is a one-line error.
import { WulfError } from '../lib/errors.ts';

export type StoreSpec = { kind: 'files' } | { kind: 'postgres'; url: string };

export function parseStoreSpec(text: string, from: string): StoreSpec {
  const s = text.trim();
  if (s === '' || s === 'files' || s === 'file') return { kind: 'files' };
  if (/^postgres(ql)?:\/\//.test(s)) {
    try {
      new URL(s);
    } catch {
      throw new WulfError(`${from}: "${redact(s)}" is not a valid postgres:// URL`);
    }
    return { kind: 'postgres', url: s };
  }
  throw new WulfError(`${from}: store "${redact(s)}" is neither "files" nor a postgres:// URL`, {
    hint: 'e.g. store: postgres://wulf@db.lab/wulf',
  });
}

/** The URL without its password (user:password@ or libpq's ?password=), for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
