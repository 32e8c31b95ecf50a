// Output into a pipe whose reader has gone (`wulf … | head -1`): no stack trace, no internal error.
import { expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';

test('a closed pipe on stdout ends the command quietly', () => {
  const bin = modes[0]!;
  requireCompiled();
  const root = tempRoot('wulf-epipe-');
  try {
    expect(runWulf(bin, root.dir, ['init', '--address', '10.1.0.1/16']).code).toBe(0);
    expect(runWulf(bin, root.dir, ['node', 'add', 'n[1-3000]', '--ipaddr', '10.1.1.1']).code).toBe(0);
    const cmd = `${bin.argv.join(' ')} node list | head -1 >/dev/null`;
    const r = spawnSync('sh', ['-c', cmd], { env: { ...process.env, WULF_ROOT: root.dir, WULF_HOST_ROOT: root.dir }, encoding: 'utf8' });
    expect(r.stderr).not.toContain('EPIPE');
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  } finally {
    root.cleanup();
  }
});
