// include_file / include_image / site overlay safety: symlinks resolved before the allow list,
// no FIFO, device or socket ever opened, symlinked site overlays refused, private keys only when
// listed by full path, the allow list from wulf.conf. Each case would have leaked or hung before.
import { test, expect } from 'bun:test';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathsFor } from '../../src/config/paths.ts';
import { parseWulfConf } from '../../src/config/wulfconf.ts';
import { Builder, defaultImageFile } from '../../src/overlays/build.ts';
import { renderTemplate } from '../../src/overlays/render.ts';
import { readOverlay } from '../../src/overlays/sources.ts';

const root = mkdtempSync('/tmp/wulf-incsafe-');
const paths = pathsFor(root, root);
mkdirSync(paths.confDir, { recursive: true });
mkdirSync(join(root, 'etc/ssh'), { recursive: true });
mkdirSync(join(root, 'etc/munge'), { recursive: true });
writeFileSync(join(root, 'etc/shadow'), 'root:$6$secret:19000::::::\n');
writeFileSync(join(root, 'etc/ssh/ssh_host_rsa_key'), '-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n-----END OPENSSH PRIVATE KEY-----\n');
writeFileSync(join(root, 'etc/munge/munge.key'), 'mungemunge\n');
const render = (tpl: string, allow?: string[]) => {
  const b = new Builder({ paths, hostAllow: allow });
  b.snapshot({ profiles: {}, nodes: {}, revision: 'r' }, parseWulfConf(''));
  return renderTemplate('o', 't.ww', tpl, {}, b.env).files[0]!.data;
};
/** run a render in a child process (a hang there cannot stop this test run) */
const child = (code: string) =>
  spawnSync(process.execPath, ['-e', code], { timeout: 10_000, encoding: 'utf8', cwd: join(import.meta.dir, '../..') });

test('an absolute include path is resolved through symlinks before the allow list (a link in the config dir to /etc/shadow)', () => {
  symlinkSync(join(root, 'etc/shadow'), join(paths.confDir, 'leak'));
  expect(() => render(`{% include_file "${paths.confDir}/leak" %}`)).toThrow(
    /overlay o: t\.ww:1: include_file ".*leak" resolves to .*etc\/shadow, outside/,
  );
  expect(() => render('{% include_file "leak" %}')).toThrow(/resolves to .*outside/);
});

test('a FIFO in the config dir or an image is refused at once, not read (that hung the render)', () => {
  spawnSync('mkfifo', [join(paths.confDir, 'fifo')]);
  mkdirSync(join(paths.imagesDir, 'img/rootfs/etc'), { recursive: true });
  spawnSync('mkfifo', [join(paths.imagesDir, 'img/rootfs/etc/fifo')]);
  const r = child(`
    const { Builder, defaultImageFile } = await import('./src/overlays/build.ts');
    const { renderTemplate } = await import('./src/overlays/render.ts');
    const { pathsFor } = await import('./src/config/paths.ts');
    const b = new Builder({ paths: pathsFor(${JSON.stringify(root)}, ${JSON.stringify(root)}) });
    try { renderTemplate('o', 't.ww', '{% include_file "fifo" %}', {}, b.env); console.log('read'); } catch (e) { console.log(e.message); }
    console.log('image:', String(defaultImageFile(${JSON.stringify(paths.imagesDir)})('img', '/etc/fifo')));`);
  expect(r.error).toBeUndefined(); // no timeout
  expect(r.stdout).toMatch(/overlay o: t\.ww:1: include_file "fifo": .*fifo is not a regular file/);
  expect(r.stdout).toContain('image: undefined');
}, 20_000);

test('a device node in an image is not read (it would read the controller device into an overlay)', () => {
  if (process.getuid?.() !== 0) return; // mknod needs root
  mkdirSync(join(paths.imagesDir, 'dev/rootfs/etc'), { recursive: true });
  expect(spawnSync('mknod', [join(paths.imagesDir, 'dev/rootfs/etc/null'), 'c', '1', '3']).status).toBe(0);
  writeFileSync(join(paths.imagesDir, 'dev/rootfs/etc/ok'), 'ok\n');
  const f = defaultImageFile(paths.imagesDir);
  expect(f('dev', '/etc/null')).toBeUndefined();
  expect(new TextDecoder().decode(f('dev', '/etc/ok'))).toBe('ok\n');
});

test('a site overlay that is a symlink (or whose rootfs is) is refused, not packed', () => {
  mkdirSync(join(root, 'elsewhere/rootfs'), { recursive: true });
  writeFileSync(join(root, 'elsewhere/rootfs/secret'), 'secret\n');
  mkdirSync(paths.siteOverlaysDir, { recursive: true });
  symlinkSync(join(root, 'elsewhere'), join(paths.siteOverlaysDir, 'evil'));
  expect(() => readOverlay(paths.siteOverlaysDir, 'evil')).toThrow(/site overlay .*evil is a symlink/);
  mkdirSync(join(paths.siteOverlaysDir, 'evil2'));
  symlinkSync(join(root, 'elsewhere/rootfs'), join(paths.siteOverlaysDir, 'evil2/rootfs'));
  expect(() => readOverlay(paths.siteOverlaysDir, 'evil2')).toThrow(/rootfs is a symlink/);
});

test('private keys only when listed by full path; munge.key and /etc/slurm/ are in the default list', () => {
  expect(() => render('{% include_file "/etc/ssh/ssh_host_rsa_key" %}', ['/etc/ssh/'])).toThrow(
    /include_file "\/etc\/ssh\/ssh_host_rsa_key": a private key; list its full path/,
  );
  expect(render('{% include_file "/etc/ssh/ssh_host_rsa_key" %}', ['/etc/ssh/ssh_host_rsa_key'])).toContain('PRIVATE KEY');
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  expect(render('{% include_file "/etc/munge/munge.key" %}')).toBe('mungemunge\n');
  expect(() => render('{% include_file "/etc/shadow" %}')).toThrow(/only files under/);
});

test('wulf.conf warewulf: overlay include paths replaces the list; bad entries are one-line errors', () => {
  expect(parseWulfConf('').warewulf.includePaths).toContain('/etc/slurm/');
  const c = parseWulfConf('warewulf:\n  overlay include paths: [/etc/shadow]\n');
  expect(c.warewulf.includePaths).toEqual(['/etc/shadow']);
  const b = new Builder({ paths });
  b.snapshot({ profiles: {}, nodes: {}, revision: 'r' }, c);
  expect(renderTemplate('o', 't.ww', '{% include_file "/etc/shadow" %}', {}, b.env).files[0]!.data).toContain('secret');
  expect(() => parseWulfConf('warewulf:\n  overlay include paths: [etc/x]\n')).toThrow(/must be a list of absolute paths/);
  expect(() => parseWulfConf('warewulf:\n  overlay render timeout: -1\n')).toThrow(/overlay render timeout/);
});
