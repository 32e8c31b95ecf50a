// Fuzz: >=100,000 random and mutated packets (from the real captures) through decode + policy, a few
// thousand through the real socket, then a normal DORA must still work. Deterministic seed.
import { afterAll, describe, expect, test } from 'bun:test';
import dgram from 'node:dgram';
import { decodePacket, encodePacket, macToChaddr, newPacket, type DhcpPacket } from '../../src/dhcp/packet.ts';
import { decide, type PolicyContext, type Reservation } from '../../src/dhcp/policy.ts';
import { applyLeaseChanges, emptyLeases, pruneLeases } from '../../src/dhcp/leases.ts';
import { createDhcpServer, type DhcpServer } from '../../src/dhcp/server.ts';
import { MessageType, Option } from '../../src/dhcp/options.ts';
import { createLogger } from '../../src/lib/log.ts';
import { WulfError } from '../../src/lib/errors.ts';
import { allPayloads, rng } from './helpers.ts';

const SEEDS = allPayloads();

function mutate(r: () => number): Uint8Array {
  const int = (n: number) => Math.floor(r() * n);
  const seed = SEEDS[int(SEEDS.length)]!;
  const kind = int(8);
  switch (kind) {
    case 0: { // random bytes, sometimes with a valid cookie
      const b = new Uint8Array(int(700));
      for (let i = 0; i < b.length; i++) b[i] = int(256);
      if (b.length > 240 && r() < 0.7) { b.set([1], 0); b.set([0x63, 0x82, 0x53, 0x63], 236); }
      return b;
    }
    case 1: { // bit flips
      const b = seed.slice();
      for (let n = 1 + int(8); n > 0; n--) { const i = int(b.length); b[i] = b[i]! ^ (1 << int(8)); }
      return b;
    }
    case 2: return seed.slice(0, int(seed.length + 1)); // truncation
    case 3: { // overload with loops / garbage in file and sname
      const b = new Uint8Array(400);
      b.set(seed.subarray(0, 240));
      const ov = 1 + int(3);
      b.set([53, 1, 1 + int(8), 52, 1, r() < 0.1 ? int(256) : ov, 255], 240);
      for (let i = 44; i < 236; i++) b[i] = r() < 0.3 ? [52, 1, 3, 255, 0][int(5)]! : int(256);
      return b;
    }
    case 4: { // huge/odd option lengths at a random option position
      const b = seed.slice();
      let i = 240;
      const stop = int(20);
      for (let k = 0; k < stop && i + 1 < b.length && b[i] !== 255; k++) i += b[i] === 0 ? 1 : 2 + b[i + 1]!;
      if (i + 1 < b.length) b[i + 1] = [255, 254, 0, 1, int(256)][int(5)]!;
      return b;
    }
    case 5: { // random overwrite inside the options area
      const b = seed.slice();
      for (let n = 1 + int(6); n > 0; n--) b[240 + int(Math.max(1, b.length - 240))] = int(256);
      return b;
    }
    case 6: { // valid header + random option soup
      const b = new Uint8Array(240 + int(400));
      b.set(seed.subarray(0, 240));
      for (let i = 240; i < b.length; i++) b[i] = int(256);
      if (r() < 0.5) b[b.length - 1] = 255;
      return b;
    }
    default: { // splice two captures
      const other = SEEDS[int(SEEDS.length)]!;
      const cut = 240 + int(Math.max(1, seed.length - 240));
      const b = new Uint8Array(cut + other.length - 240);
      b.set(seed.subarray(0, cut)); b.set(other.subarray(240), cut);
      return b;
    }
  }
}

function ctx(now: number): PolicyContext {
  return {
    serverIp: '10.99.0.1', netmask: '255.255.255.0', mode: 'full',
    reservations: new Map<string, Reservation>([['52:54:00:00:0c:01', { ipaddr: '10.99.0.11', node: 'n01' }]]),
    range: { start: '10.99.0.100', end: '10.99.0.199' }, leases: emptyLeases(), now,
    httpBase: 'http://10.99.0.1:9873', bootfiles: { bios: 'undionly.kpxe', efi64: 'ipxe.efi' }, leaseTime: 60,
  };
}

describe('fuzz', () => {
  test('100,000 random and mutated packets through decode + policy: never throws, every rejection has a reason', () => {
    const r = rng(0xd4c9);
    const c = ctx(1_700_000_000_000);
    const proxy = { ...c, mode: 'proxy' as const };
    let ok = 0, bad = 0, replies = 0;
    const reasons = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const bytes = mutate(r);
      const d = decodePacket(bytes);
      if (!d.ok) {
        bad++;
        expect(typeof d.reason).toBe('string');
        if (d.reason.length === 0) throw new Error('empty reason');
        reasons.add(d.reason.replace(/\d+/g, 'N'));
        continue;
      }
      ok++;
      // re-encoding a decoded packet always decodes again, with the same options
      const again = decodePacket(encodePacket(d.packet));
      if (!again.ok) throw new Error(`re-encode failed: ${again.reason}`);
      expect(again.packet.options.map.size).toBe(d.packet.options.map.size);
      const dec = decide(d.packet, c, { bootServerPort: i % 7 === 0 });
      if (dec.kind === 'reply') { replies++; encodePacket(dec.packet); }
      applyLeaseChanges(c.leases, dec.leaseChanges);
      decide(d.packet, proxy);
      c.now += 10;
      if (i % 5000 === 0) pruneLeases(c.leases, c.now, 0);
    }
    expect(ok).toBeGreaterThan(10_000);
    expect(bad).toBeGreaterThan(10_000);
    expect(replies).toBeGreaterThan(1000);
    expect(reasons.size).toBeGreaterThan(10);
    // afterwards a normal DISCOVER still gets an offer
    const p = newPacket({ xid: 9, chaddr: macToChaddr('02:00:00:00:99:01') });
    p.options.setU8(Option.MessageType, MessageType.Discover);
    const dec = decide(p, c);
    expect(dec.kind).toBe('reply');
  }, 120_000);
});

describe('the real socket under garbage', () => {
  const PORT = 20000 + (process.pid % 20000), CPORT = PORT + 1;
  const logLines: string[] = [];
  const log = createLogger({ level: 'warn', write: (l) => logLines.push(l) });
  const leases = emptyLeases();
  let server: DhcpServer | undefined;
  let client: dgram.Socket | undefined;
  afterAll(async () => { await server?.stop(); client?.close(); });

  test('thousands of bad packets are dropped and logged once; a normal DORA works afterwards', async () => {
    server = createDhcpServer({
      port: PORT, address: '127.0.0.1', clientPort: CPORT, broadcastAddress: '127.0.0.1', log,
      getContext: () => ({ ...ctx(Date.now()), serverIp: '127.0.0.1', netmask: '255.0.0.0', range: { start: '127.0.1.10', end: '127.0.1.50' }, leases }),
    });
    await server.start();
    const replies: DhcpPacket[] = [];
    client = dgram.createSocket('udp4');
    await new Promise<void>((res) => client!.bind(CPORT, '127.0.0.1', () => res()));
    client.on('message', (m) => { const d = decodePacket(m); if (d.ok) replies.push(d.packet); });
    const send = (b: Uint8Array) => new Promise<void>((res) => client!.send(b, PORT, '127.0.0.1', () => res()));
    const r = rng(77);
    const N = 3000;
    for (let i = 0; i < N; i++) {
      await send(mutate(r));
      if (i % 100 === 99) await Bun.sleep(2); // let the server keep up; loopback drops nothing then
    }
    const deadline = Date.now() + 10_000;
    while (server.stats().received < N && Date.now() < deadline) await Bun.sleep(20);
    const st = server.stats();
    expect(st.received).toBeGreaterThanOrEqual(N * 0.98);
    expect(st.malformed).toBeGreaterThan(N / 4);
    // rate-limited: one warning line per source per interval, not thousands
    expect(logLines.filter((l) => l.includes('dropped malformed packet')).length).toBe(1);
    expect(logLines.some((l) => l.includes('packet handler failed'))).toBe(false);

    replies.length = 0;
    const mac = '02:00:00:00:77:01';
    const disc = newPacket({ xid: 0xabc, chaddr: macToChaddr(mac) });
    disc.options.setU8(Option.MessageType, MessageType.Discover);
    await send(encodePacket(disc));
    const offer = await (async () => { for (let i = 0; i < 200; i++) { const o = replies.find((p) => p.xid === 0xabc); if (o) return o; await Bun.sleep(10); } })();
    expect(offer?.options.u8(Option.MessageType)).toBe(MessageType.Offer);
    expect(offer!.yiaddr).toMatch(/^127\.0\.1\./);
    const reqp = newPacket({ xid: 0xabd, chaddr: macToChaddr(mac) });
    reqp.options.setU8(Option.MessageType, MessageType.Request).setIp(Option.RequestedIpAddress, offer!.yiaddr).setIp(Option.ServerIdentifier, '127.0.0.1');
    await send(encodePacket(reqp));
    const ack = await (async () => { for (let i = 0; i < 200; i++) { const o = replies.find((p) => p.xid === 0xabd); if (o) return o; await Bun.sleep(10); } })();
    expect(ack?.options.u8(Option.MessageType)).toBe(MessageType.Ack);
    expect(ack!.yiaddr).toBe(offer!.yiaddr);
    expect(leases.byIp.get(offer!.yiaddr)?.state).toBe('bound');
  }, 60_000);

  test('a port already in use is a one-line WulfError', async () => {
    const second = createDhcpServer({ port: PORT, address: '127.0.0.1', log, getContext: () => ctx(Date.now()) });
    const e = await second.start().then(() => undefined, (x) => x);
    expect(e).toBeInstanceOf(WulfError);
    expect((e as WulfError).code).toBe('EADDRINUSE');
    expect((e as WulfError).message).toBe(`dhcp: udp port ${PORT} on 127.0.0.1 is already in use`);
    await second.stop();
  });
});
