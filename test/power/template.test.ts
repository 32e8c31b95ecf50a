// ipmitool command templates: Liquid → argv, values never split, no password on the command line,
// --show masks, alternative templates by absolute path or under confDir/bmc/.
import { expect, test } from 'bun:test';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_IPMITOOL_TEMPLATE, renderArgv } from '../../src/power/ipmitool-template.ts';
import { createIpmitoolDriver } from '../../src/power/ipmitool.ts';
import { parseSensorTable } from '../../src/power/ipmitool.ts';

test('default template: lanplus with -C 3, port, user, -E, and the command words', () => {
  const argv = renderArgv(
    DEFAULT_IPMITOOL_TEMPLATE,
    'n1',
    { ipaddr: '10.1.0.5', port: '6230', username: 'ops team', password: 'p4ss word' },
    'PowerCycle',
  );
  expect(argv).toEqual([
    'ipmitool',
    '-I',
    'lanplus',
    '-C',
    '3',
    '-H',
    '10.1.0.5',
    '-p',
    '6230',
    '-U',
    'ops team',
    '-E',
    '-N',
    '1',
    '-R',
    '2',
    'chassis',
    'power',
    'cycle',
  ]);
  expect(argv.join(' ')).not.toContain('p4ss');
});

test('lan interface drops -C; console gets -e and sol activate; no password → no -E', () => {
  expect(renderArgv(DEFAULT_IPMITOOL_TEMPLATE, 'n1', { ipaddr: '10.1.0.5', interface: 'lan', escapechar: '~' }, 'Console')).toEqual([
    'ipmitool',
    '-I',
    'lan',
    '-H',
    '10.1.0.5',
    '-e',
    '~',
    'sol',
    'activate',
  ]);
});

test('a value with shell metacharacters stays one inert argument', () => {
  const argv = renderArgv(DEFAULT_IPMITOOL_TEMPLATE, 'n1', { ipaddr: '10.0.0.1; rm -rf /', username: '$(reboot) "x"' }, 'PowerStatus');
  expect(argv).toContain('10.0.0.1; rm -rf /');
  expect(argv).toContain('$(reboot) "x"');
});

test('warewulf-style quotes around values are dropped', () => {
  expect(renderArgv('ipmitool -U "{{ username }}" -H {{ipaddr}}', 'n', { username: '', ipaddr: 'h' }, 'PowerOn')).toEqual([
    'ipmitool',
    '-U',
    '',
    '-H',
    'h',
  ]);
});

test('describe masks the password; alternative templates by name under the template dir and by absolute path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wpower-tmpl-'));
  try {
    mkdirSync(join(dir, 'bmc'));
    writeFileSync(join(dir, 'bmc', 'mine.tmpl'), 'mytool --host={{ ipaddr }} --node {{ node }} {{ cmd }} -f {{ passwordfile }}');
    const d = createIpmitoolDriver({ templateDir: join(dir, 'bmc') });
    const t = { node: 'n9', ipmi: { ipaddr: '10.0.0.9', username: 'admin', password: 'Sekr3t!', template: 'mine.tmpl' } };
    expect(d.describe(t, 'on', {})).toEqual(["mytool --host=10.0.0.9 --node n9 PowerOn -f '<password file>'"]);
    const std = { node: 'n9', ipmi: { ipaddr: '10.0.0.9', username: 'admin', password: 'Sekr3t!' } };
    expect(d.describe(std, 'cycle', { pxe: true })).toEqual([
      'IPMI_PASSWORD=**** ipmitool -I lanplus -C 3 -H 10.0.0.9 -U admin -E -N 1 -R 2 chassis bootdev pxe',
      'IPMI_PASSWORD=**** ipmitool -I lanplus -C 3 -H 10.0.0.9 -U admin -E -N 1 -R 2 chassis power cycle',
    ]);
    const abs = { node: 'n9', ipmi: { ...t.ipmi, template: join(dir, 'bmc', 'mine.tmpl') } };
    expect(d.describe(abs, 'status', {})[0]).toContain('PowerStatus');
    expect(() => d.describe({ node: 'x', ipmi: { ipaddr: '1.2.3.4', template: 'missing.tmpl' } }, 'on', {})).toThrow(
      'template missing.tmpl not found',
    );
    // Warewulf's default name maps to the built-in template
    expect(d.describe({ node: 'x', ipmi: { ipaddr: '1.2.3.4', template: 'ipmitool.tmpl' } }, 'on', {})[0]).toContain('chassis power on');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sdr / sensor list parsing', () => {
  expect(parseSensorTable('CPU Temp         | 45 degrees C      | ok\nFan1 | 5400.000 | RPM | ok | na | 300.000\n\nbogus line\n')).toEqual([
    { name: 'CPU Temp', value: '45 degrees C', status: 'ok' },
    { name: 'Fan1', value: '5400.000', unit: 'RPM', status: 'ok' },
  ]);
});
