// The pure TFTP codec: every packet kind round-trips, option negotiation stays inside the RFC
// ranges, netascii conversion, and 100,000+ random/mutated packets never make decode throw.
import { describe, expect, test } from 'bun:test';
import {
  decodePacket,
  encodeAck,
  encodeData,
  encodeError,
  encodeOack,
  encodeRequest,
  ErrorCode,
  negotiate,
  Op,
  toNetascii,
} from '../../src/tftp/packet.ts';

const bytes = (...a: number[]) => new Uint8Array(a);

describe('decode', () => {
  test('RRQ with options: names case-insensitive, mode lower-cased, unknown options kept for the caller to ignore', () => {
    const d = decodePacket(encodeRequest(Op.RRQ, 'pxe/ipxe.efi', 'OCTET', { TSize: '0', BLKSIZE: '1468', windowsize: '4', 'x-odd': 'y' }));
    expect(d).toEqual({
      ok: true,
      packet: {
        op: Op.RRQ,
        filename: 'pxe/ipxe.efi',
        mode: 'octet',
        options: { tsize: '0', blksize: '1468', windowsize: '4', 'x-odd': 'y' },
      },
    });
  });
  test('WRQ, DATA, ACK, ERROR, OACK round-trip', () => {
    expect(decodePacket(encodeRequest(Op.WRQ, 'a'))).toEqual({
      ok: true,
      packet: { op: Op.WRQ, filename: 'a', mode: 'octet', options: {} },
    });
    const data = decodePacket(encodeData(70_000, bytes(1, 2, 3)));
    expect(data.ok && data.packet.op === Op.DATA && [data.packet.block, [...data.packet.data]]).toEqual([70_000 & 0xffff, [1, 2, 3]]);
    expect(decodePacket(encodeAck(65535))).toEqual({ ok: true, packet: { op: Op.ACK, block: 65535 } });
    expect(decodePacket(encodeAck(65536))).toEqual({ ok: true, packet: { op: Op.ACK, block: 0 } });
    expect(decodePacket(encodeError(ErrorCode.BadOption, 'User aborted the transfer'))).toEqual({
      ok: true,
      packet: { op: Op.ERROR, code: 8, message: 'User aborted the transfer' },
    });
    expect(decodePacket(encodeOack({ blksize: '1468', tsize: '850528' }))).toEqual({
      ok: true,
      packet: { op: Op.OACK, options: { blksize: '1468', tsize: '850528' } },
    });
  });
  test('malformed packets give a reason, never an exception', () => {
    const bad: [Uint8Array, RegExp][] = [
      [bytes(), /too short/],
      [bytes(0, 1, 65, 0), /too short|without/],
      [bytes(0, 1, 65, 66, 67), /NUL/], // no terminator
      [bytes(0, 1, 65, 0, 111, 0, 98, 0), /without a value/], // option name, no value
      [bytes(0, 9, 0, 0), /unknown opcode 9/],
      [bytes(0, 0, 0, 0), /unknown opcode 0/],
      [bytes(0, 4, 0, 1, 0), /ACK of 5 bytes/],
      [new Uint8Array([0, 1, ...new Array(600).fill(65), 0, 111, 0]), /longer than/],
    ];
    for (const [b, why] of bad) {
      const d = decodePacket(b);
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.reason).toMatch(why);
    }
  });
});

describe('negotiate', () => {
  test('RFC ranges: blksize 8..65464, windowsize 1..65535 (capped by the server), timeout 1..255, any tsize', () => {
    expect(negotiate({ blksize: '1468', windowsize: '4', tsize: '0' }, 850528).oack).toEqual({
      blksize: '1468',
      windowsize: '4',
      tsize: '850528',
    });
    expect(negotiate({ blksize: '7' }, 1).oack).toEqual({});
    expect(negotiate({ blksize: '65465' }, 1).blksize).toBe(65464);
    expect(negotiate({ blksize: '99999999' }, 1).oack).toEqual({}); // not a number we accept: ignored
    expect(negotiate({ windowsize: '0' }, 1).oack).toEqual({});
    expect(negotiate({ windowsize: '65536' }, 1).oack).toEqual({});
    expect(negotiate({ windowsize: '65535' }, 1).windowsize).toBe(64);
    expect(negotiate({ windowsize: '65535' }, 1, { maxWindow: 1000 }).windowsize).toBe(1000);
    expect(negotiate({ windowsize: '64', blksize: '65464' }, 1).windowsize).toBe(16); // 1 MiB of window at most
    expect(negotiate({ timeout: '6' }, 1)).toMatchObject({ timeoutMs: 6000, oack: { timeout: '6' } });
    expect(negotiate({ timeout: '0' }, 1, { timeoutMs: 300 })).toMatchObject({ timeoutMs: 300, oack: {} });
    expect(negotiate({ timeout: '256' }, 1).oack).toEqual({});
    expect(negotiate({ tsize: 'enable' }, 42).oack).toEqual({ tsize: '42' }); // atftp
    expect(negotiate({ multicast: '', 'x-y': 'z' }, 1).oack).toEqual({});
    expect(negotiate({ blksize: '-5', windowsize: '4x' }, 1).oack).toEqual({});
  });
});

test('netascii: LF becomes CR LF, a bare CR becomes CR NUL', () => {
  expect([...toNetascii(new TextEncoder().encode('a\nb\rc'))]).toEqual([97, 13, 10, 98, 13, 0, 99]);
  const plain = new TextEncoder().encode('no newline');
  expect(toNetascii(plain)).toBe(plain);
});

test('fuzz: 120,000 random and mutated packets never throw and valid ones re-encode identically', () => {
  let seed = 0x5eed;
  const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)]!;
  const seeds = [
    encodeRequest(Op.RRQ, 'ipxe.efi', 'octet', { tsize: '0', blksize: '1468', windowsize: '4' }),
    encodeRequest(Op.RRQ, 'undionly.kpxe'),
    encodeRequest(Op.WRQ, 'x', 'netascii', { tsize: '99' }),
    encodeAck(0),
    encodeAck(65535),
    encodeError(8, 'User aborted the transfer'),
    encodeError(0, ''),
    encodeOack({ blksize: '1468' }),
    encodeData(1, new Uint8Array(512)),
  ];
  const mutate = (): Uint8Array => {
    const base = pick(seeds);
    const k = rnd();
    if (k < 0.25) {
      const b = new Uint8Array(base);
      for (let i = 0, m = 1 + rnd() * 6; i < m; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      return b;
    }
    if (k < 0.4) return base.subarray(0, Math.floor(rnd() * (base.length + 1))); // truncation
    if (k < 0.5) return base.filter((x) => x !== 0 || rnd() < 0.5); // missing NULs
    if (k < 0.6) {
      const b = new Uint8Array(base);
      b[0] = Math.floor(rnd() * 256);
      b[1] = Math.floor(rnd() * 256);
      return b;
    } // bad opcodes
    if (k < 0.7) {
      // huge options
      const big = 'A'.repeat(Math.floor(rnd() * 2000));
      return encodeRequest(Op.RRQ, rnd() < 0.5 ? big : 'f', 'octet', { [rnd() < 0.5 ? big : 'blksize']: rnd() < 0.5 ? big : '65464' });
    }
    if (k < 0.8) {
      const n = 2 + Math.floor(rnd() * 40);
      const o = new Array(n).fill(0).map(() => `o${Math.floor(rnd() * 9)}`);
      return encodeRequest(Op.RRQ, 'f', 'octet', Object.fromEntries(o.map((x, i) => [x, String(i)])));
    }
    const r = new Uint8Array(Math.floor(rnd() * 1600));
    for (let i = 0; i < r.length; i++) r[i] = Math.floor(rnd() * 256);
    return r;
  };
  let ok = 0,
    rejected = 0;
  for (let i = 0; i < 120_000; i++) {
    const pkt = mutate();
    const d = decodePacket(pkt);
    if (!d.ok) {
      rejected++;
      expect(typeof d.reason).toBe('string');
      continue;
    }
    ok++;
    const p = d.packet;
    if (p.op === Op.ACK) expect(encodeAck(p.block)).toEqual(pkt);
    if (p.op === Op.DATA) expect(encodeData(p.block, p.data)).toEqual(pkt);
    if (p.op === Op.RRQ || p.op === Op.WRQ) negotiate(p.options, 12345); // must not throw either
  }
  expect(ok).toBeGreaterThan(10_000);
  expect(rejected).toBeGreaterThan(10_000);
});
