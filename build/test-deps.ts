// The Debian packages the tests use. `npm test` (build/run-tests.ts) installs the missing ones when
// it runs as root, and otherwise names them in one line and stops.
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';

export const TEST_PACKAGES = [
  'cpio',
  'pigz',
  'zstd',
  'xz-utils',
  'curl',
  'iproute2',
  'openssl',
  'jq',
  'tmux',
  'busybox',
  'systemd',
  'util-linux',
  'fdisk',
  'qemu-system-x86',
  'ipxe',
  'ipxe-qemu',
  'ovmf',
  'linux-image-amd64',
  'udhcpc',
  'isc-dhcp-client',
  'atftp',
  'tftp-hpa',
  'docker-registry',
  'skopeo',
  'umoci',
  'apache2-utils',
  'openipmi',
  'ipmitool',
  'redfishtool',
  'openssh-client',
  'nmap',
  'golang-go', // test/gorender: the reference Go text/template renderer for the template converter's tests
  // test/e2e/debian.test.ts: Debian node images (images/debian12), ping and ssh to the nodes, and a
  // userspace NFS server for their /home (this kernel has no nfsd; see that test)
  'debootstrap',
  'iputils-ping',
  'nfs-ganesha',
  'nfs-ganesha-vfs',
  // test/cli/ssh.test.ts: a real sshd for `wulf ssh`; test/cli/configure-cli.test.ts: the kernel server's
  // exportfs for `wulf configure nfs` (this kernel has no nfsd: the export table is what can be checked)
  'openssh-server',
  'nfs-kernel-server',
  // test/cli/completion.test.ts: completion in an interactive zsh (bash is always there)
  'zsh',
  // its controller-side VLAN interface (test/helpers/vlan-peer.py: this kernel has no 802.1Q), and the
  // network overlays' files checked by their own stacks' parsers (test/overlays/renderers.test.ts)
  'python3',
  'ifupdown',
  'netplan.io',
  'network-manager',
  'libxml2-utils',
  // test/store/: a throw-away PostgreSQL cluster (initdb in a temp dir, unix socket) for the PostgreSQL store
  'postgresql',
];

/** Packages of the list that dpkg does not have installed. */
export function missingPackages(pkgs = TEST_PACKAGES): string[] {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Package} ${db:Status-Status}\n', ...pkgs], { encoding: 'utf8' });
  if (r.error) return pkgs;
  const ok = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]!.split(':')[0]!),
  );
  return pkgs.filter((p) => !ok.has(p));
}

const apt = (args: string[]) =>
  spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });

/** Install what is missing (root), or say what is missing (not root). Returns an error line or undefined. */
export function ensureTestPackages(): string | undefined {
  if (spawnSync('which', ['dpkg-query']).status !== 0) return 'the tests need a Debian system (dpkg-query not found)';
  const missing = missingPackages();
  const listsEmpty = (() => {
    try {
      return readdirSync('/var/lib/apt/lists').every((f) => f === 'lock' || f === 'partial' || f === 'auxfiles');
    } catch {
      return true;
    }
  })();
  if (process.getuid?.() !== 0) {
    return missing.length
      ? `missing Debian packages: ${missing.join(' ')} (run npm test as root to install them, or apt-get install them)`
      : undefined;
  }
  // the tests also fetch packages with apt-get download: they need package lists
  if (missing.length || listsEmpty) {
    const u = apt(['update', '-qq']);
    if (u.status !== 0) return `apt-get update failed: ${(u.stderr || u.stdout).trim().split('\n').pop()}`;
  }
  if (!missing.length) return undefined;
  console.log(`npm test: installing ${missing.join(' ')}`);
  const r = apt(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  if (r.status !== 0) {
    writeFileSync('/tmp/wulf-test-apt.log', r.stdout + r.stderr);
    return `apt-get install failed (log: /tmp/wulf-test-apt.log): ${(r.stderr || r.stdout).trim().split('\n').pop()}`;
  }
  // on a machine run by systemd the package starts its own NFS server; the test runs one in its namespace
  // (and sshd, the kernel NFS server, PostgreSQL: the tests run their own sshd and PostgreSQL; none should listen
  // because of them; and NetworkManager, installed only for its offline keyfile parser, must not take over the
  // machine's interfaces)
  const units: Record<string, string> = {
    'nfs-ganesha': 'nfs-ganesha.service',
    'openssh-server': 'ssh.service',
    'nfs-kernel-server': 'nfs-server.service',
    'network-manager': 'NetworkManager.service',
    postgresql: 'postgresql.service',
  };
  if (spawnSync('systemctl', ['is-system-running']).stdout?.length) {
    for (const [pkg, unit] of Object.entries(units))
      if (missing.includes(pkg)) spawnSync('systemctl', ['disable', '--now', unit], { stdio: 'ignore' });
  }
  const still = missingPackages();
  return still.length ? `still missing after apt-get install: ${still.join(' ')}` : undefined;
}
