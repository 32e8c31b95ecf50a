// `wulf ssh` (compiled) against a real OpenSSH server: sshd runs in a network namespace of the test's own
// on port 22 with the cluster host key that `wulf configure ssh` made, and accepts root's key that it
// put in authorized_keys; the nodes' addresses are on that namespace's loopback, and wulf
// runs there too. Checks the per-node prefix, the fan-out, the exit-status summary and exit code,
// host key checking against the cluster keys, and wwctl's argument forms.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin, requireCompiled, tempRoot } from '../helpers/cli.ts';
import { Netns } from '../helpers/netns.ts';

const t = tempRoot('wulf-ssh-');
let ns: Netns;
let sshd: ReturnType<typeof Bun.spawn> | undefined;

function wulf(args: string[]): { code: number; out: string; err: string; ms: number } {
  const t0 = performance.now();
  const r = Bun.spawnSync(ns.argv([compiledBin, ...args]), {
    env: { ...process.env, WULF_ROOT: t.dir, WULF_HOST_ROOT: t.dir, NO_COLOR: '1' },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString(), ms: performance.now() - t0 };
}

beforeAll(async () => {
  requireCompiled();
  if (!Bun.which('sshd', { PATH: '/usr/sbin:/usr/bin' })) throw new Error('sshd is missing (apt-get install openssh-server)');
  ns = new Netns('wssh');
  for (const a of ['10.77.0.1/32', '10.77.0.2/32', '10.77.0.3/32']) ns.ip('addr', 'add', a, 'dev', 'lo');
  const w = (args: string[]) => {
    const r = wulf(args);
    if (r.code !== 0) throw new Error(`wulf ${args.join(' ')}: ${r.err}`);
    return r;
  };
  w(['init', '--address', '10.77.0.254/24', '--interface', 'lo']);
  const keys = w(['configure', 'ssh', '--key-types', 'ed25519']);
  expect(keys.out).toContain(join(t.dir, 'root/.ssh/authorized_keys'));
  w(['node', 'add', 'n[1-3]', '--ipaddr', '10.77.0.1', '--netmask', '255.255.255.0']);
  w(['node', 'add', 'gone', '--ipaddr', '10.77.0.9', '--netmask', '255.255.255.0']); // nothing answers there
  w(['node', 'add', 'noaddr']);
  // sshd with the cluster host key; root's key from the temp root's authorized_keys
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const conf = join(t.dir, 'sshd_config');
  writeFileSync(
    conf,
    [
      'Port 22',
      `HostKey ${join(t.dir, 'etc/wulf/keys/ssh_host_ed25519_key')}`,
      `AuthorizedKeysFile ${join(t.dir, 'root/.ssh/authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `PidFile ${join(t.dir, 'sshd.pid')}`,
      'MaxStartups 50',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  sshd = Bun.spawn(ns.argv(['/usr/sbin/sshd', '-D', '-e', '-f', conf]), { stdout: 'ignore', stderr: 'pipe' });
  for (let i = 0; i < 50; i++) {
    if (
      Bun.spawnSync(ns.argv(['bash', '-c', 'exec 3<>/dev/tcp/10.77.0.1/22 && echo up']))
        .stdout.toString()
        .includes('up')
    )
      return;
    await Bun.sleep(100);
  }
  throw new Error('sshd did not start');
}, 60_000);
afterAll(() => {
  sshd?.kill();
  ns?.destroy();
  t.cleanup();
});

describe('wulf ssh', () => {
  test('each line prefixed with its node, every node reached at its own address; summary; exit 0', () => {
    // as with ssh itself, the words are joined and the node's shell reads them: one string here
    const r = wulf(['ssh', 'n[1-3]', '--', 'echo "addr ${SSH_CONNECTION##* 10.77.0.}" | cut -d" " -f1-2; echo two; echo err >&2']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').sort();
    // SSH_CONNECTION ends with "SERVER_IP 22": which address each session came in on
    expect(lines).toEqual(['n1: addr 1', 'n1: two', 'n2: addr 2', 'n2: two', 'n3: addr 3', 'n3: two']);
    expect(r.err).toContain('n1: err');
    expect(r.err).toContain('ssh: 3 nodes, 3 ok (n[1-3]), 0 failed');
  }, 30_000);

  test('failures: a non-zero exit, an unreachable node and one without an address are each reported; exit 1', () => {
    const r = wulf([
      'ssh',
      'n[1-3],gone,noaddr',
      '--',
      'case "$SSH_CONNECTION" in *" 10.77.0.2 22") echo failing; exit 3;; esac; echo fine',
    ]);
    expect(r.code).toBe(1);
    expect(r.out.trim().split('\n').sort()).toEqual(['n1: fine', 'n2: failing', 'n3: fine']);
    expect(r.err).toContain('ssh: 5 nodes, 2 ok (n[1,3]), 3 failed');
    expect(r.err).toMatch(/^  n2: exit 3$/m);
    expect(r.err).toMatch(/^  gone: exit 255 \(ssh could not connect or log in\)$/m);
    expect(r.err).toMatch(/^  noaddr: no address/m);
    expect(r.err).toMatch(/^gone: ssh: connect to host 10\.77\.0\.9 port 22/m); // ssh's own message, prefixed
  }, 60_000);

  test('fan-out: 3 sessions of 1 s run together with the default; --fanout 1 runs them one after another', () => {
    const par = wulf(['ssh', 'n[1-3]', '--', 'sleep', '1']);
    expect(par.code).toBe(0);
    const ser = wulf(['ssh', '--fanout', '1', 'n[1-3]', '--', 'sleep', '1']);
    expect(ser.code).toBe(0);
    expect(ser.ms).toBeGreaterThan(3000);
    expect(par.ms).toBeLessThan(ser.ms - 1200);
  }, 60_000);

  test("the node's host key must be the cluster's: a node presenting another key is refused", () => {
    // a second sshd on 10.77.0.3 port 22 cannot coexist; instead the cluster key on file changes
    const pub = join(t.dir, 'etc/wulf/keys/ssh_host_ed25519_key.pub');
    const real = readFileSync(pub, 'utf8');
    const other = join(t.dir, 'other');
    Bun.spawnSync(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', other]);
    writeFileSync(pub, readFileSync(`${other}.pub`, 'utf8'));
    try {
      const r = wulf(['ssh', 'n1', '--', 'true']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/n1: .*(REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed)/);
    } finally {
      writeFileSync(pub, real);
    }
    expect(wulf(['ssh', 'n1', '--', 'true']).code).toBe(0);
  }, 30_000);

  test("wwctl's form without --, the command's own flags kept; -n prints the commands; bad input is one line", () => {
    const r = wulf(['ssh', 'n1', 'ls', '-d', '/']);
    expect([r.code, r.out]).toEqual([0, 'n1: /\n']);
    const dry = wulf(['ssh', '-n', 'n[1-2]', 'uptime']);
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/^n1: ssh .*-o BatchMode=yes .*10\.77\.0\.1 uptime$/m);
    expect(dry.out).toMatch(/^n2: ssh .* 10\.77\.0\.2 uptime$/m);
    // another remote shell gets wwctl's plain `RSH ADDRESS CMD...`
    const echo = wulf(['ssh', '--rsh', '/bin/echo', 'n[1-2]', '--', 'hello', 'there']);
    expect(echo.code).toBe(0);
    expect(echo.out.trim().split('\n').sort()).toEqual(['n1: 10.77.0.1 hello there', 'n2: 10.77.0.2 hello there']);
    const none = wulf(['ssh', 'x[1-2]', '--', 'true']);
    expect([none.code, none.err.split('\n')[0]]).toEqual([1, 'wulf: no node matches x[1-2]']);
    const usage = wulf(['ssh', 'n1']);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/^wulf: usage: wulf ssh NODES/);
    const fan = wulf(['ssh', '--fanout', '0', 'n1', '--', 'true']);
    expect([fan.code, fan.err.split('\n')[0]]).toEqual([2, 'wulf: --fanout 0: expected a number ≥ 1']);
  }, 30_000);
});
