// Attach this terminal to a console program (ipmitool sol activate, ssh): the terminal is its stdin
// and stdout; its stderr passes through us line by line so a line that explains a failed attach
// (busy, no SOL) becomes one clear message instead. The terminal settings are saved before and put
// back after, also when the program dies by a signal halfway through raw mode.
import { constants } from 'node:os';
import type { ConsoleFailure, ConsolePlan } from './driver.ts';

export interface AttachResult {
  /** the program's exit code, or 128 + signal number */
  code: number;
  /** set when the program failed and said why in a line the plan explains */
  failure?: ConsoleFailure;
}

export interface AttachOptions {
  env: Record<string, string>;
  /** where stderr lines that explain nothing go (the user's stderr) */
  stderr: (chunk: string) => void;
  /** stdin is a terminal: save and restore its settings */
  tty: boolean;
}

/** `stty -g` of the terminal on our stdin, or undefined. */
function saveTty(): string | undefined {
  try {
    const r = Bun.spawnSync(['stty', '-g'], { stdin: 'inherit', stdout: 'pipe', stderr: 'ignore' });
    const s = r.stdout.toString().trim();
    return r.exitCode === 0 && s ? s : undefined;
  } catch {
    return undefined;
  }
}

function restoreTty(saved: string): void {
  try {
    Bun.spawnSync(['stty', saved], { stdin: 'inherit', stdout: 'ignore', stderr: 'ignore' });
  } catch {
    /* not a terminal any more */
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Run the plan's program attached to this terminal; throws only if it cannot be started. */
export async function attach(plan: ConsolePlan, opts: AttachOptions): Promise<AttachResult> {
  const saved = opts.tty ? saveTty() : undefined;
  const proc = Bun.spawn(plan.argv, {
    stdin: 'inherit',
    stdout: 'inherit',
    stderr: plan.explain ? 'pipe' : 'inherit',
    env: { ...opts.env, ...plan.env },
  });
  // Ctrl-C before the program switches to raw mode reaches it too (same process group); a SIGTERM
  // or SIGHUP sent to us alone is passed on, and we stay until it is gone to put the terminal back.
  const forward = (sig: (typeof SIGNALS)[number]) => () => {
    try {
      proc.kill(sig === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
    } catch {
      /* gone */
    }
  };
  const handlers = SIGNALS.map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  let failure: ConsoleFailure | undefined;
  try {
    const dec = new TextDecoder();
    let pending = '';
    const line = (l: string) => {
      const why = plan.explain?.(l);
      if (why) failure ??= why;
      else opts.stderr(l);
    };
    if (plan.explain)
      for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
        pending += dec.decode(chunk, { stream: true });
        let nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
          line(pending.slice(0, nl + 1));
          pending = pending.slice(nl + 1);
        }
      }
    pending += dec.decode();
    if (pending) line(pending);
    const code = await proc.exited;
    const sig = proc.signalCode as keyof typeof constants.signals | null;
    return { code: sig ? 128 + (constants.signals[sig] ?? 0) : code, failure: code !== 0 || sig ? failure : undefined };
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    if (saved) restoreTty(saved);
  }
}
