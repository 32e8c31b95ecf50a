// How a worker thread waits for the client's next ACK (worker.ts).
//
// Sleeping in recv costs a wake-up per block — tens of microseconds when the CPU it sleeps on has
// gone idle, more on a VM whose vCPU halts. Reading without blocking in a short loop saves that
// when the client answers within microseconds, but only while a CPU is free for the client: on a
// busy machine the spinning thread holds a CPU that the client, or a VM beside it, needs, and the
// ACK comes later, not sooner (a fixed spin measured 0.6–0.7× tftpd-hpa over veth with a busy
// core). So a spin is tried only while spinning pays off:
//   - an ACK already queued is taken at once (not counted as a spin);
//   - otherwise read without blocking for at most SPIN_MS; the spin paid off if the ACK came
//     within it and the thread ran the whole time (no two reads more than GAP_MS apart: a larger
//     gap means the scheduler gave this CPU to something else, i.e. it was wanted);
//   - when it did not pay off, the next `pause` waits sleep in recv without spinning, and each
//     further failure doubles the pause (PAUSE_MIN … PAUSE_MAX waits); a spin that pays off
//     resets it.
// A quiet machine thus spins on nearly every block, a busy one sleeps in recv like tftpd-hpa and
// tries a spin once every few thousand blocks.

import { MSG_DONTWAIT } from '../lib/udp-libc.ts';

export const SPIN_MS = 0.05, GAP_MS = 0.02, PAUSE_MIN = 64, PAUSE_MAX = 4096;

export class AckWaiter {
  spins = 0;   // spins tried
  paid = 0;    // spins that found the ACK
  private pause = 0;
  private backoff = PAUSE_MIN;

  /**
   * `recv(flags)` reads one datagram: its length, or -1 when nothing came (MSG_DONTWAIT: nothing
   * queued; 0: nothing within the socket's receive timeout).
   */
  constructor(private readonly recv: (flags: number) => number, private readonly now: () => number = () => performance.now()) {}

  wait(): number {
    if (this.pause > 0) { this.pause--; return this.recv(0); } // returns at once when the ACK is already there
    let n = this.recv(MSG_DONTWAIT);
    if (n >= 0) return n;
    this.spins++;
    const t0 = this.now();
    let last = t0, ran = true;
    for (;;) {
      n = this.recv(MSG_DONTWAIT);
      const t = this.now();
      if (t - last > GAP_MS) { ran = false; break; }
      if (n >= 0 || t - t0 >= SPIN_MS) break;
      last = t;
    }
    if (n >= 0 && ran) { this.paid++; this.backoff = PAUSE_MIN; return n; }
    this.pause = this.backoff;
    this.backoff = Math.min(PAUSE_MAX, this.backoff * 2);
    return n >= 0 ? n : this.recv(0);
  }
}
