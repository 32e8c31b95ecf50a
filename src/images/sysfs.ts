// The few syscalls node:fs lacks (mknod for device nodes and fifos), through bun:ffi on libc,
// plus makedev/major/minor arithmetic as glibc does it.
import { dlopen, FFIType, ptr, read, type Pointer } from 'bun:ffi';

let mknodFn: ((path: number, mode: number, dev: bigint) => number) | undefined;
let errnoFn: (() => number) | undefined;

export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major), mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

export function devMajor(dev: number): number { return Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn)); }
export function devMinor(dev: number): number { return Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn)); }

/** mknod(2); throws an Error with an errno code on failure. */
export function mknod(path: string, mode: number, major = 0, minor = 0): void {
  if (!mknodFn) {
    const lib = dlopen('libc.so.6', {
      mknod: { args: [FFIType.ptr, FFIType.u32, FFIType.u64], returns: FFIType.i32 },
      __errno_location: { args: [], returns: FFIType.ptr },
    });
    mknodFn = lib.symbols.mknod as unknown as (path: number, mode: number, dev: bigint) => number;
    const loc = lib.symbols.__errno_location as unknown as () => number;
    errnoFn = () => read.i32(loc() as unknown as Pointer, 0);
  }
  const buf = Buffer.from(path + '\0');
  const rc = mknodFn(ptr(buf) as unknown as number, mode, makedev(major, minor));
  if (rc !== 0) {
    const errno = errnoFn!();
    const err = new Error(`mknod ${path}: errno ${errno}${errno === 1 ? ' (EPERM: device nodes need root)' : ''}`) as NodeJS.ErrnoException;
    err.code = errno === 1 ? 'EPERM' : errno === 17 ? 'EEXIST' : errno === 28 ? 'ENOSPC' : `E${errno}`;
    throw err;
  }
}
