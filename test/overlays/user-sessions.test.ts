// /warewulf/init.d/40-user-sessions on a tree (WULF_UNIT_ROOT): with /home an automounted network mount, the
// login gate (systemd-user-sessions.service, Debian 12's real unit text) no longer waits for home.mount.
import { afterAll, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STEP = join(import.meta.dir, '../../overlays/wwinit/rootfs/warewulf/init.d/40-user-sessions');
const UNIT = `[Unit]
Description=Permit User Sessions
Documentation=man:systemd-user-sessions.service(8)
After=remote-fs.target nss-user-lookup.target network.target home.mount

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/lib/systemd/systemd-user-sessions start
ExecStop=/lib/systemd/systemd-user-sessions stop
`;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tree(fstab: string, override?: string): string {
  const r = mkdtempSync(join(tmpdir(), 'wulf-us-'));
  dirs.push(r);
  mkdirSync(join(r, 'etc/systemd/system'), { recursive: true });
  mkdirSync(join(r, 'usr/lib/systemd/system'), { recursive: true });
  writeFileSync(join(r, 'usr/lib/systemd/system/systemd-user-sessions.service'), UNIT);
  writeFileSync(join(r, 'etc/fstab'), fstab);
  if (override) writeFileSync(join(r, 'etc/systemd/system/systemd-user-sessions.service'), override);
  return r;
}
const run = (r: string) => spawnSync('sh', [STEP], { env: { PATH: process.env.PATH, WULF_UNIT_ROOT: r }, encoding: 'utf8' });
const override = (r: string) => join(r, 'etc/systemd/system/systemd-user-sessions.service');

test('an automounted NFS /home: the gate is copied to /etc without home.mount in After=, the rest unchanged; twice is the same', () => {
  const r = tree('# static\n10.0.0.1:/home /home nfs defaults,nofail,x-systemd.automount 0 0\n');
  const p = run(r);
  expect(p.status).toBe(0);
  expect(p.stdout).toContain('logins do not wait for /home');
  const text = readFileSync(override(r), 'utf8');
  expect(text.split('\n')[0]).toStartWith('# written by wulf');
  expect(text).toContain('\nAfter=remote-fs.target nss-user-lookup.target network.target\n');
  expect(text).not.toContain('home.mount');
  expect(text.split('\n').slice(1).join('\n')).toBe(UNIT.replace(' home.mount', ''));
  expect(run(r).status).toBe(0);
  expect(readFileSync(override(r), 'utf8')).toBe(text);
});

test('nothing is written for a local /home, a network /home without automount, a commented line, or no fstab', () => {
  for (const fstab of [
    '/dev/sda2 /home ext4 defaults 0 0\n',
    '10.0.0.1:/home /home nfs defaults,nofail 0 0\n',
    '#10.0.0.1:/home /home nfs defaults,nofail,x-systemd.automount 0 0\n',
    '10.0.0.1:/scratch /scratch nfs defaults,nofail,x-systemd.automount 0 0\n',
  ]) {
    const r = tree(fstab);
    expect(run(r).status).toBe(0);
    expect(existsSync(override(r))).toBe(false);
  }
});

test("the image's own override of the unit is left as it is", () => {
  const own = UNIT.replace('Description=Permit User Sessions', 'Description=site gate');
  const r = tree('srv:/home /home nfs4 defaults,x-systemd.automount 0 0\n', own);
  expect(run(r).status).toBe(0);
  expect(readFileSync(override(r), 'utf8')).toBe(own);
});
