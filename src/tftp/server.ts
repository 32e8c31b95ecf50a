// The TFTP socket edge: a listening socket for requests and one connected socket per transfer (its
// own TID), windowed sending (RFC 7440) with retransmission, block-number rollover and a transfer
// limit. Read-only: WRQ is refused. Bad packets are dropped and logged at most once per interval.
import dgram from 'node:dgram';
import { WulfError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { decodePacket, encodeError, encodeOack, ErrorCode, negotiate, Op, toNetascii } from './packet.ts';
import { bufferFile, type TftpFile, type TftpProvider } from './providers.ts';

export interface TftpEvent { client: string; file: string; kind: 'start' | 'done' | 'error' | 'abort'; bytes?: number; ms?: number; error?: string }
export interface TftpServerOptions {
  port?: number; address?: string; provider: TftpProvider; log: Logger;
  maxTransfers?: number;  // concurrent transfers; beyond it a request gets error "server busy" (default 256)
  retries?: number;       // retransmissions of one window/OACK before giving up (default 5)
  timeoutMs?: number;     // retransmission timeout when the client asks for none (default 1000)
  maxWindow?: number;     // largest RFC 7440 windowsize granted (default 64)
  onEvent?: (e: TftpEvent) => void;
}
export interface TftpStats { active: number; served: number; errors: number; aborted: number; retransmits: number; port: number }
export interface TftpServer { start(): Promise<void>; stop(): Promise<void>; stats(): TftpStats }

type TidSocket = { send(d: Uint8Array): boolean; sendMany(p: readonly Uint8Array[]): number; close(): void };
const NETASCII_MAX = 16 << 20;

export function createTftpServer(opts: TftpServerOptions): TftpServer {
  const maxTransfers = opts.maxTransfers ?? 256;
  const retries = opts.retries ?? 5;
  const active = new Map<string, () => void>();
  const st = { served: 0, errors: 0, aborted: 0, retransmits: 0 };
  let sock: dgram.Socket | undefined;
  const emit = (e: TftpEvent) => { try { opts.onEvent?.(e); } catch { /* never let a listener stop the server */ } };
  const replyMain = (code: number, msg: string, port: number, address: string) => { try { sock?.send(encodeError(code, msg), port, address); } catch { /* closing */ } };

  function transfer(client: { address: string; port: number }, filename: string, mode: string, options: Record<string, string>): void {
    const key = `${client.address}:${client.port}`;
    if (active.has(key)) return; // a retransmitted RRQ for a running transfer
    if (active.size >= maxTransfers) { // refuse from the well-known port: no socket is spent on a flood
      st.errors++;
      opts.log.limited('tftp-busy', 'warn', 'tftp', `${maxTransfers} transfers running, refusing more`, { client: key });
      emit({ client: key, file: filename, kind: 'error', error: 'busy' });
      return replyMain(ErrorCode.NotDefined, 'server busy, try again', client.port, client.address);
    }
    active.set(key, () => {}); // reserve the slot while the socket opens
    let handlers: { data(d: Buffer): void; drain(): void } = { data() {}, drain() {} };
    Bun.udpSocket({
      hostname: opts.address ?? (client.address.includes(':') ? '::' : '0.0.0.0'), port: 0,
      connect: { hostname: client.address, port: client.port },
      socket: { data: (_s, d) => handlers.data(d), drain: () => handlers.drain(), error: () => {} },
    }).then((tid) => {
      if (!active.has(key)) { tid.close(); return; } // the server stopped meanwhile
      let r;
      try { r = opts.provider(filename, key); } catch (e) { r = { error: { code: ErrorCode.NotDefined, message: `cannot read: ${(e as Error).message}` } }; }
      if ('file' in r && mode === 'netascii') r = netascii(r.file);
      if ('error' in r) {
        st.errors++;
        active.delete(key);
        opts.log.limited(`tftp-${key}-${r.error.code}`, 'warn', 'tftp', `refused ${filename}: ${r.error.message}`, { client: key });
        emit({ client: key, file: filename, kind: 'error', error: r.error.message });
        tid.send(encodeError(r.error.code, r.error.message));
        tid.close();
        return;
      }
      handlers = run(tid, key, filename, r.file, options);
    }, (e: Error) => {
      active.delete(key);
      opts.log.limited('tftp-socket', 'error', 'tftp', `cannot open a transfer socket: ${e.message}`);
    });
  }

  /** netascii is served converted from memory (small text files only). */
  function netascii(f: TftpFile): { file: TftpFile } | { error: { code: number; message: string } } {
    if (f.size > NETASCII_MAX) { f.close(); return { error: { code: ErrorCode.NotDefined, message: 'file too large for netascii, use octet mode' } }; }
    const raw = new Uint8Array(f.size);
    try { f.readInto(raw, 0, 0, f.size); } finally { f.close(); }
    return { file: bufferFile(toNetascii(raw)) };
  }

  function run(tid: TidSocket, key: string, filename: string, file: TftpFile, options: Record<string, string>) {
    const t0 = performance.now();
    const n = negotiate(options, file.size, { timeoutMs: opts.timeoutMs, maxWindow: opts.maxWindow });
    const bs = n.blksize, win = n.windowsize;
    const blocks = Math.floor(file.size / bs) + 1; // the last block is short (maybe empty)
    // One slot per block in flight (block b lives in slot b % win): packets are built in place,
    // never allocated per block. Bun copies a datagram into the kernel on send.
    const ring = Buffer.allocUnsafe((4 + bs) * Math.min(win, blocks));
    const slots = Math.min(win, blocks);
    const views = Array.from({ length: slots }, (_, i) => ring.subarray(i * (4 + bs), (i + 1) * (4 + bs))); // full-size packets
    let waitingOack = Object.keys(n.oack).length > 0; // until the client ACKs block 0
    let acked = 0;        // highest block acknowledged (absolute, no 16-bit wrap)
    let sent = 0;         // highest block sent (absolute)
    let rewindFloor = 0;  // no second "resend from here" until the client has passed this block
    let tries = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let finished = false;
    const finish = (kind: TftpEvent['kind'], error?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      active.delete(key);
      file.close();
      try { tid.close(); } catch { /* already */ }
      if (kind === 'done') st.served++; else if (kind === 'error') st.errors++; else st.aborted++;
      emit({ client: key, file: filename, kind, bytes: Math.min(file.size, acked * bs), ms: Math.round(performance.now() - t0), error });
    };
    // One lazy timer per transfer: progress only moves the deadline (no timer churn per block).
    let deadline = 0;
    const tick = () => {
      const left = deadline - performance.now();
      if (left > 1) { timer = setTimeout(tick, left); return; }
      timer = undefined;
      onTimeout();
    };
    const arm = () => {
      deadline = performance.now() + n.timeoutMs;
      if (!timer) timer = setTimeout(tick, n.timeoutMs);
    };
    const packet = (b: number): Uint8Array => {
      const off = (b - 1) * bs;
      const len = Math.max(0, Math.min(bs, file.size - off));
      const slot = b % slots, at = slot * (4 + bs);
      ring[at] = 0; ring[at + 1] = Op.DATA; ring[at + 2] = (b >> 8) & 255; ring[at + 3] = b & 255;
      file.readInto(ring, at + 4, off, len);
      return len === bs ? views[slot]! : ring.subarray(at, at + 4 + len);
    };
    // Send what the window allows beyond what is in flight. With a full socket buffer Bun drops
    // the rest and calls drain(); `sent` only counts what went out.
    const sendWindow = () => {
      const end = Math.min(blocks, acked + win);
      if (end > sent) {
        if (end - sent === 1) { if (tid.send(packet(end))) sent = end; }
        else { const pk: Uint8Array[] = []; for (let b = sent + 1; b <= end; b++) pk.push(packet(b)); sent += Math.max(0, tid.sendMany(pk)); }
      }
      arm();
    };
    const sendOack = () => { tid.send(encodeOack(n.oack)); arm(); };
    const onTimeout = () => {
      if (++tries > retries) {
        opts.log.limited(`tftp-timeout-${key}`, 'warn', 'tftp', `gave up on ${filename} after ${retries} retries`, { client: key });
        return finish('abort', 'timeout');
      }
      st.retransmits++;
      if (waitingOack) sendOack(); else { sent = acked; sendWindow(); } // resend from the last acknowledged block
    };
    const onData = (msg: Buffer) => {
      if (finished) return;
      let block: number;
      if (msg.length === 4 && msg[0] === 0 && msg[1] === Op.ACK) block = (msg[2]! << 8) | msg[3]!; // the hot path
      else {
        const d = decodePacket(msg);
        if (!d.ok) { opts.log.limited(`tftp-bad-${key}`, 'debug', 'tftp', `bad packet: ${d.reason}`, { client: key }); return; }
        if (d.packet.op === Op.ERROR) return finish('abort', d.packet.message || `client error ${d.packet.code}`); // e.g. the UEFI tsize probe
        return;
      }
      if (waitingOack) {
        if (block !== 0) return;
        waitingOack = false; tries = 0;
        return sendWindow();
      }
      // map the 16-bit block number onto the blocks in flight (rollover after 65535 wraps to 0)
      const ahead = (block - (acked & 0xffff) + 0x10000) & 0xffff;
      if (ahead === 0 || acked + ahead > sent) return; // duplicate or stale ACK: never resend on it (Sorcerer's Apprentice)
      acked += ahead;
      tries = 0;
      if (acked >= blocks) return finish('done');
      // RFC 7440: an ACK short of the window's end says the blocks after it were lost: resend
      // from there, once per window so a client that ACKs more often cannot multiply the traffic.
      if (acked < sent && acked >= rewindFloor) { st.retransmits++; rewindFloor = sent; sent = acked; }
      sendWindow();
    };
    active.set(key, () => finish('abort', 'server stopping'));
    emit({ client: key, file: filename, kind: 'start' });
    if (waitingOack) sendOack(); else sendWindow();
    return { data: onData, drain: () => { if (!finished && !waitingOack) sendWindow(); } };
  }

  return {
    start() {
      return new Promise((resolve, reject) => {
        const addr = opts.address ?? '0.0.0.0';
        const port = opts.port ?? 69;
        const s = dgram.createSocket({ type: addr.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
        s.once('error', (e: NodeJS.ErrnoException) => {
          try { s.close(); } catch { /* not bound */ }
          reject(e.code === 'EADDRINUSE' ? new WulfError(`TFTP port ${port} on ${addr} is already in use`, { hint: 'another TFTP server (tftpd-hpa, dnsmasq) or wulf is running', code: 'EADDRINUSE' })
            : e.code === 'EACCES' ? new WulfError(`TFTP port ${port} on ${addr} needs root`, { hint: 'run as root or pick a TFTP port above 1023', code: 'EACCES' })
            : e.code === 'EADDRNOTAVAIL' ? new WulfError(`TFTP address ${addr} is not on this machine`, { hint: 'check the server ipaddr in the wulf configuration', code: 'EADDRNOTAVAIL' })
            : e);
        });
        s.on('message', (msg, rinfo) => {
          const d = decodePacket(msg);
          const who = `${rinfo.address}:${rinfo.port}`;
          if (!d.ok) { opts.log.limited(`tftp-bad-${rinfo.address}`, 'warn', 'tftp', `dropped bad packet: ${d.reason}`, { client: who }); return; }
          const p = d.packet;
          if (p.op === Op.WRQ) return replyMain(ErrorCode.AccessViolation, 'read-only server', rinfo.port, rinfo.address);
          if (p.op !== Op.RRQ) return; // stray ACK/DATA/ERROR on the well-known port
          if (p.mode !== 'octet' && p.mode !== 'netascii') return replyMain(ErrorCode.IllegalOp, 'unsupported mode', rinfo.port, rinfo.address);
          transfer({ address: rinfo.address, port: rinfo.port }, p.filename, p.mode, p.options);
        });
        s.bind(port, addr, () => {
          s.removeAllListeners('error');
          s.on('error', (e) => opts.log.limited('tftp-sock', 'error', 'tftp', `socket error: ${e.message}`));
          sock = s;
          resolve();
        });
      });
    },
    async stop() {
      const s = sock;
      sock = undefined;
      for (const abort of [...active.values()]) abort();
      active.clear();
      await new Promise<void>((res) => { if (!s) return res(); try { s.close(() => res()); } catch { res(); } });
    },
    stats: () => ({ active: active.size, ...st, port: sock ? sock.address().port : 0 }),
  };
}
