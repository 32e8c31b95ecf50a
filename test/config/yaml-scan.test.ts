// The scanner builds values itself for plain block YAML: it must agree with Bun.YAML on every
// document it accepts (random documents, many of them outside the subset or invalid), its entry
// boundaries must cut out exactly each entry, and its duplicates must be the yaml library's.
import { test, expect } from 'bun:test';
import { parse } from 'yaml';
import { scanYaml } from '../../src/config/yaml-scan.ts';

const SCALARS = [
  'a',
  'n01',
  'hello world',
  '10.0.0.1',
  '52:54:00:00:00:01',
  '"52:54:00:00:00:01"',
  '0',
  '-0',
  '007',
  '1.5',
  '.5',
  '1e3',
  '0x1F',
  '0o17',
  '~',
  'null',
  'Null',
  'true',
  'False',
  'yes',
  "'it''s'",
  '"a\\tb"',
  '"x"',
  "''",
  '""',
  'a#b',
  'a #c',
  'http://h:8/p',
  '-x',
  ':x',
  '?x',
  '.inf',
  '-.inf',
  '.nan',
  '1_000',
  '12:30',
  'a b c',
  'über',
  '[a, b]',
  '[]',
  '{}',
  '{k: v}',
  '{a: 1, b: [x, y]}',
  '[a, [b, c], {d: e}]',
  '[1, 2,]',
  'x # comment',
  '"\\x41"',
  '0x7FFFFFFFFFFFFFFFFF',
  // outside the subset, or not YAML at all
  '@bad',
  '`bad',
  '%bad',
  'a: b',
  '"unterminated',
  "'x' y",
  '[a, b',
  '|\n  text',
  '*ref',
  '&anc val',
  '!!str 5',
  '- item',
  ': x',
  '{a: }',
  '{a}',
  '[a, , b]',
  '"a": x',
  '[a: 1]',
];
const KEYS = [
  'a',
  'b',
  'c',
  'n1',
  'network devices',
  '"q"',
  "'s'",
  '1',
  '01',
  'true',
  '~',
  '<<',
  'a b',
  'x.y',
  '__proto__',
  '"a"',
  '-k',
  'k#1',
  '? k',
];

test('the scanner agrees with Bun.YAML and the yaml library on random documents', () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.floor(seed / 65536) % n;
  };
  const pick = <T>(a: T[]) => a[rnd(a.length)]!;
  const block = (depth: number, ind: number): string => {
    let out = '';
    const seq = rnd(4) === 0,
      pad = ' '.repeat(ind);
    for (let i = 1 + rnd(4); i > 0; i--) {
      if (rnd(12) === 0) out += `${pad}# comment\n`;
      if (rnd(15) === 0) out += '\n';
      const head = seq ? `${pad}- ` : `${pad}${pick(KEYS)}:`;
      const r = rnd(10);
      if (depth < 3 && r < 4) {
        if (seq && rnd(2)) out += `${pad}- ${block(depth + 1, ind + 2).slice(ind + 2)}`;
        else out += `${head}${rnd(8) === 0 ? ' # c' : ''}\n${block(depth + 1, seq ? ind + 2 : rnd(5) === 0 ? ind : ind + 1 + rnd(3))}`;
      } else if (r === 4) out += `${head}\n`;
      else out += `${head} ${rnd(3) ? pick(SCALARS.slice(0, 50)) : pick(SCALARS)}${rnd(10) === 0 ? '   # trailing' : ''}\n`;
    }
    return out;
  };
  const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));
  const seen = { built: 0, deferred: 0, complex: 0, dup: 0 };
  for (let n = 0; n < 1500; n++) {
    const text = block(0, 0);
    let bun: unknown,
      bunErr = false,
      yamlErr = '';
    try {
      bun = Bun.YAML.parse(text);
    } catch {
      bunErr = true;
    }
    try {
      parse(text, { logLevel: 'error' });
    } catch (e) {
      yamlErr = (e as Error).message;
    }
    const s = scanYaml(text);
    if (s.dup) {
      seen.dup++;
      if (!/^(1|01|true|~)$/.test(s.dup.key))
        expect({ text, err: yamlErr.includes('Map keys must be unique') }).toEqual({ text, err: true });
      continue;
    }
    if (s.complex) {
      seen.complex++;
      continue;
    }
    expect({ text, dup: yamlErr.includes('Map keys must be unique') }).toEqual({ text, dup: false });
    if (s.value === undefined) {
      seen.deferred++;
      continue;
    }
    seen.built++;
    expect({ text, value: json(s.value) }).toEqual({ text, value: bunErr ? 'a syntax error' : json(bun) });
    if (!s.aliasLine)
      for (const sec of s.sections.values())
        for (const e of sec.entries) {
          const alone = Bun.YAML.parse(`x:\n${text.slice(e.from, e.to)}`) as { x: Record<string, unknown> };
          expect({ text, entry: json(alone.x[e.name]) }).toEqual({
            text,
            entry: json((bun as Record<string, Record<string, unknown>>)[sec.key]![e.name]),
          });
        }
  }
  for (const k of Object.keys(seen) as (keyof typeof seen)[]) expect(seen[k]).toBeGreaterThan(50); // every path was taken
}, 60_000);
