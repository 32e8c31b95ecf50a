import { describe, expect, test } from 'bun:test';
import { decide, type PolicyContext, type Reservation, type Decision } from '../../src/dhcp/policy.ts';
import { applyLeaseChanges, emptyLeases, leaseOfMac, leasesFromJSON, leasesToJSON, type LeaseTable } from '../../src/dhcp/leases.ts';
import { type DhcpPacket, encodePacket, decodePacket, macOf, macToChaddr, newPacket } from '../../src/dhcp/packet.ts';
import { MessageType, Option } from '../../src/dhcp/options.ts';
import { clientPackets } from './helpers.ts';

const T0 = 1_700_000_000_000;
const URL_Q = '?assetkey=${asset}&uuid=${uuid}';

function ctx(over: Partial<PolicyContext> = {}): PolicyContext {
  const reservations = new Map<string, Reservation>([
    ['52:54:00:00:0c:01', { ipaddr: '10.99.0.11', hostname: 'n01', node: 'n01' }],
    ['02:00:00:00:00:aa', { ipaddr: '10.99.0.12', hostname: 'n02', node: 'n02', gateway: '10.99.0.254', dns: ['10.99.0.53'] }],
  ]);
  return {
    serverIp: '10.99.0.1',
    netmask: '255.255.255.0',
    mode: 'full',
    reservations,
    range: { start: '10.99.0.100', end: '10.99.0.199' },
    leases: emptyLeases(),
    now: T0,
    httpBase: 'http://10.99.0.1:9873',
    bootfiles: { bios: 'undionly.kpxe', efi64: 'ipxe.efi' },
    leaseTime: 3600,
    gateway: '10.99.0.1',
    ...over,
  };
}

function req(type: MessageType, mac: string, f: (p: DhcpPacket) => void = () => {}): DhcpPacket {
  const p = newPacket({ xid: 0x1234, chaddr: macToChaddr(mac) });
  p.options.setU8(Option.MessageType, type);
  f(p);
  return p;
}

/** Run decide and apply its lease changes (what server.ts does). */
function run(c: PolicyContext, p: DhcpPacket, opts = {}): Decision {
  // through the codec, as the server would
  const d = decodePacket(encodePacket(p));
  if (!d.ok) throw new Error(d.reason);
  const dec = decide(d.packet, c, opts);
  applyLeaseChanges(c.leases, dec.leaseChanges);
  return dec;
}

function reply(d: Decision): DhcpPacket {
  if (d.kind !== 'reply') throw new Error(`expected a reply, got ignore: ${d.reason}`);
  return d.packet;
}

/** Replay a capture's client packets; REQUESTs ask for what we offered (not what dnsmasq offered). */
function replay(name: string, c: PolicyContext): { p: DhcpPacket; d: Decision }[] {
  const offered = new Map<string, string>();
  return clientPackets(name).map((p) => {
    if (p.options.u8(53) === MessageType.Request && p.options.has(Option.RequestedIpAddress)) {
      p.options.setIp(Option.RequestedIpAddress, offered.get(macOf(p))!);
    }
    c.now += 1000;
    const d = run(c, p);
    if (d.kind === 'reply' && d.packet.options.u8(53) === MessageType.Offer) offered.set(macOf(p), d.packet.yiaddr);
    return { p, d };
  });
}

describe('boot answers from real captures', () => {
  test('BIOS iPXE ROM (reserved MAC): iPXE script URL, no-pxedhcp, reserved address; then busybox udhcpc gets a plain lease', () => {
    const c = ctx();
    const steps = replay('dhcp-bios-ipxe-rom.pcap', c);
    const types = steps.map((s) => (s.d.kind === 'reply' ? MessageType[s.d.packet.options.u8(53)!] : 'ignore'));
    expect(types).toEqual(['Offer', 'Offer', 'Ack', 'Offer', 'Ack']);
    const offer = reply(steps[0]!.d);
    const url = 'http://10.99.0.1:9873/ipxe/52:54:00:00:0c:01' + URL_Q;
    expect(offer.yiaddr).toBe('10.99.0.11');
    expect(offer.file).toBe(url);
    expect(offer.options.text(Option.BootfileName)).toBe(url);
    expect(offer.siaddr).toBe('10.99.0.1');
    expect(offer.sname).toBe('10.99.0.1');
    expect(offer.options.text(Option.TftpServerName)).toBe('10.99.0.1');
    expect([...offer.options.get(Option.IpxeEncap)!]).toEqual([176, 1, 1]);
    expect(offer.options.has(Option.VendorClassId)).toBe(false); // no PXEClient: iPXE would then ask a ProxyDHCP
    expect(offer.options.ip(Option.ServerIdentifier)).toBe('10.99.0.1');
    expect(offer.options.text(Option.HostName)).toBe('n01');
    expect(offer.options.ip(Option.SubnetMask)).toBe('255.255.255.0');
    expect(offer.options.ip(Option.Router)).toBe('10.99.0.1');
    expect(offer.options.u32(Option.LeaseTime)).toBe(3600);
    expect(steps[0]!.d.kind === 'reply' && steps[0]!.d.to).toBe('broadcast');
    expect(steps[0]!.d.client?.node).toBe('n01');
    const ack = reply(steps[2]!.d);
    expect(ack.yiaddr).toBe('10.99.0.11');
    expect(ack.file).toBe(url);
    // busybox udhcpc in the booted node: same address, no boot options
    const plain = reply(steps[4]!.d);
    expect(plain.yiaddr).toBe('10.99.0.11');
    expect(plain.file).toBe('');
    expect(plain.siaddr).toBe('0.0.0.0');
    expect(plain.options.has(Option.BootfileName)).toBe(false);
    expect(c.leases.byIp.get('10.99.0.11')).toMatchObject({ mac: '52:54:00:00:0c:01', state: 'bound', node: 'n01' });
  });

  test('UEFI iPXE ROM (unknown MAC): a range address and the iPXE URL', () => {
    const c = ctx();
    const steps = replay('dhcp-uefi-ipxe-rom.pcap', c);
    const offer = reply(steps[0]!.d);
    expect(offer.yiaddr).toMatch(/^10\.99\.0\.1\d\d$/);
    expect(offer.file).toBe('http://10.99.0.1:9873/ipxe/52:54:00:00:0c:02' + URL_Q);
    const acks = steps.filter((s) => s.d.kind === 'reply' && s.d.packet.options.u8(53) === MessageType.Ack);
    expect(acks.length).toBe(2);
    for (const a of acks) expect(reply(a.d).yiaddr).toBe(offer.yiaddr);
    expect(steps.every((s) => s.d.kind === 'reply' && s.d.packet.options.u8(53) !== MessageType.Nak)).toBe(true);
  });

  test('UEFI native PXE gets ipxe.efi with PXEClient + discovery control; the chained iPXE gets the URL and the same address', () => {
    const c = ctx();
    const steps = replay('dhcp-uefi-native-pxe-then-ipxe.pcap', c);
    const pxeOffer = reply(steps[0]!.d);
    expect(pxeOffer.file).toBe('ipxe.efi');
    expect(pxeOffer.options.text(Option.BootfileName)).toBe('ipxe.efi');
    expect(pxeOffer.options.text(Option.VendorClassId)).toBe('PXEClient');
    expect([...pxeOffer.options.get(Option.VendorSpecific)!]).toEqual([6, 1, 8, 255]);
    expect(pxeOffer.siaddr).toBe('10.99.0.1');
    expect(steps[0]!.d.client).toMatchObject({ kind: 'pxe', arch: 7, ipxe: false });
    const ipxeOffer = steps
      .map((s) => s.d)
      .find((d) => d.kind === 'reply' && d.client.ipxe && d.packet.options.u8(53) === MessageType.Offer);
    expect(reply(ipxeOffer!).file).toBe('http://10.99.0.1:9873/ipxe/52:54:00:00:0c:03' + URL_Q);
    expect(reply(ipxeOffer!).yiaddr).toBe(pxeOffer.yiaddr);
    const last = reply(steps.at(-1)!.d);
    expect(last.options.u8(53)).toBe(MessageType.Ack);
    expect(last.yiaddr).toBe(pxeOffer.yiaddr);
    expect(last.file).toBe('http://10.99.0.1:9873/ipxe/52:54:00:00:0c:03' + URL_Q);
  });

  test('BIOS PXE firmware (arch 0, no iPXE) gets the BIOS file; arch 11 gets arm64 only when configured', () => {
    const bios = reply(
      run(
        ctx(),
        req(MessageType.Discover, '02:00:00:00:01:01', (p) => {
          p.options.setText(60, 'PXEClient:Arch:00000:UNDI:002001').setU16(93, 0);
        }),
      ),
    );
    expect(bios.file).toBe('undionly.kpxe');
    const arm = (c: PolicyContext) =>
      reply(
        run(
          c,
          req(MessageType.Discover, '02:00:00:00:01:02', (p) => {
            p.options.setText(60, 'PXEClient:Arch:00011:UNDI:003000').setU16(93, 11);
          }),
        ),
      );
    expect(arm(ctx({ bootfiles: { bios: 'undionly.kpxe', efi64: 'snponly.efi', arm64: 'ipxe-arm64.efi' } })).file).toBe('ipxe-arm64.efi');
    const none = arm(ctx());
    expect(none.file).toBe('');
    expect(none.yiaddr).not.toBe('0.0.0.0'); // still a lease
    // arch only from the vendor class
    const vc = reply(
      run(
        ctx(),
        req(MessageType.Discover, '02:00:00:00:01:03', (p) => p.options.setText(60, 'PXEClient:Arch:00009:UNDI:003000')),
      ),
    );
    expect(vc.file).toBe('ipxe.efi');
  });

  test('UEFI HTTP boot: URL under /tftp/ and vendor class HTTPClient echoed', () => {
    const r = reply(
      run(
        ctx(),
        req(MessageType.Discover, '02:00:00:00:01:04', (p) => {
          p.options.setText(60, 'HTTPClient:Arch:00016:UNDI:003000').setU16(93, 16);
        }),
      ),
    );
    expect(r.file).toBe('http://10.99.0.1:9873/tftp/ipxe.efi');
    expect(r.options.text(Option.VendorClassId)).toBe('HTTPClient');
  });

  test('iPXE detected by option 175 alone, and by an RFC 3004 user class', () => {
    const a = reply(
      run(
        ctx(),
        req(MessageType.Discover, '02:00:00:00:01:05', (p) => p.options.set(175, Uint8Array.of(177, 1, 1))),
      ),
    );
    expect(a.file).toStartWith('http://10.99.0.1:9873/ipxe/02:00:00:00:01:05');
    const b = reply(
      run(
        ctx({ ipxeQuery: false }),
        req(MessageType.Discover, '02:00:00:00:01:06', (p) => p.options.set(77, Uint8Array.of(4, 105, 80, 88, 69))),
      ),
    );
    expect(b.file).toBe('http://10.99.0.1:9873/ipxe/02:00:00:00:01:06');
  });

  test('reservation options: gateway, dns, hostname from the netdev', () => {
    const r = reply(run(ctx(), req(MessageType.Discover, '02:00:00:00:00:aa')));
    expect(r.yiaddr).toBe('10.99.0.12');
    expect(r.options.ip(Option.Router)).toBe('10.99.0.254');
    expect(r.options.ips(Option.DomainNameServer)).toEqual(['10.99.0.53']);
    expect(r.options.ip(Option.BroadcastAddress)).toBe('10.99.0.255');
  });
});

describe('leases and addresses', () => {
  test('two machines booting at once get different addresses, even when the range has two', () => {
    const c = ctx({ range: { start: '10.99.0.100', end: '10.99.0.101' } });
    const a = reply(run(c, req(MessageType.Discover, '02:00:00:00:02:01')));
    const b = reply(run(c, req(MessageType.Discover, '02:00:00:00:02:02')));
    expect(a.yiaddr).not.toBe(b.yiaddr);
    // repeated DISCOVERs keep each one's address
    expect(reply(run(c, req(MessageType.Discover, '02:00:00:00:02:01'))).yiaddr).toBe(a.yiaddr);
    expect(reply(run(c, req(MessageType.Discover, '02:00:00:00:02:02'))).yiaddr).toBe(b.yiaddr);
    // range exhausted: a third machine is not answered (no NAK war, no double offer)
    const third = run(c, req(MessageType.Discover, '02:00:00:00:02:03'));
    expect(third.kind).toBe('ignore');
    if (third.kind === 'ignore') expect(third.reason).toBe('no free address in the dynamic range');
    // the second asks for the first one's offered address: NAK
    const steal = reply(
      run(
        c,
        req(MessageType.Request, '02:00:00:00:02:02', (p) => p.options.setIp(50, a.yiaddr).setIp(54, '10.99.0.1')),
      ),
    );
    expect(steal.options.u8(53)).toBe(MessageType.Nak);
    // the offer hold runs out: the third machine gets an address
    c.now += 61_000;
    expect(reply(run(c, req(MessageType.Discover, '02:00:00:00:02:03'))).yiaddr).toMatch(/^10\.99\.0\.10[01]$/);
  });

  test('many machines at once: all distinct, no reserved, server or gateway address handed out', () => {
    const c = ctx({ range: { start: '10.99.0.2', end: '10.99.0.60' }, gateway: '10.99.0.30' });
    c.reservations.set('02:00:00:00:00:bb', { ipaddr: '10.99.0.20', node: 'x' });
    const seen = new Set<string>();
    for (let i = 0; i < 55; i++) {
      // 59 in the range, less .11, .12, .20 reserved and the .30 gateway
      const ip = reply(run(c, req(MessageType.Discover, `02:00:00:01:00:${i.toString(16).padStart(2, '0')}`))).yiaddr;
      expect(seen.has(ip)).toBe(false);
      seen.add(ip);
    }
    expect(seen.has('10.99.0.20')).toBe(false);
    expect(seen.has('10.99.0.30')).toBe(false);
    expect(seen.has('10.99.0.11')).toBe(false);
    expect(seen.has('10.99.0.12')).toBe(false);
    expect(run(c, req(MessageType.Discover, '02:00:00:01:01:00')).kind).toBe('ignore');
  });

  test('REQUEST naming another server is ignored and frees our offer', () => {
    const c = ctx();
    const o = reply(run(c, req(MessageType.Discover, '02:00:00:00:03:01')));
    const d = run(
      c,
      req(MessageType.Request, '02:00:00:00:03:01', (p) => p.options.setIp(54, '10.99.0.2').setIp(50, '10.99.0.150')),
    );
    expect(d.kind).toBe('ignore');
    if (d.kind === 'ignore') expect(d.reason).toBe('REQUEST names server 10.99.0.2');
    expect(c.leases.byIp.has(o.yiaddr)).toBe(false);
  });

  test('REQUEST for a wrong address: NAK (broadcast); reserved MAC asking another address: NAK', () => {
    const c = ctx();
    const d = run(
      c,
      req(MessageType.Request, '02:00:00:00:03:02', (p) => p.options.setIp(50, '192.168.1.5')),
    );
    expect(reply(d).options.u8(53)).toBe(MessageType.Nak);
    expect(d.kind === 'reply' && d.to).toBe('broadcast');
    expect(reply(d).yiaddr).toBe('0.0.0.0');
    const r = reply(
      run(
        c,
        req(MessageType.Request, '52:54:00:00:0c:01', (p) => p.options.setIp(50, '10.99.0.150').setIp(54, '10.99.0.1')),
      ),
    );
    expect(r.options.u8(53)).toBe(MessageType.Nak);
    expect(r.options.text(Option.Message)).toBe('address reserved for 52:54:00:00:0c:01 is 10.99.0.11');
  });

  test('INIT-REBOOT for a free range address is ACKed; RENEW (ciaddr) is ACKed by unicast', () => {
    const c = ctx();
    const a = reply(
      run(
        c,
        req(MessageType.Request, '02:00:00:00:03:03', (p) => p.options.setIp(50, '10.99.0.177')),
      ),
    );
    expect(a.options.u8(53)).toBe(MessageType.Ack);
    expect(a.yiaddr).toBe('10.99.0.177');
    c.now += 1_000_000;
    const renew = run(
      c,
      req(MessageType.Request, '02:00:00:00:03:03', (p) => {
        p.ciaddr = '10.99.0.177';
      }),
    );
    expect(reply(renew).yiaddr).toBe('10.99.0.177');
    expect(reply(renew).ciaddr).toBe('10.99.0.177');
    expect(renew.kind === 'reply' && renew.to).toBe('ciaddr');
    expect(c.leases.byIp.get('10.99.0.177')!.expires).toBe(c.now + 3600_000);
  });

  test('RELEASE frees the address for others; the client gets it back when it returns', () => {
    const c = ctx({ range: { start: '10.99.0.100', end: '10.99.0.100' } });
    const ip = reply(run(c, req(MessageType.Discover, '02:00:00:00:04:01'))).yiaddr;
    run(
      c,
      req(MessageType.Request, '02:00:00:00:04:01', (p) => p.options.setIp(50, ip).setIp(54, '10.99.0.1')),
    );
    // a release by a MAC that does not hold it is ignored
    expect(
      run(
        c,
        req(MessageType.Release, '02:00:00:00:04:09', (p) => {
          p.ciaddr = ip;
        }),
      ).kind,
    ).toBe('ignore');
    expect(c.leases.byIp.get(ip)!.state).toBe('bound');
    const rel = run(
      c,
      req(MessageType.Release, '02:00:00:00:04:01', (p) => {
        p.ciaddr = ip;
        p.options.setIp(54, '10.99.0.1');
      }),
    );
    expect(rel.kind === 'ignore' && rel.reason).toBe('released');
    expect(c.leases.byIp.get(ip)!.state).toBe('released');
    expect(reply(run(c, req(MessageType.Discover, '02:00:00:00:04:01'))).yiaddr).toBe(ip);
  });

  test('DECLINE keeps the address out of use for a while', () => {
    const c = ctx({ range: { start: '10.99.0.100', end: '10.99.0.101' }, declineHoldMs: 300_000 });
    const ip = reply(run(c, req(MessageType.Discover, '02:00:00:00:05:01'))).yiaddr;
    const d = run(
      c,
      req(MessageType.Decline, '02:00:00:00:05:01', (p) => p.options.setIp(50, ip).setIp(54, '10.99.0.1')),
    );
    expect(d.kind === 'ignore' && d.reason).toBe('declined');
    const other = reply(run(c, req(MessageType.Discover, '02:00:00:00:05:01'))).yiaddr;
    expect(other).not.toBe(ip);
    run(
      c,
      req(MessageType.Request, '02:00:00:00:05:01', (p) => p.options.setIp(50, other).setIp(54, '10.99.0.1')),
    );
    expect(run(c, req(MessageType.Discover, '02:00:00:00:05:02')).kind).toBe('ignore'); // only the declined one left
    c.now += 300_001;
    expect(reply(run(c, req(MessageType.Discover, '02:00:00:00:05:02'))).yiaddr).toBe(ip);
  });

  test('INFORM: ACK without yiaddr or lease time, unicast to ciaddr', () => {
    const d = run(
      ctx(),
      req(MessageType.Inform, '02:00:00:00:06:01', (p) => {
        p.ciaddr = '10.99.0.77';
      }),
    );
    const r = reply(d);
    expect(r.options.u8(53)).toBe(MessageType.Ack);
    expect(r.yiaddr).toBe('0.0.0.0');
    expect(r.ciaddr).toBe('10.99.0.77');
    expect(r.options.has(Option.LeaseTime)).toBe(false);
    expect(d.kind === 'reply' && d.to).toBe('ciaddr');
  });

  test('unknown MAC and no range: not answered; BOOTP and replies ignored', () => {
    const c = ctx({ range: undefined });
    const d = run(c, req(MessageType.Discover, '02:00:00:00:07:01'));
    expect(d.kind === 'ignore' && d.reason).toBe('unknown MAC and no dynamic range');
    expect(reply(run(c, req(MessageType.Discover, '52:54:00:00:0c:01'))).yiaddr).toBe('10.99.0.11');
    expect(run(c, newPacket({ chaddr: macToChaddr('02:00:00:00:07:02') })).kind).toBe('ignore');
    expect(run(c, req(MessageType.Offer, '02:00:00:00:07:03')).kind).toBe('ignore');
    expect(
      run(
        c,
        req(MessageType.Discover, '02:00:00:00:07:04', (p) => {
          p.op = 2;
        }),
      ).kind,
    ).toBe('ignore');
  });

  test('lease table survives toJSON/fromJSON', () => {
    const c = ctx();
    reply(run(c, req(MessageType.Discover, '02:00:00:00:08:01')));
    run(
      c,
      req(MessageType.Request, '52:54:00:00:0c:01', (p) => p.options.setIp(50, '10.99.0.11')),
    );
    const json = JSON.parse(JSON.stringify(leasesToJSON(c.leases)));
    const t: LeaseTable = leasesFromJSON([...json, { bogus: 1 }, null]);
    expect(leasesToJSON(t)).toEqual(json);
    expect(leaseOfMac(t, '52:54:00:00:0c:01', c.now)!.ip).toBe('10.99.0.11');
  });
});

describe('relay and proxy', () => {
  const relayed = (mac: string, giaddr: string) =>
    req(MessageType.Discover, mac, (p) => {
      p.giaddr = giaddr;
      p.hops = 1;
      p.options.set(Option.RelayAgentInfo, Uint8Array.of(1, 3, 97, 98, 99));
    });
  test('relay: subnet chosen by giaddr, reply to the relay, option 82 echoed', () => {
    const c = ctx({
      relaySubnets: [{ network: '10.50.0.0', netmask: '255.255.255.0', range: { start: '10.50.0.10', end: '10.50.0.20' } }],
    });
    const d = run(c, relayed('02:00:00:00:09:01', '10.50.0.1'));
    const r = reply(d);
    expect(d.kind === 'reply' && d.to).toBe('relay');
    expect(r.giaddr).toBe('10.50.0.1');
    expect(r.yiaddr).toMatch(/^10\.50\.0\.(1\d|20)$/);
    expect(r.options.ip(Option.Router)).toBe('10.50.0.1');
    expect(r.options.ip(Option.SubnetMask)).toBe('255.255.255.0');
    expect([...r.options.get(Option.RelayAgentInfo)!]).toEqual([1, 3, 97, 98, 99]);
    expect(r.options.codes().at(-1)).toBe(Option.RelayAgentInfo);
    // a relay on the server's own subnet uses the main range
    expect(reply(run(c, relayed('02:00:00:00:09:02', '10.99.0.254'))).yiaddr).toMatch(/^10\.99\.0\.1\d\d$/);
    // unknown relay network: ignored
    const u = run(c, relayed('02:00:00:00:09:03', '172.16.0.1'));
    expect(u.kind === 'ignore' && u.reason).toBe('relay 172.16.0.1 is on no configured subnet');
    // a NAK through a relay has the broadcast bit set
    const n = run(
      c,
      req(MessageType.Request, '02:00:00:00:09:04', (p) => {
        p.giaddr = '10.50.0.1';
        p.options.setIp(50, '10.99.0.5');
      }),
    );
    expect(reply(n).options.u8(53)).toBe(MessageType.Nak);
    expect(reply(n).flags & 0x8000).toBe(0x8000);
    expect(n.kind === 'reply' && n.to).toBe('relay');
  });

  test("proxy mode: boot options only, no address; plain clients and other servers' REQUESTs ignored", () => {
    const c = ctx({ mode: 'proxy' });
    const pxe = clientPackets('dhcp-uefi-native-pxe-then-ipxe.pcap');
    const d = run(c, pxe[0]!);
    const r = reply(d);
    expect(r.options.u8(53)).toBe(MessageType.Offer);
    expect(r.yiaddr).toBe('0.0.0.0');
    expect(r.file).toBe('ipxe.efi');
    expect(r.options.text(Option.VendorClassId)).toBe('PXEClient');
    expect(r.options.has(Option.LeaseTime)).toBe(false);
    expect(c.leases.byIp.size).toBe(0);
    const ipxe = reply(run(c, pxe.find((p) => p.options.has(175))!));
    expect(ipxe.file).toStartWith('http://10.99.0.1:9873/ipxe/52:54:00:00:0c:03');
    expect(ipxe.options.text(Option.VendorClassId)).toBe('PXEClient');
    const plain = run(c, clientPackets('dhcp-bios-ipxe-rom.pcap').at(-1)!); // busybox udhcpc
    expect(plain.kind === 'ignore' && plain.reason).toBe('proxy: not a PXE client');
    // REQUEST to the real DHCP server: not ours
    expect(
      run(
        c,
        req(MessageType.Request, '02:00:00:00:0a:01', (p) => {
          p.options.setText(60, 'PXEClient:Arch:00007').setIp(54, '10.99.0.2');
        }),
      ).kind,
    ).toBe('ignore');
  });

  test('PXE boot server port 4011: REQUEST answered to its source with the boot item echoed', () => {
    const c = ctx({ mode: 'proxy' });
    const d = run(
      c,
      req(MessageType.Request, '02:00:00:00:0b:01', (p) => {
        p.ciaddr = '10.99.0.140';
        p.options
          .setText(60, 'PXEClient:Arch:00007:UNDI:003000')
          .setU16(93, 7)
          .set(43, Uint8Array.of(71, 4, 0x80, 0, 0, 0, 255));
      }),
      { bootServerPort: true },
    );
    const r = reply(d);
    expect(d.kind === 'reply' && d.to).toBe('source');
    expect(r.options.u8(53)).toBe(MessageType.Ack);
    expect(r.ciaddr).toBe('10.99.0.140');
    expect(r.yiaddr).toBe('0.0.0.0');
    expect(r.file).toBe('ipxe.efi');
    expect([...r.options.get(43)!]).toEqual([6, 1, 8, 71, 4, 0x80, 0, 0, 0, 255]);
    expect(
      run(
        c,
        req(MessageType.Discover, '02:00:00:00:0b:01', (p) => p.options.setText(60, 'PXEClient')),
        { bootServerPort: true },
      ).kind,
    ).toBe('ignore');
  });
});
