// The sockets of `wulf serve`: HTTP (and HTTPS), TFTP, DHCP and router advertisements, each started
// from the provisioning seam and returning how to stop it. A port that cannot be had is one line.
import { networkInterfaces } from 'node:os';
import { WulfError, errorLine } from '../lib/errors.ts';
import { ipxeBinary } from '../lib/assets.ts';
import { escapeControl, type Logger } from '../lib/log.ts';
import type { Paths } from '../config/paths.ts';
import type { WulfConf } from '../config/wulfconf.ts';
import { createDhcpServer } from '../dhcp/server.ts';
import { createTftpServer } from '../tftp/server.ts';
import { bufferProvider, chainProviders, rootProvider } from '../tftp/providers.ts';
import { createApp, type Bindings, type PeerSource, type Settings } from '../http/app.ts';
import type { StatusBoard } from '../runtime/board.ts';
import type { Provisioning } from './provisioning.ts';
import type { ServeOptions } from './options.ts';
import type { ConfigSource } from './config-source.ts';
import type { SiteBoot } from './bootfiles.ts';
import type { ServerRuntime } from './runtime-state.ts';
import { startRouterAdvertisements } from './ra.ts';
import type { LeaseHooks } from './cluster.ts';
import { ensureTls, serverNames, serverTls } from './tls.ts';

type Stop = () => Promise<void> | void;

export interface HttpListenOptions {
  address: string;
  port: number;
  /** HTTPS on this port as well (0: any) when given */
  tlsPort?: number;
  wulf: WulfConf;
  /** the service address nodes are told (on PostgreSQL the store's): the agent asks it over HTTPS too */
  serviceAddresses?: (string | undefined)[];
  paths: Paths;
  log: Logger;
  status: StatusBoard;
  provisioning: Provisioning;
  boot: SiteBoot;
  settings: (tlsPort?: number) => Settings;
}

/** The HTTP app on its port, and on the HTTPS port with the site's certificate (made or re-issued here when needed). */
export async function listenHttp(o: HttpListenOptions, stoppers: Stop[]): Promise<{ port: number; tlsPort?: number }> {
  let https: ReturnType<typeof Bun.serve> | undefined;
  const app = createApp({
    log: o.log,
    status: o.status,
    ...o.provisioning,
    ipxeBinary: o.boot.binary,
    settings: () => o.settings(https?.port),
  });
  // the app guards the path and asks the server for the peer itself (middleware.ts)
  const handler = (tls: boolean) => (req: Request, server: PeerSource) => app.fetch(req, { server, tls } satisfies Bindings);
  const error = (e: Error) => {
    o.log.limited('http-error', 'error', 'http', errorLine(e));
    return new Response('internal error\n', { status: 500 });
  };
  const serve = (port: number, tls: boolean, hint: string) => {
    try {
      const s = Bun.serve({
        port,
        hostname: o.address,
        idleTimeout: 120,
        fetch: handler(tls),
        error,
        ...(tls ? { tls: serverTls(o.paths.confDir) } : {}),
      });
      stoppers.push(() => s.stop(true));
      return s;
    } catch (e) {
      throw new WulfError(`${tls ? 'HTTPS' : 'HTTP'} port ${port} on ${o.address} is not available: ${errorLine(e)}`, { hint });
    }
  };
  const http = serve(o.port, false, 'another web server or wulf is using it; pick --http-port');
  if (o.tlsPort !== undefined) {
    // the CA and server certificate are made here when missing (installs older than TLS, a deleted
    // file) and the certificate re-issued when an address it must name is missing
    try {
      const made = await ensureTls(o.paths.confDir, serverNames(o.wulf, [o.address, ...(o.serviceAddresses ?? [])]));
      if (made) o.log.info('tls', made);
    } catch (e) {
      throw new WulfError(`cannot set up TLS in ${o.paths.confDir}/tls: ${errorLine(e)}`, {
        hint: 'fix the files or the permissions, or set warewulf.tls: false in wulf.conf',
      });
    }
    https = serve(o.tlsPort, true, 'pick --tls-port or warewulf.tls port, or set warewulf.tls: false');
  }
  return { port: http.port ?? o.port, tlsPort: https?.port };
}

export async function listenTftp(
  port: number,
  address: string,
  boot: SiteBoot,
  p: Provisioning,
  status: StatusBoard,
  log: Logger,
): Promise<Stop> {
  const tftp = createTftpServer({
    port,
    address: address === '0.0.0.0' ? undefined : address,
    log,
    provider: chainProviders(
      bufferProvider((name) => ipxeBinary(name)),
      ...boot.roots.map(rootProvider),
    ),
    onEvent: (e) => {
      const ip = e.client.split(':')[0]!;
      const node = p.nodeByIp(ip);
      if (node && (e.kind === 'done' || e.kind === 'start'))
        status.record(node, 'ipxe', escapeControl(e.file), ip, { bytes: e.kind === 'done' ? e.bytes : 0, done: e.kind === 'done' });
      if (e.kind === 'error') log.limited(`tftp-${ip}`, 'warn', 'tftp', `${e.file}: ${e.error}`, { ip }); // per address: the peer picks the names
    },
  });
  await tftp.start();
  return () => tftp.stop();
}

export interface DhcpListenOptions {
  port: number;
  relayPort?: number;
  interfaces: string[];
  proxy: boolean;
  log: Logger;
}

export async function listenDhcp(o: DhcpListenOptions, p: Provisioning, runtime: ServerRuntime, leases?: LeaseHooks): Promise<Stop> {
  const dhcp = createDhcpServer({
    port: o.port,
    log: o.log,
    ...(o.relayPort ? { relayPort: o.relayPort } : {}),
    ...(o.interfaces.length ? { interfaces: o.interfaces } : {}),
    getContext: () => p.dhcpContext(),
    onLeaseChange: (c, t) => {
      runtime.setLeases(t);
      leases?.changed(c);
    },
    ...(leases ? { claimLease: leases.claim } : {}),
    onEvent: (e) => {
      const seen = e.kind === 'discover' || e.kind === 'offer' || e.kind === 'ack';
      if (!e.node && seen && !p.isKnownMac(e.mac)) runtime.status.seenUnknown(e.mac, e.ip ?? '', 'dhcp');
      if (e.node && (e.kind === 'ack' || e.kind === 'offer'))
        runtime.status.record(e.node, 'dhcp', e.kind.toUpperCase() + (e.ipxe ? ' (iPXE)' : ''), e.ip ?? '', { done: e.kind === 'ack' });
    },
    ...(o.proxy ? { bootServerPort: 4011 } : {}),
  });
  await dhcp.start();
  return () => dhcp.stop();
}

/** Router advertisements (lifetime 0) on each provisioning interface but lo, so iPXE does not wait for IPv6. */
export function advertise(interfaces: string[], log: Logger, stoppers: Stop[]): void {
  for (const i of interfaces.filter((x) => x !== 'lo')) {
    const ra = startRouterAdvertisements(i, log);
    if (ra) stoppers.push(() => ra.stop());
  }
}

/** Named interfaces (a comma- or space-separated list, or a YAML list), else the one holding the server address. */
export function provisioningInterfaces(named: string | undefined, serverIp: string): string[] {
  const list = (named ?? '').split(/[\s,]+/).filter(Boolean);
  if (list.length) return list;
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if ((addrs ?? []).some((a) => a.family === 'IPv4' && a.address === serverIp)) return [name];
  }
  return [];
}

export interface ListenDeps {
  config: ConfigSource;
  address: string;
  serverIp: string;
  httpPort: number;
  runtime: ServerRuntime;
  provisioning: Provisioning;
  boot: SiteBoot;
  /** the PostgreSQL store's lease claims (several controllers); absent on the files */
  leases?: LeaseHooks;
}

/** Every listener wulf.conf and the options turn on, in order: HTTP(S), TFTP, DHCP, router advertisements; the one-line summary. */
export async function listenAll(
  o: ServeOptions,
  d: ListenDeps,
  stoppers: Stop[],
): Promise<{ httpPort: number; tlsPort?: number; summary: string }> {
  const { log, paths } = o;
  const { wulf, cluster } = d.config.current();
  const status = d.runtime.status;
  const authority = `${d.address === '0.0.0.0' ? '127.0.0.1' : d.address}:${d.httpPort}`;
  // --http-port moves the HTTPS port along (HTTP + 1) unless it is given too
  const tlsPort = o.tlsPort ?? (o.httpPort === undefined ? wulf.warewulf.tlsPort : o.httpPort === 0 ? 0 : o.httpPort + 1);
  const settings = (port?: number): Settings => {
    const w = d.config.current().cluster.warewulf; // secure: what the nodes' agent is told (the store's on PostgreSQL)
    const tls = wulf.warewulf.tls;
    return { authority, secure: w.secure, confDir: paths.confDir, secureAddress: w.secureAddress, tls, tlsPort: port ?? tlsPort };
  };
  const serviceAddresses = [cluster.ipaddr, cluster.ipaddr6];
  const httpOpts = {
    address: d.address,
    port: d.httpPort,
    wulf,
    serviceAddresses,
    paths,
    log,
    status,
    provisioning: d.provisioning,
    boot: d.boot,
    settings,
  };
  const http = await listenHttp({ ...httpOpts, tlsPort: wulf.warewulf.tls ? tlsPort : undefined }, stoppers);
  const tftpOn = o.tftp !== false && wulf.tftp.enabled;
  const tftpPort = o.tftpPort ?? wulf.tftp.port;
  if (tftpOn) stoppers.push(await listenTftp(tftpPort, d.address, d.boot, d.provisioning, status, log));
  // the provisioning interfaces: DHCP listens and answers there only, router advertisements go there
  const ifaces = provisioningInterfaces(o.interface ?? wulf.dhcp.interface, d.serverIp);
  const dhcpOn = o.dhcp !== false && wulf.dhcp.mode !== 'off';
  const dhcpPort = o.dhcpPort ?? wulf.dhcp.port;
  if (dhcpOn) {
    if (!d.serverIp) throw new WulfError('DHCP needs the server address', { hint: 'set ipaddr in wulf.conf or pass --address' });
    if (!ifaces.length) {
      log.warn(
        'dhcp',
        `no provisioning interface: set dhcp.interface in wulf.conf (no interface holds ${d.serverIp}); answering on every interface`,
      );
    }
    const dhcp = { port: dhcpPort, relayPort: o.dhcpRelayPort, interfaces: ifaces, proxy: wulf.dhcp.mode === 'proxy', log };
    stoppers.push(await listenDhcp(dhcp, d.provisioning, d.runtime, d.leases));
  }
  if (o.ra ?? process.getuid?.() === 0) advertise(ifaces, log, stoppers);
  const parts = [
    `HTTP ${d.httpPort}`,
    http.tlsPort ? `HTTPS ${http.tlsPort}` : '',
    tftpOn ? `TFTP ${tftpPort}` : '',
    dhcpOn ? `DHCP ${dhcpPort} (${wulf.dhcp.mode})` : '',
  ];
  return { httpPort: http.port, tlsPort: http.tlsPort, summary: `serving on ${d.address}: ${parts.filter(Boolean).join(', ')}` };
}
