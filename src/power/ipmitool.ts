// The ipmitool driver: renders the node's command template into argv, runs it with the password in
// IPMI_PASSWORD (or a 0600 temp file), never on the command line, and turns output into results.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { goSyntaxError } from '../lib/go-syntax.ts';
import { CMDS, DEFAULT_IPMITOOL_TEMPLATE, PASSWORD_FILE_SLOT, renderArgv, type Cmd } from './ipmitool-template.ts';
import {
  MASK,
  PowerError,
  displayArg,
  maskSecret,
  type ActionOptions,
  type ActionResult,
  type ConsoleFailure,
  type ConsolePlan,
  type PowerAction,
  type PowerDriver,
  type PowerTarget,
  type SensorResult,
} from './driver.ts';

export interface IpmitoolOptions {
  /** environment for the child (PATH…); IPMI_PASSWORD is added per node */
  env?: Record<string, string | undefined>;
  /** where `ipmi.template` names are looked up (Warewulf: <datadir>/warewulf/bmc/) */
  templateDir?: string;
}

interface RunOut {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export function createIpmitoolDriver(opts: IpmitoolOptions = {}): PowerDriver {
  const templates = new Map<string, string>();

  function templateFor(t: PowerTarget): string {
    const name = t.ipmi.template;
    if (!name) return DEFAULT_IPMITOOL_TEMPLATE;
    const candidates = isAbsolute(name) ? [name] : opts.templateDir ? [join(opts.templateDir, name)] : [];
    for (const p of candidates) {
      if (templates.has(p)) return templates.get(p)!;
      if (existsSync(p)) {
        const s = readFileSync(p, 'utf8');
        // a Warewulf BMC template (Go syntax) would render into a wrong command line: refused, never run
        const go = goSyntaxError(p, s);
        if (go) throw new PowerError(go, 'config');
        templates.set(p, s);
        return s;
      }
    }
    if (name === 'ipmitool.tmpl') return DEFAULT_IPMITOOL_TEMPLATE;
    throw new PowerError(`template ${name} not found${candidates.length ? ` (looked in ${candidates.join(', ')})` : ''}`, 'config');
  }

  function argvFor(t: PowerTarget, cmd: Cmd): string[] {
    let argv: string[];
    try {
      argv = renderArgv(templateFor(t), t.node, t.ipmi, cmd);
    } catch (e) {
      if (e instanceof PowerError) throw e;
      throw new PowerError(`template error: ${(e as Error).message.split('\n')[0]}`, 'config');
    }
    if (argv.length === 0) throw new PowerError(`template rendered an empty command for ${cmd}`, 'config');
    return argv;
  }

  function show(t: PowerTarget, cmd: Cmd): string {
    const argv = argvFor(t, cmd).map((a) => a.split(PASSWORD_FILE_SLOT).join('<password file>'));
    const env = t.ipmi.password && argv.includes('-E') ? `IPMI_PASSWORD=${MASK} ` : '';
    return maskSecret(env + argv.map(displayArg).join(' '), t.ipmi.password);
  }

  async function run(t: PowerTarget, cmd: Cmd | string[], signal?: AbortSignal): Promise<RunOut> {
    return runWithPassword(Array.isArray(cmd) ? cmd : argvFor(t, cmd), t.ipmi.password ?? '', opts.env, signal);
  }

  async function check(t: PowerTarget, cmd: Cmd, signal?: AbortSignal): Promise<string> {
    const r = await run(t, cmd, signal);
    if (r.code !== 0) throw ipmitoolFailure(t, r);
    return r.stdout.trim();
  }

  return {
    name: 'ipmitool',
    async power(t: PowerTarget, action: PowerAction, o: ActionOptions): Promise<ActionResult> {
      if (action === 'status') {
        const out = await check(t, CMDS.status, o.signal);
        const m = /Chassis Power is (\w+)/i.exec(out);
        if (!m) throw new PowerError(`unexpected ipmitool output: ${out.split('\n')[0] || '(empty)'}`, 'protocol');
        return { state: m[1]!.toLowerCase(), detail: out };
      }
      if (o.pxe) await check(t, CMDS.pxe, o.signal);
      const out = await check(t, CMDS[action], o.signal);
      return { detail: (o.pxe ? 'boot pxe once; ' : '') + (out.split('\n').at(-1) ?? '') };
    },
    async sensors(t, o): Promise<SensorResult> {
      const out = await check(t, o.full ? CMDS.sensors : CMDS.sdr, o.signal);
      return { readings: parseSensorTable(out), raw: out };
    },
    async console(t, o): Promise<ConsolePlan> {
      const argv = argvFor(t, CMDS.console);
      if (argv.some((a) => a.includes(PASSWORD_FILE_SLOT)))
        throw new PowerError('the console template cannot use {{ passwordfile }}; use -E', 'config');
      // Log in once before handing the terminal over: a wrong password or a dead BMC is then one
      // clear line. Other failures of the status query (a template without PowerStatus) don't block.
      try {
        await check(t, CMDS.status, o.signal);
      } catch (e) {
        if (!(e instanceof PowerError) || ['auth', 'unreachable', 'timeout', 'config'].includes(e.kind)) throw e;
      }
      const i = argv.lastIndexOf('activate');
      const stop = i > 0 && argv[i - 1] === 'sol' ? argv.map((a, j) => (j === i ? 'deactivate' : a)) : undefined;
      return {
        argv,
        env: t.ipmi.password ? { IPMI_PASSWORD: t.ipmi.password } : {},
        escape: `${t.ipmi.escapechar || '~'}.`,
        release:
          stop &&
          (async (signal) => {
            const r = await run(t, stop, signal);
            if (r.code !== 0 && !/already de-?activated/i.test(r.stderr + r.stdout)) throw ipmitoolFailure(t, r);
          }),
        explain: solFailure,
      };
    },
    describe(t, op, o) {
      if (op === 'console') return [show(t, CMDS.console), `(login check before it: ${show(t, CMDS.status)})`];
      const cmd: Cmd = op === 'sensors' ? CMDS.sdr : op === 'sensors-full' ? CMDS.sensors : CMDS[op];
      return [...(o.pxe && op !== 'status' && !op.startsWith('sensors') ? [show(t, CMDS.pxe)] : []), show(t, cmd)];
    },
  };
}

/**
 * Run ipmitool's argv with the password in IPMI_PASSWORD, or in a 0600 temp file where the argv has the
 * password-file slot (removed afterwards); the password is masked in what it printed.
 */
async function runWithPassword(argv: string[], pw: string, baseEnv: IpmitoolOptions['env'], signal?: AbortSignal): Promise<RunOut> {
  let dir: string | undefined;
  if (argv.some((a) => a.includes(PASSWORD_FILE_SLOT))) {
    dir = mkdtempSync(join(tmpdir(), 'wulf-ipmi-'));
    const file = join(dir, 'password');
    writeFileSync(file, pw, { mode: 0o600 });
    argv = argv.map((a) => a.split(PASSWORD_FILE_SLOT).join(file));
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv ?? {})) if (v !== undefined && k !== 'IPMI_PASSWORD') env[k] = v;
  if (pw) env.IPMI_PASSWORD = pw;
  const t0 = performance.now();
  try {
    if (signal?.aborted) throw new PowerError('timed out', 'timeout');
    let proc: ReturnType<typeof Bun.spawn>;
    try {
      proc = Bun.spawn(argv, { env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new PowerError(
        code === 'ENOENT' ? `${argv[0]} not found (install the ipmitool package)` : `cannot run ${argv[0]}: ${(e as Error).message}`,
        'config',
      );
    }
    const kill = () => {
      try {
        proc.kill('SIGKILL');
      } catch {
        /* gone */
      }
    };
    signal?.addEventListener('abort', kill, { once: true });
    try {
      const [stdout, stderr, code] = await Promise.all([
        new Response(proc.stdout as ReadableStream).text(),
        new Response(proc.stderr as ReadableStream).text(),
        proc.exited,
      ]);
      if (signal?.aborted) throw new PowerError('timed out', 'timeout');
      return { code, stdout: maskSecret(stdout, pw), stderr: maskSecret(stderr, pw), ms: performance.now() - t0 };
    } finally {
      signal?.removeEventListener('abort', kill);
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** The error of a failed ipmitool run, from its output: a refused login, an absent BMC, or its error line. */
function ipmitoolFailure(t: PowerTarget, r: RunOut): PowerError {
  const lines = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const line = lines.find((l) => /error|unable|invalid|fail/i.test(l)) ?? lines.at(-1) ?? r.stdout.trim().split('\n').at(-1) ?? '';
  const where = `${t.ipmi.ipaddr}${t.ipmi.port ? ':' + t.ipmi.port : ''}`;
  if (/Unable to establish IPMI v2|Unable to establish LAN session|Activate Session error/i.test(line)) {
    // A BMC that answers rejects a bad login at once; an absent one costs the full retry budget.
    return r.ms < 1000
      ? new PowerError(`BMC ${where} refused the session: wrong username or password? (${line.replace(/^Error:\s*/, '')})`, 'auth')
      : new PowerError(`no answer from BMC ${where} (${line.replace(/^Error:\s*/, '')})`, 'unreachable');
  }
  return new PowerError(line ? `ipmitool exit ${r.code}: ${line.replace(/^Error:\s*/, '')}` : `ipmitool exit ${r.code}`, 'failed');
}

/** ipmitool's stderr lines that explain a failed `sol activate` (ipmitool 1.8 wording). */
export function solFailure(line: string): ConsoleFailure | undefined {
  const l = line.trim().replace(/^(Error|Info):\s*/, '');
  if (/SOL payload already active on another session|SOL payload activation limit reached/i.test(l)) {
    return {
      kind: 'busy',
      message: 'the serial console is in use by another SOL session (a killed client leaves one until the BMC times it out)',
    };
  }
  if (
    /SOL payload (type )?disabled|activating SOL payload: |BMC requests SOL session on different port|cannot activate SOL payload/i.test(l)
  ) {
    return {
      kind: 'unsupported',
      message: `serial over LAN is not available on this BMC (${l})`,
      hint: 'check it is enabled: ipmitool sol info / sol set enabled true',
    };
  }
  if (/No response activating SOL payload/i.test(l)) return { kind: 'failed', message: 'the BMC did not answer the SOL activate request' };
  if (/Unable to establish IPMI v2|Unable to establish LAN session|Activate Session error/i.test(l)) {
    return { kind: 'auth', message: `the BMC refused the session (${l})` };
  }
  return undefined;
}

/** `sdr list` / `sensor list` rows: `name | value [unit] | status` (sensor list has more columns). */
export function parseSensorTable(text: string): { name: string; value: string; unit?: string; status?: string }[] {
  const rows: { name: string; value: string; unit?: string; status?: string }[] = [];
  for (const line of text.split('\n')) {
    const cols = line.split('|').map((c) => c.trim());
    if (cols.length < 3 || !cols[0]) continue;
    if (cols.length >= 4) rows.push({ name: cols[0], value: cols[1]!, unit: cols[2] || undefined, status: cols[3] || undefined });
    else rows.push({ name: cols[0], value: cols[1]!, status: cols[2] || undefined });
  }
  return rows;
}
