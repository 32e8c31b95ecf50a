// The compiled TUI (tmux, 80×24) on the PostgreSQL store: it shows the nodes there, an edit in
// the detail form lands there (nodes.conf untouched), a node added by the CLI appears without a
// key press, and a concurrent CLI change makes the form's save refuse.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin, modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';
import { writeRoot } from '../tui/fixture.ts';
import { Pane } from '../tui/tmux.ts';
import { startPg, type Pg } from './pg.ts';

const bin = modes[0]!;
const t = tempRoot('wtui-pg-');
let pg: Pg;
let url = '';
let pane: Pane | undefined;
const w = (args: string[]) => runWulf(bin, t.dir, args, { env: { WULF_STORE: url } });
const ok = (r: ReturnType<typeof runWulf>) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  return r.out;
};

beforeAll(() => {
  requireCompiled();
  pg = startPg();
  url = pg.createDb('tui');
  writeRoot(t.dir, 5, 1);
  ok(runWulf(bin, t.dir, ['store', 'copy', '--to', url]));
}, 60_000);
afterAll(() => {
  pane?.kill();
  pg?.stop();
  t.cleanup();
}, 30_000);

test('TUI on PostgreSQL: shows its nodes, an edit lands there, a CLI change appears, a stale save is refused', async () => {
  const nodesConf = join(t.dir, 'etc/wulf/nodes.conf');
  const before = readFileSync(nodesConf, 'utf8');
  ok(w(['node', 'add', 'pgonly', '--ipaddr', '10.0.9.9']));
  pane = Pane.start('wtui-pg', `${compiledBin} tui`, { env: { WULF_ROOT: t.dir, TERM: 'xterm-256color', WULF_STORE: url } });
  await pane.waitFor('pgonly');
  pane.keys('Down', 'Enter');
  await pane.waitFor('Node n0002');
  pane.keys('Down', 'Down', 'e');
  await pane.waitFor('edit Comment:');
  pane.type('rack 7');
  pane.keys('Enter');
  await pane.waitFor('saved n0002 Comment = rack 7');
  expect(JSON.parse(ok(w(['node', 'export', '-j', 'n0002']))).n0002.comment).toBe('rack 7');
  // the CLI changes the node while the form is open: the save must not overwrite it
  pane.keys('e');
  await pane.waitFor('edit Comment:');
  ok(w(['node', 'set', 'n0002', '--comment', 'from the cli']));
  pane.type(' more');
  pane.keys('Enter');
  await pane.waitFor('the store was changed by someone else');
  expect(JSON.parse(ok(w(['node', 'export', '-j', 'n0002']))).n0002.comment).toBe('from the cli');
  // back to the list: a node added by the CLI shows up by itself
  pane.keys('Escape');
  ok(w(['node', 'add', 'latecomer', '--ipaddr', '10.0.9.10']));
  await pane.waitFor('latecomer', 8000);
  expect(readFileSync(nodesConf, 'utf8')).toBe(before);
  pane.keys('q');
  await pane.waitFor('EXIT=0');
}, 60_000);

test('TUI with PostgreSQL unreachable: one line, exit 1, before the screen is taken', async () => {
  const bad = `postgres://postgres@localhost/x?host=${encodeURIComponent(join(t.dir, 'nowhere'))}`;
  const p = Pane.start('wtui-pg-down', `${compiledBin} tui`, {
    cols: 400,
    env: { WULF_ROOT: t.dir, TERM: 'xterm-256color', WULF_STORE: bad },
  });
  try {
    const screen = await p.waitFor('EXIT=');
    expect(screen).toContain('EXIT=1');
    const lines = screen.split('\n').filter((l) => l.trim());
    expect(lines[0]).toStartWith('wulf: cannot reach PostgreSQL at postgres://');
    expect(lines[1]).toStartWith('  hint: ');
    expect(lines[2]).toBe('EXIT=1');
  } finally {
    p.kill();
  }
}, 30_000);
