// The overlay CLI and `configure ssh` run through main.ts / the verb, on a temp root.
import { compiledBin } from '../helpers/cli.ts';
import { test, expect, afterAll } from 'bun:test';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathsFor } from '../../src/config/paths.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { ssh } from '../../src/cli/configure-ssh.ts';
import { createOverlayService } from '../../src/overlays/service.ts';
import { readNodesConf } from '../../src/config/store.ts';
import { readWulfConf } from '../../src/config/wulfconf.ts';
import type { Ctx } from '../../src/cli/command.ts';

const root = mkdtempSync('/tmp/woverlay-cli-');
afterAll(() => rmSync(root, { recursive: true, force: true }));
const paths = pathsFor(root, root);
mkdirSync(paths.confDir, { recursive: true });
const nodesConf = (ip: string) =>
  writeFileSync(
    paths.nodesConf,
    `nodeprofiles:
  default:
    system overlay: [wwinit, hostname, ssh.host_keys]
    runtime overlay: [hosts]
nodes:
  n1:
    profiles: [default]
    network devices:
      default: {device: eth0, hwaddr: "02:00:00:00:00:01", ipaddr: ${ip}, netmask: 255.255.255.0}
`,
  );
nodesConf('10.0.0.11');

function wulf(...args: string[]) {
  const r = Bun.spawnSync([compiledBin, '--root', root, ...args], {
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, WULF_HOST_ROOT: root },
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

test('configure ssh makes keys that ssh.host_keys puts on the node', async () => {
  const out: string[] = [];
  const ctx = {
    paths,
    log: silentLogger,
    env: {},
    out: (t: string) => out.push(t),
    err: () => {},
    isTTY: false,
    debug: false,
    logFormat: 'human',
    confirm: async () => false,
  } as Ctx;
  expect(await ssh.run(ctx, { 'key-types': 'ed25519,rsa' }, [])).toBe(0);
  expect(statSync(join(paths.keysDir, 'ssh_host_ed25519_key')).mode & 0o777).toBe(0o600);
  const svc = createOverlayService({
    paths,
    getConf: () => readNodesConf(paths),
    getWulfConf: () => readWulfConf(paths),
    log: silentLogger,
  });
  const e = svc.entries('n1', 'system');
  expect(new TextDecoder().decode(e.get('etc/ssh/ssh_host_ed25519_key')!.data)).toContain('OPENSSH PRIVATE KEY');
  expect(e.get('etc/ssh/ssh_host_ed25519_key')!.mode).toBe(0o600);
  expect(e.get('etc/ssh/ssh_host_rsa_key.pub')!.mode).toBe(0o644);
  expect(e.has('etc/ssh/ssh_host_ecdsa_key')).toBe(false); // not generated: skipped
}, 30_000);

test('overlay list/show/render/build/diff and clone-to-site on write', async () => {
  expect(wulf('overlay', 'list').out).toMatch(/hostname\s+2\s+shipped/);
  expect(wulf('overlay', 'cat', 'hostname', 'etc/hostname', '--render', 'n1').out).toBe('n1\n');
  expect(wulf('overlay', 'vars', 'hostname', 'etc/hostname.ww').out).toMatch(/^id\s+the node name/m);
  const b = wulf('overlay', 'build');
  expect(b.code).toBe(0);
  expect(b.out).toMatch(/built 2 archives for 1 nodes/);
  // serve once, then change the node: diff names the change in hosts
  const svc = createOverlayService({
    paths,
    getConf: () => readNodesConf(paths),
    getWulfConf: () => readWulfConf(paths),
    log: silentLogger,
  });
  await svc.archive('n1', 'system');
  await svc.archive('n1', 'runtime');
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

test('links in an overlay are never followed onto the controller: chmod, chown, edit, import, mkdir, delete', () => {
  const outside = join(root, 'outside');
  mkdirSync(join(outside, 'dir'), { recursive: true });
  writeFileSync(join(outside, 'secret'), 'keep\n', { mode: 0o644 });
  symlinkSync(join(outside, 'secret'), join(root, 'lnk'));
  symlinkSync(join(outside, 'dir'), join(root, 'lnkdir'));
  const src = join(root, 'plain.txt');
  writeFileSync(src, 'planted\n');
  expect(wulf('overlay', 'create', 'linky').code).toBe(0);
  expect(wulf('overlay', 'import', '--parents', 'linky', join(root, 'lnk'), '/etc/lnk').code).toBe(0); // a link for the node: fine
  expect(wulf('overlay', 'import', 'linky', join(root, 'lnkdir'), '/etc/lnkdir').code).toBe(0);
  const refused: [string[], string][] = [
    [['overlay', 'chmod', 'linky', '/etc/lnk', '0600'], 'etc/lnk is a symlink in the overlay: cannot chmod it'],
    [['overlay', 'edit', 'linky', '/etc/lnk'], '/etc/lnk is a symlink in the overlay: cannot edit it'],
    [
      ['overlay', 'import', 'linky', src, '/etc/lnkdir/planted.txt'],
      'etc/lnkdir is a symlink in the overlay; paths through links are refused',
    ],
    [['overlay', 'mkdir', 'linky', '/etc/lnkdir/sub'], 'paths through links are refused'],
    [['overlay', 'edit', 'linky', '/etc/lnkdir/new.txt'], 'paths through links are refused'],
    [['overlay', 'delete', 'linky', '/etc/lnkdir/x'], 'paths through links are refused'],
  ];
  for (const [args, msg] of refused) {
    const r = wulf(...args);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(msg);
  }
  expect(wulf('overlay', 'chown', 'linky', '/etc/lnk', '1000:1000').code).toBe(0); // the link itself
  const st = statSync(join(outside, 'secret'));
  expect([st.mode & 0o777, st.uid]).toEqual([0o644, process.getuid!()]);
  expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('keep\n');
  expect(readdirSync(join(outside, 'dir'))).toEqual([]);
  expect(wulf('overlay', 'import', '--overwrite', 'linky', src, '/etc/lnk').code).toBe(0); // replaces the link, not its target
  expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('keep\n');
  expect(lstatSync(join(paths.siteOverlaysDir, 'linky/rootfs/etc/lnk')).isFile()).toBe(true);
  expect(wulf('overlay', 'show', 'linky', '/etc/lnkdir').out.trim()).toBe(`/etc/lnkdir -> ${join(outside, 'dir')}`);
  const missing = wulf('overlay', 'list', 'linky', 'nosuch');
  expect([missing.code, missing.err.split('\n')[0]]).toEqual([1, 'wulf: no overlay named nosuch']);
  expect(wulf('overlay', 'list', '-a', 'linky').out).toMatch(/^OVERLAY +FILE PATH\n-+ +-+\nlinky +\/etc\/\n/);
});

test('no users anywhere (no controller passwd, no image): syncuser writes no /etc/passwd or /etc/group rather than empty ones', () => {
  expect(existsSync(join(root, 'etc/passwd'))).toBe(false);
  for (const f of ['passwd', 'group']) {
    const r = wulf('overlay', 'show', 'syncuser', `etc/${f}.ww`, '--render', 'n1');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(`# ---- /etc/${f} (aborted: not written)`);
  }
});
