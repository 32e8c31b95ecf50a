// The controller-side steps of `wulf configure` that touch the host: /etc/hosts and /etc/exports from
// the host overlay (only that one file each time, written as `overlay build --host` writes them), and
// handing the exports to the kernel NFS server with `exportfs -ra`. What exportfs can and cannot do is
// told as it is: it needs nfs-kernel-server, it reads /etc/exports only (a relocated wulf writes its
// exports elsewhere), and on a kernel without nfsd it updates the export table and nothing is served.
import { existsSync, readFileSync } from 'node:fs';
import type { NodesConf } from '../config/cascade.ts';
import type { Paths } from '../config/paths.ts';
import type { WulfConf } from '../config/wulfconf.ts';
import { hostTarget, renderHostOverlay, writeHostFiles, type HostResult } from '../overlays/host.ts';

/** Render the host overlay and write just the file `rel` (e.g. etc/hosts) into the controller's root. */
export function writeHostFile(paths: Paths, conf: NodesConf, wulf: WulfConf, rel: string): HostResult {
  const files = renderHostOverlay(paths, conf, wulf).filter((f) => f.rel === rel);
  if (!files.length) throw new Error(`the host overlay has no template for /${rel}`);
  return writeHostFiles(hostTarget(paths), files)[0]!;
}

export type NfsState =
  | { kind: 'relocated'; file: string }
  | { kind: 'no-exportfs' }
  | { kind: 'failed'; error: string }
  | { kind: 'exported'; exports: string[]; warnings: string; server: 'running' | 'no-nfsd' | 'not-running'; started?: string };

const run = (argv: string[]) => {
  const r = Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'pipe' });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
};

/** Does this kernel have an NFS server: nfsd in /proc/filesystems, or a module modprobe would load. */
export function kernelHasNfsd(): boolean {
  try {
    if (/\bnfsd$/m.test(readFileSync('/proc/filesystems', 'utf8'))) return true;
  } catch {
    /* no /proc */
  }
  return !!Bun.which('modprobe') && run(['modprobe', '-n', '-q', 'nfsd']).code === 0;
}

/** Threads the kernel NFS server runs (0: not started, or nfsd's filesystem not mounted). */
function nfsdThreads(): number {
  try {
    return Number(readFileSync('/proc/fs/nfsd/threads', 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

/**
 * `exportfs -ra` after /etc/exports was written, then what the kernel does with it. With systemd running
 * and nfsd available but not started, the NFS server unit is enabled and started (as wwctl does).
 */
export function exportNfs(paths: Paths, unit = 'nfs-server'): NfsState {
  const target = hostTarget(paths);
  if (target !== '/') return { kind: 'relocated', file: `${target.replace(/\/$/, '')}/etc/exports` };
  const exportfs = Bun.which('exportfs', { PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` });
  if (!exportfs) return { kind: 'no-exportfs' };
  const r = run([exportfs, '-ra']);
  if (r.code !== 0) return { kind: 'failed', error: (r.err || r.out).trim().split('\n').slice(-1)[0] || `exit ${r.code}` };
  const v = run([exportfs, '-s']);
  const exports =
    v.code === 0
      ? v.out
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
      : [];
  const warnings = r.err.trim();
  if (nfsdThreads() > 0) return { kind: 'exported', exports, warnings, server: 'running' };
  if (!kernelHasNfsd()) return { kind: 'exported', exports, warnings, server: 'no-nfsd' };
  if (existsSync('/run/systemd/system') && Bun.which('systemctl')) {
    const s = run(['systemctl', 'enable', '--now', unit]);
    return {
      kind: 'exported',
      exports,
      warnings,
      server: s.code === 0 ? 'running' : 'not-running',
      started:
        s.code === 0
          ? `systemctl enable --now ${unit}`
          : `systemctl enable --now ${unit} failed: ${(s.err || s.out).trim().split('\n').pop()}`,
    };
  }
  return { kind: 'exported', exports, warnings, server: 'not-running' };
}
