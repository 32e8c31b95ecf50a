// `wulf node console` for real: the compiled dist/wulf in a tmux pane, ipmitool serial over LAN to
// an OpenIPMI ipmi_sim BMC whose SOL port is a TCP connection to a server in this test (the "serial
// side" of the node). Output from the serial side reaches the pane, keys typed in the pane reach the
// serial side, `~.` ends the session with exit 0 and the terminal as it was; the failures are one line.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket, TCPSocketListener } from 'bun';
import { compiledBin, requireCompiled, tempRoot } from '../helpers/cli.ts';
import { requireTool, startSim, type Sim } from './helpers/ipmi-sim.ts';

const PASSWORD = 'sol-Secret-7';
const SOCKET = `wconsole-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' }).stdout ?? '';
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A pane running `wulf --root ROOT node console ARGS`, then printing its exit code and whether stty -g changed. */
class Pane {
  constructor(readonly name: string) {}
  static start(name: string, args: string[]): Pane {
    const cmd =
      `s0=$(stty -g); ${sh(compiledBin)} --root ${sh(root.dir)} node console ${args.map(sh).join(' ')}; ` +
      `echo "EXIT=$?"; if [ "$(stty -g)" = "$s0" ]; then echo TTY=restored; else echo TTY=changed; fi; sleep 600`;
    tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '30', `env -u TMUX NO_COLOR=1 sh -c ${sh(cmd)}`);
    return new Pane(name);
  }
  type(text: string): void {
    tmux('send-keys', '-t', this.name, '-l', text);
  }
  keys(...k: string[]): void {
    tmux('send-keys', '-t', this.name, ...k);
  }
  screen(): string {
    return tmux('capture-pane', '-p', '-J', '-t', this.name);
  }
  async waitFor(what: string | RegExp, ms = 10_000): Promise<string> {
    const t0 = Date.now();
    let s = '';
    while (Date.now() - t0 < ms) {
      s = this.screen();
      if (typeof what === 'string' ? s.includes(what) : what.test(s)) return s;
      await Bun.sleep(40);
    }
    throw new Error(`timed out waiting for ${String(what)}; screen:\n${s}`);
  }
}

/** The node's side of the serial line: ipmi_sim connects here and relays SOL both ways. */
let serial: { listener: TCPSocketListener; sock?: Socket<unknown>; got: string };
let sim: Sim;
let nosol: Sim;
let root: { dir: string; cleanup: () => void };

async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

beforeAll(async () => {
  requireCompiled();
  requireTool('tmux', 'tmux');
  root = tempRoot('wconsole-');
  serial = { got: '' } as typeof serial;
  serial.listener = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(s) {
        serial.sock = s;
      },
      data(_s, d) {
        serial.got += d.toString('latin1');
      },
      close() {
        serial.sock = undefined;
      },
    },
  });
  sim = await startSim(join(root.dir, 'bmc'), { user: 'admin', password: PASSWORD, sol: `tcp:127.0.0.1:${serial.listener.port}` });
  nosol = await startSim(join(root.dir, 'bmc-nosol'), { user: 'admin', password: PASSWORD });
  await until(() => !!serial.sock, 'ipmi_sim to connect to the serial side', 20_000);
  const bmc = (port: number, pw = PASSWORD) =>
    `    ipmi:\n      ipaddr: 127.0.0.1\n      port: "${port}"\n      username: admin\n      password: ${pw}\n`;
  mkdirSync(join(root.dir, 'etc', 'wulf'), { recursive: true });
  writeFileSync(
    join(root.dir, 'etc', 'wulf', 'nodes.conf'),
    `nodes:\n  n1:\n${bmc(sim.port)}  badpw:\n${bmc(sim.port, 'not-the-password')}  nosol:\n${bmc(nosol.port)}`,
  );
}, 40_000);

afterAll(async () => {
  tmux('kill-server');
  await sim?.stop();
  await nosol?.stop();
  serial?.listener.stop(true);
  root?.cleanup();
});

async function wulf(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([compiledBin, '--root', root.dir, ...args], {
    env: { ...process.env, NO_COLOR: '1' },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

describe('wulf node console against ipmi_sim serial over LAN', () => {
  test('serial output shows in the pane, typed keys reach the node, ~. leaves with exit 0 and the terminal restored', async () => {
    const pane = Pane.start('c1', ['n1']);
    await pane.waitFor('SOL Session operational');
    expect(pane.screen()).toContain('type ~. at the start of a line to leave');
    serial.sock!.write('\r\nDebian GNU/Linux 12 n1 ttyS0\r\n\r\nn1 login: ');
    await pane.waitFor('n1 login:');
    expect(pane.screen()).toContain('Debian GNU/Linux 12 n1 ttyS0');
    serial.got = '';
    pane.type('root-typed-here');
    pane.keys('Enter');
    await until(() => serial.got.includes('root-typed-here\r'), `the typed line on the serial side (got ${JSON.stringify(serial.got)})`);
    // raw mode: Ctrl-C goes to the node, not to wulf
    pane.keys('C-c');
    await until(() => serial.got.includes('\x03'), 'Ctrl-C on the serial side');
    serial.sock!.write('^C\r\nstill here\r\n');
    await pane.waitFor('still here');
    // the password is on no command line while the session is up (ipmitool reads IPMI_PASSWORD)
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout.split('\n');
    const ipmitool = ps.filter((l) => l.startsWith('ipmitool') && l.includes(`-p ${sim.port}`));
    expect(ipmitool.length).toBe(1);
    expect(ipmitool[0]).toContain(' -E sol activate');
    expect(ps.filter((l) => l.includes(PASSWORD))).toEqual([]);
    // the escape is only recognised at the start of a line: after the Enter above and the echo lines
    pane.keys('Enter');
    pane.type('~.');
    const s = await pane.waitFor(/TTY=\w+/);
    expect(s).toContain('[terminated ipmitool]');
    expect(s).toMatch(/^EXIT=0$/m);
    expect(s).toMatch(/^TTY=restored$/m);
    expect(s).not.toMatch(/\bat .*\.ts:\d+/);
  }, 30_000);

  test('a session the BMC still holds: one clear line with a hint; --force ends it and attaches', async () => {
    const first = Pane.start('c2', ['n1']);
    await first.waitFor('SOL Session operational');
    const second = Pane.start('c3', ['n1']);
    const s = await second.waitFor(/TTY=\w+/);
    expect(s).toContain('wulf: n1: the serial console is in use by another SOL session');
    expect(s).toContain('hint: wulf node console --force n1');
    expect(s).toMatch(/^EXIT=1$/m);
    expect(s).not.toContain('SOL payload already active');
    const forced = Pane.start('c4', ['--force', 'n1']);
    await forced.waitFor('SOL Session operational');
    serial.sock!.write('\r\ntaken over\r\n');
    await forced.waitFor('taken over');
    serial.got = '';
    forced.type('after-force');
    forced.keys('Enter');
    await until(() => serial.got.includes('after-force\r'), `the typed line after --force (got ${JSON.stringify(serial.got)})`);
    forced.type('~.');
    const end = await forced.waitFor(/TTY=\w+/);
    expect(end).toMatch(/^EXIT=0$/m);
    expect(end).toMatch(/^TTY=restored$/m);
    tmux('kill-session', '-t', 'c2');
  }, 30_000);

  test('ipmitool killed mid-session (raw mode): the terminal is put back, exit 128+9', async () => {
    const pane = Pane.start('c5', ['n1']);
    await pane.waitFor('SOL Session operational');
    // this pane's ipmitool: a descendant of the pane's shell
    const procs = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((c) => c.length >= 3)
      .map(([pid, ppid, ...args]) => ({ pid: Number(pid), ppid: Number(ppid), args: args.join(' ') }));
    const mine = new Set([Number(tmux('display-message', '-p', '-t', 'c5', '#{pane_pid}').trim())]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of procs)
        if (mine.has(p.ppid) && !mine.has(p.pid)) {
          mine.add(p.pid);
          grew = true;
        }
    }
    const ipmitool = procs.filter((p) => mine.has(p.pid) && p.args.startsWith('ipmitool') && p.args.endsWith('sol activate'));
    expect(ipmitool.length).toBe(1);
    process.kill(ipmitool[0]!.pid, 'SIGKILL');
    const s = await pane.waitFor(/TTY=\w+/);
    expect(s).toMatch(/^EXIT=137$/m);
    expect(s).toMatch(/^TTY=restored$/m);
    // the BMC still holds that session: --force is the way back in
    const again = Pane.start('c6', ['--force', 'n1']);
    await again.waitFor('SOL Session operational');
    again.type('~.');
    expect(await again.waitFor(/TTY=\w+/)).toMatch(/^EXIT=0$/m);
  }, 30_000);

  test('a wrong password is one clear line and exit 1, before the terminal is handed over', async () => {
    const r = await wulf('node', 'console', 'badpw');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.trimEnd().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^wulf: badpw: BMC 127\\.0\\.0\\.1:${sim.port} refused the session: wrong username or password\\?`)),
    ]);
    expect(r.err).not.toContain('not-the-password');
  }, 20_000);

  test('a BMC without serial over LAN says so in one line with a hint, exit 1', async () => {
    const r = await wulf('node', 'console', 'nosol');
    expect(r.code).toBe(1);
    const lines = r.err.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('wulf: '))).toEqual([
      'wulf: nosol: serial over LAN is not available on this BMC (Error activating SOL payload: Invalid command)',
    ]);
    expect(lines.at(-1)).toContain('hint: check it is enabled');
    expect(r.err).not.toMatch(/\bat .*\.ts:\d+/);
    expect(r.err).not.toContain(PASSWORD);
  }, 20_000);
});
