// A tiny classic-pcap reader (Ethernet / IPv4 / UDP) used by the DHCP tests to replay real captures.
// Pure: bytes in, UDP datagrams out; anything that is not Ethernet+IPv4+UDP is skipped.

export interface UdpRecord {
  index: number; // record number in the file (0-based)
  tsSec: number;
  tsUsec: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload: Uint8Array;
}

export function readPcapUdp(file: Uint8Array): UdpRecord[] {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length < 24) throw new Error('pcap: file shorter than its global header');
  const magic = dv.getUint32(0, true);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
  else throw new Error(`pcap: bad magic 0x${magic.toString(16)}`);
  const linktype = dv.getUint32(20, le);
  if (linktype !== 1) throw new Error(`pcap: link type ${linktype} is not Ethernet`);
  const out: UdpRecord[] = [];
  let off = 24,
    index = 0;
  while (off + 16 <= file.length) {
    const tsSec = dv.getUint32(off, le),
      tsUsec = dv.getUint32(off + 4, le),
      incl = dv.getUint32(off + 8, le);
    const f = file.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    const rec = index++;
    if (f.length < 14 + 20 + 8) continue;
    let eo = 12;
    let etype = (f[eo]! << 8) | f[eo + 1]!;
    if (etype === 0x8100) {
      eo += 4;
      etype = (f[eo]! << 8) | f[eo + 1]!;
    }
    if (etype !== 0x0800) continue;
    const ip = eo + 2;
    const ihl = (f[ip]! & 15) * 4;
    if (f[ip + 9] !== 17) continue;
    const totalLen = (f[ip + 2]! << 8) | f[ip + 3]!;
    const udp = ip + ihl;
    const ulen = (f[udp + 4]! << 8) | f[udp + 5]!;
    const end = Math.min(f.length, ip + totalLen, udp + ulen);
    out.push({
      index: rec,
      tsSec,
      tsUsec,
      src: `${f[ip + 12]}.${f[ip + 13]}.${f[ip + 14]}.${f[ip + 15]}`,
      dst: `${f[ip + 16]}.${f[ip + 17]}.${f[ip + 18]}.${f[ip + 19]}`,
      sport: (f[udp]! << 8) | f[udp + 1]!,
      dport: (f[udp + 2]! << 8) | f[udp + 3]!,
      payload: f.slice(udp + 8, end),
    });
  }
  return out;
}
