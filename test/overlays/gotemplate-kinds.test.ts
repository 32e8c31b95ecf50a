// iPXE and BMC templates in Warewulf's Go syntax, converted (kind ipxe / bmc) and served or run by
// wulf, against the reference Go renderer over the same values under Warewulf's names: the iPXE
// script byte for byte through the HTTP app, the BMC command word for word as ipmitool's argv.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/http/app.ts';
import { StatusBoard } from '../../src/runtime/board.ts';
import { mergeAll, type MergedNode } from '../../src/config/cascade.ts';
import type { NodeData } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { convertGoTemplate } from '../../src/overlays/gotemplate/index.ts';
import { BMC_FIELDS, IPXE_FIELDS, type Field } from '../../src/overlays/gotemplate/fields.ts';
import { renderArgv, type Cmd } from '../../src/power/ipmitool-template.ts';
import { renderGoFull } from '../helpers/gorender.ts';

const OTHER = join(import.meta.dir, 'gotemplates-other');
const dir = mkdtempSync(join(tmpdir(), 'wulf-gokinds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Warewulf-named data from wulf-named data, through the converter's own field table. */
function goData(fields: Record<string, Field>, wulf: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, [key, ty]] of Object.entries(fields)) {
    const v = wulf[key];
    out[name] = ty.k === 'map' ? { ...((v as object) ?? {}) } : ty.k === 'bool' ? !!v : v === undefined || v === null ? '' : v;
  }
  return out;
}

describe('iPXE template', () => {
  const AUTH = '10.0.0.254:9873';
  const nodes: Record<string, NodeData> = {
    full: {
      imageName: 'rocky-9',
      clusterName: 'lab',
      root: 'tmpfs',
      tags: { IPXEMenuEntry: 'dracut' },
      kernel: { args: ['quiet', 'console=ttyS0'], version: '6.1.0-9' },
      networkDevices: { eth0: { hwaddr: '52:54:00:aa:30:01', ipaddr: '10.0.0.31' } },
    },
    noimage: { networkDevices: { eth0: { hwaddr: '52:54:00:aa:30:02' } } },
    plain: { imageName: 'deb', networkDevices: { eth0: { hwaddr: '52:54:00:aa:30:03', ipaddr: '10.0.0.33' } } },
  };
  let app: ReturnType<typeof createApp>;
  const merged = new Map<string, MergedNode>();
  beforeAll(() => {
    const { liquid, problems } = convertGoTemplate(readFileSync(join(OTHER, 'site.ipxe'), 'utf8'), { kind: 'ipxe' });
    expect(problems).toEqual([]);
    mkdirSync(join(dir, 'etc', 'ipxe'), { recursive: true });
    writeFileSync(join(dir, 'etc', 'ipxe', 'site.ipxe'), liquid);
    for (const m of mergeAll({
      profiles: { default: { ipxeTemplate: 'site' } },
      nodes: Object.fromEntries(Object.entries(nodes).map(([k, v]) => [k, { ...v, profiles: ['default'] }])),
    }))
      merged.set(m.data.networkDevices!.eth0!.hwaddr!, m);
    app = createApp({
      log: silentLogger,
      status: new StatusBoard(),
      nodeByMac: async (mac) => merged.get(mac),
      kernel: () => undefined,
      image: () => undefined,
      overlay: async () => undefined,
      ipxeBinary: () => undefined,
      settings: () => ({ authority: AUTH, secure: false, confDir: join(dir, 'etc') }),
    });
  });

  for (const id of ['full', 'noimage', 'plain']) {
    test(`node ${id}: the served script is byte for byte what Go renders from the original`, async () => {
      const nd = nodes[id]!;
      const mac = nd.networkDevices!.eth0!.hwaddr!;
      const r = await app.request(`/ipxe/${mac}`, {}, { peer: { address: '10.0.0.1', port: 40000 } });
      expect(r.status).toBe(200);
      // wulf's iPXE data for the node (as src/http/ipxe.ts builds it), under Warewulf's names
      const wulfView = {
        id,
        hostname: id,
        hwaddr: mac,
        authority: AUTH,
        image: nd.imageName ?? '',
        kernelArgs: (nd.kernel?.args ?? []).join(' '),
        kernelVersion: nd.kernel?.version ?? '',
        cluster: nd.clusterName ?? '',
        ipaddr: nd.networkDevices!.eth0!.ipaddr ?? '',
        tags: nd.tags ?? {},
        root: nd.root ?? 'initramfs',
        tls: false,
        port: '9873',
      };
      const want = renderGoFull(join(OTHER, 'site.ipxe'), goData(IPXE_FIELDS, wulfView)).files[0]!.data;
      expect(await r.text()).toBe(want);
    });
  }

  test('Warewulf iPXE variables wulf does not have are reported, not guessed', () => {
    const r = convertGoTemplate('#!ipxe\n{{ range .NetDevs }}ifname={{ .Device }}{{ end }}\nset t {{ .Ipxe }}\n', { kind: 'ipxe' });
    expect(r.problems.map((p) => p.line)).toEqual([2, 3]);
    expect(r.problems[0]!.message).toContain('.NetDevs');
  });
});

describe('BMC command template', () => {
  const words = (s: string) =>
    s
      .split(/\s+/)
      .filter((w) => w)
      .map((w) => (/^(["'])(.*)\1$/s.test(w) ? w.slice(1, -1) : w));
  const ipmis = [
    {
      ipaddr: '10.2.0.5',
      username: 'admin',
      password: 'x',
      interface: 'lanplus',
      port: '623',
      escapechar: '^',
      tags: { vlan: '7', a: 'b' },
    },
    { ipaddr: '10.2.0.6', username: 'ops', password: 'y' },
  ];
  test('every command renders to the argv the Go original gives (password never in the template)', () => {
    const { liquid, problems } = convertGoTemplate(readFileSync(join(OTHER, 'bmc.tmpl'), 'utf8'), { kind: 'bmc' });
    expect(problems).toEqual([]);
    for (const ipmi of ipmis) {
      for (const cmd of ['PowerOn', 'PowerOff', 'PowerStatus', 'Console', 'PowerCycle'] as Cmd[]) {
        const view = {
          cmd,
          ipaddr: ipmi.ipaddr,
          port: ipmi.port ?? '',
          username: ipmi.username,
          interface: ipmi.interface ?? '',
          escapechar: ipmi.escapechar ?? '',
          gateway: '',
          netmask: '',
          tags: ipmi.tags ?? {},
        };
        const go = renderGoFull(join(OTHER, 'bmc.tmpl'), goData(BMC_FIELDS, view)).files[0]!.data;
        expect({ cmd, argv: renderArgv(liquid, 'n1', ipmi, cmd) }).toEqual({ cmd, argv: words(go) });
      }
    }
  });

  test('.Password is reported with what to use instead', () => {
    const r = convertGoTemplate('ipmitool -H {{.Ipaddr}} -P "{{.Password}}" chassis power on', { kind: 'bmc' });
    expect(r.problems).toEqual([{ line: 1, message: expect.stringContaining('-E') }]);
  });
});
