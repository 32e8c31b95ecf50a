// Interactive `wulf image shell` on a real TTY (tmux): the prompt appears, typed commands run in
// the image, exit is clean, a change rebuilds the image and a session without one does not.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin } from '../helpers/cli.ts';
import { Pane } from '../tui/tmux.ts';
import { pathsFor } from '../../src/config/paths.ts';
import { imageArtifactPath } from '../../src/images/service.ts';
import { makeRootfs, need, tmp, wulf } from './peers.ts';

let w: string, root: string;
const panes: Pane[] = [];

beforeAll(async () => {
  need('tmux', 'tmux');
  need('unshare', 'util-linux');
  w = tmp('shelltty');
  root = join(w, 'root');
  makeRootfs(join(w, 'fs'));
  const r = await wulf(root, ['image', 'import', '--build', join(w, 'fs'), 'bb']);
  if (r.code !== 0) throw new Error(r.err);
});
afterAll(() => {
  for (const p of panes) p.kill();
  rmSync(w, { recursive: true, force: true });
});

function start(name: string): Pane {
  const p = Pane.start(name, `${compiledBin} image shell bb`, { cols: 100, rows: 30, env: { WULF_ROOT: root, NO_COLOR: '1' } });
  panes.push(p);
  return p;
}

test('typed commands run inside the image; a change rebuilds on exit, no change does not', async () => {
  const before = imageArtifactPath(pathsFor(root), 'bb')!.digest;
  const p = start('wimg-shell-1');
  await p.waitFor('[wulf:bb] /#', 15_000); // the prompt, at / in the image
  p.type('echo hi > /root/x; hostname; exit');
  p.keys('Enter');
  const s = await p.waitFor(/EXIT=\d+/, 30_000);
  expect(s).toMatch(/exit\n(?:.*\n)*?bb\n/); // hostname printed: the session's own UTS name
  expect(s).toContain('image bb: built');
  expect(s).toContain('EXIT=0');
  expect(readFileSync(join(root, 'var/lib/wulf/images/bb/rootfs/root/x'), 'utf8')).toBe('hi\n');
  const after = imageArtifactPath(pathsFor(root), 'bb')!.digest;
  expect(after).not.toBe(before);
  p.kill();

  const q = start('wimg-shell-2');
  await q.waitFor('[wulf:bb] /#', 15_000);
  q.type('exit');
  q.keys('Enter');
  const s2 = await q.waitFor(/EXIT=\d+/, 30_000);
  expect(s2).toContain('unchanged, build skipped');
  expect(s2).toContain('EXIT=0');
  expect(imageArtifactPath(pathsFor(root), 'bb')!.digest).toBe(after);
  q.kill();
}, 90_000);
