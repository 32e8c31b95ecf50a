// The node/profile command tree as a user runs it, against the compiled dist/wulf and the source.
import { test, expect, describe, beforeAll, afterAll } from 'bun:test';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modes, requireCompiled, runWulf, tempRoot, compiledBin } from '../helpers/cli.ts';

for (const mode of modes) {
  describe(`wulf node/profile (${mode.name})`, () => {
    const t = tempRoot(`wulf-cli-${mode.name}-`);
    const w = (...args: string[]) => runWulf(mode, t.dir, args);
    const conf = () => readFileSync(join(t.dir, 'etc/wulf/nodes.conf'), 'utf8');
    beforeAll(() => {
      if (mode.name === 'compiled') requireCompiled();
    });
    afterAll(t.cleanup);

    test('init writes config with a default profile', () => {
      const r = w('init', '--address', '10.5.0.1/24', '--interface', 'lo');
      expect(r.code).toBe(0);
      expect(r.out).toContain('provisioning on lo 10.5.0.1/24');
      expect(conf()).toContain('default:');
      expect(w('init', '--address', '10.5.0.1/24').out).toContain('kept');
      const lo = tempRoot('wulf-init-lo-');
      try {
        expect(runWulf(mode, lo.dir, ['init', '--address', '127.0.0.1/8']).out).toContain('provisioning on lo 127.0.0.1/8');
      } finally {
        // the interface that has it
        lo.cleanup();
      }
    });

    test('node add with a hostlist auto-increments ipaddr and ipmiaddr', () => {
      const r = w('node', 'add', 'n[01-03]', '--ipaddr', '10.5.0.11', '--ipmiaddr', '10.6.0.11', '--netdev', 'eth0');
      expect(r.err).toBe('');
      expect(r.out).toContain('added 3 nodes: n[01-03]');
      const j = JSON.parse(w('node', 'list', '-j').out);
      expect(j.n03['network devices'].default.ipaddr).toBe('10.5.0.13');
      expect(j.n03.ipmi.ipaddr).toBe('10.6.0.13');
      expect(j.n01.profiles).toEqual(['default']);
    });

    test('node set prints a grouped before/after diff; UNSET clears', () => {
      const r = w('node', 'set', 'n[01-02]', '--image', 'rocky9', '--kernelargs', '"console=ttyS0,115200",~quiet');
      expect(r.code).toBe(0);
      expect(r.out).toContain('n[01-02]:');
      expect(r.out).toContain('ImageName: -- -> rocky9');
      const j = JSON.parse(w('node', 'list', '-j', 'n01').out);
      expect(j.n01.kernel.args).toEqual(['crashkernel=no', 'net.ifnames=1', 'console=ttyS0,115200']);
      expect(w('node', 'set', 'n02', '--image', 'UNSET').out).toContain('ImageName: rocky9 -> --');
      expect(w('node', 'set', 'n01', '--discoverable').out).toContain('Discoverable: -- -> true');
      expect(w('node', 'set', 'n01', '--hwaddr', '52-54-00-AB-CD-01', '--tagadd', 'rack=r1,row=2').code).toBe(0);
      expect(conf()).toContain('hwaddr: "52:54:00:ab:cd:01"');
    });

    test('list views: default, -n, -i, -l, -a with origins, -y', () => {
      expect(w('node', 'list').out).toMatch(/NODE NAME\s+PROFILES\s+NETWORK/);
      expect(w('node', 'list', '-n').out).toMatch(/n01\s+default\s+52:54:00:ab:cd:01\s+10\.5\.0\.11/);
      expect(w('node', 'list', '-i').out).toMatch(/n02\s+10\.6\.0\.12/);
      expect(w('node', 'list', '-l').out).toMatch(/n01\s+--\s+rocky9/);
      const all = w('node', 'list', '-a', 'n01').out;
      expect(all).toMatch(/n01\s+Kernel\.Args\s+default,n01\s+crashkernel=no,net\.ifnames=1,console=ttyS0,115200/);
      expect(all).toMatch(/n01\s+Init\s+default\s+\/sbin\/init/);
      expect(all).toMatch(/n01\s+Tags\[rack\]\s+--\s+r1/);
      expect(w('node', 'list', '-y', 'n02').out).toContain('n02:');
    });

    test('SUPERSEDED when a node overrides a profile value', () => {
      expect(w('node', 'set', 'n03', '--init', '/bin/sh').code).toBe(0);
      expect(w('node', 'list', '-a', 'n03').out).toMatch(/n03\s+Init\s+SUPERSEDED\s+\/bin\/sh/);
    });

    test('bad input: one line, exit code, nothing written', () => {
      const before = conf();
      const cases: [string[], string][] = [
        [['node', 'set', 'n01', '--ipaddr', '10.5.0.300'], 'node n01: Ipaddr "10.5.0.300" is not an IPv4 address'],
        [['node', 'set', 'n02', '--hwaddr', '52:54:00:ab:cd:01'], 'already used by n01'],
        [['node', 'set', 'n02', '--netmask', '255.0.255.0'], 'is not a netmask'],
        [['node', 'set', 'n02', '--profile', 'ghost'], 'unknown profile "ghost"'],
        [['node', 'set', 'n02', '--colour', 'red'], "unknown flag '--colour'\n  hint: see 'wulf node set --help'"],
        [['serve', '--colour', 'red'], "unknown flag '--colour'\n  hint: see 'wulf serve --help'"],
        [['node', 'set', 'zz'], 'no node matches zz'],
        [['node', 'add', 'n01'], 'node n01 already exists'],
        [['node', 'add', 'n[5-1]'], 'runs backwards'],
        [['node', 'set', 'n01', '--onboot=maybe'], 'is not a boolean'],
      ];
      for (const [args, msg] of cases) {
        const r = w(...args);
        expect(r.code).not.toBe(0);
        expect(r.err).toContain(msg);
        expect(r.err).not.toContain('    at ');
      }
      expect(conf()).toBe(before);
      expect(w('init', '--help').out.split('\n')[0]).toBe('Usage: wulf init [flags]');
      expect(w('node', 'set', '--help').out.split('\n')[0]).toBe('Usage: wulf node set [flags] PATTERN...');
    });

    test('unset clears fields and deletes a network', () => {
      expect(w('node', 'unset', 'n01', '--image', '--tag', 'rack').out).toContain('ImageName: rocky9 -> --');
      expect(w('node', 'add', 'n09', '--netname', 'ib', '--type', 'infiniband', '--ipaddr', '10.9.0.9').code).toBe(0);
      expect(w('node', 'unset', 'n09', '--netname', 'ib').code).toBe(0);
      expect(JSON.parse(w('node', 'list', '-j', 'n09').out).n09['network devices']).toBeUndefined();
    });

    test('profiles: add, set, nested use, list -a, delete refuses while in use', () => {
      expect(w('profile', 'add', 'gpu', '--kernelargs', 'nouveau.modeset=0', '--tagadd', 'gpu=a100').code).toBe(0);
      expect(w('node', 'set', 'n03', '--profile', 'default,gpu').code).toBe(0);
      expect(w('node', 'list', '-a', 'n03').out).toMatch(/Kernel\.Args\s+default,gpu/);
      expect(w('profile', 'list').out).toMatch(/gpu/);
      const r = w('profile', 'delete', 'gpu', '-y');
      expect(r.code).not.toBe(0);
      expect(r.err).toContain('still used by n03');
    });

    test('delete asks unless -y (no terminal → refuses)', () => {
      const r = w('node', 'delete', 'n09');
      expect(r.code).not.toBe(0);
      expect(r.err).toContain('refusing without --yes');
      expect(w('node', 'delete', 'n09', '-y').out).toContain('deleted 1 node: n09');
    });

    test('export and import round-trip', () => {
      const exp = w('node', 'export', 'n01').out;
      expect(exp).toContain('n01:');
      const file = join(t.dir, 'import.yaml');
      writeFileSync(
        file,
        exp
          .replace(/n01:/, 'n20:')
          .replace(/hwaddr: .*/, 'hwaddr: "52:54:00:00:00:20"')
          .replace(/ipaddr: 10\.5\.0\.11/, 'ipaddr: 10.5.0.20')
          .replace(/ipaddr: 10\.6\.0\.11/, 'ipaddr: 10.6.0.20'),
      );
      const r = w('node', 'import', file);
      expect(r.err).toBe('');
      expect(w('node', 'list', '-n', 'n20').out).toContain('10.5.0.20');
    });

    test('edit through $EDITOR, validated', () => {
      const ed = join(t.dir, 'ed.sh');
      writeFileSync(ed, '#!/bin/sh\nsed -i "s/init: \\/bin\\/sh/init: \\/sbin\\/other/" "$1"\n');
      chmodSync(ed, 0o755);
      const r = runWulf(mode, t.dir, ['node', 'edit', 'n03'], { env: { EDITOR: ed } });
      expect(r.err).toBe('');
      expect(JSON.parse(w('node', 'list', '-j', 'n03').out).n03.init).toBe('/sbin/other');
      writeFileSync(ed, '#!/bin/sh\nsed -i "s/init: .*/init: [oops/" "$1"\n');
      const bad = runWulf(mode, t.dir, ['node', 'edit', 'n03'], { env: { EDITOR: ed } });
      expect(bad.code).not.toBe(0);
      expect(bad.err).toContain('nothing changed');
    });

    test('help, version, completion', () => {
      expect(w('node', 'set', '--help').out).toContain('--kernelargs');
      expect(w('--help').out).toContain('Commands:');
      expect(w('version').out).toMatch(/^wulf \d+\.\d+\.\d+/);
      expect(w('completion', 'bash').out).toContain('complete -o default -F _wulf wulf');
      expect(w('completion', 'zsh').out).toContain('#compdef wulf');
      expect(w('nosuch').err).toContain("unknown command 'nosuch'");
    });
  });
}

test('portable mode: wulf-data/ beside the binary relocates every path', () => {
  requireCompiled();
  const t = tempRoot('wulf-usb-');
  try {
    const bin = join(t.dir, 'wulf');
    copyFileSync(compiledBin, bin);
    chmodSync(bin, 0o755);
    mkdirSync(join(t.dir, 'wulf-data'));
    const env = { ...process.env } as Record<string, string>;
    delete env.WULF_ROOT;
    const r = Bun.spawnSync([bin, 'init', '--address', '10.7.0.1/24'], { env });
    expect(r.exitCode).toBe(0);
    expect(existsSync(join(t.dir, 'wulf-data/etc/wulf/nodes.conf'))).toBe(true);
  } finally {
    t.cleanup();
  }
});
