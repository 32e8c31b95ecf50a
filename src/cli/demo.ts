// `wulf demo`: the main job on an embedded default. A throw-away root with the default profile,
// a tiny image and eight nodes; `wulf serve` on loopback with unprivileged ports; simulated
// nodes booting through DHCP → TFTP → iPXE → kernel → image → overlays; watched in the TUI
// (or, without a terminal, as `node status` lines for a while).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compiled } from '../lib/assets.ts';
import { WulfError } from '../lib/errors.ts';
import type { Ctx, Noun } from './command.ts';
import { defineCommand } from './define.ts';

/** argv that re-runs this same wulf (the compiled binary, or bun + src/main.ts). */
export function selfArgv(): string[] {
  return compiled ? [process.execPath] : [process.execPath, join(import.meta.dir, '..', 'main.ts')];
}

async function freeTcpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}
async function freeUdpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createSocket('udp4');
    s.once('error', rej);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

/** A small stand-in image: busybox as /bin/sh and the host's kernel when it has one. */
function demoRootfs(dir: string): string {
  const fs = join(dir, 'demo-rootfs');
  for (const d of ['bin', 'sbin', 'etc', 'boot', 'proc', 'sys', 'dev', 'run', 'tmp']) mkdirSync(join(fs, d), { recursive: true });
  const sh = ['/bin/busybox', '/usr/bin/busybox', '/bin/sh'].find(existsSync)!;
  copyFileSync(sh, join(fs, 'bin/sh'));
  chmodSync(join(fs, 'bin/sh'), 0o755);
  writeFileSync(join(fs, 'etc/os-release'), 'NAME="wulf demo image"\nID=wulf-demo\n');
  const kernels = existsSync('/boot')
    ? readdirSync('/boot')
        .filter((f) => /^vmlinuz-/.test(f))
        .sort()
    : [];
  if (kernels.length) copyFileSync(join('/boot', kernels[kernels.length - 1]!), join(fs, 'boot', kernels[kernels.length - 1]!));
  else writeFileSync(join(fs, 'boot/vmlinuz-6.1.0-demo'), 'stand-in kernel for simulated nodes\n');
  return fs;
}

function step(ctx: Ctx, root: string, args: string[]): void {
  const r = spawnSync(selfArgv()[0]!, [...selfArgv().slice(1), ...args], { env: { ...process.env, WULF_ROOT: root }, encoding: 'utf8' });
  if (r.status !== 0) throw new WulfError(`demo: 'wulf ${args.join(' ')}' failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  ctx.out(`  $ wulf ${args.join(' ')}`);
}

/** nodes.conf entries of the demo's n01..nN */
function demoNodesYaml(n: number): string {
  return Array.from({ length: n }, (_, i) => {
    const mac = `52:54:00:de:00:${(i + 1).toString(16).padStart(2, '0')}`;
    return (
      `n${String(i + 1).padStart(2, '0')}:\n  profiles: [default]\n  image name: demo\n  network devices:\n    default:\n` +
      `      device: eth0\n      ipaddr: 127.0.10.${i + 1}\n      hwaddr: "${mac}"\n`
    );
  }).join('');
}

export const noun: Noun = {
  verbs: [],
  direct: defineCommand({
    name: '',
    summary: 'a throw-away cluster on loopback: wulf serve, simulated nodes booting, watched in the TUI',
    flags: {
      nodes: { type: 'string', help: 'how many simulated nodes (default 8)', arg: 'N' },
      seconds: { type: 'string', help: 'without a terminal: how long to print status (default 20)', arg: 'S' },
    },
    async run(ctx, { flags }) {
      const n = Math.max(1, Math.min(200, Number(flags.nodes ?? 8) || 8));
      const root =
        ctx.paths.root && ctx.paths.root !== '' && ctx.env.WULF_ROOT ? ctx.paths.root : mkdtempSync(join(tmpdir(), 'wulf-demo-'));
      const [http, https, dhcp, tftp, relay] = [
        await freeTcpPort(),
        await freeTcpPort(),
        await freeUdpPort(),
        await freeUdpPort(),
        await freeUdpPort(),
      ];
      ctx.out(`wulf demo: a throw-away cluster in ${root}`);
      step(ctx, root, ['init', '--address', '127.0.0.1/8', '--interface', 'lo', '--port', String(http)]);
      step(ctx, root, ['image', 'import', demoRootfs(root), 'demo']);
      step(ctx, root, ['image', 'build', 'demo']);
      const last = String(n).padStart(2, '0');
      writeFileSync(join(root, 'demo-nodes.yaml'), demoNodesYaml(n));
      step(ctx, root, ['node', 'import', join(root, 'demo-nodes.yaml'), '-y']);
      const env = { ...process.env, WULF_ROOT: root };
      const kids: ChildProcess[] = [];
      const stopAll = () => {
        for (const k of kids) {
          try {
            k.kill('SIGTERM');
          } catch {
            /* gone */
          }
        }
      };
      process.on('exit', stopAll);
      const serve = spawn(
        selfArgv()[0]!,
        [
          ...selfArgv().slice(1),
          'serve',
          '--address',
          '127.0.0.1',
          '--http-port',
          String(http),
          '--tls-port',
          String(https),
          '--dhcp-port',
          String(dhcp),
          '--tftp-port',
          String(tftp),
          '--dhcp-relay-port',
          String(relay),
        ],
        { env, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      kids.push(serve);
      let serveErr = '';
      serve.stderr!.on('data', (d) => {
        serveErr += String(d);
      });
      for (let i = 0; i < 100; i++) {
        if (serve.exitCode !== null) throw new WulfError(`demo: wulf serve stopped: ${serveErr.trim().split('\n').pop() ?? ''}`);
        try {
          if ((await fetch(`http://127.0.0.1:${http}/status`)).ok) break;
        } catch {
          /* not yet */
        }
        await Bun.sleep(100);
      }
      ctx.out(`  serving HTTP :${http}, DHCP :${dhcp}, TFTP :${tftp} on 127.0.0.1`);
      const sim = spawn(
        selfArgv()[0]!,
        [
          ...selfArgv().slice(1),
          'sim',
          '--server',
          '127.0.0.1',
          '--http-port',
          String(http),
          '--dhcp-port',
          String(dhcp),
          '--tftp-port',
          String(tftp),
          '--relay-port',
          String(relay),
          '--nodes',
          `n[01-${last}]`,
          '--interval',
          '2s',
          '--concurrency',
          '1',
          '--agent',
          '10',
        ],
        { env, stdio: 'ignore' },
      );
      kids.push(sim);
      try {
        if (ctx.isTTY) {
          const tui = spawn(selfArgv()[0]!, [...selfArgv().slice(1), 'tui', '--server', `http://127.0.0.1:${http}`], {
            env,
            stdio: 'inherit',
          });
          await new Promise((res) => tui.on('exit', res));
        } else {
          const seconds = Math.max(1, Number(flags.seconds ?? 20) || 20);
          ctx.out(`  no terminal: printing node status for ${seconds} s (run in a terminal for the TUI)`);
          for (let t = 0; t < seconds; t += 5) {
            await Bun.sleep(5000);
            const r = spawnSync(selfArgv()[0]!, [...selfArgv().slice(1), 'node', 'status'], {
              env: { ...env, NO_COLOR: '1' },
              encoding: 'utf8',
            });
            ctx.out(r.stdout.trimEnd());
          }
        }
      } finally {
        stopAll();
      }
      ctx.out(`demo finished; its files stay in ${root} (WULF_ROOT=${root} wulf node list)`);
    },
  }),
};
