// `wulf node console NODE` (serial over LAN, attached to this terminal) and `wulf node sensors
// PATTERN` (BMC sensor readings, fanned out). The lead adds both verbs to the `node` noun.
import { defineCommand } from './define.ts';
import { WulfError, fail } from '../lib/errors.ts';
import { driverName, PowerError, displayArg, maskSecret, type ConsolePlan } from '../power/driver.ts';
import { describeRun, outcomeLine, runSensors, skipReason, summaryLine, type NodeOutcome } from '../power/run.ts';
import { attach } from '../power/console.ts';
import { driversFor, fanoutOf, loadTargets, printShow, runFlags } from './power.ts';

export const console = defineCommand({
  name: 'console',
  summary: 'attach to a node serial console (IPMI serial over LAN)',
  usage: 'NODE',
  flags: {
    show: runFlags.show,
    force: { type: 'boolean', short: 'f', help: 'end a SOL session the BMC still holds (another client, a stale one) and attach' },
  },
  // a node name (not a pattern), exactly one
  positionals: [{ name: 'nodes', variadic: true }],
  async run(ctx, { flags: f, pos: { nodes } }) {
    if (nodes.length !== 1) fail('give exactly one node', 'usage: wulf node console NODE');
    const [t] = await loadTargets(ctx, nodes);
    if (!t) fail(`no node ${nodes[0]}`);
    const drivers = driversFor(ctx);
    if (f.show) return printShow(ctx, describeRun([t], 'console', { drivers }), false);
    const why = skipReason(t, drivers);
    if (why) fail(`${t.node}: ${why.skipped ?? why.failed}`, 'set it with wulf node set --ipmiaddr …');
    function pwErr(e: unknown): never {
      if (e instanceof PowerError)
        throw new WulfError(
          `${t!.node}: ${maskSecret(e.message, t!.ipmi.password)}`,
          e.kind === 'unsupported' ? { hint: 'use ipmi driver ipmitool if the BMC also speaks IPMI serial over LAN' } : {},
        );
      throw e;
    }
    let plan: ConsolePlan;
    try {
      plan = await drivers[driverName(t.ipmi)]!.console(t, { signal: AbortSignal.timeout(15_000) });
    } catch (e) {
      pwErr(e);
    }
    if (f.force) {
      if (!plan.release) fail(`${t.node}: --force: this console has no way to end another session`);
      try {
        await plan.release(AbortSignal.timeout(15_000));
      } catch (e) {
        pwErr(e);
      }
    }
    if (!ctx.isTTY) ctx.err('warning: not a terminal; the console may not work');
    ctx.err(
      `${t.node}: ${plan.argv.map(displayArg).join(' ')}${plan.escape ? ` (type ${plan.escape} at the start of a line to leave)` : ''}`,
    );
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined) env[k] = v;
    let r;
    try {
      r = await attach(plan, { env, tty: ctx.isTTY, stderr: (l) => process.stderr.write(l) });
    } catch (e) {
      fail(`cannot run ${plan.argv[0]}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed' : (e as Error).message}`);
    }
    if (ctx.isTTY) process.stdout.write('\r'); // ipmitool leaves raw mode after its last newline
    if (r.failure) {
      const hint = r.failure.kind === 'busy' ? `wulf node console --force ${t.node} ends that session and attaches` : r.failure.hint;
      throw new WulfError(`${t.node}: ${maskSecret(r.failure.message, t.ipmi.password)}`, hint ? { hint } : {});
    }
    return r.code;
  },
});

export const sensors = defineCommand({
  name: 'sensors',
  summary: 'read BMC sensors (-F: every sensor with thresholds)',
  usage: 'PATTERN...',
  flags: { ...runFlags, full: { type: 'boolean', short: 'F', help: 'full sensor list (ipmitool sensor list / Redfish voltages)' } },
  positionals: [{ name: 'pattern', variadic: true }],
  async run(ctx, { flags: f, pos }) {
    const targets = await loadTargets(ctx, pos.pattern, { requirePattern: true });
    const drivers = driversFor(ctx);
    if (f.show) return printShow(ctx, describeRun(targets, f.full ? 'sensors-full' : 'sensors', { drivers }), f.json);
    const { fanout, timeoutMs } = fanoutOf(f);
    const onResult = f.json
      ? undefined
      : (r: NodeOutcome) => {
          if (r.status !== 'ok') return ctx.out(outcomeLine(r, 'sensors'));
          if (!r.readings?.length) return ctx.out(`${r.node}: no sensors`);
          const w = Math.max(...r.readings.map((x) => x.name.length));
          for (const x of r.readings)
            ctx.out(`${r.node}: ${x.name.padEnd(w)} | ${x.value}${x.unit ? ' ' + x.unit : ''}${x.status ? ' | ' + x.status : ''}`);
        };
    const { results, summary: s } = await runSensors(targets, { drivers, fanout, timeoutMs, full: f.full, onResult });
    if (f.json) ctx.out(JSON.stringify({ results, summary: s }, null, 2));
    else ctx.out(summaryLine('sensors', s));
    return s.failed > 0 ? 1 : 0;
  },
});
