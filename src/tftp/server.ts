// The TFTP socket edge: a listening socket for requests and one socket per transfer (its own
// TID), windowed sending with retransmission, block-number rollover and a transfer limit.
// Read-only: WRQ is refused. Bad packets are dropped and logged at most once per interval.
import dgram from 'node:dgram';
import { WulfError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { decodePacket, encodeError, encodeOack, ErrorCode, negotiate, Op } from './packet.ts';
import type { TftpFile, TftpProvider } from './providers.ts';

export interface TftpEvent { client: string; file: string; kind: 'start' | 'done' | 'error' | 'abort'; bytes?: number; ms?: number; error?: string }
export interface TftpServerOptions {
  port?: number; address?: string; provider: TftpProvider; log: Logger;
  maxTransfers?: number; retries?: number; onEvent?: (e: TftpEvent) => void;
}
export interface TftpServer { start(): Promise<void>; stop(): Promise<void>; stats(): { active: number; served: number; errors: number; port: number } }

export function createTftpServer(opts: TftpServerOptions): TftpServer {
  const maxTransfers = opts.maxTransfers ?? 256;
  const retries = opts.retries ?? 5;
  const active = new Map<string, () => void>();
  let served = 0, errors = 0;
  let sock: dgram.Socket | undefined;
  const emit = (e: TftpEvent) => { try { opts.onEvent?.(e); } catch { /* never let a listener stop the server */ } };

  function transfer(client: { address: string; port: number }, filename: string, options: Record<string, string>): void {
    const key = `${client.address}:${client.port}`;
    if (active.has(key)) return; // a retransmitted RRQ for a running transfer
    active.set(key, () => {}); // reserve the slot while the socket opens
    const refuse = (sock: { send(d: Uint8Array): boolean; close(): void }, code: number, msg: string) => {
      active.delete(key);
      sock.send(encodeError(code, msg));
      setTimeout(() => sock.close(), 100); // closing at once can drop the datagram still being sent
    };
    let onData: (data: Buffer) => void = () => {};
    Bun.udpSocket({
      hostname: opts.address ?? '0.0.0.0', port: 0,
      connect: { hostname: client.address, port: client.port },
      socket: { data: (_s, data) => onData(data), error: () => {} },
    }).then((sock) => {
      if (active.size > maxTransfers) { errors++; emit({ client: key, file: filename, kind: 'error', error: 'busy' }); return refuse(sock, ErrorCode.NotDefined, 'server busy, try again'); }
      const r = opts.provider(filename);
      if ('error' in r) {
        errors++;
        opts.log.limited(`tftp-${key}-${r.error.code}`, 'warn', 'tftp', `refused ${filename}: ${r.error.message}`, { client: key });
        emit({ client: key, file: filename, kind: 'error', error: r.error.message });
        return refuse(sock, r.error.code, r.error.message);
      }
      onData = run(sock, key, filename, r.file, options);
    }, (e: Error) => {
      active.delete(key);
      opts.log.limited('tftp-socket', 'error', 'tftp', `cannot open a transfer socket: ${e.message}`);
    });
  }

  function run(sock: { send(d: Uint8Array): boolean; sendMany(p: readonly Uint8Array[]): number; close(): void }, key: string, filename: string, file: TftpFile, options: Record<string, string>): (data: Buffer) => void {
    const t0 = performance.now();
    const n = negotiate(options, file.size);
    const blocks = Math.floor(file.size / n.blksize) + 1; // the last block is short (maybe empty)
    let waitingOack = Object.keys(n.oack).length > 0; // until the client ACKs block 0
    let acked = 0;        // highest block acknowledged (absolute)
    let sent = 0;         // highest block sent (absolute)
    let tries = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let finished = false;
    const finish = (kind: TftpEvent['kind'], error?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      active.delete(key);
      file.close();
      try { sock.close(); } catch { /* already */ }
      if (kind === 'done') served++; else if (kind === 'error') errors++;
      emit({ client: key, file: filename, kind, bytes: Math.min(file.size, acked * n.blksize), ms: Math.round(performance.now() - t0), error });
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
      const off = (b - 1) * n.blksize;
      const len = Math.max(0, Math.min(n.blksize, file.size - off));
      const buf = Buffer.allocUnsafe(4 + len);
      buf[0] = 0; buf[1] = Op.DATA; buf[2] = (b >> 8) & 255; buf[3] = b & 255;
      file.readInto(buf, 4, off, len);
      return buf;
    };
    // Sliding window: send what the window allows beyond what is already in flight. A loss is
    // repaired by the timeout, which resends from the first unacknowledged block.
    const sendWindow = () => {
      const end = Math.min(blocks, acked + n.windowsize);
      if (end > sent) {
        if (end - sent === 1) sock.send(packet(end));
        else { const pk: Uint8Array[] = []; for (let b = sent + 1; b <= end; b++) pk.push(packet(b)); sock.sendMany(pk); }
        sent = end;
      }
      arm();
    };
    const sendOack = () => { sock.send(encodeOack(n.oack)); arm(); };
    const onTimeout = () => {
      if (++tries > retries) {
        opts.log.limited(`tftp-timeout-${key}`, 'warn', 'tftp', `gave up on ${filename} after ${retries} retries`, { client: key });
        return finish('abort', 'timeout');
      }
      if (waitingOack) sendOack(); else { sent = acked; sendWindow(); } // resend from the last acknowledged block
    };
    active.set(key, () => finish('abort', 'server stopping'));
    emit({ client: key, file: filename, kind: 'start' });
    if (waitingOack) sendOack(); else sendWindow();
    return (msg: Buffer) => {
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
      // map the 16-bit block number onto the blocks in flight (rollover after 65535)
      const ahead = (block - (acked & 0xffff) + 0x10000) & 0xffff;
      if (ahead === 0 || acked + ahead > sent) return; // duplicate or stale ACK: never resend on it
      acked += ahead;
      tries = 0;
      if (acked >= blocks) return finish('done');
      sendWindow();
    };
  }

  return {
    start() {
      return new Promise((resolve, reject) => {
        const addr = opts.address ?? '0.0.0.0';
        sock = dgram.createSocket({ type: addr.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
        sock.once('error', (e: NodeJS.ErrnoException) => {
          const port = opts.port ?? 69;
          reject(e.code === 'EADDRINUSE' ? new WulfError(`TFTP port ${port} on ${addr} is already in use`, { hint: 'another TFTP server (tftpd-hpa, dnsmasq) or wulf is running' })
            : e.code === 'EACCES' ? new WulfError(`TFTP port ${port} needs root`, { hint: 'run as root or use --tftp-port above 1024' })
            : e);
        });
        sock.on('message', (msg, rinfo) => {
          const d = decodePacket(msg);
          const who = `${rinfo.address}:${rinfo.port}`;
          if (!d.ok) { opts.log.limited(`tftp-bad-${rinfo.address}`, 'warn', 'tftp', `dropped bad packet: ${d.reason}`, { client: who }); return; }
          const p = d.packet;
          if (p.op === Op.WRQ) { sock!.send(encodeError(ErrorCode.AccessViolation, 'read-only server'), rinfo.port, rinfo.address); return; }
          if (p.op !== Op.RRQ) return;
          if (p.mode !== 'octet' && p.mode !== 'netascii') { sock!.send(encodeError(ErrorCode.IllegalOp, 'unsupported mode'), rinfo.port, rinfo.address); return; }
          transfer({ address: rinfo.address, port: rinfo.port }, p.filename, p.options);
        });
        sock.bind(opts.port ?? 69, addr, () => {
          sock!.removeAllListeners('error');
          sock!.on('error', (e) => opts.log.limited('tftp-sock', 'error', 'tftp', `socket error: ${e.message}`));
          resolve();
        });
      });
    },
    async stop() {
      for (const abort of [...active.values()]) abort();
      await new Promise<void>((res) => { if (!sock) return res(); try { sock.close(() => res()); } catch { res(); } });
      sock = undefined;
    },
    stats: () => ({ active: active.size, served, errors, port: sock ? sock.address().port : 0 }),
  };
}
