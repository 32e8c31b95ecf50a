// Network-namespace pair for DHCP tests and the benchmark: a server netns and a client netns joined
// by a veth. Everything is named wdhcp-<tag>; teardown kills what runs inside and deletes both.
import { spawnSync } from 'bun';

export function sh(cmd: string[], okCodes = [0]): string {
  const r = spawnSync(cmd, { stdout: 'pipe', stderr: 'pipe' });
  if (!okCodes.includes(r.exitCode ?? -1)) {
    throw new Error(`${cmd.join(' ')} -> exit ${r.exitCode}: ${r.stderr.toString().trim()}`);
  }
  return r.stdout.toString();
}

export function requireTool(name: string, pkg: string): string {
  const r = spawnSync(['sh', '-c', `command -v ${name}`], { stdout: 'pipe' });
  const p = r.stdout.toString().trim();
  if (r.exitCode !== 0 || !p) throw new Error(`${name} is missing: apt-get install -y ${pkg}`);
  return p;
}

export interface NsPair {
  srv: string;
  cli: string; // netns names
  srvIf: string;
  cliIf: string; // interface names inside them
  net: string; // "10.77.x"
  exec(ns: string, cmd: string[]): string[];
  teardown(): void;
}

/** Create wdhcp-s<tag> (server, <net>.1/24) and wdhcp-c<tag> (client, no address) joined by a veth. */
export function createNsPair(tag: string, net: string, clientMac?: string): NsPair {
  const srv = `wdhcp-s${tag}`,
    cli = `wdhcp-c${tag}`;
  const srvIf = `wd${tag}s`,
    cliIf = `wd${tag}c`;
  const pair: NsPair = {
    srv,
    cli,
    srvIf,
    cliIf,
    net,
    exec: (ns, cmd) => ['ip', 'netns', 'exec', ns, ...cmd],
    teardown() {
      for (const ns of [srv, cli]) {
        const pids = spawnSync(['ip', 'netns', 'pids', ns], { stdout: 'pipe', stderr: 'pipe' })
          .stdout.toString()
          .split(/\s+/)
          .filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        spawnSync(['ip', 'netns', 'del', ns], { stderr: 'pipe' });
      }
    },
  };
  pair.teardown(); // leftovers of a crashed run
  requireTool('ip', 'iproute2');
  sh(['ip', 'netns', 'add', srv]);
  sh(['ip', 'netns', 'add', cli]);
  sh(['ip', 'link', 'add', srvIf, 'netns', srv, 'type', 'veth', 'peer', 'name', cliIf, 'netns', cli]);
  sh(pair.exec(srv, ['ip', 'addr', 'add', `${net}.1/24`, 'dev', srvIf]));
  sh(pair.exec(srv, ['ip', 'link', 'set', 'lo', 'up']));
  sh(pair.exec(srv, ['ip', 'link', 'set', srvIf, 'up']));
  if (clientMac) sh(pair.exec(cli, ['ip', 'link', 'set', cliIf, 'address', clientMac]));
  sh(pair.exec(cli, ['ip', 'link', 'set', 'lo', 'up']));
  sh(pair.exec(cli, ['ip', 'link', 'set', cliIf, 'up']));
  return pair;
}

/** Start a process and wait for a line on stdout matching `ready` (or fail after timeoutMs). */
export async function startAndWait(
  cmd: string[],
  ready: RegExp,
  timeoutMs = 15_000,
): Promise<{ proc: Bun.Subprocess<'ignore', 'pipe', 'pipe'>; lines: string[] }> {
  const proc = Bun.spawn(cmd, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  const lines: string[] = [];
  let resolveReady!: () => void;
  const readyP = new Promise<void>((r) => {
    resolveReady = r;
  });
  (async () => {
    const dec = new TextDecoder();
    let buf = '';
    for await (const chunk of proc.stdout) {
      buf += dec.decode(chunk);
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (ready.test(line)) resolveReady();
      }
    }
  })();
  let t: ReturnType<typeof setTimeout> | undefined;
  const timer = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(new Error(`${cmd.join(' ')} not ready in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([
      readyP,
      timer,
      proc.exited.then(async (c) => {
        throw new Error(`${cmd.join(' ')} exited ${c}: ${await new Response(proc.stderr).text()}`);
      }),
    ]);
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  } finally {
    clearTimeout(t);
  }
  return { proc, lines };
}

export const BUN = process.execPath;

/** Run a command to completion without blocking the event loop. */
export async function run(cmd: string[], timeoutMs = 30_000): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(cmd, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(t);
  return { code, out, err };
}

export async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await Bun.sleep(20);
  }
  return cond();
}

export interface NsStar {
  srv: string; // server netns
  legs: { cli: string; srvIf: string; cliIf: string; net: string }[];
  exec(ns: string, cmd: string[]): string[];
  teardown(): void;
}

/**
 * A server netns with one veth leg per network to its own client netns: wdi-s<tag>, wdi-<i><tag>;
 * the server holds <net>.1/24 on wi<tag><i>s, the client's end wi<tag><i>c has no address.
 */
export function createNsStar(tag: string, nets: string[]): NsStar {
  const srv = `wdi-s${tag}`;
  const legs = nets.map((net, i) => ({ cli: `wdi-${i}${tag}`, srvIf: `wi${tag}${i}s`, cliIf: `wi${tag}${i}c`, net }));
  const star: NsStar = {
    srv,
    legs,
    exec: (ns, cmd) => ['ip', 'netns', 'exec', ns, ...cmd],
    teardown() {
      for (const ns of [srv, ...legs.map((l) => l.cli)]) {
        const pids = spawnSync(['ip', 'netns', 'pids', ns], { stdout: 'pipe', stderr: 'pipe' })
          .stdout.toString()
          .split(/\s+/)
          .filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        spawnSync(['ip', 'netns', 'del', ns], { stderr: 'pipe' });
      }
    },
  };
  star.teardown();
  requireTool('ip', 'iproute2');
  sh(['ip', 'netns', 'add', srv]);
  sh(star.exec(srv, ['ip', 'link', 'set', 'lo', 'up']));
  for (const l of legs) {
    sh(['ip', 'netns', 'add', l.cli]);
    sh(['ip', 'link', 'add', l.srvIf, 'netns', srv, 'type', 'veth', 'peer', 'name', l.cliIf, 'netns', l.cli]);
    sh(star.exec(srv, ['ip', 'addr', 'add', `${l.net}.1/24`, 'dev', l.srvIf]));
    sh(star.exec(srv, ['ip', 'link', 'set', l.srvIf, 'up']));
    sh(star.exec(l.cli, ['ip', 'link', 'set', 'lo', 'up']));
    sh(star.exec(l.cli, ['ip', 'link', 'set', l.cliIf, 'up']));
  }
  return star;
}
