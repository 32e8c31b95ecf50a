// Shared helpers for the DHCP tests: the real captures, and packet builders.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPcapUdp, type UdpRecord } from '../../src/dhcp/pcap.ts';
import { decodePacket, type DhcpPacket } from '../../src/dhcp/packet.ts';

export const PCAP_DIR = join(import.meta.dir, '../fixtures/pcap');
export const DHCP_PCAPS = ['dhcp-bios-ipxe-rom.pcap', 'dhcp-uefi-ipxe-rom.pcap', 'dhcp-uefi-native-pxe-then-ipxe.pcap'];

export function dhcpRecords(name: string): UdpRecord[] {
  return readPcapUdp(new Uint8Array(readFileSync(join(PCAP_DIR, name))))
    .filter((r) => [67, 68, 4011].includes(r.sport) || [67, 68, 4011].includes(r.dport));
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
