// Runs the wulf CLI for tests: the compiled dist/wulf (what users get) and the source entry.
import { spawnSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dir, '..', '..');
export const compiledBin = process.env.WULF_BIN ?? join(repoRoot, 'dist', 'wulf');

export type Mode = { name: string; argv: string[] };
export const modes: Mode[] = [
  { name: 'compiled', argv: [compiledBin] },
  { name: 'source', argv: [process.execPath, join(repoRoot, 'src', 'main.ts')] },
];
export function requireCompiled(): void {
  if (!existsSync(compiledBin)) throw new Error(`${compiledBin} is missing: run 'bun build/build.ts' first (npm test does)`);
}

export interface RunResult {
  code: number;
  out: string;
  err: string;
}

export function runWulf(mode: Mode, root: string, args: string[], opts: { input?: string; env?: Record<string, string> } = {}): RunResult {
  const r = spawnSync(mode.argv[0]!, [...mode.argv.slice(1), ...args], {
    // WULF_HOST_ROOT: the controller's own files (passwd, root's keys, resolv.conf) from the temp root too
    encoding: 'utf8',
    input: opts.input ?? '',
    env: { ...process.env, WULF_ROOT: root, WULF_HOST_ROOT: root, NO_COLOR: '1', ...opts.env },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export function spawnWulf(mode: Mode, root: string, args: string[]) {
  return spawn(mode.argv[0]!, [...mode.argv.slice(1), ...args], {
    env: { ...process.env, WULF_ROOT: root, WULF_HOST_ROOT: root },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function tempRoot(prefix = 'wulf-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A stand-in image tree for serve tests: busybox as /bin/sh and a fake kernel file in /boot. */
export function tinyRootfs(dir: string, kernel: string | Uint8Array): string {
  const fs = join(dir, 'rootfs');
  mkdirSync(join(fs, 'bin'), { recursive: true });
  mkdirSync(join(fs, 'boot'), { recursive: true });
  copyFileSync('/bin/busybox', join(fs, 'bin/sh'));
  writeFileSync(join(fs, 'boot/vmlinuz-6.1.0-9-amd64'), kernel);
  return fs;
}

/** Random unprivileged loopback ports for one `wulf serve` (HTTP, DHCP, TFTP, and the sim's relay). */
export function loopbackPorts() {
  const port = 20000 + Math.floor(Math.random() * 20000);
  return { ports: { http: port, dhcp: port + 1, tftp: port + 2, relay: port + 3 }, base: `http://127.0.0.1:${port}` };
}

/** `wulf serve` on 127.0.0.1 with those ports; resolves once /status answers (stderr goes to onLog). */
export async function startServe(mode: Mode, root: string, ports: ReturnType<typeof loopbackPorts>['ports'], onLog: (s: string) => void) {
  const p = spawnWulf(mode, root, [
    'serve',
    '--address',
    '127.0.0.1',
    '--http-port',
    String(ports.http),
    '--dhcp-port',
    String(ports.dhcp),
    '--tftp-port',
    String(ports.tftp),
    '--dhcp-relay-port',
    String(ports.relay),
  ]);
  let log = '';
  p.stderr!.on('data', (d) => {
    log += String(d);
    onLog(String(d));
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${ports.http}/status`)).ok) return p;
    } catch {
      /* starting */
    }
    await Bun.sleep(100);
  }
  await stopServe(p);
  throw new Error(`serve did not start: ${log}`);
}

/** Stop a server started with startServe and wait for it to exit. */
export async function stopServe(p: ReturnType<typeof spawnWulf> | undefined) {
  if (!p || p.exitCode !== null) return;
  const done = new Promise((r) => p.on('exit', r));
  p.kill('SIGTERM');
  await done;
}

/** Give the controller under `root` its own dynamic range (what an admin edits in wulf.conf after `wulf init`):
 *  controllers on one PostgreSQL store may not claim overlapping ranges. */
export function setDhcpRange(root: string, start: string, end: string): void {
  const f = `${root}/etc/wulf/wulf.conf`;
  const text = readFileSync(f, 'utf8');
  if (!/range start: /.test(text)) throw new Error(`${f}: no dhcp range to change`);
  writeFileSync(f, text.replace(/range start: \S+/, `range start: ${start}`).replace(/range end: \S+/, `range end: ${end}`));
}
