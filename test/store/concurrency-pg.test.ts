// Concurrent CLIs on the PostgreSQL store (the compiled binary): no lost update between processes,
// and a writer killed with SIGKILL mid-write leaves the old revision or the new one, never a part.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { spawn } from 'node:child_process';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';
import { startPg, type Pg } from './pg.ts';

const bin = modes[0]!;
const t = tempRoot('wulf-conc-pg-');
let pg: Pg;
let url = '';
const w = (args: string[]) => runWulf(bin, t.dir, args, { env: { WULF_STORE: url } });
const spawnPg = (args: string[]) =>
  spawn(bin.argv[0]!, args, { env: { ...process.env, WULF_ROOT: t.dir, WULF_HOST_ROOT: t.dir, WULF_STORE: url }, stdio: 'ignore' });
const nodes = () => JSON.parse(w(['node', 'export', '-j']).out) as Record<string, { comment?: string }>;

beforeAll(() => {
  requireCompiled();
  pg = startPg();
  url = pg.createDb('conc');
  expect(runWulf(bin, t.dir, ['init', '--address', '10.8.0.1/24']).code).toBe(0);
  expect(runWulf(bin, t.dir, ['store', 'copy', '--to', url]).code).toBe(0);
  expect(w(['node', 'add', 'n[01-20]', '--ipaddr', '10.8.0.11']).code).toBe(0);
}, 60_000);
afterAll(() => {
  pg?.stop();
  t.cleanup();
}, 30_000);

test('20 processes each set a different node at once on PostgreSQL: all 20 changes land', async () => {
  const codes = await Promise.all(
    Array.from({ length: 20 }, (_, i) => {
      const n = `n${String(i + 1).padStart(2, '0')}`;
      const p = spawnPg(['node', 'set', n, '--comment', `writer-${n}`]);
      return new Promise<number>((res) => p.on('exit', (c) => res(c ?? -1)));
    }),
  );
  expect(codes).toEqual(Array(20).fill(0));
  const conf = nodes();
  for (let i = 1; i <= 20; i++) {
    const n = `n${String(i).padStart(2, '0')}`;
    expect(conf[n]!.comment).toBe(`writer-${n}`);
  }
  expect(JSON.parse(w(['store', 'info', '-j']).out).revision).toBe('22'); // copy, add, 20 sets
}, 120_000);

test('kill -9 of a writer at random points (40 times): every node has the old comment or every node the new one', async () => {
  let rng = 4242;
  const rand = () => (rng = (rng * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  let sawOld = 0,
    sawNew = 0;
  for (let i = 0; i < 40; i++) {
    const before = nodes();
    const value = `kill-${i}`;
    const p = spawnPg(['node', 'set', 'n[01-20]', '--comment', value, '-y']);
    const exited = new Promise((res) => p.on('exit', res));
    await Bun.sleep(Math.floor(rand() * 250));
    p.kill('SIGKILL');
    await exited;
    const after = nodes();
    const comments = new Set(Object.values(after).map((n) => n.comment));
    if (comments.size === 1 && comments.has(value)) sawNew++;
    else {
      expect(after).toEqual(before);
      sawOld++;
    }
  }
  expect(sawOld + sawNew).toBe(40);
  expect(w(['node', 'set', 'n01', '--comment', 'after']).code).toBe(0);
  console.log(`kill -9 on PostgreSQL: ${sawOld} old, ${sawNew} new`);
}, 180_000);
