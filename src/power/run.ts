// Power service: pick the driver per node (`ipmi.driver`), fan out, and report one outcome per node
// as it lands (ok / failed / skipped with a reason), then a summary. Also --show plans and the
// conversion from merged nodes to PowerTargets. Faces (CLI, TUI, API) call these.
import type { MergedNode } from '../config/cascade.ts';
import { WulfError, errorLine } from '../lib/errors.ts';
import { fanout, fmtSeconds, TimeoutError } from './fanout.ts';
import { createIpmitoolDriver } from './ipmitool.ts';
import { createRedfishDriver } from './redfish.ts';
import { PowerError, driverName, maskSecret, type PowerAction, type PowerDriver, type PowerTarget, type SensorReading } from './driver.ts';

export type Drivers = Record<string, PowerDriver>;

export function defaultDrivers(opts: { env?: Record<string, string | undefined>; templateDir?: string } = {}): Drivers {
  return { ipmitool: createIpmitoolDriver(opts), redfish: createRedfishDriver({ env: opts.env }) };
}

export function targetsFromNodes(nodes: MergedNode[]): PowerTarget[] {
  return nodes.map((n) => ({ node: n.id, ipmi: n.data.ipmi ?? {} }));
}

export interface NodeOutcome {
  node: string;
  status: 'ok' | 'failed' | 'skipped';
  driver?: string;
  /** 'on' / 'off' for status */
  state?: string;
  detail?: string;
  error?: string;
  /** auth | unreachable | timeout | protocol | unsupported | config | failed */
  kind?: string;
  readings?: SensorReading[];
  ms: number;
}
export interface Summary {
  total: number;
  ok: number;
  failed: number;
  skipped: number;
  ms: number;
}

export interface RunOptions {
  drivers: Drivers;
  fanout?: number;
  timeoutMs?: number;
  staggerMs?: number;
  pxe?: boolean;
  signal?: AbortSignal;
  onResult?: (r: NodeOutcome) => void;
}

/** Why this target cannot be driven, or undefined. */
export function skipReason(t: PowerTarget, drivers: Drivers): { skipped?: string; failed?: string } | undefined {
  if (!t.ipmi.ipaddr) return { skipped: 'no BMC address (ipmi ipaddr)' };
  const d = driverName(t.ipmi);
  if (!drivers[d]) return { failed: `unknown ipmi driver "${d}" (ipmitool or redfish)` };
  return undefined;
}

async function fanoutNodes(
  targets: PowerTarget[],
  opts: RunOptions,
  job: (d: PowerDriver, t: PowerTarget, signal: AbortSignal) => Promise<Partial<NodeOutcome>>,
): Promise<{ results: NodeOutcome[]; summary: Summary }> {
  const t0 = performance.now();
  const results: NodeOutcome[] = [];
  const emit = (r: NodeOutcome) => {
    results.push(r);
    opts.onResult?.(r);
  };
  const runnable: PowerTarget[] = [];
  for (const t of targets) {
    const why = skipReason(t, opts.drivers);
    if (why?.skipped) emit({ node: t.node, status: 'skipped', detail: why.skipped, ms: 0 });
    else if (why?.failed) emit({ node: t.node, status: 'failed', error: why.failed, kind: 'config', ms: 0 });
    else runnable.push(t);
  }
  await fanout(
    runnable,
    (t, signal) => job(opts.drivers[driverName(t.ipmi)]!, t, signal),
    { fanout: opts.fanout ?? 50, timeoutMs: opts.timeoutMs ?? 10_000, staggerMs: opts.staggerMs, signal: opts.signal },
    (t, o) => {
      const driver = driverName(t.ipmi);
      if (o.ok) emit({ node: t.node, status: 'ok', driver, ...o.value, ms: o.ms });
      else {
        const e = o.error;
        const kind = o.timedOut || e instanceof TimeoutError ? 'timeout' : e instanceof PowerError ? e.kind : 'failed';
        emit({ node: t.node, status: 'failed', driver, error: errorLine(e), kind, ms: o.ms });
      }
    },
  );
  const count = (s: NodeOutcome['status']) => results.filter((r) => r.status === s).length;
  return {
    results,
    summary: { total: results.length, ok: count('ok'), failed: count('failed'), skipped: count('skipped'), ms: performance.now() - t0 },
  };
}

export function runPower(targets: PowerTarget[], action: PowerAction, opts: RunOptions) {
  const pxe = !!opts.pxe && action !== 'status' && action !== 'off' && action !== 'soft';
  return fanoutNodes(targets, opts, async (d, t, signal) => {
    const r = await d.power(t, action, { pxe, signal });
    return { state: r.state, detail: r.detail };
  });
}

export function runSensors(targets: PowerTarget[], opts: RunOptions & { full?: boolean }) {
  return fanoutNodes(targets, opts, async (d, t, signal) => {
    const r = await d.sensors(t, { full: opts.full, signal });
    return { readings: r.readings, detail: `${r.readings.length} readings` };
  });
}

/** --show: what would be sent to each node (secrets masked), without sending anything. */
export function describeRun(
  targets: PowerTarget[],
  op: PowerAction | 'sensors' | 'sensors-full' | 'console',
  opts: { drivers: Drivers; pxe?: boolean },
): { node: string; lines: string[]; skipped?: string; error?: string }[] {
  return targets.map((t) => {
    const why = skipReason(t, opts.drivers);
    if (why?.skipped) return { node: t.node, lines: [], skipped: why.skipped };
    if (why?.failed) return { node: t.node, lines: [], error: why.failed };
    try {
      const lines = opts.drivers[driverName(t.ipmi)]!.describe(t, op, { pxe: opts.pxe });
      return { node: t.node, lines: lines.map((l) => maskSecret(l, t.ipmi.password)) };
    } catch (e) {
      return { node: t.node, lines: [], error: maskSecret(errorLine(e), t.ipmi.password) };
    }
  });
}

/** The line printed for one node as it lands. */
export function outcomeLine(r: NodeOutcome, action: PowerAction | 'sensors'): string {
  if (r.status === 'skipped') return `${r.node}: skipped: ${r.detail}`;
  if (r.status === 'failed') return `${r.node}: failed: ${r.error}`;
  if (action === 'status') return `${r.node}: ${r.state}`;
  if (action === 'sensors') return `${r.node}: ${r.detail}`;
  return `${r.node}: ${action} ok${r.detail ? ` (${r.detail})` : ''}`;
}

export function summaryLine(what: string, s: Summary): string {
  return `${what}: ${s.total} node${s.total === 1 ? '' : 's'}: ${s.ok} ok, ${s.failed} failed, ${s.skipped} skipped in ${fmtSeconds(s.ms)}`;
}

/** Parse `10s`, `500ms`, `0.5s`, `2m` or a bare number of seconds into milliseconds. */
export function parseDuration(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new WulfError(`--${flag} ${v}: expected a duration such as 10s, 500ms or 0.5s`, { code: 'EARG', exitCode: 2 });
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}
