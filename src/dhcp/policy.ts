// The DHCP decision function: (request, context) -> reply or ignore, plus lease changes. Pure: it
// reads the lease snapshot and never mutates it; server.ts applies the changes (RFC 2131 §4.3).
import { type BootFiles, bootSpec, type ClientInfo, classifyClient } from './boot.ts';
import { isActive, isFreeFor, type Lease, type LeaseChange, lastLeaseOfMac, leaseOfMac, type LeaseTable } from './leases.ts';
import { BOOTREPLY, BOOTREQUEST, type DhcpPacket, FLAG_BROADCAST, macOf, newPacket } from './packet.ts';
import { MessageType, messageTypeName, Option } from './options.ts';

export interface Reservation {
  ipaddr: string;
  hostname?: string;
  netmask?: string;
  gateway?: string;
  dns?: string[];
  node: string;
}

/** A network reached through a DHCP relay (giaddr inside it). */
export interface RelaySubnet {
  network: string;
  netmask: string;
  range?: { start: string; end: string };
  gateway?: string;
  dns?: string[];
}

export interface PolicyContext {
  serverIp: string;
  netmask: string;
  mode: 'full' | 'proxy';
  /** Key: lower-case colon MAC ("aa:bb:cc:dd:ee:ff"). Pass the same Map object until the config changes. */
  reservations: Map<string, Reservation>;
  range?: { start: string; end: string };
  leases: LeaseTable;
  now: number;
  httpBase: string;
  bootfiles: BootFiles;
  /** Seconds. */
  leaseTime: number;
  gateway?: string;
  dns?: string[];
  domain?: string;
  /** TFTP server for siaddr / sname / option 66; default serverIp. */
  nextServer?: string;
  relaySubnets?: RelaySubnet[];
  /** How long an offered address stays held for its MAC (default 60 s). */
  offerHoldMs?: number;
  /** How long a declined address is kept out of use (default 10 min). */
  declineHoldMs?: number;
  ipxeQuery?: boolean;
}

/** Where the server sends a reply (resolved to an address by server.ts). */
export type ReplyTo = 'broadcast' | 'ciaddr' | 'relay' | 'source';

export interface ClientSummary extends ClientInfo {
  mac: string;
  type: string; // "Discover", ...
  node?: string;
}

export type Decision =
  | { kind: 'reply'; packet: DhcpPacket; to: ReplyTo; leaseChanges: LeaseChange[]; client: ClientSummary; ip?: string }
  | { kind: 'ignore'; reason: string; leaseChanges: LeaseChange[]; client?: ClientSummary; ip?: string };

// ---- address arithmetic on uint32 numbers (fast, no regex) ----
export function ipNum(s: string): number {
  let n = 0,
    v = 0,
    parts = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      n = n * 256 + v;
      v = 0;
      parts++;
    } else v = v * 10 + (c - 48);
  }
  return parts === 3 ? (n * 256 + v) >>> 0 : -1;
}
export function numIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

interface Subnet {
  net: number;
  mask: number;
  netmask: string;
  broadcast: string;
  lo: number;
  hi: number; // dynamic range, lo > hi when none
  gateway?: string;
  dns?: string[];
}

function makeSubnet(
  network: number,
  mask: number,
  netmask: string,
  range?: { start: string; end: string },
  gateway?: string,
  dns?: string[],
): Subnet {
  const lo = range ? ipNum(range.start) : 1,
    hi = range ? ipNum(range.end) : 0;
  return {
    net: (network & mask) >>> 0,
    mask,
    netmask,
    broadcast: numIp(((network & mask) | ~mask) >>> 0),
    lo,
    hi: range && lo >= 0 && hi >= 0 ? hi : 0,
    gateway,
    dns,
  };
}

function selectSubnet(req: DhcpPacket, ctx: PolicyContext): Subnet | undefined {
  const mask = ipNum(ctx.netmask) >>> 0;
  const main = makeSubnet(ipNum(ctx.serverIp), mask, ctx.netmask, ctx.range, ctx.gateway, ctx.dns);
  if (req.giaddr === '0.0.0.0') return main;
  const g = ipNum(req.giaddr);
  if ((g & main.mask) >>> 0 === main.net) return main;
  for (const r of ctx.relaySubnets ?? []) {
    const m = ipNum(r.netmask) >>> 0;
    const net = (ipNum(r.network) & m) >>> 0;
    if ((g & m) >>> 0 === net) return makeSubnet(net, m, r.netmask, r.range, r.gateway ?? req.giaddr, r.dns ?? ctx.dns);
  }
  return undefined;
}

const reservedIndex = new WeakMap<Map<string, Reservation>, Map<string, string>>();
/** ip -> MAC of the reservation holding it (memoised per reservations Map). */
function reservedIps(res: Map<string, Reservation>): Map<string, string> {
  let idx = reservedIndex.get(res);
  if (!idx) {
    idx = new Map();
    for (const [mac, r] of res) idx.set(r.ipaddr, mac);
    reservedIndex.set(res, idx);
  }
  return idx;
}

function hashMac(mac: string): number {
  let h = 2166136261;
  for (let i = 0; i < mac.length; i++) h = Math.imul(h ^ mac.charCodeAt(i), 16777619);
  return h >>> 0;
}

function usable(ip: number, mac: string, sn: Subnet, ctx: PolicyContext, reserved: Map<string, string>): boolean {
  if (ip < sn.lo || ip > sn.hi || (ip & sn.mask) >>> 0 !== sn.net) return false;
  if (ip === sn.net || (ip | ~sn.mask) >>> 0 === ip) return false; // network / broadcast address
  const s = numIp(ip);
  if (s === ctx.serverIp || s === sn.gateway) return false;
  const owner = reserved.get(s);
  if (owner !== undefined && owner !== mac) return false;
  return isFreeFor(ctx.leases, s, mac, ctx.now);
}

/** A dynamic address for `mac`: its live lease, its last address, the one it asks for, then a hash probe. */
function pickDynamic(mac: string, wanted: string | undefined, sn: Subnet, ctx: PolicyContext): string | undefined {
  if (sn.hi < sn.lo) return undefined;
  const reserved = reservedIps(ctx.reservations);
  const live = leaseOfMac(ctx.leases, mac, ctx.now);
  if (live && usable(ipNum(live.ip), mac, sn, ctx, reserved)) return live.ip;
  const last = lastLeaseOfMac(ctx.leases, mac);
  if (last && last.state !== 'declined' && usable(ipNum(last.ip), mac, sn, ctx, reserved)) return last.ip;
  if (wanted !== undefined && usable(ipNum(wanted), mac, sn, ctx, reserved)) return wanted;
  const size = sn.hi - sn.lo + 1;
  const start = hashMac(mac) % size;
  for (let i = 0; i < size; i++) {
    const ip = sn.lo + ((start + i) % size);
    if (usable(ip, mac, sn, ctx, reserved)) return numIp(ip);
  }
  return undefined;
}

function reservationFor(mac: string, sn: Subnet, ctx: PolicyContext): Reservation | undefined {
  const r = ctx.reservations.get(mac);
  if (!r) return undefined;
  const ip = ipNum(r.ipaddr);
  return ip >= 0 && (ip & sn.mask) >>> 0 === sn.net ? r : undefined;
}

function baseReply(req: DhcpPacket, type: MessageType, ctx: PolicyContext): DhcpPacket {
  const p = newPacket({
    op: BOOTREPLY,
    htype: req.htype,
    hlen: req.hlen,
    xid: req.xid,
    flags: req.flags,
    giaddr: req.giaddr,
    chaddr: req.chaddr,
  });
  p.options.setU8(Option.MessageType, type).setIp(Option.ServerIdentifier, ctx.serverIp);
  return p;
}

function addBoot(p: DhcpPacket, req: DhcpPacket, client: ClientInfo, mac: string, ctx: PolicyContext, proxy: boolean): void {
  const spec = bootSpec(client, mac, ctx, proxy);
  if (!spec) return;
  const next = ctx.nextServer ?? ctx.serverIp;
  p.siaddr = next;
  p.sname = next;
  if (spec.file.length < 128) p.file = spec.file;
  p.options.setText(Option.TftpServerName, next).setText(Option.BootfileName, spec.file);
  for (const [c, v] of spec.options) p.options.set(c, v);
  // PXE boot server replies echo the boot item the client asked for (option 43 sub-option 71).
  const v43 = req.options.get(Option.VendorSpecific);
  if (v43 && client.kind === 'pxe') {
    for (let i = 0; i + 1 < v43.length; ) {
      const c = v43[i]!,
        n = v43[i + 1]!;
      if (c === 255) break;
      if (c === 71 && i + 2 + n <= v43.length) {
        const out = new Uint8Array(6 + n); // 6:1:8, 71:n:item, end
        out.set([6, 1, 8, 71, n]);
        out.set(v43.subarray(i + 2, i + 2 + n), 5);
        out[5 + n] = 255;
        p.options.set(Option.VendorSpecific, out);
        break;
      }
      i += c === 0 ? 1 : 2 + n;
    }
  }
}

function addLeaseOptions(p: DhcpPacket, sn: Subnet, res: Reservation | undefined, ctx: PolicyContext, withTimes: boolean) {
  const o = p.options;
  if (withTimes) {
    o.setU32(Option.LeaseTime, ctx.leaseTime)
      .setU32(Option.RenewalTime, Math.floor(ctx.leaseTime / 2))
      .setU32(Option.RebindingTime, Math.floor((ctx.leaseTime * 7) / 8));
  }
  o.setIp(Option.SubnetMask, res?.netmask || sn.netmask);
  o.setIp(Option.BroadcastAddress, sn.broadcast);
  const gw = res?.gateway || sn.gateway;
  if (gw) o.setIp(Option.Router, gw);
  const dns = res?.dns?.length ? res.dns : sn.dns;
  if (dns?.length) o.setIps(Option.DomainNameServer, dns);
  if (res?.hostname) o.setText(Option.HostName, res.hostname);
  if (ctx.domain) o.setText(Option.DomainName, ctx.domain);
}

function finish(p: DhcpPacket, req: DhcpPacket): void {
  const ri = req.options.get(Option.RelayAgentInfo);
  if (ri) p.options.set(Option.RelayAgentInfo, ri); // RFC 3046: echo, last
}

function destination(req: DhcpPacket, nak: boolean): ReplyTo {
  if (req.giaddr !== '0.0.0.0') return 'relay';
  if (!nak && req.ciaddr !== '0.0.0.0') return 'ciaddr';
  return 'broadcast';
}

export interface PolicyOptions {
  /** The request arrived on the PXE boot server port (4011). */
  bootServerPort?: boolean;
}

// One pure policy read top to bottom (checks, proxy/PXE, then RFC 2131 per message type), as the issue allows: split, its shared state would scatter.
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: the DHCP answer policy stays whole (see above)
export function decide(req: DhcpPacket, ctx: PolicyContext, opts: PolicyOptions = {}): Decision {
  const none: LeaseChange[] = [];
  if (req.op !== BOOTREQUEST) return { kind: 'ignore', reason: 'not a BOOTREQUEST', leaseChanges: none };
  if (req.htype !== 1 || req.hlen !== 6) {
    return { kind: 'ignore', reason: `hardware type ${req.htype}/len ${req.hlen} not served`, leaseChanges: none };
  }
  const type = req.options.u8(Option.MessageType);
  if (type === undefined) return { kind: 'ignore', reason: 'BOOTP request without DHCP message type', leaseChanges: none };
  const mac = macOf(req);
  const info = classifyClient(req);
  const client: ClientSummary = { ...info, mac, type: messageTypeName(type) };
  const ignore = (reason: string, leaseChanges = none, ip?: string): Decision => ({ kind: 'ignore', reason, leaseChanges, client, ip });
  const sn = selectSubnet(req, ctx);
  if (!sn) return ignore(`relay ${req.giaddr} is on no configured subnet`);
  const res = reservationFor(mac, sn, ctx);
  if (res) client.node = res.node;
  const sid = req.options.ip(Option.ServerIdentifier);
  const now = ctx.now;

  // ---- PXE boot server (port 4011) and proxy mode: boot options only, never an address ----
  if (opts.bootServerPort || ctx.mode === 'proxy') {
    if (info.kind === 'plain') return ignore('proxy: not a PXE client');
    let rt: MessageType;
    if (opts.bootServerPort) {
      if (type !== MessageType.Request && type !== MessageType.Inform) return ignore('boot server port: not a REQUEST');
      rt = MessageType.Ack;
    } else if (type === MessageType.Discover) rt = MessageType.Offer;
    else if (type === MessageType.Request && sid === ctx.serverIp) rt = MessageType.Ack;
    else return ignore(`proxy: ${client.type} is for the DHCP server`);
    const p = baseReply(req, rt, ctx);
    p.ciaddr = req.ciaddr;
    addBoot(p, req, info, mac, ctx, true);
    if (!p.options.has(Option.BootfileName)) return ignore(`proxy: no boot file for arch ${info.arch}`);
    finish(p, req);
    return { kind: 'reply', packet: p, to: opts.bootServerPort ? 'source' : destination(req, false), leaseChanges: none, client };
  }

  const hold = ctx.offerHoldMs ?? 60_000;
  const leaseMs = ctx.leaseTime * 1000;
  const mkLease = (ip: string, state: Lease['state'], expires: number): Lease => {
    const l: Lease = { ip, mac, state, expires };
    if (res) l.node = res.node;
    const hn = res?.hostname ?? req.options.text(Option.HostName);
    if (hn) l.hostname = hn;
    return l;
  };
  const addressFor = (wanted?: string) => (res ? res.ipaddr : pickDynamic(mac, wanted, sn, ctx));

  switch (type) {
    case MessageType.Discover: {
      const ip = addressFor(req.options.ip(Option.RequestedIpAddress));
      if (!ip) return ignore(sn.hi < sn.lo ? 'unknown MAC and no dynamic range' : 'no free address in the dynamic range');
      const p = baseReply(req, MessageType.Offer, ctx);
      p.yiaddr = ip;
      addLeaseOptions(p, sn, res, ctx, true);
      addBoot(p, req, info, mac, ctx, false);
      finish(p, req);
      const cur = ctx.leases.byIp.get(ip);
      const keepBound = cur && cur.mac === mac && cur.state === 'bound' && isActive(cur, now) && cur.expires > now + hold;
      const changes: LeaseChange[] = keepBound ? [] : [{ op: 'set', lease: mkLease(ip, 'offered', now + hold) }];
      return { kind: 'reply', packet: p, to: destination(req, false), leaseChanges: changes, client, ip };
    }
    case MessageType.Request: {
      if (sid !== undefined && sid !== ctx.serverIp) {
        const mine = leaseOfMac(ctx.leases, mac, now);
        const drop: LeaseChange[] = mine && mine.state === 'offered' ? [{ op: 'delete', ip: mine.ip }] : none;
        return ignore(`REQUEST names server ${sid}`, drop);
      }
      const asked = req.options.ip(Option.RequestedIpAddress) ?? (req.ciaddr !== '0.0.0.0' ? req.ciaddr : undefined);
      if (!asked) return ignore('REQUEST without requested address or ciaddr');
      const nak = (msg: string): Decision => {
        const p = baseReply(req, MessageType.Nak, ctx);
        p.flags |= req.giaddr !== '0.0.0.0' ? FLAG_BROADCAST : 0;
        p.options.setText(Option.Message, msg);
        finish(p, req);
        return { kind: 'reply', packet: p, to: destination(req, true), leaseChanges: none, client, ip: asked };
      };
      const a = ipNum(asked);
      if (a < 0 || (a & sn.mask) >>> 0 !== sn.net) return nak(`${asked} is not on this network`);
      let ip: string | undefined;
      if (res) {
        if (asked !== res.ipaddr) return nak(`address reserved for ${mac} is ${res.ipaddr}`);
        ip = res.ipaddr;
      } else {
        if (sn.hi < sn.lo) return sid ? nak('no dynamic range') : ignore('unknown MAC and no dynamic range');
        if (!usable(a, mac, sn, ctx, reservedIps(ctx.reservations))) return nak(`${asked} is not available`);
        ip = asked;
      }
      const p = baseReply(req, MessageType.Ack, ctx);
      p.ciaddr = req.ciaddr;
      p.yiaddr = ip;
      addLeaseOptions(p, sn, res, ctx, true);
      addBoot(p, req, info, mac, ctx, false);
      finish(p, req);
      return {
        kind: 'reply',
        packet: p,
        to: destination(req, false),
        leaseChanges: [{ op: 'set', lease: mkLease(ip, 'bound', now + leaseMs) }],
        client,
        ip,
      };
    }
    case MessageType.Release: {
      if (sid !== undefined && sid !== ctx.serverIp) return ignore(`RELEASE names server ${sid}`);
      const l = ctx.leases.byIp.get(req.ciaddr);
      if (!l || l.mac !== mac) return ignore(`RELEASE of ${req.ciaddr}, not leased to ${mac}`);
      return ignore('released', [{ op: 'set', lease: { ...l, state: 'released', expires: now } }], req.ciaddr);
    }
    case MessageType.Decline: {
      if (sid !== undefined && sid !== ctx.serverIp) return ignore(`DECLINE names server ${sid}`);
      const ip = req.options.ip(Option.RequestedIpAddress);
      if (!ip) return ignore('DECLINE without requested address');
      const a = ipNum(ip);
      if ((a & sn.mask) >>> 0 !== sn.net) return ignore(`DECLINE of ${ip}, not on this network`);
      const lease: Lease = { ip, mac: '', state: 'declined', expires: now + (ctx.declineHoldMs ?? 600_000) };
      return ignore('declined', [{ op: 'set', lease }], ip);
    }
    case MessageType.Inform: {
      const p = baseReply(req, MessageType.Ack, ctx);
      p.ciaddr = req.ciaddr;
      addLeaseOptions(p, sn, res, ctx, false);
      addBoot(p, req, info, mac, ctx, false);
      finish(p, req);
      return { kind: 'reply', packet: p, to: destination(req, false), leaseChanges: none, client, ip: req.ciaddr };
    }
    default:
      return ignore(`${client.type} is not a client message`);
  }
}
