// The lease claim hook of the DHCP handler (the PostgreSQL store's wulf_leases behind it in wulf serve):
// a dynamic OFFER or ACK waits for the claim; a refused address is not sent and another one is offered
// (a REQUEST for it is refused with a NAK); reservations are never claimed; without the hook the handler
// stays synchronous, as before.
import { expect, test } from 'bun:test';
import { emptyDhcpStats, handleDhcpPacket, type DhcpHandlerEnv } from '../../src/dhcp/handler.ts';
import { emptyLeases } from '../../src/dhcp/leases.ts';
import { MessageType, Option } from '../../src/dhcp/options.ts';
import { decodePacket, encodePacket, macToChaddr, newPacket } from '../../src/dhcp/packet.ts';
import type { PolicyContext, Reservation } from '../../src/dhcp/policy.ts';
import { silentLogger } from '../../src/lib/log.ts';

const RESERVED = '52:54:00:00:0c:01';

function setup(claim?: (ip: string, mac: string, expires: number) => Promise<boolean>) {
  const ctx: PolicyContext = {
    serverIp: '10.99.0.1',
    netmask: '255.255.255.0',
    mode: 'full',
    reservations: new Map<string, Reservation>([[RESERVED, { ipaddr: '10.99.0.11', node: 'n01' }]]),
    range: { start: '10.99.0.100', end: '10.99.0.103' },
    leases: emptyLeases(),
    now: Date.now(),
    httpBase: 'http://10.99.0.1:9873',
    bootfiles: { bios: 'undionly.kpxe', efi64: 'ipxe.efi' },
    leaseTime: 60,
  };
  const sent: { type: number; yiaddr: string }[] = [];
  const claims: string[] = [];
  const env: DhcpHandlerEnv = {
    getContext: () => ctx,
    log: silentLogger,
    stats: emptyDhcpStats(),
    clientPort: 68,
    relayPort: 67,
    broadcastTo: () => '255.255.255.255',
    ...(claim
      ? {
          claimLease: async (ip: string, mac: string, expires: number) => {
            claims.push(`${ip} ${mac} ${expires > Date.now() ? 'future' : 'past'}`);
            return claim(ip, mac, expires);
          },
        }
      : {}),
  };
  const send = (bytes: Uint8Array) => {
    const d = decodePacket(bytes);
    if (!d.ok) throw new Error(d.reason);
    sent.push({ type: d.packet.options.u8(Option.MessageType)!, yiaddr: d.packet.yiaddr });
  };
  const packet = (type: MessageType, mac: string, asked?: string) => {
    const p = newPacket({ xid: 0x4242, chaddr: macToChaddr(mac) });
    p.options.setU8(Option.MessageType, type);
    if (asked) p.options.setIp(Option.RequestedIpAddress, asked).setIp(Option.ServerIdentifier, '10.99.0.1');
    return encodePacket(p);
  };
  const handle = (type: MessageType, mac: string, asked?: string) =>
    handleDhcpPacket(packet(type, mac, asked), { address: '0.0.0.0', port: 68 }, false, send, env);
  return { ctx, env, sent, claims, handle };
}

test('without the hook the handler answers synchronously, as before', () => {
  const { sent, handle } = setup();
  expect(handle(MessageType.Discover, '52:54:00:00:0d:01')).toBeUndefined();
  expect(sent.map((s) => s.type)).toEqual([MessageType.Offer]);
});

test('a refused address is not offered: the next one is claimed and offered, the refused one held back', async () => {
  const taken = new Set<string>();
  const { ctx, sent, claims, handle } = setup(async (ip) => {
    if (taken.size < 2 && !taken.has(ip)) {
      taken.add(ip);
      return false; // the first two addresses tried belong to another controller's MACs
    }
    return !taken.has(ip);
  });
  const mac = '52:54:00:00:0d:02';
  await handle(MessageType.Discover, mac);
  expect(claims.length).toBe(3);
  expect(claims.every((c) => c.endsWith(`${mac} future`))).toBe(true);
  expect(sent.length).toBe(1);
  expect(sent[0]!.type).toBe(MessageType.Offer);
  const offered = sent[0]!.yiaddr;
  expect(taken.has(offered)).toBe(false);
  for (const ip of taken) expect(ctx.leases.byIp.get(ip)).toMatchObject({ mac: '', state: 'declined' });
  // the REQUEST is claimed again (bound now) and acknowledged
  await handle(MessageType.Request, mac, offered);
  expect(sent.map((s) => s.type)).toEqual([MessageType.Offer, MessageType.Ack]);
  expect(ctx.leases.byIp.get(offered)).toMatchObject({ mac, state: 'bound' });
  // a REQUEST for a refused address: NAK, never ACK
  const other = '52:54:00:00:0d:03';
  await handle(MessageType.Request, other, [...taken][0]);
  expect(sent.at(-1)!.type).toBe(MessageType.Nak);
});

test('a REQUEST whose claim the store refuses gets a NAK; every address refused: nothing is sent', async () => {
  const { sent, handle, env } = setup(async () => false);
  await handle(MessageType.Request, '52:54:00:00:0d:04', '10.99.0.100');
  expect(sent.map((s) => s.type)).toEqual([MessageType.Nak]);
  await handle(MessageType.Discover, '52:54:00:00:0d:05');
  expect(sent.length).toBe(1);
  expect(env.stats.ignored).toBeGreaterThanOrEqual(1);
});

test('reservations are cluster-wide: never claimed, answered at once', () => {
  const { sent, claims, handle } = setup(async () => false);
  expect(handle(MessageType.Discover, RESERVED)).toBeUndefined();
  expect(claims).toEqual([]);
  expect(sent).toEqual([{ type: MessageType.Offer, yiaddr: '10.99.0.11' }]);
});

test('requests arriving while a claim is pending are not given the address being claimed', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const { sent, handle } = setup(async () => {
    await gate;
    return true;
  });
  const a = handle(MessageType.Discover, '52:54:00:00:0e:01');
  const b = handle(MessageType.Discover, '52:54:00:00:0e:02');
  release();
  await Promise.all([a, b]);
  expect(sent.length).toBe(2);
  expect(sent[0]!.yiaddr).not.toBe(sent[1]!.yiaddr);
});
