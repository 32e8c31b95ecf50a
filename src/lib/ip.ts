// IPv4/IPv6 and MAC address checks and arithmetic used by validation, `node add` auto-increment,
// DHCP policy and templates. Pure functions on strings and numbers.
import { isIPv6 as netIsIPv6 } from 'node:net';

export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255 || (m[i]!.length > 1 && m[i]!.startsWith('0'))) return undefined;
    n = n * 256 + o;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export const isIPv4 = (s: string) => parseIPv4(s) !== undefined;

/** A contiguous netmask such as 255.255.255.0 (not 255.0.255.0). */
export function isNetmask(s: string): boolean {
  const n = parseIPv4(s);
  if (n === undefined) return false;
  const inv = ~n >>> 0;
  return ((inv + 1) & inv) === 0;
}

export function maskToPrefix(mask: string): number {
  const n = parseIPv4(mask) ?? 0;
  let bits = 0;
  for (let i = 31; i >= 0; i--) {
    if ((n >>> i) & 1) bits++;
    else break;
  }
  return bits;
}

export function prefixToMask(prefix: number): string {
  return formatIPv4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

export function networkOf(ip: string, mask: string): string {
  return formatIPv4(((parseIPv4(ip) ?? 0) & (parseIPv4(mask) ?? 0)) >>> 0);
}

/** ip + n, refusing to leave the IPv4 space. */
export function addIPv4(ip: string, n: number): string {
  const v = parseIPv4(ip);
  if (v === undefined) throw new Error(`not an IPv4 address: ${ip}`);
  const r = v + n;
  if (r < 0 || r > 0xffffffff) throw new Error(`${ip} + ${n} leaves the IPv4 address space`);
  return formatIPv4(r);
}

export function isIPv6(s: string): boolean {
  return netIsIPv6(s);
}

/** Normalise a MAC: lower case, colon separated; accepts - and . separators. */
export function normalizeMac(s: string): string | undefined {
  const hex = s.trim().toLowerCase().replace(/[-:.]/g, '');
  if (!/^[0-9a-f]{12}$/.test(hex) && !/^[0-9a-f]{40}$/.test(hex)) return undefined; // ethernet or IPoIB (20 bytes)
  return hex.match(/../g)!.join(':');
}
