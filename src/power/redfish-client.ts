// A small Redfish HTTPS client on fetch: session login (X-Auth-Token, deleted afterwards) or Basic
// auth, TLS verification on unless `ipmi.insecure` is "true", and every failure turned into one
// PowerError line (auth, TLS, refused, timeout, HTTP status with the BMC's own message, bad JSON).
import { readFileSync } from 'node:fs';
import { PowerError, maskSecret, type PowerTarget } from './driver.ts';

export const SESSIONS = '/redfish/v1/SessionService/Sessions';
export const SYSTEMS = '/redfish/v1/Systems';
export type Json = Record<string, unknown>;

export function baseUrl(t: PowerTarget): string {
  const ip = t.ipmi.ipaddr!;
  const scheme = (t.ipmi.tags?.scheme ?? 'https').toLowerCase();
  const host = ip.includes(':') && !ip.startsWith('[') ? `[${ip}]` : ip;
  // ipmi.port usually means the IPMI UDP port (623); only another value is an HTTPS port
  const port = t.ipmi.port && t.ipmi.port !== '623' ? `:${t.ipmi.port}` : '';
  return `${scheme}://${host}${port}`;
}

export const authMode = (t: PowerTarget): 'session' | 'basic' => (t.ipmi.tags?.auth === 'basic' ? 'basic' : 'session');
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|TLS|SSL|HANDSHAKE/i;

export class RedfishSession {
  readonly base: string;
  private headers: Record<string, string> = { Accept: 'application/json' };
  private sessionUri?: string;
  private readonly tls: { rejectUnauthorized?: boolean; ca?: string } | undefined;

  constructor(
    readonly t: PowerTarget,
    private readonly signal?: AbortSignal,
  ) {
    this.base = baseUrl(t);
    const insecure = String(t.ipmi.insecure ?? '').toLowerCase() === 'true';
    let ca: string | undefined;
    if (t.ipmi.tags?.ca) {
      try {
        ca = readFileSync(t.ipmi.tags.ca, 'utf8');
      } catch (e) {
        throw new PowerError(`cannot read CA file ${t.ipmi.tags.ca}: ${(e as Error).message}`, 'config');
      }
    }
    this.tls = insecure ? { rejectUnauthorized: false } : ca ? { ca } : undefined;
  }

  /** Log in (session, or Basic when asked for or when the BMC has no session service). */
  async open(): Promise<void> {
    const user = this.t.ipmi.username ?? '',
      pass = this.t.ipmi.password ?? '';
    const basic = () => {
      this.headers.Authorization = 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
    };
    if (authMode(this.t) === 'basic') return basic();
    const res = await this.send('POST', SESSIONS, { UserName: user, Password: pass }, false);
    if (res.status === 404 || res.status === 405 || res.status === 501) {
      await res.body?.cancel();
      return basic();
    }
    if (!res.ok) throw await this.httpError(res, 'POST', SESSIONS);
    const token = res.headers.get('x-auth-token');
    await res.body?.cancel();
    if (!token) throw new PowerError(`BMC ${this.base} created a session but sent no X-Auth-Token`, 'protocol');
    this.headers['X-Auth-Token'] = token;
    const loc = res.headers.get('location');
    if (loc) this.sessionUri = loc.startsWith('http') ? new URL(loc).pathname : loc;
  }

  /** Delete the session (best effort, bounded, even after a timeout). */
  async close(): Promise<void> {
    if (!this.sessionUri) return;
    const uri = this.sessionUri;
    this.sessionUri = undefined;
    try {
      const res = await fetch(this.base + uri, {
        method: 'DELETE',
        headers: this.headers,
        signal: AbortSignal.timeout(3000),
        ...(this.tls ? { tls: this.tls } : {}),
      } as RequestInit);
      await res.body?.cancel();
    } catch {
      /* the BMC expires it */
    }
  }

  async get(path: string): Promise<{ json: Json; etag?: string }> {
    const res = await this.send('GET', path);
    if (!res.ok) throw await this.httpError(res, 'GET', path);
    return { json: await this.parse(res, 'GET', path), etag: res.headers.get('etag') ?? undefined };
  }

  async post(path: string, body: unknown): Promise<void> {
    await this.write('POST', path, body);
  }
  async patch(path: string, body: unknown, etag?: string): Promise<void> {
    await this.write('PATCH', path, body, etag ? { 'If-Match': etag } : {});
  }

  private async write(method: string, path: string, body: unknown, extra: Record<string, string> = {}): Promise<void> {
    const res = await this.send(method, path, body, true, extra);
    if (!res.ok) throw await this.httpError(res, method, path);
    await res.body?.cancel();
  }

  private async send(method: string, path: string, body?: unknown, auth = true, extra: Record<string, string> = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(auth ? this.headers : { Accept: 'application/json' }), ...extra };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.signal?.aborted) throw new PowerError('timed out', 'timeout');
    try {
      return await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: this.signal,
        redirect: 'manual',
        ...(this.tls ? { tls: this.tls } : {}),
      } as RequestInit);
    } catch (e) {
      if (this.signal?.aborted) throw new PowerError(`timed out (${method} ${path})`, 'timeout');
      const err = e as NodeJS.ErrnoException;
      const code = err.code ?? '';
      // a handshake that fails with verification off, or a protocol error: not a certificate problem
      if (
        code === 'EPROTO' ||
        /wrong version number|packet length too long|unknown protocol/i.test(err.message) ||
        ((TLS_CODES.test(code) || TLS_CODES.test(err.message)) && this.tls?.rejectUnauthorized === false)
      ) {
        throw new PowerError(
          `TLS handshake with ${this.base} failed (${code || err.message}): does the BMC speak HTTPS on this port?`,
          'unreachable',
        );
      }
      if (TLS_CODES.test(code) || TLS_CODES.test(err.message)) {
        throw new PowerError(
          `TLS certificate of ${this.base} not trusted (${code || err.message}); set ipmi insecure "true" to skip verification, or an ipmi tag ca=FILE`,
          'auth',
        );
      }
      if (code === 'ConnectionRefused' || code === 'ECONNREFUSED')
        throw new PowerError(`connection refused by ${this.base}`, 'unreachable');
      throw new PowerError(`cannot reach ${this.base}: ${code ? code + ' ' : ''}${err.message}`, 'unreachable');
    }
  }

  private async parse(res: Response, method: string, path: string): Promise<Json> {
    const text = await res.text();
    try {
      const v = JSON.parse(text) as unknown;
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      return v as Json;
    } catch {
      throw new PowerError(
        `invalid JSON in reply to ${method} ${path} (${text.length} bytes: ${JSON.stringify(text.slice(0, 40))})`,
        'protocol',
      );
    }
  }

  private async httpError(res: Response, method: string, path: string): Promise<PowerError> {
    let msg = '';
    try {
      const j = JSON.parse(await res.text()) as { error?: { message?: string; '@Message.ExtendedInfo'?: { Message?: string }[] } };
      msg = maskSecret(
        String(j.error?.['@Message.ExtendedInfo']?.[0]?.Message ?? j.error?.message ?? '').slice(0, 200),
        this.t.ipmi.password,
      );
    } catch {
      /* no JSON body */
    }
    const what = `HTTP ${res.status} on ${method} ${path}${msg ? `: ${msg}` : ''}`;
    if (res.status === 401 || res.status === 403)
      return new PowerError(`BMC ${this.base} refused the login: wrong username or password? (${what})`, 'auth');
    if (res.status === 503) return new PowerError(`BMC ${this.base} unavailable (${what})`, 'unreachable');
    return new PowerError(`BMC ${this.base}: ${what}`, 'failed');
  }
}

/** The `@odata.id` of a link object, or undefined. */
export function link(v: unknown): string | undefined {
  const id = v && typeof v === 'object' ? (v as Json)['@odata.id'] : undefined;
  return typeof id === 'string' && id.startsWith('/') ? id : undefined;
}
