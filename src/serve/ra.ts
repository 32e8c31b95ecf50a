// IPv6 router advertisements on the provisioning interface. Debian's iPXE waits ~13 s for IPv6
// autoconfiguration when no router answers; a periodic RA with router lifetime 0 (we are not a
// router, and announce no prefix) ends that wait. Raw ICMPv6 through libc (bun:ffi); needs root.
import { dlopen, FFIType, ptr } from 'bun:ffi';
import type { Logger } from '../lib/log.ts';

const AF_INET6 = 10,
  SOCK_RAW = 3,
  IPPROTO_ICMPV6 = 58,
  IPPROTO_IPV6 = 41,
  IPV6_MULTICAST_HOPS = 18,
  IPV6_MULTICAST_IF = 17;

export interface RaSender {
  stop(): void;
  sent(): number;
}

export function startRouterAdvertisements(iface: string, log: Logger, intervalMs = 3000): RaSender | undefined {
  let libc;
  try {
    libc = dlopen('libc.so.6', {
      socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
      if_nametoindex: { args: [FFIType.cstring], returns: FFIType.u32 },
      close: { args: [FFIType.i32], returns: FFIType.i32 },
    });
  } catch (e) {
    log.warn('ra', `IPv6 router advertisements unavailable: ${(e as Error).message}`);
    return undefined;
  }
  const f = libc.symbols;
  const index = f.if_nametoindex(Buffer.from(`${iface}\0`));
  if (!index) {
    log.warn('ra', `no interface ${iface}: IPv6 router advertisements off`);
    return undefined;
  }
  const fd = f.socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
  if (fd < 0) {
    log.warn('ra', 'cannot open a raw ICMPv6 socket (needs root): iPXE will wait for IPv6 on every boot');
    return undefined;
  }
  const hops = new Int32Array([255]);
  f.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ptr(hops), 4);
  const ifidx = new Uint32Array([index]);
  f.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ptr(ifidx), 4);
  // RA: type 134, code 0, checksum (kernel fills it), hop limit 64, flags 0, router lifetime 0,
  // reachable time 0, retrans timer 0 — no options.
  const ra = new Uint8Array([134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  // sockaddr_in6 to ff02::1 with the interface as scope id
  const sa = new Uint8Array(28);
  const dv = new DataView(sa.buffer);
  dv.setUint16(0, AF_INET6, true);
  sa.set([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8);
  dv.setUint32(24, index, true);
  let count = 0;
  const send = () => {
    if (Number(f.sendto(fd, ptr(ra), ra.length, 0, ptr(sa), sa.length)) === ra.length) count++;
  };
  send();
  const timer = setInterval(send, intervalMs);
  log.info('ra', `sending IPv6 router advertisements on ${iface} every ${intervalMs / 1000} s (iPXE skips its IPv6 wait)`);
  return {
    stop() {
      clearInterval(timer);
      f.close(fd);
    },
    sent: () => count,
  };
}
