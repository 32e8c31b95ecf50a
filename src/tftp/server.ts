// The TFTP socket edge: a listening socket for requests and one connected socket per transfer (its
// own TID), windowed sending (RFC 7440) with retransmission, block-number rollover and a transfer
// limit. Read-only: WRQ is refused. Bad packets are dropped and logged at most once per interval.
// A transfer is served by an idle worker thread when there is one (offload.ts, worker.ts: a blocking
// loop, as fast as tftpd-hpa in lock-step), otherwise on the event loop (eventloop.ts); both drive
// transfer.ts.
import type dgram from 'node:dgram';
import { bindUdp } from '../lib/udp.ts';
import type { Logger } from '../lib/log.ts';
import { decodePacket, encodeError, encodeOack, ErrorCode, negotiate, Op, toNetascii } from './packet.ts';
import { loopTransfer, type TidSocket } from './eventloop.ts';
import { createOffloadPool, type OffloadPool } from './offload.ts';
import { bufferFile, type Resolved, type TftpFile, type TftpProvider } from './providers.ts';

export interface TftpEvent {
  client: string;
  file: string;
  kind: 'start' | 'done' | 'error' | 'abort';
  bytes?: number;
  ms?: number;
  error?: string;
}
export interface TftpServerOptions {
  port?: number;
  address?: string;
  provider: TftpProvider;
  log: Logger;
  maxTransfers?: number; // concurrent transfers; beyond it a request gets error "server busy" (default 256)
  retries?: number; // retransmissions of one window/OACK before giving up (default 5)
  timeoutMs?: number; // retransmission timeout when the client asks for none (default 1000)
  maxWindow?: number; // largest RFC 7440 windowsize granted (default 64)
  threads?: number; // worker threads that serve one transfer each in a blocking loop (default 2; 0: none)
  onEvent?: (e: TftpEvent) => void;
}
export interface TftpStats {
  active: number;
  served: number;
  errors: number;
  aborted: number;
  retransmits: number;
  threaded: number;
  port: number;
}
export interface TftpServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): TftpStats;
}

const NETASCII_MAX = 16 << 20;

export function createTftpServer(opts: TftpServerOptions): TftpServer {
  return new Server(opts);
}

/** The listening socket, the running transfers (by client address:port, each with its abort) and the counters. */
class Server implements TftpServer {
  private readonly maxTransfers: number;
  private readonly retries: number;
  private readonly active = new Map<string, () => void>();
  private readonly st = { served: 0, errors: 0, aborted: 0, retransmits: 0, threaded: 0 }; // threaded: transfers a worker thread served
  private sock: dgram.Socket | undefined;
  private pool: OffloadPool | undefined;

  constructor(private readonly opts: TftpServerOptions) {
    this.maxTransfers = opts.maxTransfers ?? 256;
    this.retries = opts.retries ?? 5;
  }

  private emit(e: TftpEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      /* never let a listener stop the server */
    }
  }

  private replyMain(code: number, msg: string, port: number, address: string): void {
    try {
      this.sock?.send(encodeError(code, msg), port, address);
    } catch {
      /* closing */
    }
  }

  private count(kind: TftpEvent['kind']): void {
    if (kind === 'done') this.st.served++;
    else if (kind === 'error') this.st.errors++;
    else this.st.aborted++;
  }

  private transfer(client: { address: string; port: number }, filename: string, mode: string, options: Record<string, string>): void {
    const { opts, active, maxTransfers } = this;
    const key = `${client.address}:${client.port}`;
    if (active.has(key)) return; // a retransmitted RRQ for a running transfer
    if (active.size >= maxTransfers) {
      // refuse from the well-known port: no socket is spent on a flood
      this.st.errors++;
      opts.log.limited('tftp-busy', 'warn', 'tftp', `${maxTransfers} transfers running, refusing more`, { client: key });
      this.emit({ client: key, file: filename, kind: 'error', error: 'busy' });
      return this.replyMain(ErrorCode.NotDefined, 'server busy, try again', client.port, client.address);
    }
    let r: Resolved;
    try {
      r = opts.provider(filename, key);
    } catch (e) {
      r = { error: { code: ErrorCode.NotDefined, message: `cannot read: ${(e as Error).message}` } };
    }
    if ('file' in r && mode === 'netascii') r = netascii(r.file);
    if ('file' in r && this.offload(client, key, filename, r.file, options)) return;
    this.viaEventLoop(client, key, filename, r, options);
  }

  /** Hand the transfer to an idle worker thread (IPv4 only); false when none is idle. */
  private offload(
    client: { address: string; port: number },
    key: string,
    filename: string,
    file: TftpFile,
    options: Record<string, string>,
  ): boolean {
    const { opts, pool, retries, active, st } = this;
    if (!pool || !file.source || client.address.includes(':')) return false;
    const t0 = performance.now();
    const n = negotiate(options, file.size, { timeoutMs: opts.timeoutMs, maxWindow: opts.maxWindow });
    const abort = pool.tryRun(
      {
        local: opts.address ?? '0.0.0.0',
        peer: client.address,
        peerPort: client.port,
        source: file.source,
        size: file.size,
        blksize: n.blksize,
        windowsize: n.windowsize,
        timeoutMs: n.timeoutMs,
        retries,
        oack: Object.keys(n.oack).length ? encodeOack(n.oack) : null,
      },
      (res) => {
        if (res.result === 'failed') {
          // no socket on the thread: the event loop takes over
          opts.log.limited(
            'tftp-offload',
            'warn',
            'tftp',
            `transfer thread cannot open a socket (${res.error}); serving on the main thread`,
          );
          active.delete(key);
          return this.viaEventLoop(client, key, filename, { file }, options);
        }
        active.delete(key);
        file.close();
        st.retransmits += res.retransmits;
        if (res.ignored) opts.log.limited(`tftp-bad-${key}`, 'debug', 'tftp', `ignored ${res.ignored} stray packets`, { client: key });
        if (res.error === 'timeout')
          opts.log.limited(`tftp-timeout-${key}`, 'warn', 'tftp', `gave up on ${filename} after ${retries} retries`, { client: key });
        this.count(res.result);
        const ms = Math.round(performance.now() - t0);
        this.emit({ client: key, file: filename, kind: res.result, bytes: res.bytes, ms, error: res.error });
      },
    );
    if (!abort) return false;
    st.threaded++;
    active.set(key, abort);
    this.emit({ client: key, file: filename, kind: 'start' });
    return true;
  }

  private viaEventLoop(
    client: { address: string; port: number },
    key: string,
    filename: string,
    r: Resolved,
    options: Record<string, string>,
  ): void {
    const { opts, active } = this;
    active.set(key, () => {}); // reserve the slot while the socket opens
    let handlers: { data(d: Buffer): void; drain(): void } = { data() {}, drain() {} };
    Bun.udpSocket({
      hostname: opts.address ?? (client.address.includes(':') ? '::' : '0.0.0.0'),
      port: 0,
      connect: { hostname: client.address, port: client.port },
      socket: { data: (_s, d) => handlers.data(d), drain: () => handlers.drain(), error: () => {} },
    }).then(
      (tid) => {
        if (!active.has(key)) {
          tid.close();
          if ('file' in r) r.file.close();
          return;
        } // the server stopped meanwhile
        if ('error' in r) {
          this.st.errors++;
          active.delete(key);
          opts.log.limited(`tftp-refused-${client.address}-${r.error.code}`, 'warn', 'tftp', `refused ${filename}: ${r.error.message}`, {
            client: key,
          }); // per address: not a line per source port
          this.emit({ client: key, file: filename, kind: 'error', error: r.error.message });
          tid.send(encodeError(r.error.code, r.error.message));
          tid.close();
          return;
        }
        handlers = this.run(tid, key, filename, r.file, options);
      },
      (e: Error) => {
        active.delete(key);
        if ('file' in r) r.file.close();
        opts.log.limited('tftp-socket', 'error', 'tftp', `cannot open a transfer socket: ${e.message}`);
      },
    );
  }

  private run(tid: TidSocket, key: string, filename: string, file: TftpFile, options: Record<string, string>) {
    const { opts, retries, active } = this;
    const t0 = performance.now();
    const n = negotiate(options, file.size, { timeoutMs: opts.timeoutMs, maxWindow: opts.maxWindow });
    const lt = loopTransfer(
      tid,
      file,
      n,
      retries,
      (res) => {
        active.delete(key);
        this.st.retransmits += res.retransmits;
        if (res.error === 'timeout')
          opts.log.limited(`tftp-timeout-${key}`, 'warn', 'tftp', `gave up on ${filename} after ${retries} retries`, { client: key });
        this.count(res.result);
        const ms = Math.round(performance.now() - t0);
        this.emit({ client: key, file: filename, kind: res.result, bytes: res.bytes, ms, error: res.error });
      },
      (reason) => opts.log.limited(`tftp-bad-${key}`, 'debug', 'tftp', `bad packet: ${reason}`, { client: key }),
    );
    active.set(key, lt.abort);
    this.emit({ client: key, file: filename, kind: 'start' });
    lt.start();
    return lt;
  }

  async start(): Promise<void> {
    const { opts } = this;
    const s = await bindUdp({
      service: 'tftp',
      label: 'TFTP port',
      port: opts.port ?? 69,
      address: opts.address ?? '0.0.0.0',
      inUseHint: 'another TFTP server (tftpd-hpa, dnsmasq) or wulf is running',
    });
    s.on('error', (e) => opts.log.limited('tftp-sock', 'error', 'tftp', `socket error: ${e.message}`));
    s.on('message', (msg, rinfo) => {
      const d = decodePacket(msg);
      const who = `${rinfo.address}:${rinfo.port}`;
      if (!d.ok) {
        opts.log.limited(`tftp-bad-${rinfo.address}`, 'warn', 'tftp', `dropped bad packet: ${d.reason}`, { client: who });
        return;
      }
      const p = d.packet;
      if (p.op === Op.WRQ) return this.replyMain(ErrorCode.AccessViolation, 'read-only server', rinfo.port, rinfo.address);
      if (p.op !== Op.RRQ) return; // stray ACK/DATA/ERROR on the well-known port
      if (p.mode !== 'octet' && p.mode !== 'netascii')
        return this.replyMain(ErrorCode.IllegalOp, 'unsupported mode', rinfo.port, rinfo.address);
      this.transfer({ address: rinfo.address, port: rinfo.port }, p.filename, p.mode, p.options);
    });
    this.sock = s;
    const threads = opts.threads ?? 2;
    if (threads > 0) this.pool = createOffloadPool(threads, (m) => opts.log.limited('tftp-thread', 'warn', 'tftp', m));
  }

  async stop(): Promise<void> {
    const s = this.sock;
    this.sock = undefined;
    for (const abort of [...this.active.values()]) abort();
    await this.pool?.stop();
    this.pool = undefined;
    this.active.clear();
    await new Promise<void>((res) => {
      if (!s) return res();
      try {
        s.close(() => res());
      } catch {
        res();
      }
    });
  }

  stats(): TftpStats {
    return { active: this.active.size, ...this.st, port: this.sock ? this.sock.address().port : 0 };
  }
}

/** netascii is served converted from memory (small text files only). */
function netascii(f: TftpFile): Resolved {
  if (f.size > NETASCII_MAX) {
    f.close();
    return { error: { code: ErrorCode.NotDefined, message: 'file too large for netascii, use octet mode' } };
  }
  const raw = new Uint8Array(f.size);
  try {
    f.readInto(raw, 0, 0, f.size);
  } finally {
    f.close();
  }
  return { file: bufferFile(toNetascii(raw)) };
}
