// A tiny scriptable TFTP client for tests: send raw packets, collect replies, and a windowed
// reader that can drop ACKs or abort, to exercise the server's edge cases.
import dgram from 'node:dgram';
import { decodePacket, encodeAck, encodeError, encodeRequest, Op, type Packet } from '../../src/tftp/packet.ts';

export class RawClient {
  sock = dgram.createSocket('udp4');
  inbox: { p: Packet; port: number }[] = [];
  waiters: (() => void)[] = [];
  constructor() {
    // a duplicate final ACK can reach a transfer socket already closed: the ICMP "port unreachable"
    // comes back as ECONNREFUSED, which real clients ignore too
    this.sock.on('error', () => {});
    this.sock.on('message', (m, r) => {
      const d = decodePacket(m);
      if (d.ok) this.inbox.push({ p: d.packet, port: r.port });
      this.waiters.splice(0).forEach((w) => w());
    });
  }
  static async open() {
    const c = new RawClient();
    await c.bind();
    return c;
  }
  async bind() {
    await new Promise<void>((res) => this.sock.bind(0, '127.0.0.1', () => res()));
  }
  get port() {
    return this.sock.address().port;
  }
  send(buf: Uint8Array, port: number) {
    this.sock.send(buf, port, '127.0.0.1');
  }
  async next(timeoutMs = 3000): Promise<{ p: Packet; port: number } | undefined> {
    const end = Date.now() + timeoutMs;
    while (!this.inbox.length) {
      const left = end - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    return this.inbox.shift();
  }
  /** everything that arrives within `ms` */
  async collect(ms: number) {
    await Bun.sleep(ms);
    return this.inbox.splice(0);
  }
  /** later: node:dgram sends asynchronously and a close right after send would drop the datagram */
  close() {
    setTimeout(() => {
      try {
        this.sock.close();
      } catch {
        /* closed */
      }
    }, 100);
  }
}

/** Read a whole file with options; `dropFirstAck` skips acknowledging the first window once. */
export async function fetchFile(port: number, name: string, options: Record<string, string> = {}, opts: { dropFirstAck?: boolean } = {}) {
  const c = new RawClient();
  await c.bind();
  c.send(encodeRequest(Op.RRQ, name, 'octet', options), port);
  const chunks: Uint8Array[] = [];
  let blksize = 512,
    window = 1,
    tid = 0,
    expect = 1,
    inWindow = 0,
    dropped = false,
    resent = 0;
  let oack: Record<string, string> | undefined;
  try {
    for (;;) {
      const m = await c.next(8000);
      if (!m) throw new Error('timeout waiting for the server');
      if (m.p.op === Op.ERROR) return { error: m.p, chunks: [] as Uint8Array[], resent, oack };
      tid = m.port;
      if (m.p.op === Op.OACK) {
        oack = m.p.options;
        blksize = Number(m.p.options.blksize ?? 512);
        window = Number(m.p.options.windowsize ?? 1);
        c.send(encodeAck(0), tid);
        continue;
      }
      if (m.p.op !== Op.DATA) continue;
      if (m.p.block !== (expect & 0xffff)) {
        resent++;
        continue;
      }
      chunks.push(new Uint8Array(m.p.data));
      const last = m.p.data.length < blksize;
      inWindow++;
      expect++;
      if (last || inWindow >= window) {
        inWindow = 0;
        if (opts.dropFirstAck && !dropped) {
          dropped = true;
          expect -= window;
          chunks.splice(chunks.length - window, window);
          continue;
        }
        c.send(encodeAck(m.p.block), tid);
      }
      if (last) break;
    }
  } finally {
    c.close();
  }
  const total = chunks.reduce((a, b) => a + b.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.length;
  }
  return { data: out, resent, oack };
}

/** Random and mutated TFTP datagrams: byte flips, truncation, noise, a huge name without NULs, trailing NULs. */
export function tftpMutator(rnd: () => number): () => Uint8Array {
  const seeds = [
    encodeRequest(Op.RRQ, 'big.bin', 'octet', { blksize: '1468', tsize: '0', windowsize: '4' }),
    encodeRequest(Op.WRQ, 'a'),
    new Uint8Array([0, 4, 0, 1]),
    encodeError(1, 'x'),
  ];
  return () => {
    const b = new Uint8Array(seeds[Math.floor(rnd() * seeds.length)]!);
    const kind = rnd();
    if (kind < 0.3) {
      for (let i = 0; i < 1 + rnd() * 4; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      return b;
    }
    if (kind < 0.5) return b.subarray(0, Math.floor(rnd() * b.length));
    if (kind < 0.7) {
      const r = new Uint8Array(Math.floor(rnd() * 1500));
      for (let i = 0; i < r.length; i++) r[i] = Math.floor(rnd() * 256);
      return r;
    }
    if (kind < 0.85) {
      const r = new Uint8Array(600);
      r[1] = 1;
      r.fill(65, 2);
      return r;
    } // no NULs, huge name
    const r = new Uint8Array(b.length + 40);
    r.set(b);
    r.fill(0, b.length);
    return r;
  };
}
