// The Redfish driver: finds the ComputerSystem (first member of /redfish/v1/Systems, or the
// `system` ipmi tag), reads PowerState, posts ComputerSystem.Reset, PATCHes a one-time PXE boot
// override, and reads Chassis Thermal/Power for sensors. Console: only what SerialConsole offers.
import { createIpmitoolDriver } from './ipmitool.ts';
import { RedfishSession, SESSIONS, SYSTEMS, authMode, baseUrl, link, type Json } from './redfish-client.ts';
import {
  MASK,
  PowerError,
  type ActionOptions,
  type ActionResult,
  type ConsolePlan,
  type PowerAction,
  type PowerDriver,
  type PowerTarget,
  type SensorReading,
} from './driver.ts';

const RESET: Record<Exclude<PowerAction, 'status' | 'cycle'>, string> = {
  on: 'On',
  off: 'ForceOff',
  soft: 'GracefulShutdown',
  reset: 'ForceRestart',
};
const STATES = new Set(['On', 'Off', 'PoweringOn', 'PoweringOff', 'Paused']);
export const PXE_ONCE = { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' } };

export interface RedfishOptions {
  /** poll interval while waiting for Off in the ForceOff+On cycle fallback */
  pollMs?: number;
  /** ipmitool settings, for a BMC whose SerialConsole offers IPMI SOL */
  env?: Record<string, string | undefined>;
}

function systemPathHint(t: PowerTarget): string | undefined {
  const s = t.ipmi.tags?.system;
  if (!s) return undefined;
  return s.startsWith('/') ? s : `${SYSTEMS}/${encodeURIComponent(s)}`;
}

async function withSession<T>(t: PowerTarget, signal: AbortSignal | undefined, fn: (s: RedfishSession) => Promise<T>): Promise<T> {
  if (!t.ipmi.ipaddr) throw new PowerError('no BMC address', 'config');
  const s = new RedfishSession(t, signal);
  await s.open();
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

async function systemOf(s: RedfishSession): Promise<{ path: string; json: Json; etag?: string }> {
  let path = systemPathHint(s.t);
  if (!path) {
    const { json } = await s.get(SYSTEMS);
    const members = json.Members;
    if (!Array.isArray(members)) throw new PowerError(`unexpected reply from ${SYSTEMS}: no Members list`, 'protocol');
    path = link(members[0]);
    if (!path) throw new PowerError(`${SYSTEMS} lists no system`, 'protocol');
  }
  const { json, etag } = await s.get(path);
  return { path, json, etag };
}

function powerState(path: string, sys: Json): string {
  const st = sys.PowerState;
  if (typeof st !== 'string' || !STATES.has(st))
    throw new PowerError(`unexpected reply from ${path}: PowerState is ${JSON.stringify(st)}`, 'protocol');
  return st;
}

function resetInfo(path: string, sys: Json): { target: string; allowed?: string[] } {
  const action = (sys.Actions as Json | undefined)?.['#ComputerSystem.Reset'] as Json | undefined;
  const target = action?.target;
  if (typeof target !== 'string') throw new PowerError(`${path} offers no #ComputerSystem.Reset action`, 'unsupported');
  const allowed = action?.['ResetType@Redfish.AllowableValues'];
  return { target, allowed: Array.isArray(allowed) ? allowed.map(String) : undefined };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res, rej) => {
    const timer = setTimeout(res, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        rej(new PowerError('timed out', 'timeout'));
      },
      { once: true },
    );
  });

/** Temperatures, fans and power draw (and, `full`, voltages) from the Thermal and Power of the system's first Chassis. */
async function chassisReadings(s: RedfishSession, path: string, json: Json, full: boolean): Promise<SensorReading[]> {
  const chassisList = (json.Links as Json | undefined)?.Chassis;
  const chassis = Array.isArray(chassisList) ? link(chassisList[0]) : undefined;
  if (!chassis) throw new PowerError(`${path} links no Chassis: no sensors to read`, 'unsupported');
  const ch = (await s.get(chassis)).json;
  const readings: SensorReading[] = [];
  const health = (x: Json) => ((x.Status as Json | undefined)?.Health as string | undefined) ?? undefined;
  const thermal = link(ch.Thermal);
  if (thermal) {
    const th = (await s.get(thermal)).json;
    for (const x of (th.Temperatures as Json[] | undefined) ?? [])
      readings.push({
        name: String(x.Name ?? x.MemberId ?? '?'),
        value: String(x.ReadingCelsius ?? 'na'),
        unit: 'degrees C',
        status: health(x),
      });
    for (const x of (th.Fans as Json[] | undefined) ?? [])
      readings.push({
        name: String(x.Name ?? x.MemberId ?? '?'),
        value: String(x.Reading ?? 'na'),
        unit: String(x.ReadingUnits ?? 'RPM'),
        status: health(x),
      });
  }
  const power = link(ch.Power);
  if (power) {
    const pw = (await s.get(power)).json;
    for (const x of (pw.PowerControl as Json[] | undefined) ?? [])
      readings.push({
        name: String(x.Name ?? 'Power'),
        value: String(x.PowerConsumedWatts ?? 'na'),
        unit: 'Watts',
        status: health(x),
      });
    if (full)
      for (const x of (pw.Voltages as Json[] | undefined) ?? [])
        readings.push({
          name: String(x.Name ?? x.MemberId ?? '?'),
          value: String(x.ReadingVolts ?? 'na'),
          unit: 'Volts',
          status: health(x),
        });
  }
  return readings;
}

/** The requests an operation would send (for --show), the password masked. */
function describeRequests(t: PowerTarget, op: PowerAction | 'sensors' | 'sensors-full' | 'console', o: { pxe?: boolean }): string[] {
  const base = baseUrl(t);
  const sys = systemPathHint(t) ?? '<first member of /redfish/v1/Systems>';
  const lines: string[] = [];
  const session = authMode(t) === 'session';
  if (session) lines.push(`POST ${base}${SESSIONS} ${JSON.stringify({ UserName: t.ipmi.username ?? '', Password: MASK })}`);
  const auth = session ? ' (X-Auth-Token)' : ` (Authorization: Basic ${MASK})`;
  if (!systemPathHint(t)) lines.push(`GET ${base}${SYSTEMS}${auth}`);
  lines.push(`GET ${base}${sys}${auth}`);
  if (op === 'sensors' || op === 'sensors-full') lines.push(`GET ${base}<Chassis>, <Chassis>/Thermal, <Chassis>/Power${auth}`);
  else if (op !== 'status' && op !== 'console') {
    if (o.pxe) lines.push(`PATCH ${base}${sys} ${JSON.stringify(PXE_ONCE)}${auth}`);
    const type = op === 'cycle' ? 'PowerCycle' : RESET[op];
    const fallback = op === 'cycle' ? ' (ForceOff, then On, if PowerCycle is not allowed)' : '';
    lines.push(`POST ${base}<#ComputerSystem.Reset target> ${JSON.stringify({ ResetType: type })}${auth}${fallback}`);
  }
  if (session) lines.push(`DELETE ${base}<session>`);
  return lines;
}

export function createRedfishDriver(opts: RedfishOptions = {}): PowerDriver {
  const pollMs = opts.pollMs ?? 500;

  async function reset(s: RedfishSession, path: string, sys: Json, type: string): Promise<void> {
    const { target, allowed } = resetInfo(path, sys);
    if (allowed && !allowed.includes(type))
      throw new PowerError(`BMC does not allow ResetType ${type} (allowed: ${allowed.join(', ')})`, 'unsupported');
    await s.post(target, { ResetType: type });
  }

  return {
    name: 'redfish',
    async power(t, action, o: ActionOptions): Promise<ActionResult> {
      return withSession(t, o.signal, async (s) => {
        const { path, json, etag } = await systemOf(s);
        const state = powerState(path, json);
        if (action === 'status') return { state: state.toLowerCase(), detail: `PowerState ${state}` };
        const notes: string[] = [];
        if (o.pxe) {
          await s.patch(path, PXE_ONCE, etag);
          notes.push('boot pxe once');
        }
        if (action !== 'cycle') {
          await reset(s, path, json, RESET[action]);
          notes.push(`ResetType ${RESET[action]}`);
        } else {
          const { allowed } = resetInfo(path, json);
          if (!allowed || allowed.includes('PowerCycle')) {
            await reset(s, path, json, 'PowerCycle');
            notes.push('ResetType PowerCycle');
          } else {
            // No PowerCycle: ForceOff, wait for Off, then On.
            if (state !== 'Off') {
              await reset(s, path, json, 'ForceOff');
              for (;;) {
                await sleep(pollMs, o.signal);
                if (powerState(path, (await s.get(path)).json) === 'Off') break;
              }
            }
            await reset(s, path, json, 'On');
            notes.push(state !== 'Off' ? 'ResetType ForceOff, then On' : 'ResetType On (was off)');
          }
        }
        return { detail: notes.join('; ') };
      });
    },

    async sensors(t, o) {
      return withSession(t, o.signal, async (s) => {
        const { path, json } = await systemOf(s);
        return { readings: await chassisReadings(s, path, json, !!o.full) };
      });
    },

    async console(t, o): Promise<ConsolePlan> {
      const sys = await withSession(t, o.signal, async (s) => (await systemOf(s)).json);
      const sc = (sys.SerialConsole ?? {}) as Record<string, { ServiceEnabled?: boolean; Port?: number } | undefined>;
      if (sc.IPMI?.ServiceEnabled) {
        const ipmi = { ...t.ipmi, port: sc.IPMI.Port ? String(sc.IPMI.Port) : '', template: undefined };
        return createIpmitoolDriver({ env: opts.env }).console({ node: t.node, ipmi }, { signal: o.signal });
      }
      if (sc.SSH?.ServiceEnabled) {
        return { argv: ['ssh', '-p', String(sc.SSH.Port ?? 22), `${t.ipmi.username || 'root'}@${t.ipmi.ipaddr}`], env: {} };
      }
      throw new PowerError(
        'serial console not supported: this BMC offers no serial console over Redfish (SerialConsole has no enabled IPMI or SSH service)',
        'unsupported',
      );
    },

    describe: describeRequests,
  };
}
