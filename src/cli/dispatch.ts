// From argv to a verb: the global flags (--root, -d/--debug, --log-format), the Ctx, the noun and
// verb found in the registry, their flags parsed, --help; and a thrown error turned into one line
// (its stack too with --debug) and an exit code. main.ts hands in argv and the environment and
// sets the exit code it gets back.
import { createInterface } from 'node:readline/promises';
import { errorLine, fsErrorLine, WulfError } from '../lib/errors.ts';
import { createLogger } from '../lib/log.ts';
import { pathsFor, resolveRoot } from '../config/paths.ts';
import { findNoun, nouns } from './registry.ts';
import { type Ctx, findVerb, parseVerbArgs, renderNounHelp, renderVerbHelp } from './command.ts';

type Env = Record<string, string | undefined>;

function usage(): string {
  const w = Math.max(...nouns.map((n) => n.name.length)) + 3;
  return [
    'wulf — stateless HPC cluster provisioner',
    '',
    'Usage: wulf [--root DIR] [--debug] <command> ...',
    '',
    'Commands:',
    ...nouns.map((n) => `  ${n.name.padEnd(w)}${n.summary}`),
    '',
    'Global flags:',
    '  --root DIR         relocate every path (or WULF_ROOT, or wulf-data/ beside the binary)',
    '  --debug            show stack traces and debug logs',
    '  --log-format F     human (default) or json',
    '',
    "Run 'wulf <command> --help' for more.",
  ].join('\n');
}

export interface GlobalFlags {
  root?: string;
  debug: boolean;
  logFormat: 'human' | 'json';
  /** the words after the global flags: noun, verb, their arguments */
  rest: string[];
}

/** The global flags before the noun; `--root` without a directory is an error. */
export function parseGlobalFlags(argv: string[]): GlobalFlags {
  const g: GlobalFlags = { debug: false, logFormat: 'human', rest: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--root') {
      g.root = argv[++i];
      if (!g.root) throw new WulfError('--root needs a directory', { exitCode: 2 });
    } else if (a.startsWith('--root=')) g.root = a.slice(7);
    else if (a === '--debug' || a === '-d') g.debug = true;
    else if (a === '--log-format') g.logFormat = argv[++i] === 'json' ? 'json' : 'human';
    else if (a.startsWith('--log-format=')) g.logFormat = a.slice(13) === 'json' ? 'json' : 'human';
    else break;
  }
  g.rest = argv.slice(i);
  return g;
}

function makeCtx(g: GlobalFlags, env: Env): Ctx {
  const paths = pathsFor(resolveRoot(g.root, env, process.execPath), env.WULF_HOST_ROOT);
  return {
    paths,
    log: createLogger({ format: g.logFormat, level: g.debug ? 'debug' : 'info' }),
    env,
    debug: g.debug,
    logFormat: g.logFormat,
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
    isTTY: !!process.stdout.isTTY && !!process.stdin.isTTY,
    confirm: async (q) => {
      if (!process.stdin.isTTY) return false;
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await rl.question(`${q} [y/N] `)).trim());
      } finally {
        rl.close();
      }
    },
  };
}

async function runNoun(ctx: Ctx, nounName: string, verbName: string | undefined, args: string[]): Promise<number> {
  const entry = findNoun(nounName);
  if (!entry) throw new WulfError(`unknown command '${nounName}'`, { hint: "run 'wulf --help' for the list", exitCode: 2 });
  const noun = await entry.load();
  if (noun.direct) {
    const argv = verbName !== undefined ? [verbName, ...args] : args;
    const { flags, positionals } = parseVerbArgs(noun.direct, argv, entry.name);
    if (flags.help) {
      ctx.out(renderVerbHelp(entry.name, noun.direct));
      return 0;
    }
    return (await noun.direct.run(ctx, flags, positionals, entry.name)) ?? 0;
  }
  if (!verbName || verbName === '--help' || verbName === '-h' || verbName === 'help') {
    ctx.out(renderNounHelp(entry, noun));
    return verbName ? 0 : 2;
  }
  const verb = findVerb(noun, verbName);
  if (!verb) throw new WulfError(`unknown command '${entry.name} ${verbName}'`, { hint: `run 'wulf ${entry.name} --help'`, exitCode: 2 });
  const command = `${entry.name} ${verb.name}`;
  const { flags, positionals } = parseVerbArgs(verb, args, command);
  if (flags.help) {
    ctx.out(renderVerbHelp(entry.name, verb));
    return 0;
  }
  return (await verb.run(ctx, flags, positionals, command)) ?? 0;
}

async function dispatch(g: GlobalFlags, env: Env): Promise<number> {
  const ctx = makeCtx(g, env);
  const [nounName, verbName, ...args] = g.rest;
  if (!nounName) {
    if (findNoun('tui') && ctx.isTTY) return runNoun(ctx, 'tui', undefined, []);
    ctx.out(usage());
    return 0;
  }
  if (nounName === '--help' || nounName === '-h' || nounName === 'help') {
    ctx.out(usage());
    return 0;
  }
  if (nounName === '--version' || nounName === '-V') return runNoun(ctx, 'version', undefined, []);
  return runNoun(ctx, nounName, verbName, args);
}

/** One line on stderr for an error (and its stack with --debug); the exit code. */
export function reportError(e: unknown, debug: boolean): number {
  if (e instanceof WulfError) {
    process.stderr.write(`wulf: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
    if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
    return e.exitCode;
  }
  if (fsErrorLine(e) && !debug) {
    // a file the user can fix (permissions, a full disk): one line, not an internal error
    process.stderr.write(`wulf: ${fsErrorLine(e)}\n`);
    return 1;
  }
  process.stderr.write(`wulf: ${errorLine(e)}\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  else process.stderr.write('  (an internal error: run with --debug for details)\n');
  return 1;
}

/** Run wulf on argv (without the program) and the environment; the exit code. */
export async function runCli(argv: string[], env: Env): Promise<number> {
  // --debug anywhere, -d or --debug among the global flags, or WULF_DEBUG=1: stack traces and debug logs
  let debug = argv.includes('--debug') || env.WULF_DEBUG === '1';
  // a reader that went away (`wulf node list | head -1`): stop quietly, as other tools do, not with a stack trace
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
  try {
    const g = parseGlobalFlags(argv);
    if (env.WULF_DEBUG === '1') g.debug = true;
    debug ||= g.debug;
    return await dispatch(g, env);
  } catch (e) {
    return reportError(e, debug);
  }
}
