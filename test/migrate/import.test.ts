// `wulf import-warewulf` (compiled) on the test Warewulf site: the dry run, the import itself, a
// second run that changes nothing, a failure midway that leaves everything as it was, and bad
// input (broken YAML, a YAML bomb, a link out of an overlay, a device file in a chroot).
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';
import { copySite, snapshot } from './site.ts';

const bin = modes[0]!;
const t = tempRoot('wulf-import-');
let n = 0;
/** a fresh wulf root after `wulf init`, and a fresh copy of the site */
function fresh() {
  const dir = join(t.dir, `case${++n}`);
  const root = join(dir, 'root');
  const site = copySite(join(dir, 'site'));
  const w = (...a: string[]) => runWulf(bin, root, a);
  const r = w('init', '--address', '127.0.0.1/8', '--interface', 'lo');
  if (r.code !== 0) throw new Error(`init: ${r.err}`);
  return { root, site, w, imp: (...a: string[]) => w('import-warewulf', '--site-root', site, ...a) };
}

beforeAll(() => requireCompiled());
afterAll(() => t.cleanup());

test('--dry-run lists every write and every line it cannot carry over (file:line: why), and writes nothing', () => {
  const { root, w, imp } = fresh();
  const before = snapshot(root);
  const r = imp('--dry-run');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  for (const want of [
    'would write image tiny: copy from',
    'would write overlay site-motd',
    'would write overlay site-net',
    'would write overlay site-users',
    'would write wulf.conf',
    'would write file ' + join(root, 'etc/wulf/ipxe/site.ipxe'),
    'would write file ' + join(root, 'etc/wulf/keys/ssh_host_ed25519_key'),
    'would write file ' + join(root, 'etc/wulf/site/banner'),
    'would write nodes.conf ' + join(root, 'etc/wulf/nodes.conf') + ': profile default, profile compute, node n1, node n2',
  ]) {
    expect(r.out).toContain(want);
  }
  // every problem line names the file and line
  for (const want of [
    /warewulf\.conf:21: dhcp\.systemd name: no effect in wulf/,
    /warewulf\.conf:25: tftp\.systemd name: no effect in wulf/,
    /warewulf\.conf:13: warewulf\.syslog: obsolete/,
    /nodes\.conf:80: node n1: network devices\.ib0\.prefix: obsolete: dropped/,
    /nodes\.conf:64: node n1: keys: became tags/,
    /overlays\/hostname: wulf ships its own "hostname" overlay: the site's is not imported \(--replace-shipped imports it over wulf's\)/,
  ])
    expect(r.out).toMatch(want);
  // the stock profile's overlays wulf does not have (yet: other branches bring wwclient, wicked, ignition) are reported with their line
  const have = new Set(
    w('overlay', 'list')
      .out.split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[0]),
  );
  for (const [o, line] of [
    ['wwclient', 12],
    ['wicked', 24],
    ['ignition', 25],
  ] as const) {
    const said = new RegExp(
      `nodes\\.conf:${line}: overlay "${o}" is a Warewulf distribution overlay wulf does not have: kept in the node list`,
    );
    if (have.has(o)) expect(r.out).not.toMatch(said);
    else expect(r.out).toMatch(said);
  }
  expect(r.out).not.toContain('would write overlay hostname');
  expect(r.out).toMatch(/etc\/warewulf\/auth\.conf: REST API users: wulf has no REST API: not carried over/);
  expect(r.out).toMatch(/etc\/warewulf\/grub: GRUB boot: wulf boots through iPXE only: not carried over/);
  expect(r.out).not.toMatch(/etc\/warewulf\/(site|keys|ipxe)[:/].*not carried over/); // included, copied, converted
  expect(imp('--dry-run', '--replace-shipped').out).toContain('would write overlay hostname');
  const show = imp('--dry-run', '--show').out;
  expect(show).toContain(`----- ${join(root, 'etc/wulf/nodes.conf')} (the entries that change)\nnodeprofiles:\n  default:`);
  expect(show).toContain('set base http://{{ authority }}');
  expect(show).toContain(`----- ${join(root, 'var/lib/wulf/overlays/site-motd/rootfs/etc/motd.ww')}\nWelcome to {{ id }}`);
  expect(snapshot(root)).toEqual(before);
});

test('the import writes the wulf equivalents; nodes read as Warewulf meant them; a second run changes nothing and copies no image', () => {
  const { root, w, imp } = fresh();
  const r = imp();
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toContain('imported: ');
  // nodes: keys → tags (tagsdel applied), flat ipmi keys, netdev default → primary, ipcidr split, comma overlays
  const j = w('node', 'list', '-j', 'n1');
  expect(j.err).toBe(''); // no legacy note, no warewulf.conf key notes: the written files are current
  const n1 = JSON.parse(j.out).n1;
  expect(n1.tags).toEqual({ rack: 'r01', scheduler: 'slurm', role: 'login' });
  expect(n1.ipmi).toMatchObject({ ipaddr: '10.0.2.1', username: 'admin', write: 'true' });
  expect(n1['primary network']).toBe('eth0');
  expect(n1['network devices'].ib0).toMatchObject({ ipaddr: '10.10.1.1', netmask: '255.255.0.0', type: 'infiniband' });
  expect(n1['system overlay']).toEqual(expect.arrayContaining(['wwinit', 'wwclient', 'site-motd', 'site-net']));
  expect(n1.kernel.args).toEqual(['quiet', 'crashkernel=no', 'net.ifnames=1', 'console=ttyS0,115200', 'mitigations=off']);
  expect(n1['image name']).toBe('tiny');
  // wulf.conf: no-effect keys left out, wulf's own interface kept, the upgrade's renames done
  const conf = readFileSync(join(root, 'etc/wulf/wulf.conf'), 'utf8');
  for (const gone of ['systemd name', 'syslog', 'WW_INTERNAL', 'container mounts', 'template: default']) expect(conf).not.toContain(gone);
  for (const kept of [
    'tftproot: /var/lib/tftpboot',
    '"00:07": ipxe-snponly-x86_64.efi',
    'ipaddr: 10.0.1.250',
    'range start: 10.0.1.100',
    'interface: lo',
    'image mounts:',
    "# the site's warewulf.conf",
  ])
    expect(conf).toContain(kept);
  // keys, 0600; overlays converted to Liquid; the iPXE template with wulf's iPXE names
  const key = join(root, 'etc/wulf/keys/ssh_host_ed25519_key');
  expect(lstatSync(key).mode & 0o777).toBe(0o600);
  const motd = readFileSync(join(root, 'var/lib/wulf/overlays/site-motd/rootfs/etc/motd.ww'), 'utf8');
  expect(motd).toContain('{{ id }}');
  expect(motd).not.toContain('{{ .');
  const ipxe = readFileSync(join(root, 'etc/wulf/ipxe/site.ipxe'), 'utf8');
  expect(ipxe).toContain('set base http://{{ authority }}');
  expect(ipxe).toContain('wwid={{ hwaddr }} {{ kernelArgs }}');
  const show = w('overlay', 'show', 'site-motd', '/etc/motd.ww', '--render', 'n2');
  expect(show.out).toContain('Welcome to n2\nCluster "test"');
  expect(show.out).toContain('Compute node in rack r01.');
  expect(w('image', 'list').out).toContain('tiny');

  const before = snapshot(root);
  const again = imp();
  expect(again.code).toBe(0);
  expect(again.out).toContain('nothing to change: wulf already has this site');
  expect(snapshot(root)).toEqual(before); // same bytes, modes, mtimes and inodes: nothing rewritten, no image copied again
});

test("wulf's own entries the site does not have stay; an import into a root never initialised works too", () => {
  const { root, w, imp } = fresh();
  expect(w('node', 'add', 'w1', '--hwaddr', '52:54:00:aa:00:01', '--ipaddr', '10.0.1.77').code).toBe(0);
  expect(w('profile', 'add', 'wulfonly').code).toBe(0);
  expect(imp().code).toBe(0);
  const l = w('node', 'list', '-j');
  expect(Object.keys(JSON.parse(l.out)).sort()).toEqual(['n1', 'n2', 'w1']);
  expect(w('profile', 'list').out).toContain('wulfonly');
  expect(readFileSync(join(root, 'etc/wulf/wulf.conf.bak'), 'utf8')).toContain('mode: full'); // wulf init's file, kept
  const bare = join(t.dir, 'bare');
  const site = join(t.dir, `case${n}`, 'site');
  const r = runWulf(bin, bare, ['import-warewulf', '--site-root', site]);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(Object.keys(JSON.parse(runWulf(bin, bare, ['node', 'list', '-j']).out)).sort()).toEqual(['n1', 'n2']);
  expect(readFileSync(join(bare, 'etc/wulf/wulf.conf'), 'utf8')).toContain('secure: false');
});

test('a failure midway (an unwritable target) undoes every earlier step: the wulf config is exactly as it was', () => {
  const { root, imp } = fresh();
  writeFileSync(join(root, 'etc/wulf/ipxe'), 'in the way\n'); // the iPXE dir cannot be made: fails after images, overlays, wulf.conf and keys were put in place
  const before = snapshot(root, ['var/lib/wulf/run']); // run/: the import's lock file, not config
  const r = imp();
  expect(r.code).not.toBe(0);
  expect(r.err).toMatch(/^wulf: import failed: .*ipxe.*; nothing was changed\n$/);
  expect(r.err).not.toContain('    at ');
  expect(snapshot(root, ['var/lib/wulf/run'])).toEqual(before);
  expect(readdirSync(join(root, 'var/lib/wulf')).filter((x) => x.startsWith('.import'))).toEqual([]);
});

test('bad input: a broken nodes.conf and a YAML bomb are one-line errors naming the file; nothing is written', () => {
  const { root, site, imp } = fresh();
  const before = snapshot(root);
  const nc = join(site, 'etc/warewulf/nodes.conf');
  writeFileSync(nc, 'nodeprofiles:\n  default:\n    comment: [unclosed\nnodes: {}\n');
  let r = imp();
  expect(r.code).not.toBe(0);
  expect(r.err).toMatch(/^wulf: .*nodes\.conf:\d+: YAML syntax error: .*\n/);
  expect(r.err.split('\n').filter(Boolean).length).toBeLessThanOrEqual(2);
  const lol = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++)
    lol.push(
      `${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(10)
        .fill(`*${'abcdefghij'[i - 1]}`)
        .join(', ')}]`,
    );
  writeFileSync(nc, `nodeprofiles:\n  default:\n    resources:\n${lol.map((l) => `      ${l}`).join('\n')}\nnodes: {}\n`);
  r = imp();
  expect(r.code).not.toBe(0);
  expect(r.err).toContain('too many YAML aliases (a YAML bomb?): refused');
  expect(snapshot(root)).toEqual(before);
});

test(
  'bad input: a template that cannot be converted and a link out of a site overlay are left out and reported; ' +
    'a device file in a chroot stops the import with one line',
  () => {
    const { root, site, imp } = fresh();
    symlinkSync('../../../../../../etc/shadow', join(site, 'var/lib/warewulf/overlays/site-motd/rootfs/etc/shadow-link'));
    symlinkSync('/usr/share/zoneinfo/UTC', join(site, 'var/lib/warewulf/overlays/site-motd/rootfs/etc/tz-link'));
    writeFileSync(join(site, 'var/lib/warewulf/overlays/site-motd/rootfs/etc/odd.ww'), 'line one\n{{ .Frobnicate }}\n{{ toJson .Tags }}\n');
    const d = imp('--dry-run');
    expect(d.code).toBe(0);
    // a template the converter cannot convert: each construct with its line, and the template left out (never guessed)
    expect(d.out).toMatch(/site-motd\/rootfs\/etc\/odd\.ww:2: \.Frobnicate: not a field wulf's template data has here; template left out/);
    expect(d.out).toMatch(/site-motd\/rootfs\/etc\/odd\.ww:3: function toJson has no Liquid equivalent in wulf; template left out/);
    expect(d.out).toMatch(
      /site-motd\/rootfs\/etc\/shadow-link: a symlink to \.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/shadow, which leaves the overlay: left out/,
    );
    const before = snapshot(root);
    mkdirSync(join(site, 'var/lib/warewulf/chroots/tiny/rootfs/dev'), { recursive: true });
    const mk = spawnSync('mknod', [join(site, 'var/lib/warewulf/chroots/tiny/rootfs/dev/null'), 'c', '1', '3']);
    expect(mk.status).toBe(0); // the tests run as root (npm test installs their packages)
    const r = imp();
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(
      /^wulf: image tiny: .*\/dev\/null is a character device; an image chroot should not hold one: nothing was imported\n  hint: /,
    );
    expect(snapshot(root)).toEqual(before);
    rmSync(join(site, 'var/lib/warewulf/chroots/tiny/rootfs/dev'), { recursive: true });
    const ok = imp();
    expect(ok.code).toBe(0);
    expect(existsSync(join(root, 'var/lib/wulf/overlays/site-motd/rootfs/etc/shadow-link'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/wulf/overlays/site-motd/rootfs/etc/odd.ww'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/wulf/overlays/site-motd/rootfs/etc/motd.ww'))).toBe(true);
    expect(lstatSync(join(root, 'var/lib/wulf/overlays/site-motd/rootfs/etc/tz-link')).isSymbolicLink()).toBe(true);
  },
);
