// The DHCP socket edge: receive on udp/67 (and optionally the PXE boot server port 4011), hand each
// datagram to handler.ts (decode, policy.decide, leases), send the reply. Bad packets are dropped,
// never fatal.
// With `interfaces`, one socket per interface (SO_BINDTODEVICE) receives and answers there only.
import dgram from 'node:dgram';
import { WulfError } from '../lib/errors.ts';
import { closeFd, deviceUdpSocket } from '../lib/udp-device.ts';
import type { Logger } from '../lib/log.ts';
import { emptyDhcpStats, handleDhcpPacket, type DhcpEvent, type DhcpHandlerEnv, type DhcpSend, type DhcpServerStats } from './handler.ts';
import type { LeaseChange, LeaseTable } from './leases.ts';
import { ipNum, numIp, type PolicyContext } from './policy.ts';

export type { DhcpEvent, DhcpEventKind, DhcpServerStats } from './handler.ts';

export interface DhcpServerOptions {
  /** Server port; default 67 (tests use high ports). */
  port?: number;
  /** Bind address; default 0.0.0.0 (needed to receive 255.255.255.255 broadcasts). */
  address?: string;
  /**
   * Receive and answer on these interfaces only (a socket each, bound to the device): a request that
   * came in through any other interface is never seen, and a reply leaves through the interface its
   * request came in on. Default: every interface.
   */
  interfaces?: string[];
  /** Also answer PXE boot server REQUESTs on this port (4011); off when undefined or 0. */
  bootServerPort?: number;
  /** Port replies go to on clients (68) and relays (67); tests may change them. */
  clientPort?: number;
  relayPort?: number;
  /**
   * Where "broadcast" replies go. Default 255.255.255.255, sent from a second socket bound to serverIp:port
   * (Linux then picks serverIp's interface with no route; UEFI PXE only accepts 255.255.255.255). When that
   * socket cannot be bound, the subnet broadcast of serverIp/netmask is used instead.
   */
  broadcastAddress?: string;
  /** SO_REUSEADDR for other processes to share the port; default false: a taken port is an error. */
  reuseAddr?: boolean;
  /** Called per packet, so configuration reloads apply. Its `leases` table is updated in place. */
  getContext: () => PolicyContext;
  /** After lease changes were applied to the context's table (persist here). */
  onLeaseChange?: (changes: LeaseChange[], table: LeaseTable) => void;
  log: Logger;
  onEvent?: (e: DhcpEvent) => void;
}

export interface DhcpServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): DhcpServerStats;
}

function deviceError(e: NodeJS.ErrnoException, port: number, iface: string): WulfError {
  if (e.code === 'ENODEV') return new WulfError(`dhcp: no network interface ${iface}`, { code: 'ENODEV', hint: 'check dhcp.interface in wulf.conf or --interface' });
  if ((e.code === 'EPERM' || e.code === 'EACCES') && e.syscall?.startsWith('SO_BINDTODEVICE')) {
    return new WulfError(`dhcp: not permitted to listen on interface ${iface} only`, { code: e.code, hint: 'run as root (Linux before 5.7 needs CAP_NET_RAW for this)' });
  }
  return bindError(e, port, `0.0.0.0 (${iface})`);
}

function bindError(e: NodeJS.ErrnoException, port: number, address: string): WulfError {
  if (e.code === 'EADDRINUSE') {
    return new WulfError(`dhcp: udp port ${port} on ${address} is already in use`, {
      code: 'EADDRINUSE', hint: 'another DHCP server (dnsmasq, dhcpd, a second wulf) is running; stop it or set dhcp mode off',
    });
  }
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    return new WulfError(`dhcp: not permitted to bind udp port ${port} on ${address}`, {
      code: e.code, hint: 'run as root or grant CAP_NET_BIND_SERVICE',
    });
  }
  return new WulfError(`dhcp: cannot bind udp ${address}:${port}: ${e.message}`, { code: e.code });
}

export function createDhcpServer(opts: DhcpServerOptions): DhcpServer {
  const port = opts.port ?? 67;
  const address = opts.address ?? '0.0.0.0';
  const clientPort = opts.clientPort ?? 68;
  const relayPort = opts.relayPort ?? 67;
  const log = opts.log;
  const st: DhcpServerStats = emptyDhcpStats();
  const sockets: dgram.Socket[] = [];
  /** Bound to serverIp:port: sends replies out of serverIp's interface (see broadcastAddress). */
  let sendSock: dgram.Socket | undefined;

  const env: DhcpHandlerEnv = {
    getContext: opts.getContext, onLeaseChange: opts.onLeaseChange, onEvent: opts.onEvent, log, stats: st, clientPort, relayPort,
    broadcastTo(ctx) {
      if (opts.broadcastAddress) return opts.broadcastAddress;
      if (sendSock || opts.interfaces) return '255.255.255.255'; // a device-bound socket broadcasts on its device
      const m = ipNum(ctx.netmask) >>> 0;
      return numIp(((ipNum(ctx.serverIp) & m) | ~m) >>> 0);
    },
  };

  /** Replies to the source leave through the receiving socket, all others through sendSock when bound. */
  const sender = (sock: dgram.Socket): DhcpSend => (bytes, toPort, to, viaReceiving) => {
    (viaReceiving ? sock : sendSock ?? sock).send(bytes, toPort, to, (err) => {
      if (err) {
        st.sendErrors++;
        // keyed by the error, not the address: forged relay addresses must not make one line each
        log.limited(`dhcp-send:${(err as NodeJS.ErrnoException).code ?? err.message}`, 'warn', 'dhcp', 'send failed', { to: `${to}:${toPort}`, error: err.message });
      }
    });
  };

  async function open(p: number, bootServer: boolean, bindAddr = address, reuse = opts.reuseAddr ?? false, iface?: string): Promise<dgram.Socket> {
    let fd: number | undefined;
    if (iface) {
      try { fd = deviceUdpSocket(iface, bindAddr, p); } catch (e) { throw deviceError(e as NodeJS.ErrnoException, p, iface); }
    }
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: reuse });
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error) => { try { sock.close(); } catch { if (fd !== undefined) closeFd(fd); } reject(bindError(e as NodeJS.ErrnoException, p, bindAddr)); };
      sock.once('error', onErr);
      const bound = () => {
        sock.off('error', onErr);
        try { sock.setBroadcast(true); } catch { /* not fatal: broadcast replies will fail and be logged */ }
        resolve();
      };
      if (fd !== undefined) sock.bind({ fd }, bound); else sock.bind(p, bindAddr, bound);
    });
    sock.on('error', (e) => log.limited('dhcp-sock', 'warn', 'dhcp', 'socket error', { error: e.message }));
    const send = sender(sock);
    sock.on('message', (msg, rinfo) => {
      try {
        handleDhcpPacket(msg, rinfo, bootServer, send, env);
      } catch (e) {
        log.limited('dhcp-bug', 'error', 'dhcp', 'packet handler failed', { from: rinfo.address, error: (e as Error).message });
      }
    });
    sockets.push(sock);
    return sock;
  }

  /** Fail clearly when another process holds the port (our own sockets share it via SO_REUSEADDR). */
  async function probe(p: number): Promise<void> {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      s.once('error', (e) => { try { s.close(); } catch { /* */ } reject(bindError(e as NodeJS.ErrnoException, p, address)); });
      s.bind(p, address, () => s.close(() => resolve()));
    });
  }

  return {
    async start() {
      if (opts.interfaces) {
        // one socket per interface and port; a reply goes out of the socket its request came in on
        if (!opts.interfaces.length) throw new WulfError('dhcp: no provisioning interface given');
        try {
          for (const i of opts.interfaces) {
            await open(port, false, address, false, i);
            if (opts.bootServerPort) await open(opts.bootServerPort, true, address, false, i);
          }
        } catch (e) { await this.stop(); throw e; }
        log.info('dhcp', `listening on ${opts.interfaces.join(', ')} only, port ${port}${opts.bootServerPort ? ` and ${opts.bootServerPort}` : ''}`);
        return;
      }
      const split = address === '0.0.0.0' && !opts.broadcastAddress;
      if (split && !opts.reuseAddr) await probe(port);
      await open(port, false, address, split || (opts.reuseAddr ?? false));
      if (split) {
        const ip = opts.getContext().serverIp;
        try {
          sendSock = await open(port, false, ip, true);
        } catch (e) {
          log.warn('dhcp', `cannot bind ${ip}:${port} for replies; broadcasting to the subnet instead`, { error: (e as Error).message });
        }
      }
      if (opts.bootServerPort) {
        try { await open(opts.bootServerPort, true); } catch (e) { await this.stop(); throw e; }
      }
      log.info('dhcp', `listening on ${address}:${port}${opts.bootServerPort ? ` and :${opts.bootServerPort}` : ''}`);
    },
    async stop() {
      const all = sockets.splice(0);
      sendSock = undefined;
      await Promise.all(all.map((s) => new Promise<void>((r) => { try { s.close(() => r()); } catch { r(); } })));
    },
    stats: () => ({ ...st }),
  };
}
