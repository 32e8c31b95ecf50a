// The DHCP socket edge: receive on udp/67 (and optionally the PXE boot server port 4011), hand each
// datagram to handler.ts (decode, policy.decide, leases), send the reply. Bad packets are dropped,
// never fatal.
// With `interfaces`, one socket per interface (SO_BINDTODEVICE) receives and answers there only.
import type dgram from 'node:dgram';
import { WulfError } from '../lib/errors.ts';
import { bindUdp } from '../lib/udp.ts';
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
  /**
   * Asked before a dynamic address (not a reservation) is offered or acknowledged; false: another
   * address is tried (a REQUEST is refused). Default: every address may be handed out.
   */
  claimLease?: (ip: string, mac: string, expires: number) => Promise<boolean>;
  log: Logger;
  onEvent?: (e: DhcpEvent) => void;
}

export interface DhcpServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): DhcpServerStats;
}

const DHCP_PORT = {
  service: 'dhcp',
  label: 'dhcp: udp port',
  inUseHint: 'another DHCP server (dnsmasq, dhcpd, a second wulf) is running; stop it or set dhcp mode off',
  ifaceHint: 'check dhcp.interface in wulf.conf or --interface',
};

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
    getContext: opts.getContext,
    onLeaseChange: opts.onLeaseChange,
    claimLease: opts.claimLease,
    onEvent: opts.onEvent,
    log,
    stats: st,
    clientPort,
    relayPort,
    broadcastTo(ctx) {
      if (opts.broadcastAddress) return opts.broadcastAddress;
      if (sendSock || opts.interfaces) return '255.255.255.255'; // a device-bound socket broadcasts on its device
      const m = ipNum(ctx.netmask) >>> 0;
      return numIp(((ipNum(ctx.serverIp) & m) | ~m) >>> 0);
    },
  };

  /** Replies to the source leave through the receiving socket, all others through sendSock when bound. */
  const sender =
    (sock: dgram.Socket): DhcpSend =>
    (bytes, toPort, to, viaReceiving) => {
      (viaReceiving ? sock : (sendSock ?? sock)).send(bytes, toPort, to, (err) => {
        if (err) {
          st.sendErrors++;
          // keyed by the error, not the address: forged relay addresses must not make one line each
          log.limited(`dhcp-send:${(err as NodeJS.ErrnoException).code ?? err.message}`, 'warn', 'dhcp', 'send failed', {
            to: `${to}:${toPort}`,
            error: err.message,
          });
        }
      });
    };

  async function open(
    p: number,
    bootServer: boolean,
    bindAddr = address,
    reuse = opts.reuseAddr ?? false,
    iface?: string,
  ): Promise<dgram.Socket> {
    const sock = await bindUdp({ ...DHCP_PORT, port: p, address: bindAddr, reuseAddr: reuse, iface });
    try {
      sock.setBroadcast(true);
    } catch {
      /* not fatal: broadcast replies will fail and be logged */
    }
    sock.on('error', (e) => log.limited('dhcp-sock', 'warn', 'dhcp', 'socket error', { error: e.message }));
    const send = sender(sock);
    sock.on('message', (msg, rinfo) => {
      try {
        handleDhcpPacket(msg, rinfo, bootServer, send, env)?.catch((e: Error) =>
          log.limited('dhcp-bug', 'error', 'dhcp', 'packet handler failed', { from: rinfo.address, error: e.message }),
        );
      } catch (e) {
        log.limited('dhcp-bug', 'error', 'dhcp', 'packet handler failed', { from: rinfo.address, error: (e as Error).message });
      }
    });
    sockets.push(sock);
    return sock;
  }

  /** Fail clearly when another process holds the port (our own sockets share it via SO_REUSEADDR). */
  async function probe(p: number): Promise<void> {
    const s = await bindUdp({ ...DHCP_PORT, port: p, address });
    await new Promise<void>((resolve) => s.close(() => resolve()));
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
        } catch (e) {
          await this.stop();
          throw e;
        }
        log.info(
          'dhcp',
          `listening on ${opts.interfaces.join(', ')} only, port ${port}${opts.bootServerPort ? ` and ${opts.bootServerPort}` : ''}`,
        );
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
        try {
          await open(opts.bootServerPort, true);
        } catch (e) {
          await this.stop();
          throw e;
        }
      }
      log.info('dhcp', `listening on ${address}:${port}${opts.bootServerPort ? ` and :${opts.bootServerPort}` : ''}`);
    },
    async stop() {
      const all = sockets.splice(0);
      sendSock = undefined;
      await Promise.all(
        all.map(
          (s) =>
            new Promise<void>((r) => {
              try {
                s.close(() => r());
              } catch {
                r();
              }
            }),
        ),
      );
    },
    stats: () => ({ ...st }),
  };
}
