// Entry: the only place that reads argv and the environment and exits. Parses the global flags,
// finds the noun and verb, runs it, and turns errors into one line and an exit code.
import { createInterface } from 'node:readline/promises';
import { WulfError, errorLine, fsErrorLine } from './lib/errors.ts';
import { createLogger } from './lib/log.ts';
import { pathsFor, resolveRoot } from './config/paths.ts';
import { findNoun, nouns } from './cli/registry.ts';
import { findVerb, parseVerbArgs, renderNounHelp, renderVerbHelp, type Ctx } from './cli/command.ts';

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

async function main(argv: string[]): Promise<number> {
  let root: string | undefined;
  let debug = false;
  let logFormat: 'human' | 'json' = 'human';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (rest.length === 0) {
      if (a === '--root') {
        root = argv[++i];
        if (!root) throw new WulfError('--root needs a directory', { exitCode: 2 });
        continue;
      }
      if (a.startsWith('--root=')) {
        root = a.slice(7);
        continue;
      }
      if (a === '--debug' || a === '-d') {
        debug = true;
        continue;
      }
      if (a === '--log-format') {
        logFormat = argv[++i] === 'json' ? 'json' : 'human';
        continue;
      }
      if (a.startsWith('--log-format=')) {
        logFormat = a.slice(13) === 'json' ? 'json' : 'human';
        continue;
      }
    }
    rest.push(a);
  }
  if (process.env.WULF_DEBUG === '1') debug = true;
  const paths = pathsFor(resolveRoot(root, process.env, process.execPath), process.env.WULF_HOST_ROOT);
  const log = createLogger({ format: logFormat, level: debug ? 'debug' : 'info' });
  const ctx: Ctx = {
    paths,
    log,
    env: process.env,
    debug,
    logFormat,
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
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

  const [nounName, verbName, ...args] = rest;
  if (!nounName) {
    const tui = findNoun('tui');
    if (tui && ctx.isTTY) return runNoun(ctx, 'tui', undefined, []);
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

async function runNoun(ctx: Ctx, nounName: string, verbName: string | undefined, args: string[]): Promise<number> {
  const entry = findNoun(nounName);
  if (!entry) throw new WulfError(`unknown command '${nounName}'`, { hint: "run 'wulf --help' for the list", exitCode: 2 });
  const noun = await entry.load();
  if (noun.direct) {
    const argv = verbName !== undefined ? [verbName, ...args] : args;
    const { flags, positionals } = parseVerbArgs(noun.direct, argv, noun.name);
    if (flags.help) {
      ctx.out(renderVerbHelp(noun.name, noun.direct));
      return 0;
    }
    return (await noun.direct.run(ctx, flags, positionals)) ?? 0;
  }
  if (!verbName || verbName === '--help' || verbName === '-h' || verbName === 'help') {
    ctx.out(renderNounHelp(noun));
    return verbName ? 0 : 2;
  }
  const verb = findVerb(noun, verbName);
  if (!verb) throw new WulfError(`unknown command '${noun.name} ${verbName}'`, { hint: `run 'wulf ${noun.name} --help'`, exitCode: 2 });
  const { flags, positionals } = parseVerbArgs(verb, args, `${noun.name} ${verb.name}`);
  if (flags.help) {
    ctx.out(renderVerbHelp(noun.name, verb));
    return 0;
  }
  return (await verb.run(ctx, flags, positionals)) ?? 0;
}

const debugRequested = process.argv.includes('--debug') || process.env.WULF_DEBUG === '1';
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    if (e instanceof WulfError) {
      process.stderr.write(`wulf: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
      if (debugRequested && e.stack) process.stderr.write(e.stack + '\n');
      process.exitCode = e.exitCode;
    } else if (fsErrorLine(e) && !debugRequested) {
      // a file the user can fix (permissions, a full disk): one line, not an internal error
      process.stderr.write(`wulf: ${fsErrorLine(e)}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`wulf: ${errorLine(e)}\n`);
      if (debugRequested && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
      else process.stderr.write('  (an internal error: run with --debug for details)\n');
      process.exitCode = 1;
    }
  },
);
