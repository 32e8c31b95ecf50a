// A blocking IPv4 UDP socket through libc (bun:ffi), for a worker thread that serves one peer in a
// tight loop (recv → send) without the event loop between them. Return values are ssize_t read
// as i32 (datagrams are small), so no BigInt is made per call.
import { dlopen, FFIType, ptr, type Pointer } from 'bun:ffi';

const AF_INET = 2,
  SOCK_DGRAM = 2,
  SOL_SOCKET = 1,
  SO_RCVTIMEO = 20,
  SO_SNDBUF = 7;
export const MSG_DONTWAIT = 0x40;

let libc: ReturnType<typeof open> | undefined;
function open() {
  return dlopen('libc.so.6', {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  }).symbols;
}

function sockaddrIn(address: string, port: number): Uint8Array {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255))
    throw new Error(`not an IPv4 address: ${address}`);
  const sa = new Uint8Array(16);
  const dv = new DataView(sa.buffer);
  dv.setUint16(0, AF_INET, true);
  dv.setUint16(2, port, false);
  sa.set(octets, 4);
  return sa;
}

export interface ConnectedUdp {
  /** send a datagram of `length` bytes at `p`; the byte count or -1 */
  send(p: Pointer, length: number): number;
  /** receive into `p`; the byte count, or -1 on timeout / nothing waiting (with MSG_DONTWAIT) */
  recv(p: Pointer, capacity: number, flags?: number): number;
  close(): void;
}

/** A UDP socket bound to `local` (port 0: a fresh TID) and connected to the peer, with a receive timeout. */
export function connectUdp4(local: string, peer: string, peerPort: number, recvTimeoutMs: number): ConnectedUdp {
  const f = (libc ??= open());
  const fd = f.socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw new Error('socket() failed');
  const fail = (what: string): never => {
    f.close(fd);
    throw new Error(`${what} failed`);
  };
  const la = sockaddrIn(local, 0);
  if (f.bind(fd, ptr(la), la.length) !== 0) fail(`bind(${local})`);
  const ra = sockaddrIn(peer, peerPort);
  if (f.connect(fd, ptr(ra), ra.length) !== 0) fail(`connect(${peer}:${peerPort})`);
  const tv = new BigInt64Array([BigInt(Math.floor(recvTimeoutMs / 1000)), BigInt((recvTimeoutMs % 1000) * 1000)]);
  if (f.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, ptr(tv), 16) !== 0) fail('setsockopt(SO_RCVTIMEO)');
  const buf = new Int32Array([1 << 20]);
  f.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, ptr(buf), 4); // a whole window fits; best effort
  let closed = false;
  return {
    send: (p, length) => f.send(fd, p, length, 0),
    recv: (p, capacity, flags = 0) => f.recv(fd, p, capacity, flags),
    close() {
      if (!closed) {
        closed = true;
        f.close(fd);
      }
    },
  };
}
