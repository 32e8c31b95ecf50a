// The overlay CLI and `configure ssh` run through main.ts / the verb, on a temp root.
import { compiledBin } from '../helpers/cli.ts';
import { test, expect, afterAll } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathsFor } from '../../src/config/paths.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { ssh } from '../../src/cli/configure-ssh.ts';
import { createOverlayService } from '../../src/overlays/cache.ts';
import { readNodesConf } from '../../src/config/store.ts';
import { readWulfConf } from '../../src/config/wulfconf.ts';
import type { Ctx } from '../../src/cli/command.ts';

const root = mkdtempSync('/tmp/woverlay-cli-');
afterAll(() => rmSync(root, { recursive: true, force: true }));
const paths = pathsFor(root);
mkdirSync(paths.confDir, { recursive: true });
const nodesConf = (ip: string) => writeFileSync(paths.nodesConf, `nodeprofiles:
  default:
    system overlay: [wwinit, hostname, ssh.host_keys]
    runtime overlay: [hosts]
nodes:
  n1:
    profiles: [default]
    network devices:
      default: {device: eth0, hwaddr: "02:00:00:00:00:01", ipaddr: ${ip}, netmask: 255.255.255.0}
`);
nodesConf('10.0.0.11');

function wulf(...args: string[]) {
  const r = Bun.spawnSync([compiledBin, '--root', root, ...args], { stdout: 'pipe', stderr: 'pipe' });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

test('configure ssh makes keys that ssh.host_keys puts on the node', async () => {
  const out: string[] = [];
  const ctx = { paths, log: silentLogger, env: {}, out: (t: string) => out.push(t), err: () => {}, isTTY: false, debug: false, logFormat: 'human', confirm: async () => false } as Ctx;
  expect(await ssh.run(ctx, { 'key-types': 'ed25519,rsa' }, [])).toBe(0);
  expect(statSync(join(paths.keysDir, 'ssh_host_ed25519_key')).mode & 0o777).toBe(0o600);
  const svc = createOverlayService({ paths, getConf: () => readNodesConf(paths), getWulfConf: () => readWulfConf(paths), log: silentLogger });
  const e = svc.entries('n1', 'system');
  expect(new TextDecoder().decode(e.get('etc/ssh/ssh_host_ed25519_key')!.data)).toContain('OPENSSH PRIVATE KEY');
  expect(e.get('etc/ssh/ssh_host_ed25519_key')!.mode).toBe(0o600);
  expect(e.get('etc/ssh/ssh_host_rsa_key.pub')!.mode).toBe(0o644);
  expect(e.has('etc/ssh/ssh_host_ecdsa_key')).toBe(false);          // not generated: skipped
}, 30_000);

test('overlay list/show/render/build/diff and clone-to-site on write', async () => {
  expect(wulf('overlay', 'list').out).toMatch(/hostname\s+2\s+shipped/);
  expect(wulf('overlay', 'cat', 'hostname', 'etc/hostname', '--render', 'n1').out).toBe('n1\n');
  expect(wulf('overlay', 'vars', 'hostname', 'etc/hostname.ww').out).toMatch(/^id\s+the node name/m);
  const b = wulf('overlay', 'build');
  expect(b.code).toBe(0);
  expect(b.out).toMatch(/built 2 archives for 1 nodes/);
  // serve once, then change the node: diff names the change in hosts
  const svc = createOverlayService({ paths, getConf: () => readNodesConf(paths), getWulfConf: () => readWulfConf(paths), log: silentLogger });
  await svc.archive('n1', 'system'); await svc.archive('n1', 'runtime');
  expect(wulf('overlay', 'diff', 'n1').out).toContain('no changes since last served');
  nodesConf('10.0.0.99');
  const d = wulf('overlay', 'diff', 'n1').out;
  expect(d).toContain('runtime: ~ /etc/hosts content changed');
  expect(d).toContain('+ 10.0.0.99 n1 n1-default n1-eth0');
  // a write to a shipped overlay clones it to the site dir first
  expect(wulf('overlay', 'chmod', 'hostname', 'etc/hostname.ww', '0640').code).toBe(0);
  expect(existsSync(join(paths.siteOverlaysDir, 'hostname/rootfs/etc/hostname.ww'))).toBe(true);
  expect(wulf('overlay', 'list', '-l', 'hostname').out).toMatch(/0640 +0 +0 +hostname +\/etc\/hostname\.ww/);
  expect(wulf('overlay', 'show', '../etc', 'x').err).toMatch(/invalid overlay name/);
  expect(wulf('overlay', 'mkdir', 'hostname', '../../x').err).toMatch(/leaves the overlay/);
}, 60_000);
