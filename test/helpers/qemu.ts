// A QEMU/TCG VM that network-boots inside a test's namespace: SeaBIOS or OVMF, one or more NICs on
// taps (the first boots through qemu's iPXE ROM), the serial console to a file, a monitor socket for
// a hardware reset. No -no-reboot: a reset boots the machine again, as a real node's would.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface Nic { mac: string; tap: string; model?: string; boot?: boolean }
export interface VmSpec { name: string; fw: 'bios' | 'uefi'; memMiB: number; nics: Nic[]; dir: string; netnsArgv: (cmd: string[]) => string[] }

export class Vm {
  readonly log: string;
  readonly monitor: string;
  proc?: ChildProcess;
  startedAt = 0;
  constructor(readonly spec: VmSpec) {
    this.log = join(spec.dir, `${spec.name}.serial.log`);
    this.monitor = join(spec.dir, `${spec.name}.monitor`);
  }

  start(): void {
    const s = this.spec;
    const fw = s.fw === 'uefi'
      ? (() => { const vars = join(s.dir, `${s.name}.vars.fd`); copyFileSync(OVMF_VARS, vars); return ['-M', 'q35', '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`]; })()
      : ['-M', 'pc', '-boot', 'n'];
    const nics = s.nics.flatMap((n, i) => ['-netdev', `tap,id=n${i},ifname=${n.tap},script=no,downscript=no`,
      '-device', `${n.model ?? 'e1000'},netdev=n${i},mac=${n.mac}${n.boot === false ? ',romfile=' : `,bootindex=${i + 1}`}`]);
    const argv = s.netnsArgv(['qemu-system-x86_64', '-accel', 'tcg', '-m', String(s.memMiB), '-smp', '1', '-nodefaults', '-nographic',
      '-serial', `file:${this.log}`, '-monitor', `unix:${this.monitor},server,nowait`, ...fw, ...nics]);
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

  /** A hardware reset through the QEMU monitor (the machine boots again from the network). */
  async reset(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const c = createConnection(this.monitor);
      let buf = '', sent = false;
      const timer = setTimeout(() => { c.destroy(); reject(new Error(`${this.spec.name}: no answer on the monitor`)); }, 10_000);
      c.on('data', (d) => {
        buf += String(d);
        if (!sent && buf.includes('(qemu)')) { sent = true; c.write('system_reset\n'); }
        else if (sent && buf.split('(qemu)').length > 2) { clearTimeout(timer); c.end(); resolve(); }
      });
      c.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
  }

  stop(): void { if (this.running()) this.proc!.kill('SIGKILL'); }

  /** The last n characters of the serial log, for a failure message. */
  tail(n = 2000): string { return this.serial().slice(-n); }
}
