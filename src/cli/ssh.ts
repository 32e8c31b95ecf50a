// `wulf ssh NODES [--] CMD...` (wwctl ssh): the command on every node at once (--fanout), each output
// line prefixed with the node's name, a summary of exit statuses at the end, exit 1 if any node failed.
// As with ssh itself, the command's words are joined with spaces and read by the node's shell.
import { WulfError } from '../lib/errors.ts';
import { compressHostlist } from '../lib/hostlist.ts';
import { mergeNode } from '../config/cascade.ts';
import { readConfigured } from '../store/open.ts';
import { clusterHostKeys, sshArgv, sshFanout, succeeded, targetOf, type SshOutcome } from '../remote/ssh.ts';
import type { Noun } from './command.ts';
import { defineCommand } from './define.ts';
import { selectNames } from './entity-common.ts';

const VALUE_FLAGS = new Set(['--fanout', '-f', '--sleep', '-s', '--rsh', '--timeout']);

/**
 * wwctl takes `ssh PATTERN CMD ARGS...` with no `--`: flags come before the pattern, and everything after
 * the pattern is the command (its own flags included). Rewritten as `FLAGS PATTERN -- CMD...`.
 */
export function splitSshArgs(argv: string[]): string[] {
  const flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return [...flags, ...argv.slice(i)];
    if (a.startsWith('-') && a !== '-') {
      flags.push(a);
      if (VALUE_FLAGS.has(a) && i + 1 < argv.length) flags.push(argv[++i]!);
      continue;
    }
    const rest = argv.slice(i + 1);
    return [...flags, a, '--', ...(rest[0] === '--' ? rest.slice(1) : rest)];
  }
  return flags;
}

function num(value: string, name: string, min: number): number {
  const v = Number(value);
  if (!Number.isFinite(v) || v < min) throw new WulfError(`--${name} ${value}: expected a number ≥ ${min}`, { exitCode: 2 });
  return v;
}

function describe(o: SshOutcome): string {
  if (o.error) return o.error;
  if (o.signal) return `killed by ${o.signal}`;
  return `exit ${o.exit}${o.exit === 255 ? ' (ssh could not connect or log in)' : ''}`;
}

const ssh = defineCommand({
  name: '',
  summary:
    'run a command on nodes over ssh, in parallel, each output line prefixed with the node name' +
    " (the words are joined and read by the node's shell, as ssh does)",
  usage: 'NODES [--] CMD [ARGS...]',
  positionals: [
    { name: 'nodes', required: true },
    { name: 'cmd', variadic: true, required: true },
  ],
  usageHint: "e.g. wulf ssh 'n[01-04]' -- uptime",
  usageExit: 2,
  passthrough: true,
  preprocess: splitSshArgs,
  flags: {
    fanout: { type: 'string', short: 'f', arg: 'N', help: 'sessions at once', default: '32' },
    sleep: { type: 'string', short: 's', arg: 'SECONDS', help: 'at least this long between two session starts', default: '0' },
    timeout: { type: 'string', arg: 'SECONDS', help: 'end a session after this long (0: no limit)', default: '0' },
    rsh: { type: 'string', arg: 'PATH', help: 'the ssh client', default: 'ssh' },
    dryrun: { type: 'boolean', short: 'n', help: 'print the commands, run nothing' },
  },
  async run(ctx, { flags, pos: { nodes: pattern, cmd } }) {
    const fan = num(flags.fanout, 'fanout', 1),
      sleepS = num(flags.sleep, 'sleep', 0),
      timeoutS = num(flags.timeout, 'timeout', 0);
    const conf = await readConfigured(ctx.paths, ctx.env);
    const names = selectNames(conf, 'node', [pattern]);
    const targets = names.map((n) => targetOf(mergeNode(conf, n)));
    const rsh = flags.rsh;
    if (flags.dryrun) {
      for (const t of targets) ctx.out(`${t.node}: ${t.address ? sshArgv(rsh, t, cmd, { identities: [] }).join(' ') : '(no address)'}`);
      return 0;
    }
    if (!Bun.which(rsh)) throw new WulfError(`${rsh}: not found`, { hint: 'apt-get install openssh-client, or --rsh PATH' });
    if (/(^|\/)ssh$/.test(rsh) && !clusterHostKeys(ctx.paths).length) {
      ctx.err(
        "ssh: no cluster host keys (wulf configure ssh makes them): the nodes' keys are checked against your own known_hosts," +
          ' and an unknown one fails (BatchMode)',
      );
    }
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    let results: SshOutcome[];
    try {
      results = await sshFanout(ctx.paths, targets, cmd, {
        fanout: fan,
        sleepMs: sleepS * 1000,
        timeoutMs: timeoutS * 1000,
        rsh,
        signal: ac.signal,
        onLine: (node, stream, line) => (stream === 'out' ? ctx.out : ctx.err)(`${node}: ${line}`),
      });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    const ok = results.filter(succeeded),
      bad = results.filter((o) => !succeeded(o));
    const okNodes = ok.length ? ` (${compressHostlist(ok.map((o) => o.node))})` : '';
    ctx.err(`ssh: ${results.length} node${results.length === 1 ? '' : 's'}, ${ok.length} ok${okNodes}, ${bad.length} failed`);
    for (const o of bad) ctx.err(`  ${o.node}: ${describe(o)}`);
    return bad.length ? 1 : 0;
  },
});

export const noun: Noun = { verbs: [], direct: ssh };
