// `wulf configure systemd` (compiled binary): the unit it prints is the one it writes, systemd
// accepts it, and it starts `wulf serve` with the same root.
import { test, expect, afterAll } from 'bun:test';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin, modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';

const t = tempRoot('wulf-configure-');
afterAll(() => t.cleanup());

test('configure systemd --print matches the written unit; systemd-analyze verifies it', () => {
  requireCompiled();
  const printed = runWulf(modes[0]!, t.dir, ['configure', 'systemd', '--print']);
  expect(printed.code).toBe(0);
  expect(printed.out).toContain(`ExecStart=${compiledBin} --root ${t.dir} serve`);
  expect(printed.out).toContain('ExecReload=/bin/kill -HUP $MAINPID');
  const wrote = runWulf(modes[0]!, t.dir, ['configure', 'systemd']);
  expect(wrote.code).toBe(0);
  const file = join(t.dir, 'etc/systemd/system/wulf.service');
  expect(readFileSync(file, 'utf8')).toBe(printed.out.endsWith('\n') ? printed.out : `${printed.out}\n`);
  expect(statSync(file).mode & 0o777).toBe(0o644);
  if (!Bun.which('systemd-analyze')) throw new Error('systemd-analyze is missing (apt-get install systemd)');
  const v = Bun.spawnSync(['systemd-analyze', 'verify', '--man=no', file], { stderr: 'pipe' });
  expect(v.exitCode).toBe(0);
  const problems = v.stderr
    .toString()
    .split('\n')
    .filter((l) => l.includes('wulf.service') && !/not executable|No such file/i.test(l));
  expect(problems).toEqual([]);
});
