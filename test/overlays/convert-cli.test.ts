// `wulf overlay convert FILE` (the compiled binary): Liquid on stdout, problems on stderr as
// FILE:LINE: why with exit 1 and nothing written; -o OUT, --write (original kept); and the
// converted template builds into the same bytes Go renders. `overlay import` refuses a Go template.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';
import { renderGoFull } from '../helpers/gorender.ts';

const compiled = modes[0]!;
const { dir, cleanup } = tempRoot('wulf-convert-');
afterAll(cleanup);
beforeAll(() => requireCompiled());

const GO =
  '{{- /* motd */ -}}\nWelcome to {{ .Id }}{{ if .ClusterName }} ({{ .ClusterName }}){{ end }}\n' +
  '{{ range $name, $nd := .NetDevs }}{{ $name }} {{ $nd.Ipaddr }}\n{{ end }}';
const BAD = 'line one {{ .Id }}\n{{ template "x" . }}\n{{ quote .Id }}\n';

describe('wulf overlay convert', () => {
  test('prints the Liquid on stdout, byte for byte what the converter gives', () => {
    writeFileSync(join(dir, 'motd.ww'), GO);
    const r = runWulf(compiled, dir, ['overlay', 'convert', join(dir, 'motd.ww')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      'Welcome to {{ id }}{% if clusterName != blank %} ({{ clusterName }}){% endif %}\n{% for nd in netdevs %}{{ nd.name }} {{ nd.ipaddr }}\n{% endfor %}',
    );
  });

  test('what it cannot convert: FILE:LINE: why on stderr, exit 1, nothing on stdout or on disk', () => {
    const f = join(dir, 'bad.ww');
    writeFileSync(f, BAD);
    const r = runWulf(compiled, dir, ['overlay', 'convert', f, '-o', join(dir, 'bad.out')]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const lines = r.err.trim().split('\n');
    expect(lines[0]).toStartWith(`${f}:2: `);
    expect(lines[1]).toStartWith(`${f}:3: `);
    expect(lines[1]).toContain('quote');
    expect(r.err).not.toContain('    at ');
    expect(existsSync(join(dir, 'bad.out'))).toBe(false);
    const missing = runWulf(compiled, dir, ['overlay', 'convert', join(dir, 'nope.ww')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`${join(dir, 'nope.ww')}: no such file`);
    expect(missing.err.trim().split('\n').length).toBe(1);
  });

  test('the kind follows the name (*.ipxe: iPXE data, *.tmpl: BMC data) unless --kind says', () => {
    writeFileSync(join(dir, 'site.ipxe'), '#!ipxe\nkernel http://{{.Authority}}/kernel/{{.Hwaddr}}\n');
    const r = runWulf(compiled, dir, ['overlay', 'convert', join(dir, 'site.ipxe')]);
    expect({ code: r.code, out: r.out, err: r.err }).toEqual({
      code: 0,
      out: '#!ipxe\nkernel http://{{ authority }}/kernel/{{ hwaddr }}\n',
      err: '',
    });
    const asOverlay = runWulf(compiled, dir, ['overlay', 'convert', join(dir, 'site.ipxe'), '--kind', 'overlay']);
    expect(asOverlay.code).toBe(1);
    expect(asOverlay.err).toContain(`${join(dir, 'site.ipxe')}:2: .Authority`);
    writeFileSync(
      join(dir, 'power.tmpl'),
      'ipmitool -H {{.Ipaddr}} -U {{.UserName}} -E {{ if eq .Cmd "PowerOn" }}chassis power on{{ end }}',
    );
    expect(runWulf(compiled, dir, ['overlay', 'convert', join(dir, 'power.tmpl')]).out).toBe(
      'ipmitool -H {{ ipaddr }} -U {{ username }} -E {% if cmd == "PowerOn" %}chassis power on{% endif %}',
    );
    expect(runWulf(compiled, dir, ['overlay', 'convert', join(dir, 'power.tmpl'), '--kind', 'grub']).err).toContain('--kind "grub"');
  });

  test('-o OUT writes the file (an existing OUT only with --force); --write converts in place and keeps the original', () => {
    const f = join(dir, 'motd.ww');
    writeFileSync(f, GO);
    expect(runWulf(compiled, dir, ['overlay', 'convert', f, '-o', join(dir, 'motd.liquid.ww')]).code).toBe(0);
    const liquid = readFileSync(join(dir, 'motd.liquid.ww'), 'utf8');
    expect(liquid).toContain('{% for nd in netdevs %}');
    const again = runWulf(compiled, dir, ['overlay', 'convert', f, '-o', join(dir, 'motd.liquid.ww')]);
    expect(again.code).toBe(1);
    expect(again.err).toContain('exists');
    expect(runWulf(compiled, dir, ['overlay', 'convert', f, '-o', join(dir, 'motd.liquid.ww'), '--force']).code).toBe(0);
    const w = runWulf(compiled, dir, ['overlay', 'convert', f, '--write']);
    expect(w.code).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(liquid);
    expect(readFileSync(`${f}.go-orig`, 'utf8')).toBe(GO);
    expect(w.err).toContain(`${f}.go-orig`);
  });

  test('a converted template builds into an overlay file equal to what Go renders from the original', () => {
    writeFileSync(join(dir, 'g.ww'), GO);
    const root = join(dir, 'site');
    mkdirSync(root, { recursive: true });
    const run = (...a: string[]) => {
      const r = runWulf(compiled, root, a);
      if (r.code !== 0) throw new Error(`${a.join(' ')}: ${r.err}`);
      return r.out;
    };
    run('init', '--address', '10.0.0.1/24');
    run('node', 'add', 'c1', '--ipaddr', '10.0.0.11', '--hwaddr', '52:54:00:00:00:11', '--netmask', '255.255.255.0', '--cluster', 'lab');
    run('overlay', 'create', 'site');
    run('overlay', 'convert', join(dir, 'g.ww'), '-o', join(dir, 'g.liquid'));
    run('overlay', 'import', 'site', join(dir, 'g.liquid'), 'etc/motd.ww', '--parents');
    const shown = run('overlay', 'show', 'site', 'etc/motd.ww', '--render', 'c1');
    const go = renderGoFull(join(dir, 'g.ww'), { Id: 'c1', ClusterName: 'lab', NetDevs: { default: { Ipaddr: '10.0.0.11' } } });
    expect(shown).toBe(go.files[0]!.data);
  });
});

describe('wulf overlay import', () => {
  test('refuses a template in Go syntax, with file:line and the convert command', () => {
    const root = join(dir, 'imp');
    mkdirSync(root, { recursive: true });
    runWulf(compiled, root, ['init', '--address', '10.0.0.1/24']);
    runWulf(compiled, root, ['overlay', 'create', 'site']);
    writeFileSync(join(dir, 'go.ww'), GO);
    const r = runWulf(compiled, root, ['overlay', 'import', 'site', join(dir, 'go.ww'), 'etc/motd.ww', '--parents']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `${join(dir, 'go.ww')}:1: Go template syntax ({{- /* motd */ -}}); wulf templates are Liquid: convert it with wulf overlay convert ${join(dir, 'go.ww')}`,
    );
    expect(r.err.trim().split('\n').length).toBeLessThanOrEqual(2);
  });
});
