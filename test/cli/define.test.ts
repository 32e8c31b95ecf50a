// defineCommand: the values a verb's `run` gets are typed from its definition (checked by tsc through
// expectTypeOf) and filled in at run time (booleans false when absent, defaults, positionals by name);
// a missing or extra positional is one usage line naming the command.
import { describe, expect, expectTypeOf, test } from 'bun:test';
import type { Ctx } from '../../src/cli/command.ts';
import { defineCommand, positionalUsage } from '../../src/cli/define.ts';
import { WulfError } from '../../src/lib/errors.ts';

const ctx = {} as Ctx;

function capture() {
  let got: unknown;
  const verb = defineCommand({
    name: 'copy',
    summary: 'copy things',
    flags: {
      force: { type: 'boolean', short: 'f', help: 'replace' },
      mode: { type: 'string', help: 'mode', default: '644' },
      owner: { type: 'string', help: 'owner' },
      bind: { type: 'string', multiple: true, help: 'binds' },
    },
    positionals: [{ name: 'source', required: true }, { name: 'dest' }, { name: 'rest', variadic: true }],
    run(_ctx, args) {
      expectTypeOf(args.flags.force).toEqualTypeOf<boolean>();
      expectTypeOf(args.flags.mode).toEqualTypeOf<string>();
      expectTypeOf(args.flags.owner).toEqualTypeOf<string | undefined>();
      expectTypeOf(args.flags.bind).toEqualTypeOf<string[]>();
      expectTypeOf(args.pos.source).toEqualTypeOf<string>();
      expectTypeOf(args.pos.dest).toEqualTypeOf<string | undefined>();
      expectTypeOf(args.pos.rest).toEqualTypeOf<string[]>();
      got = args;
      return 0;
    },
  });
  return { verb, got: () => got as { flags: Record<string, unknown>; pos: Record<string, unknown>; fields: Record<string, unknown> } };
}

describe('defineCommand', () => {
  test('the usage line comes from the positionals', () => {
    const { verb } = capture();
    expect(verb.usage).toBe('SOURCE [DEST] [REST...]');
    expect(positionalUsage([{ name: 'image', variadic: true, required: true }])).toBe('IMAGE...');
    expect(Object.keys(verb.flags ?? {})).toEqual(['force', 'mode', 'owner', 'bind']);
  });

  test('values: booleans false when absent, defaults filled in, positionals by name', async () => {
    const { verb, got } = capture();
    expect(await verb.run(ctx, { owner: 'root', bind: ['/a'] }, ['s', 'd', 'x', 'y'])).toBe(0);
    expect(got().flags).toEqual({ force: false, mode: '644', owner: 'root', bind: ['/a'] });
    expect(got().pos).toEqual({ source: 's', dest: 'd', rest: ['x', 'y'] });
    expect(got().fields).toEqual({ owner: 'root', bind: ['/a'] });
    await verb.run(ctx, { force: true, mode: '600' }, ['s']);
    expect(got().flags).toEqual({ force: true, mode: '600', owner: undefined, bind: undefined });
    expect(got().pos).toEqual({ source: 's', dest: undefined, rest: [] });
  });

  test('a missing required positional is the usage line of the command', () => {
    const { verb } = capture();
    expect(() => verb.run(ctx, {}, [], 'thing copy')).toThrow(new WulfError('usage: wulf thing copy SOURCE [DEST] [REST...]'));
  });

  test('a word too many is the same usage error; hint and exit code as the verb asks', () => {
    const verb = defineCommand({
      name: 'info',
      summary: 'info',
      usageHint: 'use --to STORE',
      usageExit: 2,
      run: () => 0,
    });
    let err: unknown;
    try {
      verb.run(ctx, {}, ['extra'], 'store info');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WulfError);
    expect((err as WulfError).message).toBe('usage: wulf store info');
    expect((err as WulfError).hint).toBe('use --to STORE');
    expect((err as WulfError).exitCode).toBe(2);
  });

  test('field flags are parsed and shown before the typed ones and reach run as fields', async () => {
    let fields: unknown;
    const verb = defineCommand({
      name: 'set',
      summary: 'set',
      fieldFlags: { comment: { type: 'string', help: 'a comment' } },
      flags: { all: { type: 'boolean', help: 'every one' } },
      run: (_c, a) => {
        expectTypeOf(a.flags).toEqualTypeOf<{ all: boolean }>();
        fields = a.fields;
      },
    });
    expect(Object.keys(verb.flags ?? {})).toEqual(['comment', 'all']);
    await verb.run(ctx, { comment: 'hi' }, []);
    expect(fields).toEqual({ comment: 'hi' });
  });
});
