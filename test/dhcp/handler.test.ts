// The DHCP per-packet handler alone (no socket): a DISCOVER from a real capture in, one OFFER out.
import { expect, test } from 'bun:test';
import { emptyDhcpStats, handleDhcpPacket, type DhcpEvent, type DhcpHandlerEnv } from '../../src/dhcp/handler.ts';
import { emptyLeases } from '../../src/dhcp/leases.ts';
import { MessageType } from '../../src/dhcp/options.ts';
import { decodePacket } from '../../src/dhcp/packet.ts';
import type { PolicyContext, Reservation } from '../../src/dhcp/policy.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { dhcpRecords } from './helpers.ts';

const MAC = '52:54:00:00:0c:01';

function setup() {
  const ctx: PolicyContext = {
    serverIp: '10.99.0.1',
    netmask: '255.255.255.0',
    mode: 'full',
    reservations: new Map<string, Reservation>([[MAC, { ipaddr: '10.99.0.11', node: 'n01' }]]),
    range: { start: '10.99.0.100', end: '10.99.0.199' },
    leases: emptyLeases(),
    now: 1_700_000_000_000,
    httpBase: 'http://10.99.0.1:9873',
    bootfiles: { bios: 'undionly.kpxe', efi64: 'ipxe.efi' },
    leaseTime: 60,
  };
  const events: DhcpEvent[] = [];
  const sent: { bytes: Uint8Array; port: number; address: string; viaReceiving: boolean }[] = [];
  const env: DhcpHandlerEnv = {
    getContext: () => ctx,
    onEvent: (e) => events.push(e),
    log: silentLogger,
    stats: emptyDhcpStats(),
    clientPort: 68,
    relayPort: 67,
    broadcastTo: () => '255.255.255.255',
  };
  const send = (bytes: Uint8Array, port: number, address: string, viaReceiving: boolean) => {
    sent.push({ bytes, port, address, viaReceiving });
  };
  return { env, events, sent, send };
}

test('a captured DISCOVER (BIOS iPXE ROM) gets one OFFER of the reservation, broadcast to port 68', () => {
  const discover = dhcpRecords('dhcp-bios-ipxe-rom.pcap').find((r) => r.dport === 67)!;
  const { env, events, sent, send } = setup();
  handleDhcpPacket(discover.payload, { address: discover.src, port: discover.sport }, false, send, env);
  expect(sent.length).toBe(1);
  expect([sent[0]!.address, sent[0]!.port, sent[0]!.viaReceiving]).toEqual(['255.255.255.255', 68, false]);
  const d = decodePacket(sent[0]!.bytes);
  if (!d.ok) throw new Error(d.reason);
  expect(d.packet.op).toBe(2);
  expect(d.packet.options.u8(53)).toBe(MessageType.Offer);
  expect(d.packet.yiaddr).toBe('10.99.0.11');
  expect(events.map((e) => [e.kind, e.mac, e.node])).toEqual([
    ['discover', MAC, 'n01'],
    ['offer', MAC, 'n01'],
  ]);
  expect(env.stats).toMatchObject({ received: 1, malformed: 0, ignored: 0, replies: 1, offers: 1, acks: 0, naks: 0 });
});

test('a malformed datagram is counted and dropped: nothing sent, no event', () => {
  const { env, events, sent, send } = setup();
  handleDhcpPacket(new Uint8Array([1, 2, 3]), { address: '10.99.0.50', port: 68 }, false, send, env);
  expect(sent.length).toBe(0);
  expect(events.length).toBe(0);
  expect(env.stats).toMatchObject({ received: 1, malformed: 1, replies: 0 });
});
