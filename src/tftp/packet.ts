// TFTP packets (RFC 1350) with option negotiation (RFC 2347: blksize 2348, timeout/tsize 2349,
// windowsize RFC 7440). Pure: bytes in, a typed packet or a reason out; never throws.

export const Op = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;
export const ErrorCode = {
  NotDefined: 0,
  NotFound: 1,
  AccessViolation: 2,
  DiskFull: 3,
  IllegalOp: 4,
  UnknownTid: 5,
  Exists: 6,
  NoUser: 7,
  BadOption: 8,
} as const;

export type Packet =
  | { op: 1 | 2; filename: string; mode: string; options: Record<string, string> }
  | { op: 3; block: number; data: Uint8Array }
  | { op: 4; block: number }
  | { op: 5; code: number; message: string }
  | { op: 6; options: Record<string, string> };

export type Decoded = { ok: true; packet: Packet } | { ok: false; reason: string };

const MAX_FIELD = 512;
const dec = new TextDecoder('latin1');

/** Split NUL-terminated strings starting at `off`; fails on a missing terminator. */
function strings(b: Uint8Array, off: number): string[] | string {
  const out: string[] = [];
  let start = off;
  for (let i = off; i < b.length; i++) {
    if (b[i] === 0) {
      if (i - start > MAX_FIELD) return `field longer than ${MAX_FIELD} bytes`;
      out.push(dec.decode(b.subarray(start, i)));
      start = i + 1;
    }
  }
  if (start !== b.length) return 'last field is not NUL-terminated';
  return out;
}

export function decodePacket(b: Uint8Array): Decoded {
  if (b.length < 4) return { ok: false, reason: `packet of ${b.length} bytes is too short` };
  const op = (b[0]! << 8) | b[1]!;
  switch (op) {
    case Op.RRQ:
    case Op.WRQ: {
      const s = strings(b, 2);
      if (typeof s === 'string') return { ok: false, reason: s };
      if (s.length < 2) return { ok: false, reason: 'request without filename and mode' };
      if (s.length % 2 !== 0) return { ok: false, reason: 'option without a value' };
      const options: Record<string, string> = {};
      for (let i = 2; i + 1 < s.length; i += 2) options[s[i]!.toLowerCase()] = s[i + 1]!;
      return { ok: true, packet: { op, filename: s[0]!, mode: s[1]!.toLowerCase(), options } };
    }
    case Op.DATA:
      return { ok: true, packet: { op, block: (b[2]! << 8) | b[3]!, data: b.subarray(4) } };
    case Op.ACK:
      if (b.length !== 4) return { ok: false, reason: `ACK of ${b.length} bytes` };
      return { ok: true, packet: { op, block: (b[2]! << 8) | b[3]! } };
    case Op.ERROR: {
      const s = b.length > 4 ? strings(b, 4) : [''];
      return { ok: true, packet: { op, code: (b[2]! << 8) | b[3]!, message: typeof s === 'string' ? '' : (s[0] ?? '') } };
    }
    case Op.OACK: {
      const s = strings(b, 2);
      if (typeof s === 'string' || s.length % 2 !== 0) return { ok: false, reason: 'malformed OACK' };
      const options: Record<string, string> = {};
      for (let i = 0; i + 1 < s.length; i += 2) options[s[i]!.toLowerCase()] = s[i + 1]!;
      return { ok: true, packet: { op, options } };
    }
    default:
      return { ok: false, reason: `unknown opcode ${op}` };
  }
}

const enc = new TextEncoder();
function withHeader(op: number, n: number, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + rest.length);
  out[0] = op >> 8;
  out[1] = op & 255;
  out[2] = (n >> 8) & 255;
  out[3] = n & 255;
  out.set(rest, 4);
  return out;
}

export function encodeData(block: number, data: Uint8Array): Uint8Array {
  return withHeader(Op.DATA, block & 0xffff, data);
}
export function encodeAck(block: number): Uint8Array {
  return withHeader(Op.ACK, block & 0xffff, new Uint8Array(0));
}
export function encodeError(code: number, message: string): Uint8Array {
  return withHeader(Op.ERROR, code, enc.encode(message.slice(0, 200) + '\0'));
}
export function encodeOack(options: Record<string, string>): Uint8Array {
  const body = enc.encode(
    Object.entries(options)
      .map(([k, v]) => `${k}\0${v}\0`)
      .join(''),
  );
  const out = new Uint8Array(2 + body.length);
  out[1] = Op.OACK;
  out.set(body, 2);
  return out;
}
export function encodeRequest(op: 1 | 2, filename: string, mode = 'octet', options: Record<string, string> = {}): Uint8Array {
  const body = enc.encode([filename, mode, ...Object.entries(options).flat()].map((s) => s + '\0').join(''));
  const out = new Uint8Array(2 + body.length);
  out[1] = op;
  out.set(body, 2);
  return out;
}

export interface Negotiated {
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  tsize: boolean;
  oack: Record<string, string>;
}
export interface NegotiateLimits {
  timeoutMs?: number; // retransmission timeout when the client names none (default 1000)
  maxWindow?: number; // largest windowsize granted (default 64; RFC 7440 allows 1..65535)
  maxWindowBytes?: number; // windowsize × blksize cap, bounds per-transfer memory (default 1 MiB)
}

/**
 * Accept the options we support within their RFC ranges and answer with what we grant; anything
 * else is ignored (RFC 2347). The server may lower blksize/windowsize; tsize may be any value
 * (atftp sends "enable") and is answered with the real size.
 */
export function negotiate(options: Record<string, string>, size: number, limits: NegotiateLimits = {}): Negotiated {
  const n: Negotiated = { blksize: 512, windowsize: 1, timeoutMs: limits.timeoutMs ?? 1000, tsize: false, oack: {} };
  const int = (v: string | undefined) => (v !== undefined && /^\d{1,6}$/.test(v) ? Number(v) : NaN);
  const b = int(options.blksize);
  if (b >= 8) {
    n.blksize = Math.min(b, 65464);
    n.oack.blksize = String(n.blksize);
  }
  const w = int(options.windowsize);
  if (w >= 1 && w <= 65535) {
    const cap = Math.max(1, Math.min(limits.maxWindow ?? 64, Math.floor((limits.maxWindowBytes ?? 1 << 20) / n.blksize)));
    n.windowsize = Math.min(w, cap);
    n.oack.windowsize = String(n.windowsize);
  }
  const t = int(options.timeout);
  if (t >= 1 && t <= 255) {
    n.timeoutMs = t * 1000;
    n.oack.timeout = String(t);
  }
  if (options.tsize !== undefined) {
    n.tsize = true;
    n.oack.tsize = String(size);
  }
  return n;
}

/** RFC 764 netascii: LF becomes CR LF and a bare CR becomes CR NUL. */
export function toNetascii(src: Uint8Array): Uint8Array {
  let extra = 0;
  for (let i = 0; i < src.length; i++) if (src[i] === 10 || src[i] === 13) extra++;
  if (!extra) return src;
  const out = new Uint8Array(src.length + extra);
  let o = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 10) {
      out[o++] = 13;
      out[o++] = 10;
    } else if (c === 13) {
      out[o++] = 13;
      out[o++] = 0;
    } else out[o++] = c;
  }
  return out;
}
