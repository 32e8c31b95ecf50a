// A QEMU/TCG VM that network-boots inside a test's namespace: SeaBIOS or OVMF, one or more NICs on
// taps (the first boots through qemu's iPXE ROM), the serial console to a file. A power cycle kills
// the QEMU process and starts it again (its UEFI variables kept), as a BMC's power off/on would.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface Nic { mac: string; tap: string; model?: string; boot?: boolean }
export interface VmSpec { name: string; fw: 'bios' | 'uefi'; memMiB: number; nics: Nic[]; dir: string; netnsArgv: (cmd: string[]) => string[] }

export class Vm {
  readonly log: string;
  proc?: ChildProcess;
  startedAt = 0;
  constructor(readonly spec: VmSpec) {
    this.log = join(spec.dir, `${spec.name}.serial.log`);
  }

  start(): void {
    const s = this.spec;
    const fw = s.fw === 'uefi'
      ? (() => { const vars = join(s.dir, `${s.name}.vars.fd`); if (!existsSync(vars)) copyFileSync(OVMF_VARS, vars); return ['-M', 'q35', '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`]; })()
      : ['-M', 'pc', '-boot', 'n'];
    const nics = s.nics.flatMap((n, i) => ['-netdev', `tap,id=n${i},ifname=${n.tap},script=no,downscript=no`,
      '-device', `${n.model ?? 'e1000'},netdev=n${i},mac=${n.mac}${n.boot === false ? ',romfile=' : `,bootindex=${i + 1}`}`]);
    const argv = s.netnsArgv(['qemu-system-x86_64', '-accel', 'tcg', '-m', String(s.memMiB), '-smp', '1', '-nodefaults', '-nographic',
      '-serial', `file:${this.log}`, '-monitor', 'none', ...fw, ...nics]);
    this.proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    this.proc.stderr!.on('data', (d) => { err += String(d); });
    this.proc.on('exit', (code) => { if (code) console.log(`${s.name}: qemu exited ${code}: ${err.trim().slice(-500)}`); });
    this.startedAt = Date.now();
  }

  serial(): string { return existsSync(this.log) ? readFileSync(this.log, 'latin1') : ''; }

  running(): boolean { return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null; }

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

  /** Power off (the QEMU process killed) and on again; the earlier console log is kept as LOG.<n>. */
  async powerCycle(offMs = 2000): Promise<void> {
    const p = this.proc!;
    this.stop();
    if (p.exitCode === null && p.signalCode === null) await new Promise((r) => p.once('exit', r));
    let i = 1;
    while (existsSync(`${this.log}.${i}`)) i++;
    if (existsSync(this.log)) renameSync(this.log, `${this.log}.${i}`);
    await Bun.sleep(offMs);
    this.start();
  }

  stop(): void { if (this.running()) this.proc!.kill('SIGKILL'); }

  /** The last n characters of the serial log, for a failure message. */
  tail(n = 2000): string { return this.serial().slice(-n); }
}
