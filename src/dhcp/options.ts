// DHCPv4 option codes, message types and the ordered option map with typed getters/setters
// (RFC 2131, 2132, 3004, 3396, 4578, iPXE's 175/176). Pure data; nothing here touches a socket.

/** DHCP message types (option 53). `MessageType[n]` gives the name for logs. */
export enum MessageType {
  Discover = 1,
  Offer = 2,
  Request = 3,
  Decline = 4,
  Ack = 5,
  Nak = 6,
  Release = 7,
  Inform = 8,
}

/** Option codes used by wulf. `Option[n]` gives the name for logs. */
export enum Option {
  Pad = 0,
  SubnetMask = 1,
  Router = 3,
  DomainNameServer = 6,
  HostName = 12,
  DomainName = 15,
  InterfaceMtu = 26,
  BroadcastAddress = 28,
  NtpServers = 42,
  VendorSpecific = 43,
  RequestedIpAddress = 50,
  LeaseTime = 51,
  Overload = 52,
  MessageType = 53,
  ServerIdentifier = 54,
  ParameterRequestList = 55,
  Message = 56,
  MaxMessageSize = 57,
  RenewalTime = 58,
  RebindingTime = 59,
  VendorClassId = 60,
  ClientId = 61,
  TftpServerName = 66,
  BootfileName = 67,
  UserClass = 77,
  RelayAgentInfo = 82,
  ClientArch = 93,
  ClientNdi = 94,
  ClientUuid = 97,
  IpxeEncap = 175,
  IpxeNoPxedhcp = 176,
  End = 255,
}

/** A readable name for an option code ("ClientArch(93)", "opt200"). */
export function optionName(code: number): string {
  const n = (Option as unknown as Record<number, string>)[code];
  return n ? `${n}(${code})` : `opt${code}`;
}

export function messageTypeName(t: number | undefined): string {
  if (t === undefined) return 'BOOTP';
  return (MessageType as unknown as Record<number, string>)[t] ?? `type${t}`;
}

const latin1 = new TextDecoder('latin1');
const utf8enc = new TextEncoder();

/** Bytes as text: ASCII/Latin-1, cut at the first NUL. */
export function bytesToText(b: Uint8Array): string {
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  return latin1.decode(end === b.length ? b : b.subarray(0, end));
}

export function textToBytes(s: string): Uint8Array {
  return utf8enc.encode(s);
}

export function ipToBytes(ip: string, out = new Uint8Array(4), at = 0): Uint8Array {
  let o = 0,
    v = 0,
    digits = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      out[at + o++] = v;
      v = 0;
      digits = 0;
      if (o > 3) break;
    } else {
      v = v * 10 + (c - 48);
      digits++;
    }
  }
  if (o === 3 && digits > 0) out[at + 3] = v;
  return out;
}

export function bytesToIp(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * Options as an ordered map code -> value bytes. Repeated instances in a packet are already
 * concatenated (RFC 3396); encoding splits values longer than 255 bytes again.
 * Getters return undefined when the option is absent or has the wrong length.
 */
export class DhcpOptions {
  readonly map = new Map<number, Uint8Array>();

  has(code: number): boolean {
    return this.map.has(code);
  }
  get(code: number): Uint8Array | undefined {
    return this.map.get(code);
  }
  set(code: number, value: Uint8Array): this {
    this.map.set(code, value);
    return this;
  }
  delete(code: number): boolean {
    return this.map.delete(code);
  }
  codes(): number[] {
    return [...this.map.keys()];
  }
  get size(): number {
    return this.map.size;
  }

  u8(code: number): number | undefined {
    const v = this.map.get(code);
    return v && v.length === 1 ? v[0] : undefined;
  }
  u16(code: number): number | undefined {
    const v = this.map.get(code);
    return v && v.length === 2 ? (v[0]! << 8) | v[1]! : undefined;
  }
  u32(code: number): number | undefined {
    const v = this.map.get(code);
    return v && v.length === 4 ? ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0 : undefined;
  }
  /** A 16-bit list (option 93 may carry several architectures). */
  u16s(code: number): number[] | undefined {
    const v = this.map.get(code);
    if (!v || v.length === 0 || v.length % 2) return undefined;
    const out: number[] = [];
    for (let i = 0; i < v.length; i += 2) out.push((v[i]! << 8) | v[i + 1]!);
    return out;
  }
  ip(code: number): string | undefined {
    const v = this.map.get(code);
    return v && v.length === 4 ? bytesToIp(v) : undefined;
  }
  ips(code: number): string[] | undefined {
    const v = this.map.get(code);
    if (!v || v.length === 0 || v.length % 4) return undefined;
    const out: string[] = [];
    for (let i = 0; i < v.length; i += 4) out.push(bytesToIp(v, i));
    return out;
  }
  text(code: number): string | undefined {
    const v = this.map.get(code);
    return v ? bytesToText(v) : undefined;
  }
  /** Byte-exact comparison with an ASCII string (option 77 == "iPXE"). */
  equalsText(code: number, s: string): boolean {
    const v = this.map.get(code);
    if (!v || v.length !== s.length) return false;
    for (let i = 0; i < v.length; i++) if (v[i] !== s.charCodeAt(i)) return false;
    return true;
  }
  startsWithText(code: number, s: string): boolean {
    const v = this.map.get(code);
    if (!v || v.length < s.length) return false;
    for (let i = 0; i < s.length; i++) if (v[i] !== s.charCodeAt(i)) return false;
    return true;
  }

  setU8(code: number, n: number): this {
    return this.set(code, Uint8Array.of(n & 255));
  }
  setU16(code: number, n: number): this {
    return this.set(code, Uint8Array.of((n >>> 8) & 255, n & 255));
  }
  setU32(code: number, n: number): this {
    return this.set(code, Uint8Array.of((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255));
  }
  setIp(code: number, ip: string): this {
    return this.set(code, ipToBytes(ip));
  }
  setIps(code: number, ips: string[]): this {
    const out = new Uint8Array(ips.length * 4);
    ips.forEach((ip, i) => ipToBytes(ip, out, i * 4));
    return this.set(code, out);
  }
  setText(code: number, s: string): this {
    return this.set(code, textToBytes(s));
  }

  /** A deep copy (values are shared: they are never mutated in place). */
  clone(): DhcpOptions {
    const o = new DhcpOptions();
    for (const [k, v] of this.map) o.map.set(k, v);
    return o;
  }
}

/** Encode sub-options (option 43, 175) as code/len/value triplets; `end` appends 255. */
export function encodeSubOptions(subs: [number, Uint8Array][], end = true): Uint8Array {
  let len = end ? 1 : 0;
  for (const [, v] of subs) len += 2 + Math.min(v.length, 255);
  const out = new Uint8Array(len);
  let o = 0;
  for (const [c, v] of subs) {
    const n = Math.min(v.length, 255);
    out[o++] = c;
    out[o++] = n;
    out.set(v.subarray(0, n), o);
    o += n;
  }
  if (end) out[o] = 255;
  return out;
}

/** Decode sub-options leniently (pad skipped, stops at end or at a truncated entry). */
export function decodeSubOptions(b: Uint8Array): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  let i = 0;
  while (i < b.length) {
    const c = b[i++]!;
    if (c === 0) continue;
    if (c === 255 || i >= b.length) break;
    const n = b[i++]!;
    if (i + n > b.length) break;
    m.set(c, b.subarray(i, i + n));
    i += n;
  }
  return m;
}
