// Controllers for the multi-controller tests: each a compiled `wulf serve` with its own root (its own
// wulf.conf, lock and state dir), its own loopback ports and name (WULF_CONTROLLER), all on one
// PostgreSQL store; DHCP and TFTP off unless asked. Their log (stdout and stderr) is kept.
import { spawn, type ChildProcess } from 'node:child_process';
import { modes, runWulf, tempRoot } from '../helpers/cli.ts';

export const bin = modes[0]!;

export interface Controller {
  name: string;
  root: string;
  base: string;
  port: number;
  log: () => string;
  stop: () => Promise<void>;
  wulf: (args: string[]) => ReturnType<typeof runWulf>;
}

/** A root with `wulf init` done (loopback address, interface lo). */
export function initRoot(prefix: string): { dir: string; cleanup: () => void } {
  const t = tempRoot(prefix);
  const r = runWulf(bin, t.dir, ['init', '--address', '127.0.0.1/8', '--interface', 'lo']);
  if (r.code !== 0) throw new Error(`init: ${r.err}`);
  return t;
}

export async function startController(name: string, root: string, url: string, extra: string[] = ['--no-dhcp']): Promise<Controller> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const args = ['serve', '--address', '127.0.0.1', '--http-port', String(port), '--tftp-port', String(port + 2), '--no-ra', ...extra];
  const env = { ...process.env, WULF_ROOT: root, WULF_HOST_ROOT: root, WULF_STORE: url, WULF_CONTROLLER: name, NO_COLOR: '1' };
  const p: ChildProcess = spawn(bin.argv[0]!, [...bin.argv.slice(1), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  p.stdout!.on('data', (d) => {
    log += String(d);
  });
  p.stderr!.on('data', (d) => {
    log += String(d);
  });
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const done = new Promise((r) => p.on('exit', r));
    p.kill('SIGTERM');
    await done;
  };
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${base}/status`)).ok)
        return { name, root, base, port, log: () => log, stop, wulf: (a) => runWulf(bin, root, a, { env: { WULF_STORE: url } }) };
    } catch {
      /* starting */
    }
    if (p.exitCode !== null) break;
    await Bun.sleep(100);
  }
  await stop();
  throw new Error(`serve ${name} did not start: ${log}`);
}
