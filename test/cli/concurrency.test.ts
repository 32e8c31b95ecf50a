// Concurrent writers and writers killed with SIGKILL: nodes.conf always holds a whole revision.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNodesConf, revisionOf } from '../../src/config/store.ts';
import { modes, requireCompiled, runWulf, spawnWulf, tempRoot } from '../helpers/cli.ts';

const compiled = modes[0]!;
const t = tempRoot('wulf-conc-');
beforeAll(() => {
  requireCompiled();
  expect(runWulf(compiled, t.dir, ['init', '--address', '10.8.0.1/24']).code).toBe(0);
  expect(runWulf(compiled, t.dir, ['node', 'add', 'n[01-20]', '--ipaddr', '10.8.0.11']).code).toBe(0);
});
afterAll(t.cleanup);
const confPath = () => join(t.dir, 'etc/wulf/nodes.conf');

test('20 processes each set a different node at once: all 20 changes land', async () => {
  const procs = Array.from({ length: 20 }, (_, i) => {
    const n = `n${String(i + 1).padStart(2, '0')}`;
    const p = spawnWulf(compiled, t.dir, ['node', 'set', n, '--comment', `writer-${n}`]);
    return new Promise<number>((res) => p.on('exit', (c) => res(c ?? -1)));
  });
  const codes = await Promise.all(procs);
  expect(codes.every((c) => c === 0)).toBe(true);
  const conf = parseNodesConf(readFileSync(confPath(), 'utf8'));
  for (let i = 1; i <= 20; i++) {
    const n = `n${String(i).padStart(2, '0')}`;
    expect(conf.nodes[n]!.comment).toBe(`writer-${n}`);
  }
  expect(readdirSync(join(t.dir, 'etc/wulf')).filter((f) => f.includes('tmp'))).toEqual([]);
}, 60_000);

test('kill -9 at random points (200 times): always the old or the new revision, never torn', async () => {
  let rng = 12345;
  const rand = () => (rng = (rng * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  let sawOld = 0,
    sawNew = 0;
  for (let i = 0; i < 200; i++) {
    const before = readFileSync(confPath(), 'utf8');
    const value = `kill-${i}`;
    const p = spawnWulf(compiled, t.dir, ['node', 'set', 'n[01-20]', '--comment', value, '-y']);
    const exited = new Promise((res) => p.on('exit', res));
    await Bun.sleep(Math.floor(rand() * 110));
    p.kill('SIGKILL');
    await exited;
    const after = readFileSync(confPath(), 'utf8');
    const conf = parseNodesConf(after); // throws on a torn file
    if (after === before) sawOld++;
    else {
      expect(Object.values(conf.nodes).every((n) => n.comment === value)).toBe(true);
      sawNew++;
    }
    expect(revisionOf(after)).toBe(conf.revision);
  }
  expect(sawOld + sawNew).toBe(200);
  // a later writer still works (the kernel released the killed writer's lock) and clears debris
  expect(runWulf(compiled, t.dir, ['node', 'set', 'n01', '--comment', 'after']).code).toBe(0);
  expect(readdirSync(join(t.dir, 'etc/wulf')).filter((f) => f.includes('wulf-tmp'))).toEqual([]);
  console.log(`kill -9: ${sawOld} old, ${sawNew} new revisions`);
}, 120_000);
