// Simulated nodes for the demo and the boot-storm benchmark: each does a DHCP exchange (as a
// relay agent on loopback, so any number of MACs work without raw sockets), fetches the iPXE
// binary over TFTP, then its iPXE script, kernel, image and overlays over HTTP, like a real boot.
import dgram from 'node:dgram';
import { decodePacket as decodeDhcp, encodePacket, macToChaddr, messageType, newPacket } from '../dhcp/packet.ts';
import { MessageType, Option } from '../dhcp/options.ts';
import { decodePacket as decodeTftp, encodeAck, encodeRequest, Op } from '../tftp/packet.ts';

export interface SimOptions {
  server: string; httpPort: number; dhcpPort: number; tftpPort: number; relayPort: number;
  timeoutMs?: number;
}
export interface BootResult { mac: string; ok: boolean; ms: number; error?: string; stages: Record<string, number>; ip?: string }

/** One relay socket shared by all simulated nodes; replies are matched by transaction id. */
export class Relay {
  private sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  private waiting = new Map<number, (p: ReturnType<typeof decodeDhcp>) => void>();
  constructor(private o: SimOptions) {}
  async open(): Promise<void> {
    this.sock.on('message', (m) => {
      const d = decodeDhcp(m);
      if (d.ok) { const w = this.waiting.get(d.packet.xid); if (w) { this.waiting.delete(d.packet.xid); w(d); } }
    });
    await new Promise<void>((res, rej) => { this.sock.once('error', rej); this.sock.bind(this.o.relayPort, '127.0.0.1', () => res()); });
  }
  close() { try { this.sock.close(); } catch { /* closed */ } }
  async exchange(mac: string, type: MessageType, xid: number, extra: (o: ReturnType<typeof newPacket>['options']) => void): Promise<ReturnType<typeof newPacket>> {
    const p = newPacket({ xid, hops: 1, giaddr: '127.0.0.1', chaddr: macToChaddr(mac) });
    p.options.setU8(Option.MessageType, type);
    p.options.setU16(Option.ClientArch, 0);
    p.options.setText(Option.VendorClassId, 'PXEClient:Arch:00000:UNDI:002001');
    extra(p.options);
    for (let attempt = 0; attempt < 4; attempt++) {
      const reply = new Promise<ReturnType<typeof decodeDhcp> | undefined>((res) => {
        const t = setTimeout(() => { this.waiting.delete(xid); res(undefined); }, 2000);
        this.waiting.set(xid, (d) => { clearTimeout(t); res(d); });
      });
      this.sock.send(encodePacket(p), this.o.dhcpPort, this.o.server);
      const d = await reply;
      if (d?.ok) return d.packet;
    }
    throw new Error(`no DHCP ${type === MessageType.Discover ? 'OFFER' : 'ACK'}`);
  }
}

async function tftpGet(o: SimOptions, file: string, timeoutMs: number): Promise<number> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  let bytes = 0;
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('TFTP timeout')), timeoutMs);
      let expect = 1, blksize = 512;
      sock.on('message', (m, r) => {
        const d = decodeTftp(m);
        if (!d.ok) return;
        const p = d.packet;
        if (p.op === Op.ERROR) { clearTimeout(timer); reject(new Error(`TFTP: ${p.message}`)); return; }
        if (p.op === Op.OACK) { blksize = Number(p.options.blksize ?? 512); sock.send(encodeAck(0), r.port, r.address); return; }
        if (p.op !== Op.DATA) return;
        if (p.block === (expect & 0xffff)) { bytes += p.data.length; expect++; }
        sock.send(encodeAck(p.block), r.port, r.address);
        if (p.data.length < blksize && p.block === ((expect - 1) & 0xffff)) { clearTimeout(timer); resolve(bytes); }
      });
      sock.send(encodeRequest(Op.RRQ, file, 'octet', { blksize: '1468', tsize: '0' }), o.tftpPort, o.server);
    });
  } finally { sock.close(); }
}

async function httpGet(url: string, timeoutMs: number): Promise<number> {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const n = (await r.arrayBuffer()).byteLength;
  if (!r.ok) throw new Error(`${new URL(url).pathname.split('/')[1]}: HTTP ${r.status}`);
  return n;
}

/** One simulated boot: DORA → TFTP → iPXE script → kernel → image → system → runtime. */
export async function bootNode(relay: Relay, o: SimOptions, mac: string): Promise<BootResult> {
  const t0 = performance.now();
  const stages: Record<string, number> = {};
  const mark = (s: string, from: number) => { stages[s] = Math.round(performance.now() - from); };
  const timeout = o.timeoutMs ?? 30_000;
  try {
    let t = performance.now();
    const xid = (Math.random() * 2 ** 32) >>> 0;
    const offer = await relay.exchange(mac, MessageType.Discover, xid, () => {});
    if (messageType(offer) !== MessageType.Offer) throw new Error('DHCP: no OFFER');
    const server = offer.options.ip(Option.ServerIdentifier) ?? o.server;
    const ack = await relay.exchange(mac, MessageType.Request, xid, (opt) => { opt.setIp(Option.RequestedIpAddress, offer.yiaddr); opt.setIp(Option.ServerIdentifier, server); });
    if (messageType(ack) !== MessageType.Ack) throw new Error('DHCP: no ACK');
    mark('dhcp', t);
    t = performance.now();
    await tftpGet(o, ack.file || 'undionly.kpxe', timeout);
    mark('tftp', t);
    const base = `http://${o.server}:${o.httpPort}`;
    for (const s of ['ipxe', 'kernel', 'image', 'system', 'runtime']) {
      t = performance.now();
      await httpGet(`${base}/${s}/${mac}`, timeout);
      mark(s, t);
    }
    return { mac, ok: true, ms: Math.round(performance.now() - t0), stages, ip: ack.yiaddr };
  } catch (e) {
    return { mac, ok: false, ms: Math.round(performance.now() - t0), stages, error: (e as Error).message };
  }
}

/** Boot many nodes with a concurrency limit (and an optional pause between starts). */
export async function bootMany(o: SimOptions, macs: string[], opts: { concurrency?: number; intervalMs?: number; onResult?: (r: BootResult) => void } = {}): Promise<BootResult[]> {
  const relay = new Relay(o);
  await relay.open();
  const results: BootResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < macs.length) {
      const mac = macs[next++]!;
      const r = await bootNode(relay, o, mac);
      results.push(r);
      opts.onResult?.(r);
      if (opts.intervalMs) await Bun.sleep(opts.intervalMs);
    }
  };
  try { await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 50, macs.length)) }, worker)); }
  finally { relay.close(); }
  return results;
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
