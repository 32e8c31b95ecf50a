// Runs the wulf CLI for tests: the compiled dist/wulf (what users get) and the source entry.
import { spawnSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

export interface RunResult { code: number; out: string; err: string }

export function runWulf(mode: Mode, root: string, args: string[], opts: { input?: string; env?: Record<string, string> } = {}): RunResult {
  const r = spawnSync(mode.argv[0]!, [...mode.argv.slice(1), ...args], {
    // WULF_HOST_ROOT: the controller's own files (passwd, root's keys, resolv.conf) from the temp root too
    encoding: 'utf8', input: opts.input ?? '', env: { ...process.env, WULF_ROOT: root, WULF_HOST_ROOT: root, NO_COLOR: '1', ...opts.env },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export function spawnWulf(mode: Mode, root: string, args: string[]) {
  return spawn(mode.argv[0]!, [...mode.argv.slice(1), ...args], { env: { ...process.env, WULF_ROOT: root, WULF_HOST_ROOT: root }, stdio: ['ignore', 'pipe', 'pipe'] });
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
