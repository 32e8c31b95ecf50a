// The fan-out on its own: concurrency limit, per-item timeout, staggered starts, streamed outcomes.
import { expect, test } from 'bun:test';
import { fanout, type Outcome } from '../../src/power/fanout.ts';
import { parseDuration, runPower } from '../../src/power/run.ts';
import type { PowerDriver } from '../../src/power/driver.ts';

test('never more than `fanout` jobs in flight, all items done', async () => {
  let inFlight = 0,
    peak = 0;
  const done: number[] = [];
  await fanout(
    Array.from({ length: 40 }, (_, i) => i),
    async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await Bun.sleep(5 + (i % 3) * 5);
      inFlight--;
      return i;
    },
    { fanout: 7, timeoutMs: 5000 },
    (i, o) => {
      if (o.ok) done.push(i);
    },
  );
  expect(peak).toBe(7);
  expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
});

test('a job that ignores its signal is still cut off at the timeout', async () => {
  const outcomes: Outcome<string>[] = [];
  let aborted = false;
  const t0 = performance.now();
  await fanout(
    ['slow', 'fast'],
    (x, signal) => {
      signal.addEventListener('abort', () => {
        aborted = true;
      });
      return x === 'slow' ? new Promise<string>((r) => setTimeout(() => r('late'), 3000)) : Promise.resolve('quick');
    },
    { fanout: 2, timeoutMs: 150 },
    (_, o) => outcomes.push(o),
  );
  expect(performance.now() - t0).toBeLessThan(1000);
  expect(outcomes[0]).toMatchObject({ ok: true, value: 'quick' });
  expect(outcomes[1]).toMatchObject({ ok: false, timedOut: true });
  expect(String((outcomes[1] as { error: Error }).error.message)).toBe('timed out after 150 ms');
  expect(aborted).toBe(true);
});

test('stagger: starts are spaced even when fanout allows more', async () => {
  const starts: number[] = [];
  const t0 = performance.now();
  await fanout(
    [1, 2, 3, 4, 5],
    async () => {
      starts.push(performance.now() - t0);
    },
    { fanout: 50, timeoutMs: 1000, staggerMs: 60 },
    () => {},
  );
  for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(55);
  expect(starts.at(-1)!).toBeGreaterThanOrEqual(4 * 55);
});

test('stagger with a small fanout: both limits hold', async () => {
  let inFlight = 0,
    peak = 0;
  const starts: number[] = [];
  const t0 = performance.now();
  await fanout(
    [1, 2, 3, 4, 5, 6],
    async () => {
      starts.push(performance.now() - t0);
      inFlight++;
      peak = Math.max(peak, inFlight);
      await Bun.sleep(100);
      inFlight--;
    },
    { fanout: 2, timeoutMs: 1000, staggerMs: 20 },
    () => {},
  );
  expect(peak).toBe(2);
  for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(15);
});

test('runPower with an in-memory driver: streamed lines, skipped nodes, a throwing driver', async () => {
  const calls: string[] = [];
  const fake: PowerDriver = {
    name: 'fake',
    async power(t, action) {
      calls.push(`${t.node}:${action}`);
      if (t.node === 'bad') throw new Error('BMC said no');
      await Bun.sleep(t.node === 'a' ? 50 : 1);
      return { state: 'on', detail: 'fine' };
    },
    async sensors() {
      return { readings: [] };
    },
    async console() {
      return { argv: ['true'], env: {} };
    },
    describe: () => ['nothing'],
  };
  const order: string[] = [];
  const { results, summary } = await runPower(
    [
      { node: 'a', ipmi: { ipaddr: '10.0.0.1', driver: 'fake' } },
      { node: 'b', ipmi: { ipaddr: '10.0.0.2', driver: 'fake' } },
      { node: 'bad', ipmi: { ipaddr: '10.0.0.3', driver: 'fake' } },
      { node: 'c', ipmi: { driver: 'fake' } },
    ],
    'on',
    { drivers: { fake }, onResult: (r) => order.push(r.node) },
  );
  expect(order[0]).toBe('c'); // skipped at once
  expect(order.at(-1)).toBe('a'); // slowest last
  expect(results.find((r) => r.node === 'bad')).toMatchObject({ status: 'failed', error: 'BMC said no' });
  expect(summary).toMatchObject({ total: 4, ok: 2, failed: 1, skipped: 1 });
  expect(calls.sort()).toEqual(['a:on', 'b:on', 'bad:on']);
});

test('durations', () => {
  expect(parseDuration('10s', 't')).toBe(10_000);
  expect(parseDuration('0.5s', 't')).toBe(500);
  expect(parseDuration('250ms', 't')).toBe(250);
  expect(parseDuration('3', 't')).toBe(3000);
  expect(parseDuration('1m', 't')).toBe(60_000);
  expect(() => parseDuration('soon', 'stagger')).toThrow('--stagger soon: expected a duration');
});
