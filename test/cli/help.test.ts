// A noun's summary is written once (src/cli/registry.ts): `wulf --help` lists it, and `wulf NOUN --help`
// of a noun with verbs shows the same line. Runs the compiled dist/wulf.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';

const t = tempRoot('wulf-help-');
const w = (...args: string[]) => runWulf(modes[0]!, t.dir, args);

beforeAll(() => requireCompiled());
afterAll(() => t.cleanup());

test('every noun with verbs shows the summary that wulf --help lists for it', () => {
  const top = w('--help');
  expect(top.code).toBe(0);
  const listed = new Map<string, string>();
  const commands = top.out.split('Commands:\n')[1]!.split('\n\n')[0]!;
  for (const line of commands.split('\n')) {
    const m = /^ {2}(\S+)\s+(.*)$/.exec(line);
    if (m) listed.set(m[1]!, m[2]!);
  }
  expect(listed.size).toBeGreaterThan(15);
  let withVerbs = 0;
  for (const [noun, summary] of listed) {
    const r = w(noun, '--help');
    if (!r.out.startsWith(`Usage: wulf ${noun} <command>`)) continue; // a noun that is itself a verb: its own help text
    withVerbs++;
    expect(r.out.split('\n')[2]).toBe(summary);
  }
  expect(withVerbs).toBeGreaterThanOrEqual(7);
});
