// The fstab overlay as systemd reads it: the /home of the default profile `wulf init` writes, rendered
// for a node and run through systemd's own fstab generator (systemd-fstab-generator, SYSTEMD_FSTAB
// pointing at the rendered file). An NFS /home must be an automount: nothing at boot waits for the
// NFS server (systemd-user-sessions, which gates logins, is ordered after home.mount, and with plain
// `nofail` a server that does not answer held the login prompt for systemd's 90 s mount timeout on a
// real Debian node), the mount is tried on first access, with systemd's default timeout.
import { test, expect, afterAll } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathsFor } from '../../src/config/paths.ts';
import { parseNodesConf } from '../../src/config/store.ts';
import { parseWulfConf } from '../../src/config/wulfconf.ts';
import { defaultNodesConfText } from '../../src/cli/init.ts';
import { Builder } from '../../src/overlays/build.ts';

const GENERATOR = process.env.WULF_FSTAB_GENERATOR ?? '/lib/systemd/system-generators/systemd-fstab-generator';
const tmp = mkdtempSync('/tmp/woverlay-fstab-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The node's /etc/fstab from the fstab overlay, with the given profile resources. */
function renderFstab(conf: ReturnType<typeof parseNodesConf>): string {
  const b = new Builder({ paths: pathsFor(join(tmp, 'root')) });
  const snap = b.snapshot(conf, parseWulfConf('ipaddr: 10.0.0.1\nnetmask: 255.255.255.0\n', 'test'));
  const e = b.entries(snap, 'n1', 'system').get('etc/fstab');
  if (!e?.data) throw new Error('the fstab overlay wrote no etc/fstab');
  return new TextDecoder().decode(e.data);
}

/** systemd-fstab-generator over an fstab: the units it writes (name → text) and the links under *.wants / *.requires. */
function generate(fstab: string, name: string): { units: Map<string, string>; links: string[] } {
  const dir = join(tmp, name);
  for (const d of ['normal', 'early', 'late']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'fstab'), fstab);
  const r = spawnSync(GENERATOR, [join(dir, 'normal'), join(dir, 'early'), join(dir, 'late')], {
    encoding: 'utf8',
    env: { ...process.env, SYSTEMD_FSTAB: join(dir, 'fstab'), SYSTEMD_LOG_LEVEL: 'info' },
  });
  if (r.status !== 0) throw new Error(`systemd-fstab-generator: exit ${r.status}: ${r.stderr}`);
  const units = new Map<string, string>(),
    links: string[] = [];
  for (const f of readdirSync(join(dir, 'normal'), { recursive: true, withFileTypes: true })) {
    const rel = join(f.parentPath, f.name).slice(join(dir, 'normal').length + 1);
    if (f.isSymbolicLink()) links.push(rel);
    else if (f.isFile()) units.set(rel, readFileSync(join(dir, 'normal', rel), 'utf8'));
  }
  return { units, links: links.sort() };
}

const nodeWith = (profileResources: unknown) => {
  const conf = parseNodesConf(defaultNodesConfText());
  if (profileResources !== undefined) conf.profiles.default!.resources = profileResources as never;
  conf.nodes.n1 = { profiles: ['default'], systemOverlay: ['fstab'] } as never;
  return conf;
};

test("the default profile's NFS /home renders as a nofail automount, and systemd makes it one", () => {
  if (!existsSync(GENERATOR)) throw new Error(`${GENERATOR} missing (Debian's systemd package; or set WULF_FSTAB_GENERATOR)`);
  const fstab = renderFstab(nodeWith(undefined));
  expect(fstab).toContain('\nwarewulf:/home /home nfs defaults,nofail,x-systemd.automount 0 0');
  const { units, links } = generate(fstab, 'default');
  // remote-fs.target pulls in the automount point, not the NFS mount: nothing at boot waits for the server
  expect(links).toContain('remote-fs.target.wants/home.automount');
  expect(links.filter((l) => l.endsWith('/home.mount'))).toEqual([]);
  expect(units.get('home.automount')).toMatch(/^Where=\/home$/m);
  // the mount an access starts keeps systemd's default timeout (a loaded node's NFSv4 mount took 17-30+ s)
  expect(units.get('home.mount')).toMatch(/^What=warewulf:\/home$/m);
  expect(units.get('home.mount')).not.toMatch(/^TimeoutSec=/m);
});

test('a network mount without options gets the same defaults; options given in nodes.conf are kept as written', () => {
  const fstab = renderFstab(
    nodeWith({
      fstab: [
        { spec: 'warewulf:/apps', file: '/apps', vfstype: 'nfs4' },
        { spec: 'warewulf:/opt', file: '/opt', vfstype: 'nfs', mntops: 'defaults,nofail' },
        { spec: '/dev/sda1', file: '/scratch', vfstype: 'ext4' },
      ],
    }),
  );
  expect(fstab).toContain(
    '\nwarewulf:/apps /apps nfs4 defaults,nofail,x-systemd.automount 0 0\nwarewulf:/opt /opt nfs defaults,nofail 0 0\n/dev/sda1 /scratch ext4 defaults 0 0',
  );
  const { links } = generate(fstab, 'given');
  expect(links).toContain('remote-fs.target.wants/apps.automount');
  // what the admin wrote is what systemd gets: plain nofail stays a mount at boot (the old behaviour)
  expect(links).toContain('remote-fs.target.wants/opt.mount');
  expect(links).toContain('local-fs.target.requires/scratch.mount');
});
