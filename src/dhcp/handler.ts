// The DHCP per-packet handler, apart from any socket: decode one datagram, ask policy.decide,
// apply lease changes, count, report events, and hand the reply to `send`. server.ts owns the
// sockets and calls this for every datagram; a test can call it with a captured packet alone.
import type { Logger } from '../lib/log.ts';
import { applyLeaseChanges, type Lease, type LeaseChange, type LeaseTable } from './leases.ts';
import { decodePacket, encodePacket, type DhcpPacket } from './packet.ts';
import { MessageType } from './options.ts';
import { decide, type Decision, type PolicyContext, type ReplyTo } from './policy.ts';

export type DhcpEventKind = 'discover' | 'offer' | 'request' | 'ack' | 'nak' | 'release' | 'decline' | 'inform';

export interface DhcpEvent {
  mac: string;
  kind: DhcpEventKind;
  ip?: string;
  node?: string;
  ipxe: boolean;
  arch?: number;
}

export interface DhcpServerStats {
  received: number;
  malformed: number;
  ignored: number;
  replies: number;
  sendErrors: number;
  offers: number;
  acks: number;
  naks: number;
}

export const emptyDhcpStats = (): DhcpServerStats => ({
  received: 0,
  malformed: 0,
  ignored: 0,
  replies: 0,
  sendErrors: 0,
  offers: 0,
  acks: 0,
  naks: 0,
});

/** Where a datagram came from. */
export interface DhcpPeer {
  address: string;
  port: number;
}

/**
 * Send a reply: `bytes` to `address`:`port`; `viaReceiving` asks for the socket the request came
 * in on (a reply to the source address), otherwise the server's sending socket.
 */
export type DhcpSend = (bytes: Uint8Array, port: number, address: string, viaReceiving: boolean) => void;

export interface DhcpHandlerEnv {
  /** Called per packet, so configuration reloads apply. Its `leases` table is updated in place. */
  getContext: () => PolicyContext;
  /** After lease changes were applied to the context's table (persist here). */
  onLeaseChange?: (changes: LeaseChange[], table: LeaseTable) => void;
  /**
   * Before a dynamic address (not a reservation) is offered or acknowledged: true when `mac` may have
   * `ip` until `expires` (ms since the epoch). Absent: every address may be handed out (one controller).
   */
  claimLease?: (ip: string, mac: string, expires: number) => Promise<boolean>;
  onEvent?: (e: DhcpEvent) => void;
  log: Logger;
  /** Counted in place. */
  stats: DhcpServerStats;
  /** Port replies go to on clients (68) and relays (67). */
  clientPort: number;
  relayPort: number;
  /** The address of a "broadcast" reply (it may depend on the context's subnet). */
  broadcastTo: (ctx: PolicyContext) => string;
}

const IN_KIND: Record<number, DhcpEventKind | undefined> = {
  [MessageType.Discover]: 'discover',
  [MessageType.Request]: 'request',
  [MessageType.Release]: 'release',
  [MessageType.Decline]: 'decline',
  [MessageType.Inform]: 'inform',
};
const OUT_KIND: Record<number, DhcpEventKind | undefined> = {
  [MessageType.Offer]: 'offer',
  [MessageType.Ack]: 'ack',
  [MessageType.Nak]: 'nak',
};

function target(env: DhcpHandlerEnv, to: ReplyTo, req: DhcpPacket, ctx: PolicyContext, from: DhcpPeer): [string, number] {
  switch (to) {
    case 'relay':
      return [req.giaddr, env.relayPort];
    case 'ciaddr':
      return [req.ciaddr, env.clientPort];
    case 'source':
      return [from.address, from.port];
    default:
      return [env.broadcastTo(ctx), env.clientPort];
  }
}

/** The dynamic lease a reply hands out (offered or bound, not a reservation): what a claim is asked for. */
export function dynamicLeaseOf(dec: Decision): Lease | undefined {
  if (dec.kind !== 'reply' || !dec.ip) return undefined;
  const set = dec.leaseChanges.find((c) => c.op === 'set' && c.lease.ip === dec.ip);
  const l = set?.op === 'set' ? set.lease : undefined;
  return l && l.mac && !l.node && (l.state === 'offered' || l.state === 'bound') ? l : undefined;
}

/** Addresses tried for one request when the claim hook refuses them, before the request is dropped. */
const CLAIM_ATTEMPTS = 8;

/**
 * Handle one datagram that came in on a server port (`bootServer`: the PXE boot server port, 4011).
 * Synchronous, as always, unless `env.claimLease` is set and the reply hands out a dynamic address:
 * then the reply waits for the claim (a promise is returned), and a refused address is held back
 * and the request decided again (another address for a DISCOVER, a NAK for a REQUEST).
 */
export function handleDhcpPacket(
  msg: Uint8Array,
  from: DhcpPeer,
  bootServer: boolean,
  send: DhcpSend,
  env: DhcpHandlerEnv,
): void | Promise<void> {
  const { log, stats: st } = env;
  st.received++;
  const d = decodePacket(msg);
  if (!d.ok) {
    st.malformed++;
    log.limited(`dhcp-bad:${from.address}`, 'warn', 'dhcp', 'dropped malformed packet', {
      from: `${from.address}:${from.port}`,
      reason: d.reason,
    });
    return;
  }
  const req = d.packet;
  const ctx = env.getContext();
  const dec = decide(req, ctx, { bootServerPort: bootServer });
  const c = dec.client;
  const inKind = c ? IN_KIND[req.options.u8(53) ?? 0] : undefined;
  if (c && inKind && env.onEvent) {
    env.onEvent({
      mac: c.mac,
      kind: inKind,
      ip: inKind === 'release' || inKind === 'decline' ? dec.ip : undefined,
      node: c.node,
      ipxe: c.ipxe,
      arch: c.arch,
    });
  }
  if (env.claimLease && dynamicLeaseOf(dec)) return claimThenDeliver(req, ctx, dec, bootServer, from, send, env);
  applyChanges(ctx, dec, env);
  deliver(req, ctx, dec, from, send, env);
}

function applyChanges(ctx: PolicyContext, dec: Decision, env: DhcpHandlerEnv): void {
  if (!dec.leaseChanges.length) return;
  applyLeaseChanges(ctx.leases, dec.leaseChanges);
  env.onLeaseChange?.(dec.leaseChanges, ctx.leases);
}

async function claimThenDeliver(
  req: DhcpPacket,
  first: PolicyContext,
  firstDec: Decision,
  bootServer: boolean,
  from: DhcpPeer,
  send: DhcpSend,
  env: DhcpHandlerEnv,
): Promise<void> {
  let ctx = first;
  let dec = firstDec;
  for (let attempt = 1; ; attempt++) {
    const lease = dynamicLeaseOf(dec);
    // applied before the claim: a request meanwhile does not pick this address for another MAC
    applyChanges(ctx, dec, env);
    if (!lease) return deliver(req, ctx, dec, from, send, env);
    let ok = false;
    try {
      ok = await env.claimLease!(lease.ip, lease.mac, lease.expires);
    } catch (e) {
      env.log.limited('dhcp-claim', 'warn', 'dhcp', `lease claim failed: ${(e as Error).message}`, { ip: lease.ip, mac: lease.mac });
    }
    ctx = env.getContext();
    if (ok) return deliver(req, ctx, dec, from, send, env);
    // held by another MAC: kept out of use here for a while, and the request decided again
    const hold: LeaseChange[] = [
      { op: 'set', lease: { ip: lease.ip, mac: '', state: 'declined', expires: ctx.now + (ctx.offerHoldMs ?? 60_000) } },
    ];
    applyLeaseChanges(ctx.leases, hold);
    env.onLeaseChange?.(hold, ctx.leases);
    env.log.limited('dhcp-claim-refused', 'info', 'dhcp', `${lease.ip} is held by another MAC in the store; not offered to ${lease.mac}`);
    if (attempt >= CLAIM_ATTEMPTS) {
      env.stats.ignored++;
      env.log.limited('dhcp-claim-gave-up', 'warn', 'dhcp', `no address could be claimed for ${lease.mac} after ${attempt} tries`);
      return;
    }
    dec = decide(req, ctx, { bootServerPort: bootServer });
  }
}

function deliver(req: DhcpPacket, ctx: PolicyContext, dec: Decision, from: DhcpPeer, send: DhcpSend, env: DhcpHandlerEnv): void {
  const { log, stats: st } = env;
  if (dec.kind === 'ignore') {
    st.ignored++;
    log.debug('dhcp', `ignored: ${dec.reason}`, { mac: dec.client?.mac, from: from.address });
    return;
  }
  const type = dec.packet.options.u8(53) ?? 0;
  if (type === MessageType.Offer) st.offers++;
  else if (type === MessageType.Ack) st.acks++;
  else if (type === MessageType.Nak) st.naks++;
  const [to, toPort] = target(env, dec.to, req, ctx, from);
  send(encodePacket(dec.packet), toPort, to, dec.to === 'source');
  st.replies++;
  const outKind = OUT_KIND[type];
  const rc = dec.client;
  log.debug('dhcp', `${outKind} ${dec.ip ?? ''}`, { mac: rc.mac, node: rc.node, to: `${to}:${toPort}`, ipxe: rc.ipxe, arch: rc.arch });
  if (outKind && env.onEvent) env.onEvent({ mac: rc.mac, kind: outKind, ip: dec.ip, node: rc.node, ipxe: rc.ipxe, arch: rc.arch });
}
