import { describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePacket, encodePacket, formatPacket, macOf, newPacket, macToChaddr } from '../../src/dhcp/packet.ts';
import { DhcpOptions, MessageType, Option, optionName, messageTypeName, decodeSubOptions } from '../../src/dhcp/options.ts';
import { DHCP_PCAPS, dhcpRecords, PCAP_DIR } from './helpers.ts';

function dumpCapture(name: string): string {
  const out: string[] = [];
  for (const r of dhcpRecords(name)) {
    const d = decodePacket(r.payload);
    out.push(`#${r.index} ${r.src}:${r.sport} > ${r.dst}:${r.dport} len=${r.payload.length}`);
    out.push(d.ok ? formatPacket(d.packet) : `ERROR ${d.reason}`);
  }
  return out.join('\n') + '\n';
}

describe('codec on real captures', () => {
  for (const name of DHCP_PCAPS) {
    test(`${name}: every DHCP packet decodes; golden dump`, () => {
      const recs = dhcpRecords(name);
      expect(recs.length).toBeGreaterThan(5);
      for (const r of recs) {
        const d = decodePacket(r.payload);
        if (!d.ok) throw new Error(`#${r.index}: ${d.reason}`);
      }
      const dump = dumpCapture(name);
      const golden = join(PCAP_DIR, name.replace('.pcap', '.golden.txt'));
      if (process.env.UPDATE_GOLDEN || !existsSync(golden)) writeFileSync(golden, dump);
      expect(dump).toBe(readFileSync(golden, 'utf8'));
    });
    test(`${name}: decode -> encode -> decode loses nothing`, () => {
      for (const r of dhcpRecords(name)) {
        const a = decodePacket(r.payload);
        if (!a.ok) throw new Error(a.reason);
        const bytes = encodePacket(a.packet);
        const b = decodePacket(bytes);
        if (!b.ok) throw new Error(b.reason);
        expect(formatPacket(b.packet)).toBe(formatPacket(a.packet));
        expect([...b.packet.options.map.keys()]).toEqual([...a.packet.options.map.keys()]);
        // header bytes are identical
        expect(bytes.subarray(0, 236)).toEqual(r.payload.subarray(0, 236));
      }
    });
  }

  test('the iPXE ROM capture carries what the policy keys on', () => {
    const d = decodePacket(dhcpRecords('dhcp-bios-ipxe-rom.pcap')[0]!.payload);
    if (!d.ok) throw new Error(d.reason);
    const p = d.packet;
    expect(macOf(p)).toBe('52:54:00:00:0c:01');
    expect(p.options.u8(Option.MessageType)).toBe(MessageType.Discover);
    expect(p.options.equalsText(Option.UserClass, 'iPXE')).toBe(true);
    expect(p.options.u16(Option.ClientArch)).toBe(0);
    expect(p.options.text(Option.VendorClassId)).toBe('PXEClient:Arch:00000:UNDI:002001');
    expect(p.options.u16(Option.MaxMessageSize)).toBe(1472);
    expect(p.options.get(Option.ClientUuid)!.length).toBe(17);
    expect(decodeSubOptions(p.options.get(Option.IpxeEncap)!).size).toBeGreaterThan(5);
  });
});

function base(): Uint8Array {
  const p = newPacket({ xid: 0x01020304, chaddr: macToChaddr('02:00:00:00:00:01') });
  p.options.setU8(Option.MessageType, MessageType.Discover);
  return encodePacket(p);
}

/** A packet with raw option bytes after the cookie, optional sname/file bytes. */
function raw(opts: number[], file?: number[], sname?: number[]): Uint8Array {
  const b = new Uint8Array(240 + opts.length);
  b.set(base().subarray(0, 240));
  b.set(opts, 240);
  if (file) b.set(file, 108);
  if (sname) b.set(sname, 44);
  return b;
}

describe('codec edge cases', () => {
  test('names are printable', () => {
    expect(optionName(93)).toBe('ClientArch(93)');
    expect(optionName(200)).toBe('opt200');
    expect(messageTypeName(MessageType.Ack)).toBe('Ack');
    expect(MessageType[MessageType.Nak]).toBe('Nak');
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /too short: 0 bytes/],
    ['header only', new Uint8Array(236), /too short/],
    [
      'bad op',
      (() => {
        const b = base();
        b[0] = 7;
        return b;
      })(),
      /bad op 7/,
    ],
    [
      'bad hlen',
      (() => {
        const b = base();
        b[2] = 17;
        return b;
      })(),
      /bad hlen 17/,
    ],
    [
      'bad cookie',
      (() => {
        const b = base();
        b[236] = 0;
        return b;
      })(),
      /bad magic cookie 0x00825363/,
    ],
    ['no end', raw([53, 1, 1]), /no end option/],
    ['no length byte', raw([53]), /has no length byte/],
    ['length past end', raw([53, 1, 1, 12, 200, 65, 66, 255]), /HostName\(12\) at byte 243 claims 200 bytes, only \d+ left/],
    ['bad message type', raw([53, 1, 9, 255]), /bad message type option \(53\): value 9/],
    ['message type length', raw([53, 2, 1, 1, 255]), /length 2/],
    ['overload length', raw([52, 2, 1, 1, 255]), /overload \(52\) has length 2/],
    ['overload value', raw([52, 1, 4, 255]), /overload \(52\) has value 4/],
    ['overload twice', raw([52, 1, 1, 52, 1, 1, 255]), /given twice/],
    ['overload loop in file', raw([53, 1, 1, 52, 1, 1, 255], [52, 1, 3, 255]), /inside an overloaded field/],
    ['overload garbage in sname', raw([53, 1, 1, 52, 1, 2, 255], undefined, [12, 100, 1]), /sname field: option HostName\(12\)/],
  ];
  for (const [name, bytes, re] of bad) {
    test(`rejects: ${name}`, () => {
      const d = decodePacket(bytes);
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.reason).toMatch(re);
    });
  }

  test('overload: options in file then sname, concatenated with the options field (RFC 2131 §4.1, RFC 3396)', () => {
    const d = decodePacket(raw([53, 1, 1, 52, 1, 3, 12, 2, 65, 66, 255], [12, 2, 67, 68, 60, 3, 120, 121, 122, 255], [12, 1, 69, 255]));
    if (!d.ok) throw new Error(d.reason);
    expect(d.packet.options.text(12)).toBe('ABCDE');
    expect(d.packet.options.text(60)).toBe('xyz');
    expect(d.packet.file).toBe('');
    expect(d.packet.sname).toBe('');
    expect(d.packet.options.has(52)).toBe(false);
  });

  test('long options split into 255-byte instances and concatenate back (RFC 3396)', () => {
    const p = newPacket();
    p.options.setU8(53, 1);
    const long = new Uint8Array(700).map((_, i) => i & 255);
    p.options.set(Option.VendorSpecific, long);
    p.options.set(Option.ParameterRequestList, new Uint8Array(0));
    const bytes = encodePacket(p);
    expect(bytes[243]).toBe(43);
    expect(bytes[244]).toBe(255);
    const d = decodePacket(bytes);
    if (!d.ok) throw new Error(d.reason);
    expect(d.packet.options.get(43)).toEqual(long);
    expect(d.packet.options.get(55)!.length).toBe(0);
  });

  test('pad bytes are skipped; short packets are padded to 300 bytes', () => {
    const d = decodePacket(raw([0, 0, 53, 1, 3, 0, 255]));
    expect(d.ok && d.packet.options.u8(53)).toBe(3);
    expect(base().length).toBe(300);
  });

  test('typed getters refuse wrong lengths', () => {
    const o = new DhcpOptions().set(51, Uint8Array.of(1, 2, 3)).set(93, Uint8Array.of(0, 7, 0, 9));
    expect(o.u32(51)).toBeUndefined();
    expect(o.u16(93)).toBeUndefined();
    expect(o.u16s(93)).toEqual([7, 9]);
    expect(o.ip(51)).toBeUndefined();
    o.setIps(6, ['10.0.0.1', '10.0.0.2']);
    expect(o.ips(6)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  test('sname and file are NUL-terminated text, truncated to fit', () => {
    const p = newPacket({ file: 'x'.repeat(200), sname: 'srv' });
    p.options.setU8(53, 2);
    const d = decodePacket(encodePacket(p));
    if (!d.ok) throw new Error(d.reason);
    expect(d.packet.file.length).toBe(127);
    expect(d.packet.sname).toBe('srv');
  });
});
