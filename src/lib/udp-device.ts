// A UDP socket that sees one network interface only: opened through libc (bun:ffi) with
// SO_BINDTODEVICE and SO_BROADCAST before bind, then handed to node:dgram by descriptor
// (socket.bind({ fd })), so it is read on the event loop like any other. A datagram that came in
// through another interface never reaches it, and what it sends leaves through its interface.
import { dlopen, FFIType, ptr, read } from 'bun:ffi';

const AF_INET = 2,
  SOCK_DGRAM = 2,
  SOCK_CLOEXEC = 0o2000000,
  SOL_SOCKET = 1,
  SO_BROADCAST = 6,
  SO_BINDTODEVICE = 25;
const ERRNO: Record<number, string> = { 1: 'EPERM', 13: 'EACCES', 19: 'ENODEV', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL' };

let libc: ReturnType<typeof open> | undefined;
function open() {
  return dlopen('libc.so.6', {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

/** An error with the errno's name as `code` (EADDRINUSE, EACCES, ENODEV…), like node's own. */
function sysError(what: string, f: NonNullable<typeof libc>): NodeJS.ErrnoException {
  const p = f.__errno_location();
  const n = p ? read.i32(p, 0) : 0;
  const e: NodeJS.ErrnoException = new Error(`${what} failed (${ERRNO[n] ?? `errno ${n}`})`);
  e.code = ERRNO[n] ?? `E${n}`;
  e.errno = n;
  e.syscall = what;
  return e;
}

/** A bound IPv4 UDP socket descriptor that receives and sends on `iface` only. The caller owns the descriptor. */
export function deviceUdpSocket(iface: string, address: string, port: number): number {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255))
    throw new Error(`not an IPv4 address: ${address}`);
  if (!iface || iface.length > 15 || iface.includes('\0'))
    throw Object.assign(new Error(`bad interface name "${iface}"`), { code: 'ENODEV' });
  const f = (libc ??= open());
  const fd = f.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('socket()', f);
  const fail = (what: string): never => {
    const e = sysError(what, f);
    f.close(fd);
    throw e;
  };
  const name = Buffer.from(`${iface}\0`);
  if (f.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ptr(name), name.length) !== 0) fail(`SO_BINDTODEVICE ${iface}`);
  const one = new Int32Array([1]);
  if (f.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, ptr(one), 4) !== 0) fail('SO_BROADCAST');
  const sa = new Uint8Array(16);
  const dv = new DataView(sa.buffer);
  dv.setUint16(0, AF_INET, true);
  dv.setUint16(2, port, false);
  sa.set(octets, 4);
  if (f.bind(fd, ptr(sa), sa.length) !== 0) fail(`bind ${address}:${port}`);
  return fd;
}

/** Close a descriptor from deviceUdpSocket that was never handed on. */
export function closeFd(fd: number): void {
  (libc ??= open()).close(fd);
}
