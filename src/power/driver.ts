// The one interface every BMC driver implements (ipmitool, redfish), plus the plain data it works
// on: a PowerTarget is a node name and its `ipmi` settings, nothing else, so drivers and the
// fan-out are testable with in-memory targets. No I/O here.
import type { Ipmi } from '../config/schema.ts';

export type { Ipmi };
export type PowerAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft' | 'status';

export interface PowerTarget {
  node: string;
  ipmi: Ipmi;
}

export interface ActionOptions {
  /** one-time network boot before `on` / `cycle` / `reset` */
  pxe?: boolean;
  /** aborted by the fan-out on timeout */
  signal?: AbortSignal;
}

/** What one driver call produced: `state` for status ('on'/'off'), `detail` a short text. */
export interface ActionResult {
  state?: string;
  detail: string;
}

export interface SensorReading {
  name: string;
  value: string;
  unit?: string;
  status?: string;
}
export interface SensorResult {
  readings: SensorReading[];
  raw?: string;
}

/** Why an attach failed, from one line the console program wrote to stderr. */
export interface ConsoleFailure {
  message: string;
  kind: 'busy' | 'unsupported' | 'auth' | 'failed';
  hint?: string;
}

/** How to attach a terminal: an argv to spawn with the terminal as stdin/stdout, plus extra environment. */
export interface ConsolePlan {
  argv: string[];
  env: Record<string, string>;
  /** what the user types to leave, e.g. `~.` (only recognised at the start of a line) */
  escape?: string;
  /** end a session the BMC still holds (another client's, or a stale one) before attaching */
  release?: (signal?: AbortSignal) => Promise<void>;
  /** a stderr line that explains a failed attach, turned into one clear message (the line is not shown) */
  explain?: (line: string) => ConsoleFailure | undefined;
}

export interface PowerDriver {
  readonly name: string;
  /** Run one power action; throws a PowerError (or any Error) with a one-line message on failure. */
  power(t: PowerTarget, action: PowerAction, opts: ActionOptions): Promise<ActionResult>;
  sensors(t: PowerTarget, opts: { full?: boolean; signal?: AbortSignal }): Promise<SensorResult>;
  /** How to open the serial console; throws PowerError when the BMC offers none this driver can use. */
  console(t: PowerTarget, opts: { signal?: AbortSignal }): Promise<ConsolePlan>;
  /** The commands / requests that would be sent, secrets masked (for --show). */
  describe(t: PowerTarget, op: PowerAction | 'sensors' | 'sensors-full' | 'console', opts: { pxe?: boolean }): string[];
}

/** A failure to report on the node's line (no stack, no secret). */
export class PowerError extends Error {
  constructor(
    message: string,
    readonly kind: 'auth' | 'unreachable' | 'timeout' | 'protocol' | 'unsupported' | 'config' | 'failed' = 'failed',
  ) {
    super(message);
    this.name = 'PowerError';
  }
}

export const MASK = '****';

/** Replace every occurrence of the secret in a text (defence in depth for --show and errors). */
export function maskSecret(text: string, secret: string | undefined): string {
  if (!secret) return text;
  return text.split(secret).join(MASK);
}

/** Quote one argv element for display only (never executed by a shell). */
export function displayArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

export const driverName = (ipmi: Ipmi): string => (ipmi.driver || 'ipmitool').toLowerCase();
