// `wulf node console NODE` (serial over LAN, attached to this terminal) and `wulf node sensors
// PATTERN` (BMC sensor readings, fanned out). The lead adds both verbs to the `node` noun.
import type { Verb } from './command.ts';
import { WulfError, fail } from '../lib/errors.ts';
import { driverName, PowerError, displayArg, maskSecret } from '../power/driver.ts';
import { describeRun, outcomeLine, runSensors, skipReason, summaryLine, type NodeOutcome } from '../power/run.ts';
import { driversFor, fanoutOf, loadTargets, printShow, runFlags } from './power.ts';

export const console: Verb = {
  name: 'console', summary: 'attach to a node serial console (IPMI serial over LAN)', usage: 'NODE',
  flags: { show: runFlags.show! },
  async run(ctx, f, pos) {
    if (pos.length !== 1) fail('give exactly one node', "usage: wulf node console NODE");
    const [t] = loadTargets(ctx, pos);
    if (!t) fail(`no node ${pos[0]}`);
    const drivers = driversFor(ctx);
    if (f.show) return printShow(ctx, describeRun([t], 'console', { drivers }), false);
    const why = skipReason(t, drivers);
    if (why) fail(`${t.node}: ${why.skipped ?? why.failed}`, 'set it with wulf node set --ipmiaddr …');
    let plan;
    try { plan = await drivers[driverName(t.ipmi)]!.console(t, { signal: AbortSignal.timeout(15_000) }); } catch (e) {
      if (e instanceof PowerError) throw new WulfError(`${t.node}: ${maskSecret(e.message, t.ipmi.password)}`, e.kind === 'unsupported' ? { hint: 'use ipmi driver ipmitool if the BMC also speaks IPMI serial over LAN' } : {});
      throw e;
    }
    if (!ctx.isTTY) ctx.err('warning: not a terminal; the console may not work');
    ctx.err(`${t.node}: ${plan.argv.map(displayArg).join(' ')}`);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined) env[k] = v;
    let proc;
    try {
      proc = Bun.spawn(plan.argv, { stdio: ['inherit', 'inherit', 'inherit'], env: { ...env, ...plan.env } });
    } catch (e) {
      fail(`cannot run ${plan.argv[0]}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed' : (e as Error).message}`);
    }
    return await proc.exited;
  },
};

export const sensors: Verb = {
  name: 'sensors', summary: 'read BMC sensors (-F: every sensor with thresholds)', usage: 'PATTERN...',
  flags: { ...runFlags, full: { type: 'boolean', short: 'F', help: 'full sensor list (ipmitool sensor list / Redfish voltages)' } },
  async run(ctx, f, pos) {
    const targets = loadTargets(ctx, pos, { requirePattern: true });
    const drivers = driversFor(ctx);
    if (f.show) return printShow(ctx, describeRun(targets, f.full ? 'sensors-full' : 'sensors', { drivers }), !!f.json);
    const { fanout, timeoutMs } = fanoutOf(f);
    const onResult = f.json ? undefined : (r: NodeOutcome) => {
      if (r.status !== 'ok') return ctx.out(outcomeLine(r, 'sensors'));
      if (!r.readings?.length) return ctx.out(`${r.node}: no sensors`);
      const w = Math.max(...r.readings.map((x) => x.name.length));
      for (const x of r.readings) ctx.out(`${r.node}: ${x.name.padEnd(w)} | ${x.value}${x.unit ? ' ' + x.unit : ''}${x.status ? ' | ' + x.status : ''}`);
    };
    const { results, summary: s } = await runSensors(targets, { drivers, fanout, timeoutMs, full: !!f.full, onResult });
    if (f.json) ctx.out(JSON.stringify({ results, summary: s }, null, 2));
    else ctx.out(summaryLine('sensors', s));
    return s.failed > 0 ? 1 : 0;
  },
};
