// Fuzz: >=100,000 random and mutated packets (from the real captures) through decode + policy, a few
// thousand through the real socket, then a normal DORA must still work. Deterministic seed.
import { afterAll, describe, expect, test } from 'bun:test';
import dgram from 'node:dgram';
import { readdirSync, readlinkSync } from 'node:fs';
import { decodePacket, encodePacket, macToChaddr, newPacket, type DhcpPacket } from '../../src/dhcp/packet.ts';
import { decide, type PolicyContext, type Reservation } from '../../src/dhcp/policy.ts';
import { applyLeaseChanges, emptyLeases, pruneLeases } from '../../src/dhcp/leases.ts';
import { createDhcpServer, type DhcpServer } from '../../src/dhcp/server.ts';
import { MessageType, Option } from '../../src/dhcp/options.ts';
import { createLogger } from '../../src/lib/log.ts';
import { WulfError } from '../../src/lib/errors.ts';
import { allPayloads, mutateDhcp, rng } from './helpers.ts';
import { join } from 'node:path';
import { BUN, createNsStar, type NsStar, requireTool, run, sh, startAndWait } from './netns.ts';

const SEEDS = allPayloads();
const mutate = (r: () => number) => mutateDhcp(r, SEEDS);

function ctx(now: number): PolicyContext {
  return {
    serverIp: '10.99.0.1',
    netmask: '255.255.255.0',
    mode: 'full',
    reservations: new Map<string, Reservation>([['52:54:00:00:0c:01', { ipaddr: '10.99.0.11', node: 'n01' }]]),
    range: { start: '10.99.0.100', end: '10.99.0.199' },
    leases: emptyLeases(),
    now,
    httpBase: 'http://10.99.0.1:9873',
    bootfiles: { bios: 'undionly.kpxe', efi64: 'ipxe.efi' },
    leaseTime: 60,
  };
}

describe('fuzz', () => {
  test('100,000 random and mutated packets through decode + policy: never throws, every rejection has a reason', () => {
    const r = rng(0xd4c9);
    const c = ctx(1_700_000_000_000);
    const proxy = { ...c, mode: 'proxy' as const };
    let ok = 0,
      bad = 0,
      replies = 0;
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
      if (dec.kind === 'reply') {
        replies++;
        encodePacket(dec.packet);
      }
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
  const PORT = 20000 + (process.pid % 20000),
    CPORT = PORT + 1;
  const logLines: string[] = [];
  const log = createLogger({ level: 'warn', write: (l) => logLines.push(l) });
  const leases = emptyLeases();
  let server: DhcpServer | undefined;
  let client: dgram.Socket | undefined;
  afterAll(async () => {
    await server?.stop();
    client?.close();
  });

  test('thousands of bad packets are dropped and logged once; a normal DORA works afterwards', async () => {
    server = createDhcpServer({
      port: PORT,
      address: '127.0.0.1',
      clientPort: CPORT,
      broadcastAddress: '127.0.0.1',
      log,
      getContext: () => ({
        ...ctx(Date.now()),
        serverIp: '127.0.0.1',
        netmask: '255.0.0.0',
        range: { start: '127.0.1.10', end: '127.0.1.50' },
        leases,
      }),
    });
    await server.start();
    const replies: DhcpPacket[] = [];
    client = dgram.createSocket('udp4');
    await new Promise<void>((res) => client!.bind(CPORT, '127.0.0.1', () => res()));
    client.on('message', (m) => {
      const d = decodePacket(m);
      if (d.ok) replies.push(d.packet);
    });
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
    const offer = await (async () => {
      for (let i = 0; i < 200; i++) {
        const o = replies.find((p) => p.xid === 0xabc);
        if (o) return o;
        await Bun.sleep(10);
      }
    })();
    expect(offer?.options.u8(Option.MessageType)).toBe(MessageType.Offer);
    expect(offer!.yiaddr).toMatch(/^127\.0\.1\./);
    const reqp = newPacket({ xid: 0xabd, chaddr: macToChaddr(mac) });
    reqp.options
      .setU8(Option.MessageType, MessageType.Request)
      .setIp(Option.RequestedIpAddress, offer!.yiaddr)
      .setIp(Option.ServerIdentifier, '127.0.0.1');
    await send(encodePacket(reqp));
    const ack = await (async () => {
      for (let i = 0; i < 200; i++) {
        const o = replies.find((p) => p.xid === 0xabd);
        if (o) return o;
        await Bun.sleep(10);
      }
    })();
    expect(ack?.options.u8(Option.MessageType)).toBe(MessageType.Ack);
    expect(ack!.yiaddr).toBe(offer!.yiaddr);
    expect(leases.byIp.get(offer!.yiaddr)?.state).toBe('bound');
  }, 60_000);

  test('replies that cannot be sent (300 forged client addresses) make one warning, not one per address', async () => {
    const before = server!.stats().sendErrors;
    const send = (b: Uint8Array) => new Promise<void>((res) => client!.send(b, PORT, '127.0.0.1', () => res()));
    for (let i = 0; i < 300; i++) {
      const p = newPacket({
        xid: 0x5000 + i,
        chaddr: macToChaddr(`02:00:00:01:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`),
      });
      p.ciaddr = `0.${i >> 8}.${i & 255}.1`; // an INFORM is answered at ciaddr; 0.0.0.0/8 cannot be sent to (EINVAL)
      p.options.setU8(Option.MessageType, MessageType.Inform);
      await send(encodePacket(p));
    }
    const deadline = Date.now() + 3000;
    while (server!.stats().sendErrors - before < 300 && Date.now() < deadline) await Bun.sleep(20);
    expect(server!.stats().sendErrors - before).toBeGreaterThan(100); // distinct addresses that failed
    expect(logLines.filter((l) => l.includes('send failed')).length).toBe(1);
  }, 20_000);

  test('interfaces: an unknown one is a one-line ENODEV error, the same port twice on one is EADDRINUSE, no socket leaks', async () => {
    const sockets = () =>
      readdirSync('/proc/self/fd').filter((x) => {
        try {
          return readlinkSync(`/proc/self/fd/${x}`).startsWith('socket:');
        } catch {
          return false;
        }
      }).length;
    const before = sockets();
    const mk = (interfaces: string[]) =>
      createDhcpServer({ port: PORT + 2, interfaces, bootServerPort: PORT + 3, log, getContext: () => ctx(Date.now()) });
    for (let i = 0; i < 5; i++) {
      const s = mk(['lo']);
      await s.start();
      await s.stop();
    }
    const e = await mk(['lo', 'wnosuch0'])
      .start()
      .then(
        () => undefined,
        (x) => x,
      );
    expect(e).toBeInstanceOf(WulfError);
    expect([(e as WulfError).code, (e as WulfError).message]).toEqual(['ENODEV', 'dhcp: no network interface wnosuch0']);
    const a = mk(['lo']);
    await a.start();
    const e2 = await mk(['lo'])
      .start()
      .then(
        () => undefined,
        (x) => x,
      );
    expect((e2 as WulfError).code).toBe('EADDRINUSE');
    await a.stop();
    expect(sockets()).toBe(before);
  });

  test('a port already in use is a one-line WulfError', async () => {
    const second = createDhcpServer({ port: PORT, address: '127.0.0.1', log, getContext: () => ctx(Date.now()) });
    const e = await second.start().then(
      () => undefined,
      (x) => x,
    );
    expect(e).toBeInstanceOf(WulfError);
    expect((e as WulfError).code).toBe('EADDRINUSE');
    expect((e as WulfError).message).toBe(`dhcp: udp port ${PORT} on 127.0.0.1 is already in use`);
    await second.stop();
  });
});

describe('a second interface (network namespaces)', () => {
  // the server namespace has two veth legs; the server is told to serve the first only
  let star: NsStar | undefined;
  let server: Awaited<ReturnType<typeof startAndWait>> | undefined;
  afterAll(() => {
    try {
      server?.proc.kill('SIGKILL');
    } catch {
      /* gone */
    }
    star?.teardown();
  });

  test('garbage and valid packets on the other interface are never received; the provisioning one still works', async () => {
    for (const [t, p] of [
      ['ip', 'iproute2'],
      ['udhcpc', 'udhcpc'],
    ])
      requireTool(t!, p!);
    star = createNsStar(`f${process.pid % 100000}`, ['10.79.1', '10.79.2']);
    const [prov, other] = star.legs as [NsStar['legs'][number], NsStar['legs'][number]];
    // its log and stats (stderr) joined to stdout, where startAndWait collects lines
    server = await startAndWait(
      star.exec(star.srv, [
        'sh',
        '-c',
        'exec "$0" "$@" 2>&1',
        BUN,
        join(import.meta.dir, '../../bench/dhcp-server.ts'),
        '--server-ip',
        '10.79.1.1',
        '--range',
        '10.79.1.100-10.79.1.150',
        '--interface',
        prov.srvIf,
        '--log',
        'warn',
      ]),
      /^READY$/,
    );
    const send = async (leg: typeof prov, addr: string, n: number, seed: number, targets: string[]) => {
      sh(star!.exec(leg.cli, ['ip', 'addr', 'replace', `${addr}/24`, 'dev', leg.cliIf]));
      sh(star!.exec(leg.cli, ['ip', 'route', 'replace', 'default', 'dev', leg.cliIf])); // 255.255.255.255 and the provisioning address, through this leg
      const r = await run(star!.exec(leg.cli, [BUN, join(import.meta.dir, 'fuzz-send.ts'), String(n), String(seed), ...targets]), 60_000);
      expect(Number(/sent (\d+)/.exec(r.out)?.[1])).toBeGreaterThanOrEqual(n * targets.length * 0.98); // a few may wait for ARP
    };
    // UDP datagrams the server namespace's kernel handed to a socket (its own counter, from /proc/net/snmp)
    const delivered = () => {
      const t = sh(star!.exec(star!.srv, ['cat', '/proc/net/snmp']))
        .split('\n')
        .filter((l) => l.startsWith('Udp:'));
      return Number(t[1]!.split(/\s+/)[t[0]!.split(/\s+/).indexOf('InDatagrams')]);
    };
    // the other leg: broadcast, the server's address there, and its provisioning address routed through this leg
    await send(other, '10.79.2.2', 1500, 11, ['255.255.255.255:67', '10.79.2.1:67', '10.79.1.1:67']);
    await Bun.sleep(100);
    expect(delivered()).toBe(0); // no socket took any of them
    // the provisioning leg: its garbage is received (and dropped), then a real client gets a lease
    await send(prov, '10.79.1.2', 500, 12, ['255.255.255.255:67', '10.79.1.1:67']);
    await Bun.sleep(100);
    // UDP: a loaded machine drops some when the socket buffer fills (801 of 1,000 seen under load 12); the point is that they arrive at all
    expect(delivered()).toBeGreaterThan(100);
    sh(star.exec(prov.cli, ['ip', 'addr', 'flush', 'dev', prov.cliIf]));
    const r = await run(
      star.exec(prov.cli, ['udhcpc', '-i', prov.cliIf, '-n', '-q', '-f', '-t', '4', '-T', '1', '-s', '/bin/true']),
      30_000,
    );
    expect(r.code).toBe(0);
    server.proc.kill('SIGTERM');
    await server.proc.exited;
    await Bun.sleep(50);
    const err = server.lines.join('\n');
    const stats = JSON.parse(/stats (\{.*\})/.exec(err)?.[1] ?? '{}') as { received: number; acks: number };
    expect(stats.received).toBeGreaterThan(0); // the provisioning leg's (a loaded machine may drop some)
    expect(stats.received).toBeLessThan(1000 + 20); // none of the other leg's 4,500
    expect(stats.acks).toBeGreaterThanOrEqual(1);
    expect(err).not.toContain('10.79.2.');
  }, 120_000);
});
