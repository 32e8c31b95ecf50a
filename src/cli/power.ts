// `wulf power on|off|cycle|reset|soft|status PATTERN...`: node patterns → merged nodes → power
// targets, fanned out to ipmitool or Redfish; one line per node as results land, then a summary.
// `-s/--show` prints what would be sent (passwords masked) and sends nothing.
import type { Ctx, Flags, Noun } from './command.ts';
import { defineCommand, type FlagsOf } from './define.ts';
import { WulfError, fail } from '../lib/errors.ts';
import { matchNodes } from '../lib/hostlist.ts';
import { readConfigured } from '../store/open.ts';
import { mergeNode, naturalCompare } from '../config/cascade.ts';
import { join } from 'node:path';
import type { PowerAction, PowerTarget } from '../power/driver.ts';
import {
  defaultDrivers,
  describeRun,
  outcomeLine,
  parseDuration,
  runPower,
  summaryLine,
  targetsFromNodes,
  type Drivers,
  type NodeOutcome,
} from '../power/run.ts';

export const runFlags = {
  show: { type: 'boolean', short: 's', help: 'print the commands/requests (password masked) and do nothing' },
  fanout: { type: 'string', arg: 'N', help: 'nodes driven at once', default: '50' },
  timeout: { type: 'string', arg: 'DURATION', help: 'per-node time limit', default: '10s' },
  json: { type: 'boolean', short: 'j', help: 'JSON output' },
} as const satisfies Flags;

/** on, cycle and reset only */
const bootFlags = {
  pxe: { type: 'boolean', help: 'boot from the network once (IPMI bootdev pxe / Redfish boot override)' },
  stagger: { type: 'string', arg: 'DURATION', help: 'start one node per interval (boot storms), e.g. 0.5s' },
} as const satisfies Flags;

/** Merged nodes matching the patterns, as power targets (the CLI's glue to src/power). */
export async function loadTargets(ctx: Ctx, patterns: string[], opts: { requirePattern?: boolean } = {}): Promise<PowerTarget[]> {
  if (opts.requirePattern && patterns.length === 0) fail('give a node pattern (e.g. n[01-04]); use "*" for all nodes');
  const conf = await readConfigured(ctx.paths, ctx.env);
  const names = Object.keys(conf.nodes).sort(naturalCompare);
  const matched = matchNodes(patterns, names);
  if (matched.length === 0) {
    throw new WulfError(patterns.length ? `no node matches ${patterns.join(' ')}` : 'there are no nodes', { hint: "see 'wulf node list'" });
  }
  return targetsFromNodes(matched.map((id) => mergeNode(conf, id)));
}

export function driversFor(ctx: Ctx): Drivers {
  return defaultDrivers({ env: ctx.env, templateDir: join(ctx.paths.confDir, 'bmc') });
}

export function fanoutOf(flags: { fanout?: string; timeout?: string }): { fanout: number; timeoutMs: number } {
  const fanout = Number(flags.fanout ?? 50);
  if (!Number.isInteger(fanout) || fanout < 1)
    throw new WulfError(`--fanout ${flags.fanout}: expected a whole number ≥ 1`, { code: 'EARG', exitCode: 2 });
  const timeoutMs = parseDuration(flags.timeout ?? '10s', 'timeout');
  if (timeoutMs <= 0) throw new WulfError('--timeout must be more than 0', { code: 'EARG', exitCode: 2 });
  return { fanout, timeoutMs };
}

/** Print the --show plan: `node: line` for every request/command. */
export function printShow(ctx: Ctx, plans: ReturnType<typeof describeRun>, json: boolean): number {
  if (json) {
    ctx.out(JSON.stringify(plans, null, 2));
    return plans.some((p) => p.error) ? 1 : 0;
  }
  for (const p of plans) {
    if (p.skipped) ctx.out(`${p.node}: skipped: ${p.skipped}`);
    else if (p.error) ctx.out(`${p.node}: failed: ${p.error}`);
    else for (const l of p.lines) ctx.out(`${p.node}: ${l}`);
  }
  return plans.some((p) => p.error) ? 1 : 0;
}

type PowerFlags = FlagsOf<typeof runFlags> & Partial<FlagsOf<typeof bootFlags>>;

async function runPowerVerb(ctx: Ctx, action: PowerAction, f: PowerFlags, patterns: string[]): Promise<number> {
  const targets = await loadTargets(ctx, patterns, { requirePattern: action !== 'status' });
  const drivers = driversFor(ctx);
  const pxe = !!f.pxe;
  if (f.show) return printShow(ctx, describeRun(targets, action, { drivers, pxe }), f.json);
  const { fanout, timeoutMs } = fanoutOf(f);
  const staggerMs = f.stagger ? parseDuration(f.stagger, 'stagger') : 0;
  const onResult = f.json ? undefined : (r: NodeOutcome) => ctx.out(outcomeLine(r, action));
  const { results, summary: s } = await runPower(targets, action, { drivers, fanout, timeoutMs, staggerMs, pxe, onResult });
  if (f.json) ctx.out(JSON.stringify({ action, results, summary: s }, null, 2));
  else ctx.out(summaryLine(`power ${action}`, s));
  return s.failed > 0 ? 1 : 0;
}

function powerVerb(action: PowerAction, summary: string) {
  // a missing pattern is loadTargets' error, which says how to name every node
  const positionals = [{ name: 'pattern', variadic: true }] as const;
  if (action === 'on' || action === 'cycle' || action === 'reset')
    return defineCommand({
      name: action,
      summary,
      usage: 'PATTERN...',
      flags: { ...runFlags, ...bootFlags },
      positionals,
      run: (ctx, { flags, pos }) => runPowerVerb(ctx, action, flags, pos.pattern),
    });
  return defineCommand({
    name: action,
    summary,
    usage: action === 'status' ? '[PATTERN...]' : 'PATTERN...',
    flags: runFlags,
    positionals,
    run: (ctx, { flags, pos }) => runPowerVerb(ctx, action, flags, pos.pattern),
  });
}

export const noun: Noun = {
  verbs: [
    powerVerb('on', 'power nodes on'),
    powerVerb('off', 'power nodes off (hard)'),
    powerVerb('cycle', 'power cycle nodes (off, then on)'),
    powerVerb('reset', 'hard-reset nodes'),
    powerVerb('soft', 'ask the OS to shut down (ACPI soft off)'),
    powerVerb('status', 'print the power state of nodes'),
  ],
};
