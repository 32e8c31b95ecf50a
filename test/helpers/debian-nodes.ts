// Helpers for tests that boot real Debian nodes: the recipe build (images/debian12, cached outside
// the checkout), ssh from the controller's namespace with the key wulf's ssh.authorized_keys overlay
// delivered (host key pinned to the one wulf holds), a userspace NFS server, image padding.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './cli.ts';
import type { Netns } from './netns.ts';

/** Build (or take from the cache) a Debian 12 flavour; returns the rootfs directory. */
export async function debianRootfs(flavour: string): Promise<string> {
  const t0 = Date.now();
  const p = Bun.spawn([join(repoRoot, 'images/debian12/build.sh'), flavour], { stdout: 'pipe', stderr: 'pipe' });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`images/debian12/build.sh ${flavour} failed:\n${err.trim().split('\n').slice(-15).join('\n')}`);
  const dir = out.trim().split('\n').pop()!;
  console.log(
    `debian12-${flavour}: ${dir} (${((Date.now() - t0) / 1000).toFixed(1)} s${
      /built in/.test(err)
        ? `; ${err
            .trim()
            .split('\n')
            .filter((l) => /built in/.test(l))
            .join('; ')}`
        : ', cached'
    })`,
  );
  return dir;
}

export interface SshResult {
  code: number;
  out: string;
  err: string;
}

/** ssh as root to a node from inside the controller's namespace. Only the host key wulf generated is accepted. */
export class NodeSsh {
  readonly knownHosts: string;
  constructor(
    private ns: Netns,
    private key: string,
    hostPub: string,
    dir: string,
  ) {
    this.knownHosts = join(dir, 'known_hosts');
    writeFileSync(this.knownHosts, `* ${readFileSync(hostPub, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')}\n`);
  }

  argv(ip: string, cmd: string): string[] {
    return this.ns.argv([
      'ssh',
      '-F',
      '/dev/null',
      '-i',
      this.key,
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=10',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${this.knownHosts}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'HostKeyAlgorithms=ssh-ed25519',
      '-o',
      'LogLevel=ERROR',
      `root@${ip}`,
      cmd,
    ]);
  }

  run(ip: string, cmd: string, timeoutMs = 60_000): SshResult {
    const a = this.argv(ip, cmd);
    const r = spawnSync(a[0]!, a.slice(1), { encoding: 'utf8', timeout: timeoutMs });
    return { code: r.status ?? -1, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  }

  /** stdout of a command that must succeed */
  out(ip: string, cmd: string, timeoutMs = 60_000): string {
    const r = this.run(ip, cmd, timeoutMs);
    if (r.code !== 0) throw new Error(`ssh ${ip} '${cmd}': exit ${r.code}: ${r.err.trim() || r.out.trim()}`);
    return r.out;
  }

  /** Wait until sshd answers (it may start a little after the login prompt). */
  async waitUp(ip: string, ms: number): Promise<SshResult> {
    const end = Date.now() + ms;
    let r: SshResult = { code: -1, out: '', err: 'not tried' };
    while (Date.now() < end) {
      r = this.run(ip, 'true', 30_000);
      if (r.code === 0) return r;
      await Bun.sleep(2000);
    }
    return r;
  }
}

/** The node's ed25519 host key as ssh-keyscan sees it (a loaded TCG guest may need more than one try). */
export async function keyscan(ns: Netns, ip: string): Promise<string> {
  let last = '';
  for (let i = 0; i < 3; i++) {
    const a = ns.argv(['ssh-keyscan', '-T', '20', '-t', 'ed25519', ip]);
    const r = spawnSync(a[0]!, a.slice(1), { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.includes('ssh-ed25519')) return r.stdout;
    last = `exit ${r.status}: ${r.stderr.trim()}`;
    await Bun.sleep(2000);
  }
  throw new Error(`ssh-keyscan ${ip}: ${last}`);
}

/** The ed25519 fingerprint (SHA256:…) of a public key file or of ssh-keyscan output. */
export function fingerprint(pubKeyText: string): string {
  const r = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', '-'], { input: pubKeyText, encoding: 'utf8' });
  const fp = r.stdout
    .split('\n')
    .find((l) => /\(ED25519\)/.test(l))
    ?.split(/\s+/)[1];
  if (!fp) throw new Error(`no ed25519 key in: ${pubKeyText.trim().slice(0, 200)}`);
  return fp;
}

/**
 * NFS for the nodes' /home. The kernel NFS server (nfs-kernel-server) needs nfsd in the host
 * kernel; where it is missing (this test machine's kernel is built without CONFIG_NFSD: no nfsd in
 * /proc/filesystems, `modprobe nfsd` finds no module) Debian's userspace NFS server, NFS-Ganesha,
 * serves the same export in the controller's namespace. The node side is the same either way: the
 * Debian kernel's NFSv4 client mounting what wulf's fstab overlay names.
 */
export class Ganesha {
  pidFile: string;
  log: string;
  proc?: ReturnType<typeof Bun.spawn>;
  constructor(
    private ns: Netns,
    private dir: string,
  ) {
    this.pidFile = join(dir, 'ganesha.pid');
    this.log = join(dir, 'ganesha.log');
  }

  async start(exportDir: string, pseudo: string, clients: string, options: string): Promise<void> {
    const recovery = join(this.dir, 'ganesha-recovery');
    mkdirSync(recovery, { recursive: true });
    // exports(5) defaults: root squashed to nobody unless no_root_squash; rw or ro
    const squash = /no_root_squash/.test(options) ? 'No_Root_Squash' : 'Root_Squash';
    const access = /(^|,)ro(,|$)/.test(options) ? 'RO' : 'RW';
    const conf = join(this.dir, 'ganesha.conf');
    writeFileSync(
      conf,
      `NFS_CORE_PARAM { Protocols = 4; Enable_NLM = false; Enable_RQUOTA = false; }
NFSV4 { RecoveryBackend = fs; RecoveryRoot = ${recovery}; Grace_Period = 5; Lease_Lifetime = 10; }
EXPORT { Export_Id = 1; Path = ${exportDir}; Pseudo = ${pseudo}; Protocols = 4; SecType = sys; Access_Type = None; ` +
        `Squash = ${squash}; Anonymous_Uid = 65534; Anonymous_Gid = 65534;
  CLIENT { Clients = ${clients}; Access_Type = ${access}; } FSAL { Name = VFS; } }
`,
    );
    this.proc = Bun.spawn(this.ns.argv(['ganesha.nfsd', '-F', '-f', conf, '-L', this.log, '-p', this.pidFile]), {
      stdout: 'ignore',
      stderr: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      if (this.ns.exec(['ss', '-Hltn', 'sport = :2049']).trim()) return;
      if (this.proc.exitCode !== null) break;
      await Bun.sleep(200);
    }
    throw new Error(`ganesha.nfsd did not listen on tcp/2049: ${readFileSync(this.log, 'utf8').slice(-1500)}`);
  }

  stop(): void {
    this.proc?.kill('SIGKILL');
  }
}

/** Fill DIR with `mib` MiB of random (incompressible) files; returns the sha256 of their contents in name order. */
export function writePadding(dir: string, mib: number, fileMiB = 64): string {
  mkdirSync(dir, { recursive: true });
  const h = createHash('sha256');
  for (let i = 0, left = mib; left > 0; i++, left -= fileMiB) {
    const fd = openSync(join(dir, `pad${String(i).padStart(3, '0')}`), 'w', 0o644);
    for (let m = 0; m < Math.min(fileMiB, left); m++) {
      const b = randomBytes(1 << 20);
      h.update(b);
      writeSync(fd, b);
    }
    closeSync(fd);
  }
  return h.digest('hex');
}
