// Parallel ssh to nodes (`wulf ssh`, wwctl ssh): each node's primary address, at most `fanout`
// sessions at once, every output line prefixed with the node's name as it arrives, and one outcome
// per node (exit status, or why it never ran). The nodes' host keys are checked against the
// cluster's own (the ssh.host_keys overlay puts the same keys on every node), and the client uses
// root's keys (`wulf configure ssh` makes them and the ssh.authorized_keys overlay installs them).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Paths } from '../config/paths.ts';
import type { MergedNode } from '../config/cascade.ts';
import { fanout } from '../power/fanout.ts';

export interface SshTarget {
  node: string;
  address?: string;
}
export interface SshOutcome {
  node: string;
  address?: string;
  exit?: number;
  signal?: string;
  error?: string;
  ms: number;
}
export interface SshOptions {
  fanout: number;
  /** seconds between two session starts (wwctl --sleep) */
  sleepMs?: number;
  timeoutMs?: number;
  rsh: string;
  /** print lines as they arrive */
  onLine: (node: string, stream: 'out' | 'err', line: string) => void;
  onDone?: (o: SshOutcome) => void;
  signal?: AbortSignal;
}

/** The address ssh reaches a node at: its primary network device's IPv4 (else IPv6) address. */
export function targetOf(m: MergedNode): SshTarget {
  const nd = m.primary ? m.data.networkDevices?.[m.primary] : undefined;
  return { node: m.id, address: nd?.ipaddr || nd?.ipaddr6?.split('/')[0] || undefined };
}

/** Root's ssh directory on the controller, where the ssh.authorized_keys overlay reads it. */
export function rootSshDir(paths: Paths): string {
  return join(paths.hostRoot || '/', 'root', '.ssh');
}

/** The cluster's public host keys (`wulf configure ssh`), as `TYPE BASE64` texts. */
export function clusterHostKeys(paths: Paths): string[] {
  if (!existsSync(paths.keysDir)) return [];
  return readdirSync(paths.keysDir)
    .filter((f) => /^ssh_host_\w+_key\.pub$/.test(f))
    .sort()
    .map((f) => readFileSync(join(paths.keysDir, f), 'utf8').trim().split(/\s+/).slice(0, 2).join(' '))
    .filter((l) => l.includes(' '));
}

/**
 * The argv for one node. With cluster host keys, a known_hosts file naming each node's name and address
 * with them, and strict checking: a node presenting another key is refused. BatchMode: no session waits on
 * a password prompt that fan-out would interleave.
 */
export function sshArgv(rsh: string, t: SshTarget, cmd: string[], extra: { knownHosts?: string; identities: string[] }): string[] {
  // another remote shell (--rsh rsh, a wrapper) gets wwctl's plain `RSH ADDRESS CMD...`
  if (!/(^|\/)ssh$/.test(rsh)) return [rsh, t.address!, ...cmd];
  const opts = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10'];
  if (extra.knownHosts)
    opts.push(
      '-o',
      `UserKnownHostsFile=${extra.knownHosts}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `HostKeyAlias=${t.node}`,
    );
  for (const i of extra.identities) opts.push('-i', i);
  return [rsh, ...opts, t.address!, ...cmd];
}

function splitter(node: string, stream: 'out' | 'err', onLine: SshOptions['onLine']) {
  const dec = new TextDecoder();
  let buf = '';
  return {
    push(chunk: Uint8Array) {
      buf += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(node, stream, buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    },
    end() {
      buf += dec.decode();
      if (buf) onLine(node, stream, buf);
      buf = '';
    },
  };
}

async function pump(s: ReadableStream<Uint8Array>, sp: ReturnType<typeof splitter>): Promise<void> {
  for await (const chunk of s) sp.push(chunk);
  sp.end();
}

/** Run `cmd` on every target; returns one outcome per target, in the targets' order. */
export async function sshFanout(paths: Paths, targets: SshTarget[], cmd: string[], o: SshOptions): Promise<SshOutcome[]> {
  const keys = clusterHostKeys(paths);
  const dir = mkdtempSync(join(tmpdir(), 'wulf-ssh-'));
  try {
    let knownHosts: string | undefined;
    if (keys.length) {
      knownHosts = join(dir, 'known_hosts');
      // HostKeyAlias makes ssh look the key up by node name; the address is listed too for a plain `ssh ADDRESS`
      writeFileSync(
        knownHosts,
        targets.flatMap((t) => keys.map((k) => `${[t.node, t.address].filter(Boolean).join(',')} ${k}`)).join('\n') + '\n',
      );
    }
    const sshDir = rootSshDir(paths);
    const identities = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(sshDir, f)).filter((f) => existsSync(f));
    const out: SshOutcome[] = new Array(targets.length);
    await fanout(
      targets,
      async (t, signal) => {
        if (!t.address) throw new Error('no address (the node has no primary network device with ipaddr)');
        const p = Bun.spawn(sshArgv(o.rsh, t, cmd, { knownHosts, identities }), { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
        const kill = () => p.kill('SIGTERM');
        signal.addEventListener('abort', kill, { once: true });
        try {
          await Promise.all([pump(p.stdout, splitter(t.node, 'out', o.onLine)), pump(p.stderr, splitter(t.node, 'err', o.onLine))]);
          const code = await p.exited;
          return { exit: code, signal: p.signalCode ? String(p.signalCode) : undefined };
        } finally {
          signal.removeEventListener('abort', kill);
        }
      },
      { fanout: o.fanout, timeoutMs: o.timeoutMs && o.timeoutMs > 0 ? o.timeoutMs : 2 ** 31 - 1, staggerMs: o.sleepMs, signal: o.signal },
      (t, r, i) => {
        const res: SshOutcome = r.ok
          ? { node: t.node, address: t.address, exit: r.value.exit, signal: r.value.signal ?? undefined, ms: r.ms }
          : { node: t.node, address: t.address, error: r.error instanceof Error ? r.error.message : String(r.error), ms: r.ms };
        out[i] = res;
        o.onDone?.(res);
      },
    );
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ok when the command ran and exited 0. */
export const succeeded = (o: SshOutcome) => o.exit === 0 && !o.error && !o.signal;
