// Shared helpers for the DHCP tests: the real captures, and packet builders.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPcapUdp, type UdpRecord } from '../helpers/pcap.ts';
import { decodePacket, type DhcpPacket } from '../../src/dhcp/packet.ts';

export const PCAP_DIR = join(import.meta.dir, '../fixtures/pcap');
export const DHCP_PCAPS = ['dhcp-bios-ipxe-rom.pcap', 'dhcp-uefi-ipxe-rom.pcap', 'dhcp-uefi-native-pxe-then-ipxe.pcap'];

export function dhcpRecords(name: string): UdpRecord[] {
  return readPcapUdp(new Uint8Array(readFileSync(join(PCAP_DIR, name)))).filter(
    (r) => [67, 68, 4011].includes(r.sport) || [67, 68, 4011].includes(r.dport),
  );
}

/** Every client packet (BOOTREQUEST) of a capture, decoded. */
export function clientPackets(name: string): DhcpPacket[] {
  const out: DhcpPacket[] = [];
  for (const r of dhcpRecords(name)) {
    const d = decodePacket(r.payload);
    if (!d.ok) throw new Error(`${name}#${r.index}: ${d.reason}`);
    if (d.packet.op === 1) out.push(d.packet);
  }
  return out;
}

/** All DHCP payloads of all captures (fuzz seeds). */
export function allPayloads(): Uint8Array[] {
  return DHCP_PCAPS.flatMap((n) => dhcpRecords(n).map((r) => r.payload));
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One random or mutated DHCP datagram from the capture seeds (bit flips, truncation, overload loops, odd lengths, splices). */
export function mutateDhcp(r: () => number, SEEDS: Uint8Array[]): Uint8Array {
  const int = (n: number) => Math.floor(r() * n);
  const seed = SEEDS[int(SEEDS.length)]!;
  const kind = int(8);
  switch (kind) {
    case 0: {
      // random bytes, sometimes with a valid cookie
      const b = new Uint8Array(int(700));
      for (let i = 0; i < b.length; i++) b[i] = int(256);
      if (b.length > 240 && r() < 0.7) {
        b.set([1], 0);
        b.set([0x63, 0x82, 0x53, 0x63], 236);
      }
      return b;
    }
    case 1: {
      // bit flips
      const b = seed.slice();
      for (let n = 1 + int(8); n > 0; n--) {
        const i = int(b.length);
        b[i] = b[i]! ^ (1 << int(8));
      }
      return b;
    }
    case 2:
      return seed.slice(0, int(seed.length + 1)); // truncation
    case 3: {
      // overload with loops / garbage in file and sname
      const b = new Uint8Array(400);
      b.set(seed.subarray(0, 240));
      const ov = 1 + int(3);
      b.set([53, 1, 1 + int(8), 52, 1, r() < 0.1 ? int(256) : ov, 255], 240);
      for (let i = 44; i < 236; i++) b[i] = r() < 0.3 ? [52, 1, 3, 255, 0][int(5)]! : int(256);
      return b;
    }
    case 4: {
      // huge/odd option lengths at a random option position
      const b = seed.slice();
      let i = 240;
      const stop = int(20);
      for (let k = 0; k < stop && i + 1 < b.length && b[i] !== 255; k++) i += b[i] === 0 ? 1 : 2 + b[i + 1]!;
      if (i + 1 < b.length) b[i + 1] = [255, 254, 0, 1, int(256)][int(5)]!;
      return b;
    }
    case 5: {
      // random overwrite inside the options area
      const b = seed.slice();
      for (let n = 1 + int(6); n > 0; n--) b[240 + int(Math.max(1, b.length - 240))] = int(256);
      return b;
    }
    case 6: {
      // valid header + random option soup
      const b = new Uint8Array(240 + int(400));
      b.set(seed.subarray(0, 240));
      for (let i = 240; i < b.length; i++) b[i] = int(256);
      if (r() < 0.5) b[b.length - 1] = 255;
      return b;
    }
    default: {
      // splice two captures
      const other = SEEDS[int(SEEDS.length)]!;
      const cut = 240 + int(Math.max(1, seed.length - 240));
      const b = new Uint8Array(cut + other.length - 240);
      b.set(seed.subarray(0, cut));
      b.set(other.subarray(240), cut);
      return b;
    }
  }
}
