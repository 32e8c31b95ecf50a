// The few syscalls node:fs lacks (mknod for device nodes and fifos), through bun:ffi on libc,
// plus makedev/major/minor arithmetic as glibc does it.
import { dlopen, FFIType, ptr, read, type Pointer } from 'bun:ffi';

let mknodFn: ((path: number, mode: number, dev: bigint) => number) | undefined;
let errnoFn: (() => number) | undefined;

export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major),
    mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

export function devMajor(dev: number): number {
  return Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn));
}
export function devMinor(dev: number): number {
  return Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));
}

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

// extended attributes (file capabilities, SELinux labels, user.*) for layers that carry them
let xattrFns:
  | {
      set: (path: number, name: number, value: number, size: number, flags: number) => number;
      get: (path: number, name: number, value: number | null, size: number) => number;
    }
  | undefined;
function xattrLib() {
  if (!xattrFns) {
    const lib = dlopen('libc.so.6', {
      lsetxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
      lgetxattr: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
      __errno_location: { args: [], returns: FFIType.ptr },
    });
    xattrFns = {
      set: lib.symbols.lsetxattr as never,
      get: ((...a: unknown[]) => Number((lib.symbols.lgetxattr as (...x: unknown[]) => number | bigint)(...a))) as never,
    };
    const loc = lib.symbols.__errno_location as unknown as () => number;
    errnoFn ??= () => read.i32(loc() as unknown as Pointer, 0);
  }
  return xattrFns;
}
const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  7: 'E2BIG',
  13: 'EACCES',
  22: 'EINVAL',
  28: 'ENOSPC',
  34: 'ERANGE',
  61: 'ENODATA',
  95: 'EOPNOTSUPP',
};

/** lsetxattr(2) (does not follow a symlink); throws an Error with an errno code on failure. */
export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const f = xattrLib();
  const p = Buffer.from(path + '\0'),
    n = Buffer.from(name + '\0');
  const v = value.length ? value : new Uint8Array(1);
  const rc = f.set(ptr(p) as unknown as number, ptr(n) as unknown as number, ptr(v) as unknown as number, value.length, 0);
  if (rc !== 0) {
    const errno = errnoFn!();
    const err = new Error(`setxattr ${name} on ${path}: ${ERRNO_NAMES[errno] ?? 'errno ' + errno}`) as NodeJS.ErrnoException;
    err.code = ERRNO_NAMES[errno] ?? `E${errno}`;
    throw err;
  }
}

/** lgetxattr(2): the value, or undefined when the attribute is not set. */
export function lgetxattr(path: string, name: string): Uint8Array | undefined {
  const f = xattrLib();
  const p = Buffer.from(path + '\0'),
    n = Buffer.from(name + '\0');
  const size = f.get(ptr(p) as unknown as number, ptr(n) as unknown as number, null, 0);
  if (size < 0) return undefined;
  const buf = Buffer.alloc(Math.max(size, 1));
  const got = f.get(ptr(p) as unknown as number, ptr(n) as unknown as number, ptr(buf) as unknown as number, buf.length);
  return got < 0 ? undefined : new Uint8Array(buf.subarray(0, got));
}
