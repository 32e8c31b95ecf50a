import { describe, expect, test } from 'bun:test';
import { MSG_DONTWAIT } from '../lib/udp-libc.ts';
import { AckWaiter, GAP_MS, PAUSE_MAX, PAUSE_MIN, SPIN_MS } from './ackwait.ts';

/**
 * A fake socket and clock: each wait's ACK shows up after `after` ms (Infinity: only a blocking
 * read gets it), every non-blocking read takes `step` ms, a read at `stall` ms (if any) stalls
 * `stallMs` first (the thread was descheduled).
 */
function rig() {
  let clock = 0, arrives = 0, stallAt = -1, stallMs = 0;
  const calls: ('nb' | 'block')[] = [];
  const w = new AckWaiter((flags) => {
    if (flags === MSG_DONTWAIT) {
      calls.push('nb');
      if (stallAt >= 0 && clock >= stallAt) { clock += stallMs; stallAt = -1; }
      clock += 0.001;
      return clock >= arrives ? 4 : -1;
    }
    calls.push('block');
    clock = Math.max(clock, Number.isFinite(arrives) ? arrives : clock + 0.1);
    return 4;
  }, () => clock);
  return {
    w, calls,
    /** one wait for an ACK arriving `after` ms from now; the reads it made */
    wait(after: number, stall?: { at: number; ms: number }) {
      arrives = clock + after;
      if (stall) { stallAt = clock + stall.at; stallMs = stall.ms; }
      calls.length = 0;
      expect(w.wait()).toBe(4);
      return { nb: calls.filter((c) => c === 'nb').length, blocked: calls.includes('block') };
    },
  };
}

describe('AckWaiter', () => {
  test('an ACK already queued is taken with one read: no spin, no sleep', () => {
    const r = rig();
    expect(r.wait(0)).toEqual({ nb: 1, blocked: false });
    expect(r.w.spins).toBe(0);
  });

  test('a fast client: every wait spins and finds the ACK without sleeping', () => {
    const r = rig();
    for (let i = 0; i < 1000; i++) expect(r.wait(0.015).blocked).toBe(false);
    expect(r.w.spins).toBe(1000);
    expect(r.w.paid).toBe(1000);
  });

  test('a spin that runs out sleeps in recv, then PAUSE_MIN waits sleep without spinning; failures double the pause', () => {
    const r = rig();
    const first = r.wait(1); // a slow client
    expect(first.blocked).toBe(true);
    expect(first.nb).toBeGreaterThan(SPIN_MS / 0.001 - 5); // it spun for SPIN_MS
    for (let i = 0; i < PAUSE_MIN; i++) expect(r.wait(1)).toEqual({ nb: 0, blocked: true }); // straight to a sleeping recv
    expect(r.wait(1).nb).toBeGreaterThan(1); // spins again, fails again
    for (let i = 0; i < 2 * PAUSE_MIN; i++) expect(r.wait(1).nb).toBe(0);
    expect(r.w.spins).toBe(2);
    // the pause stops growing at PAUSE_MAX
    for (let i = 0; i < 20_000; i++) r.wait(1);
    const before = r.w.spins;
    for (let i = 0; i < PAUSE_MAX + 1; i++) r.wait(1);
    expect(r.w.spins - before).toBe(1);
    expect(r.w.paid).toBe(0);
  });

  test('a spin that pays off resets the pause', () => {
    const r = rig();
    r.wait(1);
    for (let i = 0; i < PAUSE_MIN; i++) r.wait(1);
    expect(r.wait(0.01).blocked).toBe(false); // paid off
    expect(r.wait(0.01).nb).toBeGreaterThan(1); // and the next wait spins at once
    r.wait(1); // fails: a pause of PAUSE_MIN again, not 2 × PAUSE_MIN
    for (let i = 0; i < PAUSE_MIN; i++) expect(r.wait(1).nb).toBe(0);
    expect(r.wait(1).nb).toBeGreaterThan(1);
  });

  test('a spin that was descheduled counts as a failure even when the ACK was there after it', () => {
    const r = rig();
    const s = r.wait(0.03, { at: 0.005, ms: GAP_MS * 5 }); // the ACK came while the thread was off the CPU
    expect(s.blocked).toBe(false); // the ACK it found is used
    expect(r.w.paid).toBe(0);
    for (let i = 0; i < PAUSE_MIN; i++) expect(r.wait(0.015)).toEqual({ nb: 0, blocked: true }); // but the next waits sleep
    expect(r.wait(0.015).nb).toBeGreaterThan(1);
  });
});
