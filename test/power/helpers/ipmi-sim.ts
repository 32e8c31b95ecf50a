// Starts OpenIPMI `ipmi_sim` BMCs on 127.0.0.1 for tests: each with its own UDP port, user and a
// chassis_control hook script that keeps the power state (and boot device) in files and logs calls.
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';

export interface Sim {
  port: number;
  dir: string;
  power(): string;
  boot(): string;
  log(): string[];
  setPower(v: 0 | 1): void;
  stop(): Promise<void>;
}

export function requireTool(bin: string, pkg: string): void {
  if (!Bun.which(bin)) throw new Error(`${bin} is missing: apt-get install -y ${pkg}`);
}

/** A UDP port nobody listens on right now. */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const HOOK = `#!/bin/sh
# chassis_control hook: DIR get|set WHAT [VALUE]
d="$1"; shift
echo "$*" >> "$d/hook.log"
case "$1 $2" in
  "get power") if [ -f "$d/power" ]; then echo "power:$(cat "$d/power")"; else echo "power:0"; fi ;;
  "set power") echo "$3" > "$d/power" ;;
  "get boot") if [ -f "$d/boot" ]; then echo "boot:$(cat "$d/boot")"; else echo "boot:default"; fi ;;
  "set boot") echo "$3" > "$d/boot" ;;
  "set reset") : ;;
  "set shutdown") echo 0 > "$d/power" ;;
  *) : ;;
esac
exit 0
`;

/** `sol`: where the simulated BMC's serial over LAN goes, e.g. `tcp:127.0.0.1:PORT` (ipmi_sim connects to it).
 *  `hook`: a chassis_control script of the caller's (called as `HOOK DIR get|set WHAT [VALUE]`) instead of the file-keeping one. */
export async function startSim(dir: string, opts: { user?: string; password?: string; sol?: string; hook?: string } = {}): Promise<Sim> {
  requireTool('ipmi_sim', 'openipmi');
  requireTool('ipmitool', 'ipmitool');
  mkdirSync(join(dir, 'state'), { recursive: true });
  const port = await freeUdpPort();
  const hook = join(dir, 'hook.sh');
  writeFileSync(hook, opts.hook ?? HOOK);
  chmodSync(hook, 0o755);
  writeFileSync(
    join(dir, 'sim.emu'),
    'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nsel_enable 0x20 1000 0x0a\nmc_enable 0x20\n',
  );
  const auths = 'none md2 md5 straight';
  writeFileSync(
    join(dir, 'lan.conf'),
    [
      'name "wpower"',
      'set_working_mc 0x20',
      'startlan 1',
      `  addr 127.0.0.1 ${port}`,
      '  priv_limit admin',
      ...['callback', 'user', 'operator', 'admin'].map((l) => `  allowed_auths_${l} ${auths}`),
      `  guid ${crypto.randomUUID().replace(/-/g, '')}`,
      'endlan',
      `chassis_control "${hook} ${dir}"`,
      ...(opts.sol ? [`sol "${opts.sol}" 115200`] : []),
      `user 2 true "${opts.user ?? 'admin'}" "${opts.password ?? 'sim-secret'}" admin 10 ${auths}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'power'), '0\n');
  const proc = Bun.spawn(['ipmi_sim', '-n', '-c', join(dir, 'lan.conf'), '-f', join(dir, 'sim.emu'), '-s', join(dir, 'state')], {
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'ignore',
  });
  // ready when a status query succeeds
  const deadline = Date.now() + 5000;
  for (;;) {
    const r = Bun.spawnSync(
      [
        'ipmitool',
        '-I',
        'lanplus',
        '-C',
        '3',
        '-H',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        opts.user ?? 'admin',
        '-E',
        '-N',
        '1',
        '-R',
        '1',
        'chassis',
        'power',
        'status',
      ],
      { env: { ...process.env, IPMI_PASSWORD: opts.password ?? 'sim-secret' } },
    );
    if (r.exitCode === 0) break;
    if (proc.exitCode !== null) throw new Error(`ipmi_sim exited with ${proc.exitCode}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`ipmi_sim on port ${port} did not answer`);
    }
    await Bun.sleep(50);
  }
  writeFileSync(join(dir, 'hook.log'), '');
  const read = (f: string, d: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8').trim() : d);
  return {
    port,
    dir,
    power: () => read('power', '0'),
    boot: () => read('boot', 'default'),
    log: () => read('hook.log', '').split('\n').filter(Boolean),
    setPower: (v) => writeFileSync(join(dir, 'power'), `${v}\n`),
    async stop() {
      proc.kill('SIGKILL');
      await proc.exited;
    },
  };
}
