// A QEMU/TCG VM that network-boots inside a test's namespace: SeaBIOS or OVMF, one or more NICs on
// taps (the first boots through qemu's iPXE ROM), the serial console to a file. Started by the test,
// or daemonized by a simulated BMC's power hook (bmcHook: wulf power on/off/cycle drive it).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface Nic {
  mac: string;
  tap: string;
  model?: string;
  boot?: boolean;
}
export interface VmSpec {
  name: string;
  fw: 'bios' | 'uefi';
  memMiB: number;
  nics: Nic[];
  dir: string;
  netnsArgv: (cmd: string[]) => string[];
  /** set: QEMU is started by someone else (a BMC's power hook) with argv(true), daemonized, and tracked by this pid file */
  pidFile?: string;
}

export class Vm {
  readonly log: string;
  proc?: ChildProcess;
  startedAt = 0;
  constructor(readonly spec: VmSpec) {
    this.log = join(spec.dir, `${spec.name}.serial.log`);
  }

  /** The QEMU command line; daemon: detached, its pid in spec.pidFile (no -nographic, so the console starts at Linux). */
  argv(daemon = false): string[] {
    const s = this.spec;
    const fw =
      s.fw === 'uefi'
        ? (() => {
            const vars = join(s.dir, `${s.name}.vars.fd`);
            if (!existsSync(vars)) copyFileSync(OVMF_VARS, vars);
            return [
              '-M',
              'q35',
              '-drive',
              `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
              '-drive',
              `if=pflash,format=raw,unit=1,file=${vars}`,
            ];
          })()
        : ['-M', 'pc', '-boot', 'n'];
    const nics = s.nics.flatMap((n, i) => [
      '-netdev',
      `tap,id=n${i},ifname=${n.tap},script=no,downscript=no`,
      '-device',
      `${n.model ?? 'e1000'},netdev=n${i},mac=${n.mac}${n.boot === false ? ',romfile=' : `,bootindex=${i + 1}`}`,
    ]);
    return s.netnsArgv([
      'qemu-system-x86_64',
      '-accel',
      'tcg',
      '-m',
      String(s.memMiB),
      '-smp',
      '1',
      '-nodefaults',
      ...(daemon ? ['-display', 'none', '-daemonize', '-pidfile', s.pidFile!] : ['-nographic']),
      '-serial',
      `file:${this.log}`,
      '-monitor',
      'none',
      ...fw,
      ...nics,
    ]);
  }

  start(): void {
    const argv = this.argv();
    const s = this.spec;
    this.proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    this.proc.stderr!.on('data', (d) => {
      err += String(d);
    });
    this.proc.on('exit', (code) => {
      if (code) console.log(`${s.name}: qemu exited ${code}: ${err.trim().slice(-500)}`);
    });
    this.startedAt = Date.now();
  }

  serial(): string {
    return existsSync(this.log) ? readFileSync(this.log, 'latin1') : '';
  }

  /** The pid a BMC-started QEMU wrote, while that process lives (a zombie does not count). */
  daemonPid(): number | undefined {
    try {
      const pid = Number(readFileSync(this.spec.pidFile!, 'utf8').trim());
      const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      return state && state !== 'Z' ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  running(): boolean {
    if (this.spec.pidFile) return this.daemonPid() !== undefined;
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Wait until the serial console, from character offset `from`, matches re. */
  async waitSerial(re: RegExp, ms: number, from = 0): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (re.test(this.serial().slice(from))) return true;
      if (!this.running()) return false;
      await Bun.sleep(1000);
    }
    return false;
  }

  stop(): void {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    const pid = this.spec.pidFile ? this.daemonPid() : undefined;
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  /** The last n characters of the serial log, for a failure message. */
  tail(n = 2000): string {
    return this.serial().slice(-n);
  }
}

/**
 * ipmi_sim chassis_control hook for one QEMU node: `HOOK DIR get|set WHAT [VALUE]`. Power on runs
 * DIR/qemu.sh (the VM daemonized, its pid in DIR/qemu.pid); power off kills it. Power changes are
 * serialized (ipmitool resends a command the hook is slow to answer) and idempotent.
 */
export const BMC_HOOK = `#!/bin/sh
# few processes: a loaded host must still answer within ipmitool's 1 s timeout
d="$1"; shift
echo "$*" >> "$d/hook.log"
alive() {
  [ -r "$d/qemu.pid" ] && read -r p < "$d/qemu.pid" && [ -r "/proc/$p/stat" ] && read -r st < "/proc/$p/stat" || return 1
  st=\${st##*) }; [ "\${st%% *}" != Z ]
}
off() { alive || return 0; kill -9 "$p"; i=0; while alive && [ $i -lt 40 ]; do sleep 0.05; i=$((i + 1)); done; }
# QEMU must keep neither the lock (fd 9) nor ipmi_sim's pipe (stdout): the next call would hang on them
on() { alive && return 0; sh "$d/qemu.sh" >> "$d/qemu.err" 2>&1 9>&- </dev/null; }
case "$1 $2" in
  "get power") if alive; then echo power:1; else echo power:0; fi ;;
  "set power") exec 9>"$d/hook.lock"; flock 9; if [ "$3" = 1 ]; then on; else off; fi ;;
  "set reset") exec 9>"$d/hook.lock"; flock 9; off; on ;;
  "set shutdown") exec 9>"$d/hook.lock"; flock 9; off ;;
  "get boot") if [ -r "$d/boot" ]; then read -r b < "$d/boot"; echo "boot:$b"; else echo boot:default; fi ;;
  "set boot") echo "$3" > "$d/boot" ;;
esac
exit 0
`;

/** DIR/qemu.sh for BMC_HOOK: keeps the previous power-on's console log as LOG.<time>, then starts the VM. */
export function bmcQemuScript(vm: Vm): string {
  const q = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
  return `#!/bin/sh\n[ -f ${q(vm.log)} ] && mv ${q(vm.log)} ${q(vm.log)}.$(date +%s%N)\nexec ${vm.argv(true).map(q).join(' ')}\n`;
}
