// Pure BOOTP/DHCPv4 codec (RFC 2131 §2, RFC 2132, RFC 3396): bytes -> typed packet and back.
// decodePacket never throws; each malformed input yields a specific reason.
import { bytesToIp, bytesToText, DhcpOptions, ipToBytes, messageTypeName, Option, optionName } from './options.ts';

export interface DhcpPacket {
  op: number; // 1 BOOTREQUEST, 2 BOOTREPLY
  htype: number; // 1 Ethernet
  hlen: number;
  hops: number;
  xid: number; // uint32
  secs: number;
  flags: number; // 0x8000 = broadcast
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  chaddr: Uint8Array; // 16 bytes
  sname: string; // empty when the field carried options (overload)
  file: string;
  options: DhcpOptions;
}

export type DecodeResult = { ok: true; packet: DhcpPacket } | { ok: false; reason: string };

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const FLAG_BROADCAST = 0x8000;
export const MAGIC_COOKIE = 0x63825363;
const HEADER = 236;
const MIN_PACKET = 300; // RFC 1542: BOOTP relays and old clients expect at least 300 bytes
/** Largest packet accepted (UDP over Ethernet with jumbo frames fits; anything larger is garbage). */
export const MAX_PACKET = 65507;

const fail = (reason: string): DecodeResult => ({ ok: false, reason });

/**
 * Parse one option area into `into`, concatenating repeated codes (RFC 3396).
 * Returns an error string, or the overload value when the area held option 52.
 */
function parseArea(
  b: Uint8Array,
  start: number,
  end: number,
  where: string,
  into: DhcpOptions,
  allowOverload: boolean,
  mustEnd: boolean,
): string | number {
  let i = start;
  let overload = 0;
  while (i < end) {
    const code = b[i]!;
    if (code === Option.Pad) {
      i++;
      continue;
    }
    if (code === Option.End) return overload;
    if (i + 1 >= end) return `${where}: option ${optionName(code)} at byte ${i} has no length byte`;
    const len = b[i + 1]!;
    const v0 = i + 2;
    if (v0 + len > end) return `${where}: option ${optionName(code)} at byte ${i} claims ${len} bytes, only ${end - v0} left`;
    if (code === Option.Overload) {
      if (!allowOverload) return `${where}: option overload (52) inside an overloaded field`;
      if (len !== 1) return `${where}: option overload (52) has length ${len}, want 1`;
      const ov = b[v0]!;
      if (ov < 1 || ov > 3) return `${where}: option overload (52) has value ${ov}, want 1, 2 or 3`;
      if (overload) return `${where}: option overload (52) given twice`;
      overload = ov;
    } else {
      const prev = into.map.get(code);
      const val = b.slice(v0, v0 + len);
      if (prev) {
        const cat = new Uint8Array(prev.length + len);
        cat.set(prev);
        cat.set(val, prev.length);
        into.map.set(code, cat);
      } else into.map.set(code, val);
    }
    i = v0 + len;
  }
  if (mustEnd) return `${where}: no end option (255)`;
  return overload;
}

export function decodePacket(b: Uint8Array): DecodeResult {
  if (!(b instanceof Uint8Array)) return fail('not a byte array');
  if (b.length < HEADER + 4) return fail(`too short: ${b.length} bytes, a DHCP packet has at least ${HEADER + 4}`);
  if (b.length > MAX_PACKET) return fail(`too long: ${b.length} bytes`);
  const op = b[0]!;
  if (op !== BOOTREQUEST && op !== BOOTREPLY) return fail(`bad op ${op} (want 1 or 2)`);
  const hlen = b[2]!;
  if (hlen > 16) return fail(`bad hlen ${hlen} (at most 16)`);
  const cookie = ((b[236]! << 24) | (b[237]! << 16) | (b[238]! << 8) | b[239]!) >>> 0;
  if (cookie !== MAGIC_COOKIE) return fail(`bad magic cookie 0x${cookie.toString(16).padStart(8, '0')}`);
  const options = new DhcpOptions();
  const r = parseArea(b, HEADER + 4, b.length, 'options', options, true, true);
  if (typeof r === 'string') return fail(r);
  let sname = '',
    file = '';
  // RFC 2131 §4.1: with overload, 'file' is read before 'sname'; neither may overload again.
  if (r & 1) {
    const e = parseArea(b, 108, 236, 'file field', options, false, false);
    if (typeof e === 'string') return fail(e);
  } else file = bytesToText(b.subarray(108, 236));
  if (r & 2) {
    const e = parseArea(b, 44, 108, 'sname field', options, false, false);
    if (typeof e === 'string') return fail(e);
  } else sname = bytesToText(b.subarray(44, 108));
  const mt = options.get(Option.MessageType);
  if (mt && (mt.length !== 1 || mt[0]! < 1 || mt[0]! > 8)) {
    return fail(`bad message type option (53): ${mt.length === 1 ? 'value ' + mt[0] : 'length ' + mt.length}`);
  }
  return {
    ok: true,
    packet: {
      op,
      htype: b[1]!,
      hlen,
      hops: b[3]!,
      xid: ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0,
      secs: (b[8]! << 8) | b[9]!,
      flags: (b[10]! << 8) | b[11]!,
      ciaddr: bytesToIp(b, 12),
      yiaddr: bytesToIp(b, 16),
      siaddr: bytesToIp(b, 20),
      giaddr: bytesToIp(b, 24),
      chaddr: b.slice(28, 44),
      sname,
      file,
      options,
    },
  };
}

function optionsLength(o: DhcpOptions): number {
  let n = 0;
  for (const [code, v] of o.map) {
    if (code === Option.Pad || code === Option.End || code === Option.Overload) continue;
    n += v.length === 0 ? 2 : v.length + 2 * Math.ceil(v.length / 255);
  }
  return n;
}

function writeText(out: Uint8Array, at: number, max: number, s: string): void {
  const n = Math.min(s.length, max - 1); // keep a terminating NUL
  for (let i = 0; i < n; i++) out[at + i] = s.charCodeAt(i) & 255;
}

/** Encode a packet. Options longer than 255 bytes are split (RFC 3396); the packet is padded to 300 bytes. */
export function encodePacket(p: DhcpPacket): Uint8Array {
  const optLen = optionsLength(p.options);
  const size = Math.max(MIN_PACKET, HEADER + 4 + optLen + 1);
  const b = new Uint8Array(size);
  b[0] = p.op;
  b[1] = p.htype;
  b[2] = p.hlen;
  b[3] = p.hops;
  b[4] = p.xid >>> 24;
  b[5] = p.xid >>> 16;
  b[6] = p.xid >>> 8;
  b[7] = p.xid;
  b[8] = p.secs >>> 8;
  b[9] = p.secs;
  b[10] = p.flags >>> 8;
  b[11] = p.flags;
  ipToBytes(p.ciaddr, b, 12);
  ipToBytes(p.yiaddr, b, 16);
  ipToBytes(p.siaddr, b, 20);
  ipToBytes(p.giaddr, b, 24);
  b.set(p.chaddr.subarray(0, 16), 28);
  writeText(b, 44, 64, p.sname);
  writeText(b, 108, 128, p.file);
  b[236] = 0x63;
  b[237] = 0x82;
  b[238] = 0x53;
  b[239] = 0x63;
  let o = 240;
  for (const [code, v] of p.options.map) {
    if (code === Option.Pad || code === Option.End || code === Option.Overload) continue; // never emitted
    if (v.length === 0) {
      b[o++] = code;
      b[o++] = 0;
      continue;
    }
    for (let i = 0; i < v.length; i += 255) {
      const n = Math.min(255, v.length - i);
      b[o++] = code;
      b[o++] = n;
      b.set(v.subarray(i, i + n), o);
      o += n;
    }
  }
  b[o] = Option.End;
  return b;
}

/** The client hardware address as "aa:bb:cc:dd:ee:ff" (hlen bytes, at most 16). */
export function macOf(p: DhcpPacket): string {
  const n = Math.min(p.hlen, 16);
  let s = '';
  for (let i = 0; i < n; i++) s += (i ? ':' : '') + (p.chaddr[i]! < 16 ? '0' : '') + p.chaddr[i]!.toString(16);
  return s;
}

export function macToChaddr(mac: string): Uint8Array {
  const out = new Uint8Array(16);
  const hex = mac.replace(/[-:.]/g, '');
  for (let i = 0; i < hex.length / 2 && i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16) || 0;
  return out;
}

export function messageType(p: DhcpPacket): number | undefined {
  return p.options.u8(Option.MessageType);
}

/** An empty packet with sensible defaults, for building replies and tests. */
export function newPacket(fields: Partial<DhcpPacket> = {}): DhcpPacket {
  return {
    op: BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: new Uint8Array(16),
    sname: '',
    file: '',
    options: new DhcpOptions(),
    ...fields,
  };
}

function hex(v: Uint8Array): string {
  let s = '';
  for (const x of v) s += (x < 16 ? '0' : '') + x.toString(16);
  return s;
}

function printable(v: Uint8Array): boolean {
  if (v.length === 0) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === 0 && i === v.length - 1) continue;
    if (c < 32 || c > 126) return false;
  }
  return true;
}

const IP_OPTS = new Set<number>([
  Option.SubnetMask,
  Option.Router,
  Option.DomainNameServer,
  Option.BroadcastAddress,
  Option.RequestedIpAddress,
  Option.ServerIdentifier,
  Option.NtpServers,
]);

/** A readable value for one option (used by the golden dumps and debug logs). */
export function formatOption(code: number, v: Uint8Array): string {
  const o = new DhcpOptions().set(code, v);
  switch (code) {
    case Option.MessageType:
      return messageTypeName(v[0]);
    case Option.ParameterRequestList:
      return [...v].join(',');
    case Option.LeaseTime:
    case Option.RenewalTime:
    case Option.RebindingTime:
      return o.u32(code) !== undefined ? String(o.u32(code)) : 'hex:' + hex(v);
    case Option.MaxMessageSize:
      return o.u16(code) !== undefined ? String(o.u16(code)) : 'hex:' + hex(v);
    case Option.ClientArch:
      return o.u16s(code)?.join(',') ?? 'hex:' + hex(v);
  }
  if (IP_OPTS.has(code)) {
    const l = o.ips(code);
    if (l) return l.join(',');
  }
  if (printable(v)) return JSON.stringify(bytesToText(v));
  return 'hex:' + hex(v);
}

/** A multi-line readable dump of a packet. */
export function formatPacket(p: DhcpPacket): string {
  const lines = [
    `${p.op === BOOTREPLY ? 'reply' : 'request'} ${messageTypeName(messageType(p))} xid=0x${p.xid.toString(16).padStart(8, '0')}` +
      ` chaddr=${macOf(p)} htype=${p.htype} hops=${p.hops} secs=${p.secs} flags=0x${p.flags.toString(16)}`,
    `  ciaddr=${p.ciaddr} yiaddr=${p.yiaddr} siaddr=${p.siaddr} giaddr=${p.giaddr}`,
  ];
  if (p.sname) lines.push(`  sname=${JSON.stringify(p.sname)}`);
  if (p.file) lines.push(`  file=${JSON.stringify(p.file)}`);
  for (const [code, v] of p.options.map) lines.push(`  ${optionName(code)} = ${formatOption(code, v)}`);
  return lines.join('\n');
}
