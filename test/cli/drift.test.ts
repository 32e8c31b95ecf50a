// wwctl habits that used to drift (issue #13), against the compiled binary: unset words as values
// (`--onboot nil`), `set -a` asking first, `node edit --noheader`, `overlay list -p`, `overlay show -q`,
// and help texts (`tui --help`, `profile add --help`).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin, modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';
import { Pane } from '../tui/tmux.ts';

const mode = modes[0]!; // compiled
const t = tempRoot('wulf-drift-');
const w = (...args: string[]) => runWulf(mode, t.dir, args);
const conf = () => readFileSync(join(t.dir, 'etc/wulf/nodes.conf'), 'utf8');
const node = (n: string) => JSON.parse(w('node', 'list', '-j', n).out)[n];
const own = (n: string) => (Bun.YAML.parse(w('node', 'export', n).out) as Record<string, Record<string, unknown>>)[n]!;

beforeAll(() => {
  requireCompiled();
  expect(w('init', '--address', '10.7.0.1/24', '--interface', 'lo').code).toBe(0);
  expect(w('node', 'add', 'n[1-3]', '--ipaddr', '10.7.0.11', '--netmask', '255.255.255.0').code).toBe(0);
});
afterAll(t.cleanup);

describe('unset words as values (wwctl: unset, undef, delete, nil, --, any case; 0.0.0.0 for an address)', () => {
  test('--onboot nil / delete / NIL clears the field and the word is not taken as a node pattern', () => {
    for (const word of ['nil', 'delete', 'NIL', 'Undef']) {
      expect(w('node', 'set', 'n1', '--onboot', 'false').code).toBe(0);
      expect(node('n1')['network devices'].default.onboot).toBe('false');
      const r = w('node', 'set', 'n1', '--onboot', word);
      expect([r.code, r.err]).toEqual([0, '']);
      expect(r.out).toContain('OnBoot: false -> --');
      expect(node('n1')['network devices'].default.onboot).toBeUndefined();
    }
    // the word after the flag is its value: with it taken as a pattern, n1 alone would match and onboot become true
    const r = w('node', 'set', '--onboot', 'nil', 'n2');
    expect(r.code).toBe(0);
    expect(node('n2')['network devices'].default.onboot).toBeUndefined();
    // a boolean word still sets it; `--onboot=--` clears with wwctl's `--`
    expect(w('node', 'set', 'n1', '--onboot', 'no').code).toBe(0);
    expect(node('n1')['network devices'].default.onboot).toBe('false');
    expect(w('node', 'set', 'n1', '--onboot=--').code).toBe(0);
    expect(node('n1')['network devices'].default.onboot).toBeUndefined();
    // a bare flag before a node name is still "true"
    expect(w('node', 'set', '--onboot', 'n3').code).toBe(0);
    expect(node('n3')['network devices'].default.onboot).toBe('true');
  });

  test('the same words clear string, list and address fields; 0.0.0.0 clears an address; a bad bool is one line', () => {
    expect(w('node', 'set', 'n2', '--comment', 'rack 4', '--kernelargs', 'quiet', '--gateway', '10.7.0.254').code).toBe(0);
    expect(own('n2').comment).toBe('rack 4');
    expect(w('node', 'set', 'n2', '--comment', 'DELETE', '--kernelargs', 'Nil').code).toBe(0);
    expect(own('n2').comment).toBeUndefined();
    expect(own('n2').kernel).toBeUndefined();
    expect(w('node', 'set', 'n2', '--gateway', '0.0.0.0').code).toBe(0);
    expect((own('n2')['network devices'] as Record<string, Record<string, string>>).default!.gateway).toBeUndefined();
    // 0.0.0.0 is only an unset word for addresses: a comment keeps it
    expect(w('node', 'set', 'n2', '--comment', '0.0.0.0').code).toBe(0);
    expect(own('n2').comment).toBe('0.0.0.0');
    const before = conf();
    const bad = w('node', 'set', 'n2', '--onboot=maybe');
    expect(bad.code).not.toBe(0);
    expect(bad.err.trim().split('\n')[0]).toMatch(/^wulf: node n2: OnBoot "maybe" is not a boolean/);
    expect(bad.err).not.toContain('    at ');
    expect(conf()).toBe(before);
  });

  test('node add with an unset word for --ipaddr does not auto-increment it', () => {
    const r = w('node', 'add', 'm[1-2]', '--ipaddr', 'nil');
    expect(r.code).toBe(0);
    expect(node('m2')['network devices']?.default?.ipaddr).toBeUndefined();
  });
});

describe('set/unset --all asks first', () => {
  test('without a terminal it refuses unless --yes; nothing changes', () => {
    const before = conf();
    const r = w('node', 'set', '-a', '--comment', 'all of them');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/^wulf: change every node \(5 nodes\): refusing without --yes \(no terminal to ask on\)/);
    expect(conf()).toBe(before);
    const u = w('profile', 'unset', '-a', '--comment');
    expect(u.code).not.toBe(0);
    expect(u.err).toContain('refusing without --yes');
    const y = w('node', 'set', '-a', '--yes', '--comment', 'all of them');
    expect(y.code).toBe(0);
    for (const n of ['n1', 'n2', 'n3', 'm1', 'm2']) expect(own(n).comment).toBe('all of them');
    // naming the nodes needs no confirmation
    expect(w('node', 'set', 'n1', '--comment', 'one').code).toBe(0);
  });

  test('on a terminal it asks: n keeps everything, y applies', async () => {
    const pane = Pane.start('wdrift-confirm', `${compiledBin} node set -a --comment asked`, {
      env: { WULF_ROOT: t.dir, WULF_HOST_ROOT: t.dir },
    });
    try {
      await pane.waitFor('change every node (5 nodes)? [y/N]');
      pane.type('n');
      pane.keys('Enter');
      const s = await pane.waitFor('EXIT=');
      expect(s).toContain('cancelled; nothing changed');
      expect(s).toContain('EXIT=1');
      expect(own('n2').comment).toBe('all of them');
    } finally {
      pane.kill();
    }
    const yes = Pane.start('wdrift-confirm2', `${compiledBin} node set -a --comment asked`, {
      env: { WULF_ROOT: t.dir, WULF_HOST_ROOT: t.dir },
    });
    try {
      await yes.waitFor('[y/N]');
      yes.type('y');
      yes.keys('Enter');
      await yes.waitFor('EXIT=0');
      for (const n of ['n1', 'n2', 'n3', 'm1', 'm2']) expect(own(n).comment).toBe('asked');
    } finally {
      yes.kill();
    }
  }, 30_000);
});

test('node edit --noheader: the file the editor gets has no comment line', () => {
  const seen = join(t.dir, 'seen.yaml');
  const editor = join(t.dir, 'editor.sh');
  writeFileSync(editor, `#!/bin/sh\ncp "$1" ${seen}\n`);
  chmodSync(editor, 0o755);
  expect(runWulf(mode, t.dir, ['node', 'edit', 'n1'], { env: { EDITOR: editor } }).code).toBe(0);
  expect(readFileSync(seen, 'utf8').split('\n')[0]).toMatch(/^# Edit the nodes below/);
  const r = runWulf(mode, t.dir, ['node', 'edit', '--noheader', 'n1'], { env: { EDITOR: editor } });
  expect(r.code).toBe(0);
  expect(readFileSync(seen, 'utf8').split('\n')[0]).toBe('n1:');
  expect(runWulf(mode, t.dir, ['profile', 'edit', '--noheader', 'default'], { env: { EDITOR: editor } }).code).toBe(0);
  expect(readFileSync(seen, 'utf8').split('\n')[0]).toBe('default:');
});

describe('overlay list -p, overlay show -q', () => {
  test('-p: a PATH column with the site directory; shipped overlays are inside the binary', () => {
    expect(w('overlay', 'create', 'site1').code).toBe(0);
    const site = join(t.dir, 'var/lib/wulf/overlays/site1');
    const r = w('overlay', 'list', '-p');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^OVERLAY NAME\s+FILES\/DIRS\s+PATH$/);
    expect(r.out).toMatch(new RegExp(`^site1\\s+0\\s+${site.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(r.out).toMatch(/^hosts\s+\d+\s+\(in the wulf binary\)$/m);
    mkdirSync(join(site, 'rootfs/etc'), { recursive: true });
    writeFileSync(join(site, 'rootfs/etc/motd'), 'hello\n');
    const l = w('overlay', 'list', '-l', '-p', 'site1');
    expect(l.out.split('\n')[0]).toMatch(/PERM MODE\s+UID\s+GID\s+OVERLAY\s+FILE PATH\s+PATH$/);
    expect(l.out).toMatch(/site1\s+\/etc\/motd\s+\S*site1$/m);
    expect(w('overlay', 'list').out.split('\n')[0]).toMatch(/SOURCE$/); // without -p: unchanged
  });

  test('-q: only the rendered text, without the "# ----" lines for several files', () => {
    const site = join(t.dir, 'var/lib/wulf/overlays/site1/rootfs');
    writeFileSync(join(site, 'etc/two.ww'), 'first {{ id }}\n{% file "/etc/second" %}second {{ id }}\n');
    const loud = w('overlay', 'show', '-r', 'n1', 'site1', 'etc/two');
    expect(loud.code).toBe(0);
    expect(loud.out).toContain('# ---- /etc/second');
    const quiet = w('overlay', 'show', '-q', '-r', 'n1', 'site1', 'etc/two.ww');
    expect(quiet.code).toBe(0);
    expect(quiet.out).not.toContain('# ----');
    expect(quiet.out).toContain('second n1');
  });
});

test('help texts: tui --help names the command once; profile add --help has no hostlists or auto-increment', () => {
  const tui = w('tui', '--help');
  expect(tui.code).toBe(0);
  expect(tui.out.split('\n')[0]).toBe('Usage: wulf tui [flags]');
  for (const n of ['serve', 'completion', 'demo', 'sim', 'version', 'tui'])
    expect(w(n, '--help').out).not.toMatch(new RegExp(`wulf ${n} ${n}\\b`));
  const p = w('profile', 'add', '--help').out;
  expect(p).not.toMatch(/hostlist|auto-increment|n\[01/i);
  expect(p).toContain('--ipaddr');
  expect(w('node', 'add', '--help').out).toContain('auto-increment');
});

test('wwctl spellings: set/unset -f (a no-op there), --netdel NAME, overlay add (= create) and cp (= import), overlay delete -p, version alias vers', () => {
  expect(w('node', 'set', '-f', 'n1', '--comment', 'forced').code).toBe(0);
  expect(w('profile', 'unset', '--force', 'default', '--comment').code).toBe(0);
  expect(w('node', 'set', 'n3', '--netname', 'ib', '--ipaddr', '10.8.0.3').code).toBe(0);
  expect(Object.keys(own('n3')['network devices'] as object).sort()).toEqual(['default', 'ib']);
  const del = w('node', 'set', '--netdel', 'ib', 'n3'); // wwctl: the name follows --netdel; n3 stays the pattern
  expect([del.code, del.err]).toEqual([0, '']);
  expect(Object.keys(own('n3')['network devices'] as object)).toEqual(['default']);
  expect(w('node', 'set', 'n3', '--netdel=nosuch').err).toContain('there is no netdev "nosuch"');
  expect(w('node', 'set', 'n3', '--netdel').err).toContain('--netdel needs --netname'); // wulf's switch form still says what it needs
  expect(w('overlay', 'add', 'viaadd').code).toBe(0);
  const src = join(t.dir, 'motd.txt');
  writeFileSync(src, 'hi\n');
  expect(w('overlay', 'cp', 'viaadd', src, 'etc/deep/er/motd').code).not.toBe(0); // no parents without -p
  expect(w('overlay', 'cp', '-p', 'viaadd', src, 'etc/deep/er/motd').code).toBe(0);
  const ov = join(t.dir, 'var/lib/wulf/overlays/viaadd/rootfs');
  expect(readFileSync(join(ov, 'etc/deep/er/motd'), 'utf8')).toBe('hi\n');
  expect(w('overlay', 'delete', '-p', 'viaadd', 'etc/deep/er/motd').code).toBe(0);
  expect(Bun.spawnSync(['find', ov, '-mindepth', '1']).stdout.toString()).toBe(''); // the emptied etc/deep/er went too, the overlay root stays
  expect(w('vers').out).toMatch(/^wulf \d+\.\d+\.\d+/);
});
