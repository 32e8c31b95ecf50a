// The logger keeps one event on one line whatever a peer sends (newlines, ANSI escapes, C1 and
// Unicode line separators in messages and fields), and its rate limit holds against many keys.
import { expect, test } from 'bun:test';
import { createLogger, escapeControl } from '../../src/lib/log.ts';

const CONTROL = /[\0-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const FORGED = 'x\n12:00:00.000 boot: n1 stage=runtime sent=forged\x1b[2K\r\x1b]0;title\x07\x9b31m\u2028\u202eevil';

test('escapeControl: control characters become visible escapes; ordinary text and UTF-8 stay', () => {
  expect(escapeControl('a\nb\rc\td\0e\x1bf\x7fg\x9bh\u2028i\u202ej')).toBe('a\\nb\\rc\\td\\x00e\\x1bf\\x7fg\\x9bh\\u2028i\\u202ej');
  expect(escapeControl('pxelinux.cfg/01-52-54-00 ü 日本 "q" \\')).toBe('pxelinux.cfg/01-52-54-00 ü 日本 "q" \\');
  expect(CONTROL.test(escapeControl(FORGED))).toBe(false);
});

for (const format of ['human', 'json'] as const) {
  test(`${format}: a forged message and forged field values stay one line without control characters`, () => {
    const out: string[] = [];
    const log = createLogger({ format, write: (l) => out.push(l) });
    log.warn('tftp', `refused ${FORGED}: file not found`, { client: '10.0.0.9:1234' });
    log.info('dhcp', 'discover', { hostname: FORGED, vendor: `PXEClient${FORGED}`, nospace: 'a\x1b[31mb' });
    log.limited('k', 'warn', 'http', `refused path /${FORGED}`);
    expect(out.length).toBe(3);
    for (const l of out) {
      expect(l.split(/\r\n|\r|\n/).length).toBe(1);
      expect(CONTROL.test(l)).toBe(false);
    }
    expect(out[0]).toContain('\\n12:00:00.000 boot: n1');
    expect(out[1]).toContain('\\x1b[31m');
    if (format === 'json') expect(JSON.parse(out[1]!).hostname).toBe(escapeControl(FORGED));
  });
}

test('limited: one line per key and interval; many keys of one tag are capped, then summarised', () => {
  const out: string[] = [];
  let now = 1_000_000;
  const log = createLogger({ write: (l) => out.push(l), now: () => now });
  for (let i = 0; i < 5; i++) log.limited('same', 'warn', 'tftp', 'refused');
  expect(out.length).toBe(1);
  out.length = 0;
  for (let i = 0; i < 2000; i++) log.limited(`spoofed-${i}`, 'warn', 'tftp', `refused from 10.${i >> 8}.${i & 255}.1`);
  expect(out.length).toBeGreaterThan(10);
  expect(out.length).toBeLessThanOrEqual(100);
  now += 10_001;
  log.limited('later', 'warn', 'tftp', 'refused again');
  expect(out.at(-2)).toMatch(/tftp: \d+ more similar lines suppressed/);
  expect(out.at(-1)).toContain('refused again');
  log.limited('other', 'warn', 'http', 'another tag is not affected');
  expect(out.at(-1)).toContain('another tag');
});
