// Shell completion (compiled) of nouns, verbs, flags and of node, profile, image, overlay and overlay-file
// names read from the store: the binary's `completion complete` answers, bash's _wulf with COMP_WORDS, and
// real interactive bash and zsh in tmux pressing TAB.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin, modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';
import { Pane } from '../tui/tmux.ts';

const t = tempRoot('wulf-compl-');
const w = (...args: string[]) => runWulf(modes[0]!, t.dir, args);
const bin = join(t.dir, 'bin');
const complete = (...words: string[]) =>
  w('completion', 'complete', String(words.length), '--', 'wulf', ...words)
    .out.split('\n')
    .filter(Boolean);
const env = () => ({ WULF_ROOT: t.dir, WULF_HOST_ROOT: t.dir, PATH: `${bin}:${process.env.PATH}`, TERM: 'xterm' });

beforeAll(() => {
  requireCompiled();
  mkdirSync(bin);
  symlinkSync(compiledBin, join(bin, 'wulf'));
  expect(w('init', '--address', '10.9.0.1/24', '--interface', 'lo').code).toBe(0);
  expect(w('node', 'add', 'n[1-3]', 'rack1').code).toBe(0);
  expect(w('profile', 'add', 'gpu').code).toBe(0);
  expect(w('overlay', 'create', 'mysite').code).toBe(0);
  mkdirSync(join(t.dir, 'var/lib/wulf/images/rocky9/rootfs/boot'), { recursive: true }); // an image as the store lists it, with two kernels
  writeFileSync(join(t.dir, 'var/lib/wulf/images/rocky9/rootfs/boot/vmlinuz-5.14.0-427.el9.x86_64'), 'k');
  writeFileSync(join(t.dir, 'var/lib/wulf/images/rocky9/rootfs/boot/vmlinuz-5.14.0-503.el9.x86_64'), 'k');
});
afterAll(t.cleanup);

describe('completion complete (what the scripts call)', () => {
  test('nouns, verbs, flags', () => {
    expect(complete('')).toContain('ssh');
    expect(complete('co')).toEqual(['completion', 'configure', 'controller']);
    expect(complete('controller', '')).toEqual(['list', 'delete']);
    expect(complete('node', '')).toContain('status');
    expect(complete('node', 'set', '--ta')).toEqual(['--tagadd', '--tagdel']);
    expect(complete('configure', '')).toEqual(['all', 'hostfile', 'nfs', 'ssh', 'systemd']);
  });

  test('names from the store: positionals, comma lists, flag values in every spelling', () => {
    expect(complete('node', 'set', '')).toEqual(['n1', 'n2', 'n3', 'rack1']);
    expect(complete('node', 'set', 'n2,')).toEqual(['n2,n1', 'n2,n2', 'n2,n3', 'n2,rack1']);
    expect(complete('node', 'add', '')).toEqual([]); // a new name
    expect(complete('profile', 'delete', 'g')).toEqual(['gpu']);
    expect(complete('node', 'set', '--profile', '')).toEqual(['default', 'gpu']);
    expect(complete('node', 'set', '-P', 'default,g')).toEqual(['default,gpu']);
    expect(complete('node', 'set', '--profile=g')).toEqual(['--profile=gpu']); // zsh keeps --flag=value in one word
    expect(complete('node', 'set', '--profile', '=', 'g')).toEqual(['gpu']); // bash splits at =
    expect(complete('node', 'set', '--image', '')).toEqual(['rocky9']);
    expect(complete('image', 'shell', 'r')).toEqual(['rocky9']);
    expect(complete('node', 'set', '--kernelversion', '5.14.0-5')).toEqual(['5.14.0-503.el9.x86_64']);
    expect(complete('profile', 'set', '--kernelversion', '')).toEqual(['5.14.0-427.el9.x86_64', '5.14.0-503.el9.x86_64']);
    expect(complete('image', 'shell', 'rocky9', '--node', 'n')).toEqual(['n1', 'n2', 'n3']);
    expect(complete('node', 'set', '-O', 'wwinit,host')).toEqual(['wwinit,host', 'wwinit,hostname', 'wwinit,hosts']);
    expect(complete('overlay', 'list', 'my')).toEqual(['mysite']);
    expect(complete('overlay', 'show', 'hosts', '')).toEqual(['etc/hosts.ww']);
    expect(complete('overlay', 'show', '--render', 'r', 'hosts')).toEqual(['hosts']); // after --render's node: the overlay
    expect(complete('overlay', 'show', '--render', 'r')).toEqual(['rack1']);
    expect(complete('power', 'on', 'n')).toEqual(['n1', 'n2', 'n3']);
    expect(complete('ssh', '-f', '4', 'n3')).toEqual(['n3']);
    expect(complete('ssh', 'n1', '--', 'up')).toEqual([]); // the remote command
    expect(complete('--root', t.dir, 'node', 'list', 'rack')).toEqual(['rack1']);
    expect(complete('completion', '')).toEqual(['bash', 'zsh']);
  });

  test('bash: _wulf fills COMPREPLY from COMP_WORDS', () => {
    const r = Bun.spawnSync(
      [
        'bash',
        '-c',
        'source <(wulf completion bash); COMP_WORDS=(wulf node set --profile "" ); COMP_CWORD=4; _wulf; printf "[%s]\\n" "${COMPREPLY[@]}"; complete -p wulf',
      ],
      { env: { ...process.env, ...env() }, stdout: 'pipe', stderr: 'pipe' },
    );
    expect(r.stdout.toString()).toBe('[default]\n[gpu]\ncomplete -o default -F _wulf wulf\n');
  });
});

describe('interactive shells in tmux', () => {
  test('bash: TAB TAB lists the nodes; TAB completes a unique profile', async () => {
    const p = Pane.start('wcompl-bash', 'bash --norc --noprofile', { env: env(), cols: 120 });
    try {
      p.type('PS1="$ "; source <(wulf completion bash); clear');
      p.keys('Enter');
      await p.waitFor(/^\$\s*$/m);
      p.type('wulf node set n');
      p.keys('Tab', 'Tab');
      const s = await p.waitFor(/n1\s+n2\s+n3/);
      expect(s).not.toContain('rack1');
      p.keys('C-u');
      p.type('wulf profile list g');
      p.keys('Tab');
      await p.waitFor('$ wulf profile list gpu');
    } finally {
      p.kill();
    }
  }, 30_000);

  test('zsh: TAB lists profiles for --profile and completes an overlay file', async () => {
    const p = Pane.start('wcompl-zsh', 'zsh -f', { env: env(), cols: 120 });
    try {
      p.type('PS1="%% "; autoload -U compinit && compinit -u; source <(wulf completion zsh); clear');
      p.keys('Enter');
      await p.waitFor(/^%\s*$/m);
      p.type('wulf node set --profile ');
      p.keys('Tab');
      await p.waitFor(/default\s+gpu/);
      p.keys('C-u');
      p.type('wulf overlay show hosts etc/h');
      p.keys('Tab');
      await p.waitFor('% wulf overlay show hosts etc/hosts.ww');
      p.keys('C-u');
      p.type('wulf ssh ra');
      p.keys('Tab');
      await p.waitFor('% wulf ssh rack1');
    } finally {
      p.kill();
    }
  }, 30_000);
});
