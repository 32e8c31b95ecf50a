// Minimal X.509 issuing with node:crypto only (no openssl on the controller needed, works in the
// compiled binary): ECDSA P-256 keys, a self-signed CA and server certificates signed by it, with
// IP and DNS subject alternative names. DER is written by hand — just the few types a certificate
// needs (RFC 5280).
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6, parseIPv4 } from './ip.ts';

type Der = Uint8Array;

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}
function tlv(tag: number, ...parts: Der[]): Der {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag, ...len(body.length)]), body]);
}
const seq = (...p: Der[]) => tlv(0x30, ...p);
const set = (...p: Der[]) => tlv(0x31, ...p);
const octets = (b: Der) => tlv(0x04, b);
const bits = (b: Der, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, ...p: Der[]) => tlv(0xa0 | n, ...p);

function int(b: Der): Der {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && !(b[i + 1]! & 0x80)) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}
function oid(dotted: string): Der {
  const n = dotted.split('.').map(Number);
  const out = [n[0]! * 40 + n[1]!];
  for (const v of n.slice(2)) {
    const enc: number[] = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) enc.unshift(0x80 | (x & 0x7f));
    out.push(...enc);
  }
  return tlv(0x06, Buffer.from(out));
}
function time(d: Date): Der {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  const y = d.getUTCFullYear();
  return y >= 1950 && y < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const name = (cn: string) => seq(set(seq(oid('2.5.4.10'), utf8('wulf'))), set(seq(oid('2.5.4.3'), utf8(cn))));
const ext = (id: string, critical: boolean, value: Der) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/** The 4 or 16 bytes of an IP address. */
export function ipBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) {
    const n = parseIPv4(ip)!;
    return Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  }
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  // an IPv4 tail (::ffff:10.0.0.1) is two groups
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (v4) {
    const n = parseIPv4(v4[2]!)!;
    ip = `${v4[1]}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = ip.includes('::') ? (ip.split('::') as [string, string]) : [ip, undefined];
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head),
    t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export interface Issued {
  certPem: string;
  keyPem: string;
}
export interface IssueOptions {
  cn: string;
  days: number;
  /** a CA certificate (basicConstraints CA, keyCertSign) instead of a TLS server certificate */
  ca?: boolean;
  ips?: string[];
  dns?: string[];
  /** the issuer: its key and its certificate's subject CN (none: self-signed) */
  issuer?: { key: KeyObject; cn: string; keyId: Uint8Array };
  now?: Date;
}

const pem = (label: string, der: Der) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END ${label}-----\n`;

/** The key identifier of a P-256 public key: SHA-1 of its point (RFC 5280 4.2.1.2, method 1). */
export function keyId(pub: KeyObject): Uint8Array {
  const spki = pub.export({ type: 'spki', format: 'der' });
  return createHash('sha1')
    .update(spki.subarray(spki.length - 65))
    .digest();
}

/** A new P-256 key and a certificate for it. */
export function issue(o: IssueOptions): Issued & { key: KeyObject; keyId: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = o.now ?? new Date();
  // a day back: a node whose clock is a little behind still accepts the certificate
  const from = new Date(now.getTime() - 86_400_000),
    to = new Date(now.getTime() + o.days * 86_400_000);
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const ski = keyId(publicKey);
  const exts: Der[] = [
    ext('2.5.29.19', true, o.ca ? seq(bool(true), int(Buffer.from([0]))) : seq()),
    // CA: keyCertSign + cRLSign (bits 5, 6); server: digitalSignature (bit 0)
    ext('2.5.29.15', true, o.ca ? bits(Buffer.from([0x06]), 1) : bits(Buffer.from([0x80]), 7)),
    ext('2.5.29.14', false, octets(ski)),
  ];
  if (o.issuer) exts.push(ext('2.5.29.35', false, seq(tlv(0x80, o.issuer.keyId))));
  if (!o.ca) exts.push(ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))));
  const san = [...(o.dns ?? []).map((d) => tlv(0x82, Buffer.from(d, 'ascii'))), ...(o.ips ?? []).map((ip) => tlv(0x87, ipBytes(ip)))];
  if (san.length) exts.push(ext('2.5.29.17', false, seq(...san)));
  const tbs = seq(
    explicit(0, int(Buffer.from([2]))),
    int(serial),
    ECDSA_SHA256,
    name(o.issuer?.cn ?? o.cn),
    seq(time(from), time(to)),
    name(o.cn),
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...exts)),
  );
  const sig = sign('sha256', tbs, o.issuer?.key ?? privateKey); // DER-encoded ECDSA signature
  const cert = seq(tbs, ECDSA_SHA256, bits(sig));
  return {
    certPem: pem('CERTIFICATE', cert),
    keyPem: String(privateKey.export({ type: 'pkcs8', format: 'pem' })),
    key: privateKey,
    keyId: ski,
  };
}
