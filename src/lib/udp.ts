// Binding a UDP port, for the DHCP and TFTP servers alike, with one mapping of bind errors to
// one-line WulfErrors: the port in use (and who may hold it), no right to bind it, an address
// that is not this machine's, an interface that does not exist. With `iface` the socket sees that
// interface only (udp-device.ts: SO_BINDTODEVICE through libc, then handed to node:dgram).
import dgram from 'node:dgram';
import { WulfError } from './errors.ts';
import { closeFd, deviceUdpSocket } from './udp-device.ts';

export interface UdpBind {
  /** The service, at the start of interface errors: "dhcp" → "dhcp: no network interface eth9". */
  service: string;
  /** The words before the port number in messages: "TFTP port" → "TFTP port 69 on 0.0.0.0 is already in use". */
  label: string;
  port: number;
  address: string;
  /** Receive and send on this interface only (IPv4). */
  iface?: string;
  /** SO_REUSEADDR; default false: a port another socket holds is an error. */
  reuseAddr?: boolean;
  /** What else may hold the port, for the "already in use" hint. */
  inUseHint: string;
  /** Where the interface was named, for the "no network interface" hint. */
  ifaceHint?: string;
}

/** The one mapping of an error from binding `b` to a one-line WulfError. */
export function udpBindError(e: NodeJS.ErrnoException, b: UdpBind): WulfError {
  const where = b.iface ? `${b.address} (${b.iface})` : b.address;
  if (b.iface && e.code === 'ENODEV')
    return new WulfError(`${b.service}: no network interface ${b.iface}`, { code: 'ENODEV', hint: b.ifaceHint });
  if (b.iface && (e.code === 'EPERM' || e.code === 'EACCES') && e.syscall?.startsWith('SO_BINDTODEVICE')) {
    return new WulfError(`${b.service}: not permitted to listen on interface ${b.iface} only`, {
      code: e.code,
      hint: 'run as root (Linux before 5.7 needs CAP_NET_RAW for this)',
    });
  }
  if (e.code === 'EADDRINUSE')
    return new WulfError(`${b.label} ${b.port} on ${where} is already in use`, { code: 'EADDRINUSE', hint: b.inUseHint });
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    return new WulfError(`${b.label} ${b.port} on ${where} needs root`, {
      code: e.code,
      hint: 'run as root or grant CAP_NET_BIND_SERVICE (ports below 1024)',
    });
  }
  if (e.code === 'EADDRNOTAVAIL') {
    return new WulfError(`${b.label} ${b.port}: address ${b.address} is not on this machine`, {
      code: 'EADDRNOTAVAIL',
      hint: 'check the server ipaddr in the wulf configuration',
    });
  }
  return new WulfError(`${b.label} ${b.port} on ${where}: ${e.message}`, { code: e.code });
}

/** A bound UDP socket (udp6 for an IPv6 address); a bind error is closed and thrown as udpBindError. */
export async function bindUdp(b: UdpBind): Promise<dgram.Socket> {
  let fd: number | undefined;
  if (b.iface) {
    try {
      fd = deviceUdpSocket(b.iface, b.address, b.port);
    } catch (e) {
      throw udpBindError(e as NodeJS.ErrnoException, b);
    }
  }
  const sock = dgram.createSocket({ type: b.address.includes(':') ? 'udp6' : 'udp4', reuseAddr: b.reuseAddr ?? false });
  await new Promise<void>((resolve, reject) => {
    const onErr = (e: Error) => {
      try {
        sock.close();
      } catch {
        if (fd !== undefined) closeFd(fd);
      }
      reject(udpBindError(e as NodeJS.ErrnoException, b));
    };
    sock.once('error', onErr);
    const bound = () => {
      sock.off('error', onErr);
      resolve();
    };
    if (fd !== undefined) sock.bind({ fd }, bound);
    else sock.bind(b.port, b.address, bound);
  });
  return sock;
}
