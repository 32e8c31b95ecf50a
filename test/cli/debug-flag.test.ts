// `wulf -d` (and --debug) before the command shows the stack trace of an error, as the help says;
// without it the error is one line (and a hint). Runs the compiled dist/wulf.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';

const t = tempRoot('wulf-debug-');
const w = (...args: string[]) => runWulf(modes[0]!, t.dir, args);
// a line of a JavaScript stack: "    at name (file:line:col)"
const STACK = /^\s+at .+:\d+(:\d+)?\)?$/m;

beforeAll(() => requireCompiled());
afterAll(() => t.cleanup());

test.each([['-d'], ['--debug']])('%s on a failing command prints the stack trace', (flag) => {
  const r = w(flag, 'image', 'show', 'nosuch');
  expect(r.code).toBe(1);
  expect(r.err).toContain('wulf: ');
  expect(r.err).toMatch(STACK);
});

test('-d on an unknown command prints the stack trace, with its exit code', () => {
  const r = w('-d', 'nosuch');
  expect(r.code).toBe(2);
  expect(r.err).toContain("wulf: unknown command 'nosuch'");
  expect(r.err).toMatch(STACK);
});

test('without -d the same failures are one line and a hint, no stack', () => {
  for (const args of [['image', 'show', 'nosuch'], ['nosuch']]) {
    const r = w(...args);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/^wulf: /);
    expect(r.err).not.toMatch(STACK);
  }
});
