// `wulf overlay build --host` (and plain `overlay build`) with the compiled binary: the host overlay
// is written into the controller's root — the relocation root here, never the real /etc.
import { compiledBin, requireCompiled } from '../helpers/cli.ts';
import { test, expect, afterAll } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathsFor } from '../../src/config/paths.ts';

const root = mkdtempSync('/tmp/woverlay-host-');
afterAll(() => rmSync(root, { recursive: true, force: true }));
const paths = pathsFor(root);
mkdirSync(paths.confDir, { recursive: true });
writeFileSync(
  paths.wulfConf,
  [
    'ipaddr: 10.0.0.1',
    'netmask: 255.255.0.0',
    'nfs:',
    '  enabled: true',
    '  export paths:',
    '    - path: /home',
    '      export options: rw,sync',
  ].join('\n') + '\n',
);
const nodesConf = (ip: string) =>
  writeFileSync(
    paths.nodesConf,
    `nodeprofiles:
  default:
    runtime overlay: [hosts]
nodes:
  n1:
    profiles: [default]
    network devices:
      default: {device: eth0, hwaddr: "02:00:00:00:00:01", ipaddr: ${ip}, netmask: 255.255.0.0}
  n2:
    profiles: [default]
    network devices:
      default: {device: eth0, hwaddr: "02:00:00:00:00:02", ipaddr: 10.0.1.2, netmask: 255.255.0.0}
      ib: {device: ib0, ipaddr: 10.20.1.2, netmask: 255.255.0.0}
`,
  );
nodesConf('10.0.1.1');
const etc = join(root, 'etc');
mkdirSync(etc, { recursive: true });
writeFileSync(join(etc, 'hosts'), '127.0.0.1 localhost\n192.168.1.1 old-entry\n');
writeFileSync(join(etc, 'exports'), '/srv *(ro)\n');
chmodSync(join(etc, 'exports'), 0o600);

function wulf(...args: string[]) {
  const r = Bun.spawnSync([compiledBin, '--root', root, ...args], {
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}
const read = (f: string) => readFileSync(join(etc, f), 'utf8');
const stray = () => readdirSync(etc).filter((n) => n.endsWith('.tmp'));

test('overlay build --host writes /etc/hosts and /etc/exports into the root, with backups and modes kept', () => {
  requireCompiled();
  const r = wulf('overlay', 'build', '--host');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toContain(`host overlay: 2 of 2 files written to ${root}`);
  const hosts = read('hosts');
  expect(hosts).toStartWith('127.0.0.1 localhost\n192.168.1.1 old-entry\n# Do not edit after this line\n'); // the admin's own lines stay
  expect(hosts).toContain('# written by wulf');
  expect(hosts).toMatch(/^10\.0\.0\.1 \S+ wulf warewulf$/m);
  expect(hosts).toContain('\n10.0.1.1 n1 n1-default\n');
  expect(hosts).toContain('\n10.0.1.2 n2 n2-default\n');
  expect(hosts).toContain('\n10.20.1.2 n2-ib\n');
  expect(hosts).not.toMatch(/\n\n/); // no stray blank lines
  expect(hosts).toEndWith('\n');
  expect(read('hosts.wwbackup')).toBe('127.0.0.1 localhost\n192.168.1.1 old-entry\n');
  expect(read('exports')).toBe(
    '/srv *(ro)\n# Do not edit after this line\n# written by wulf (wulf overlay build --host)\n/home 10.0.0.0/16(rw,sync)\n',
  );
  expect(read('exports.wwbackup')).toBe('/srv *(ro)\n'); // the replaced file is kept
  expect(statSync(join(etc, 'exports')).mode & 0o777).toBe(0o600); // and its mode
  expect(stray()).toEqual([]);
}, 60_000);

test('a second run is idempotent: nothing rewritten, first backup kept', () => {
  const before = statSync(join(etc, 'hosts'));
  const r = wulf('overlay', 'build', '-H');
  expect(r.code).toBe(0);
  expect(r.out).toContain('host overlay: 0 of 2 files written');
  const after = statSync(join(etc, 'hosts'));
  expect(after.ino).toBe(before.ino);
  expect(after.mtimeMs).toBe(before.mtimeMs);
  expect(read('exports.wwbackup')).toBe('/srv *(ro)\n');
}, 60_000);

test('plain overlay build builds the nodes and the host overlay; a changed node reaches /etc/hosts', () => {
  nodesConf('10.0.1.111');
  const r = wulf('overlay', 'build');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/built 4 archives for 2 nodes/);
  expect(r.out).toContain('host overlay: 1 of 2 files written');
  expect(read('hosts')).toContain('\n10.0.1.111 n1 n1-default\n');
  // with node names only the nodes are built
  nodesConf('10.0.1.1');
  const n = wulf('overlay', 'build', 'n1');
  expect(n.out).toMatch(/built 2 archives for 1 nodes/);
  expect(n.out).not.toContain('host overlay');
  expect(read('hosts')).toContain('\n10.0.1.111 n1 n1-default\n');
  expect(wulf('overlay', 'build', '--host', 'n1').err).toContain('--host takes no NODES');
}, 60_000);

test('a template error writes nothing and names the file and line', () => {
  const before = read('hosts'),
    beforeExports = read('exports');
  const site = join(paths.siteOverlaysDir, 'host', 'rootfs', 'etc');
  mkdirSync(site, { recursive: true });
  writeFileSync(join(site, 'exports.ww'), '# fine\n');
  writeFileSync(join(site, 'hosts.ww'), '# written by wulf\n{{ server.ipaddr }}\n{{ server.no_such_field }}\n');
  nodesConf('10.0.1.222');
  const r = wulf('overlay', 'build', '--host');
  expect(r.code).not.toBe(0);
  expect(r.err).toMatch(/overlay host: etc\/hosts\.ww:3/);
  expect(read('hosts')).toBe(before);
  expect(read('exports')).toBe(beforeExports); // rendered fine, but not written either
  expect(stray()).toEqual([]);
  rmSync(join(paths.siteOverlaysDir, 'host'), { recursive: true });
  expect(wulf('overlay', 'build', '--host').code).toBe(0);
  expect(read('hosts')).toContain('\n10.0.1.222 n1 n1-default\n');
}, 60_000);
