// A private network namespace for end-to-end tests: bridges with addresses, tap devices for VMs,
// processes run inside it; removed with everything still running in it. Names carry the test's pid,
// and namespaces left by a killed run (their pid gone) are removed first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function run(cmd: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', env: opts.env ?? process.env, input: opts.input ?? '' });
  if (r.status !== 0)
    throw new Error(`${cmd.join(' ')}: exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout || (r.error ? String(r.error) : '')).trim()}`);
  return r.stdout;
}

export class Netns {
  readonly name: string;
  constructor(prefix: string) {
    Netns.removeStale(prefix);
    this.name = `${prefix}-${process.pid}`;
    run(['ip', 'netns', 'add', this.name]);
    this.ip('link', 'set', 'lo', 'up');
  }

  /** Namespaces PREFIX-<pid> whose test process is gone: kill what runs in them, delete them. */
  static removeStale(prefix: string): void {
    const names = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((l) => l.split(' ')[0]!);
    for (const ns of names) {
      const m = new RegExp(`^${prefix}-(\\d+)$`).exec(ns);
      if (m && !existsSync(`/proc/${m[1]}`)) destroyNetns(ns);
    }
  }

  ip(...args: string[]): string {
    return run(['ip', '-n', this.name, ...args]);
  }

  bridge(name: string, cidr: string): void {
    this.ip('link', 'add', name, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    this.ip('addr', 'add', cidr, 'dev', name);
    this.ip('link', 'set', name, 'up');
  }

  tap(name: string, bridge: string): string {
    this.ip('tuntap', 'add', 'dev', name, 'mode', 'tap');
    this.ip('link', 'set', name, 'master', bridge, 'up');
    return name;
  }

  /** argv prefixed to run a command inside the namespace */
  argv(cmd: string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...cmd];
  }

  exec(cmd: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): string {
    return run(this.argv(cmd), opts);
  }

  destroy(): void {
    destroyNetns(this.name);
  }
}

/** Kill every process in the namespace (by pid), then delete it. */
export function destroyNetns(name: string): void {
  for (let i = 0; i < 3; i++) {
    const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
    if (!pids.length) break;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    Bun.sleepSync(300);
  }
  spawnSync('ip', ['netns', 'del', name]);
}
