// Scheduler hints for the calling thread through libc's syscall(2) (bun:ffi; glibc before 2.41 has
// no sched_setattr wrapper). Best effort: a kernel or architecture without them changes nothing.
import { dlopen, FFIType, ptr } from 'bun:ffi';

const SYS = { x64: { getattr: 315, setattr: 314 }, arm64: { getattr: 275, setattr: 274 } } as Record<
  string,
  { getattr: number; setattr: number }
>;
const ATTR_SIZE = 48; // struct sched_attr up to sched_period (SCHED_ATTR_SIZE_VER0)
const SCHED_OTHER = 0,
  SCHED_BATCH = 3;

/**
 * Ask for a short time slice (µs; the kernel clamps it to 100 µs … 100 ms) for the calling thread.
 * Since Linux 6.12 (EEVDF custom slices) a task with a short slice gets an earlier deadline, so
 * when it wakes it runs before tasks with longer slices instead of waiting for them — without
 * getting a larger share of the CPU. Older kernels ignore it. Returns whether the kernel took it.
 */
export function requestShortSlice(us: number): boolean {
  const nr = SYS[process.arch];
  if (!nr || process.platform !== 'linux') return false;
  try {
    const { syscall } = dlopen('libc.so.6', {
      syscall: { args: [FFIType.i64, FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.u32], returns: FFIType.i32 },
    }).symbols;
    const attr = new DataView(new ArrayBuffer(ATTR_SIZE));
    const p = ptr(attr);
    if (syscall(nr.getattr, 0, p, ATTR_SIZE, 0) !== 0) return false;
    const policy = attr.getUint32(4, true);
    if (policy !== SCHED_OTHER && policy !== SCHED_BATCH) return false; // leave real-time threads alone
    attr.setUint32(0, ATTR_SIZE, true);
    attr.setBigUint64(8, 0n, true); // sched_flags
    attr.setBigUint64(24, BigInt(Math.round(us * 1000)), true); // sched_runtime, ns
    return syscall(nr.setattr, 0, p, 0, 0) === 0;
  } catch {
    return false;
  }
}
