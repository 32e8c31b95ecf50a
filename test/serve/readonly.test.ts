// `wulf serve` (compiled) on a state directory it cannot write says why in one line — read-only
// file system (a read-only bind mount in a private mount namespace) or permission denied (run as
// nobody) — instead of claiming that another server is running. Needs root (unshare, setpriv).
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { chmodSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { compiledBin, modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';

const t = tempRoot('wulf-ro-');
const state = `${t.dir}/var/lib/wulf`;
const serveArgs = [
  'serve',
  '--address',
  '127.0.0.1',
  '--http-port',
  String(20000 + (process.pid % 20000)),
  '--no-dhcp',
  '--no-tftp',
  '--no-ra',
];

beforeAll(() => {
  requireCompiled();
  expect(runWulf(modes[0]!, t.dir, ['init', '--address', '127.0.0.1/8', '--interface', 'lo']).code).toBe(0);
});
afterAll(() => t.cleanup());

function run(cmd: string[]): { code: number; err: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, WULF_ROOT: t.dir, NO_COLOR: '1' },
  });
  return { code: r.status ?? -1, err: r.stderr };
}
function oneLine(err: string, what: RegExp) {
  const lines = err.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(what);
  expect(err).not.toContain('already running');
  expect(err).not.toMatch(/\n\s+at /);
}

test('read-only file system: EROFS, in one line', () => {
  for (const withRunDir of [false, true]) {
    if (withRunDir) mkdirSync(`${state}/run`, { recursive: true });
    const r = run([
      'unshare',
      '-m',
      'sh',
      '-c',
      `mount --bind -o ro "$1" "$1" && shift && exec "$@"`,
      'sh',
      state,
      compiledBin,
      ...serveArgs,
    ]);
    expect(r.code).toBe(1);
    oneLine(r.err, new RegExp(`^wulf: cannot create ${state}/run/serve\\.lock: read-only file system \\(EROFS\\)$`));
  }
}, 30_000);

test('a state directory owned by someone else: EACCES, in one line', () => {
  chmodSync(t.dir, 0o755);
  const asNobody = () => run(['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', compiledBin, ...serveArgs]);
  // the config files (root's, 0640) are the first thing nobody cannot read: said as such
  const conf = asNobody();
  expect(conf.code).toBe(1);
  oneLine(conf.err, new RegExp(`^wulf: cannot open ${t.dir}/etc/wulf/(wulf|nodes)\\.conf: permission denied \\(EACCES\\)$`));
  // readable config, foreign state directory
  for (const f of ['wulf.conf', 'nodes.conf']) chmodSync(`${t.dir}/etc/wulf/${f}`, 0o644);
  const r = asNobody();
  expect(r.code).toBe(1);
  oneLine(r.err, new RegExp(`^wulf: cannot create ${state}/run/serve\\.lock: permission denied \\(EACCES\\)$`));
}, 30_000);
