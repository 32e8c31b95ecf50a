// Go template syntax in a wulf template (overlay, iPXE, BMC) is refused with one line naming the
// file and line and pointing at `wulf overlay convert` — never a 200 with a broken script — and a
// site iPXE template that turns bad keeps serving its last good version.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/http/app.ts';
import { StatusBoard } from '../../src/runtime/board.ts';
import { mergeAll, type MergedNode } from '../../src/config/cascade.ts';
import { createLogger, silentLogger } from '../../src/lib/log.ts';
import { pathsFor } from '../../src/config/paths.ts';
import { createOverlayService } from '../../src/overlays/service.ts';
import type { NodesConf } from '../../src/config/cascade.ts';
import { wulfConf } from './fixtures.ts';
import { renderTemplate } from '../../src/overlays/render.ts';
import { createIpmitoolDriver } from '../../src/power/ipmitool.ts';

const dir = mkdtempSync(join(tmpdir(), 'wulf-gosyntax-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GO_IPXE = '#!ipxe\necho booting {{.Id}}\nkernel http://{{.Authority}}/kernel/{{.Hwaddr}}\nboot\n';

describe('iPXE site template', () => {
  const confDir = join(dir, 'etc');
  const MAC = '52:54:00:aa:20:01';
  let app: ReturnType<typeof createApp>;
  let status: StatusBoard;
  beforeAll(() => {
    mkdirSync(join(confDir, 'ipxe'), { recursive: true });
    const byMac = new Map<string, MergedNode>();
    for (const m of mergeAll({
      profiles: {},
      nodes: { g1: { imageName: 'rocky', ipxeTemplate: 'site', networkDevices: { eth0: { hwaddr: MAC } } } },
    }))
      byMac.set(MAC, m);
    status = new StatusBoard();
    app = createApp({
      log: silentLogger,
      status,
      nodeByMac: async (mac) => byMac.get(mac),
      kernel: () => undefined,
      image: () => undefined,
      overlay: async () => undefined,
      ipxeBinary: () => undefined,
      settings: () => ({ authority: '10.0.0.254:9873', secure: false, confDir }),
    });
  });
  const get = () => app.request(`/ipxe/${MAC}`, {}, { peer: { address: '10.0.0.1', port: 40000 } });

  test('in Go syntax: 500 with file:line and the convert command, never a script', async () => {
    writeFileSync(join(confDir, 'ipxe', 'site.ipxe'), GO_IPXE);
    const r = await get();
    expect(r.status).toBe(500);
    const body = await r.text();
    expect(body).toBe(
      `${join(confDir, 'ipxe', 'site.ipxe')}:2: Go template syntax ({{.Id}}); wulf templates are Liquid: convert it with wulf overlay ` +
        `convert ${join(confDir, 'ipxe', 'site.ipxe')}\n`,
    );
    expect(body).not.toContain('kernel http:///');
    expect(status.get('g1')!.sent).toBe('ERROR');
  });

  test('after a good version was served, a Go-syntax edit keeps the good one serving', async () => {
    writeFileSync(join(confDir, 'ipxe', 'site.ipxe'), '#!ipxe\necho good {{ id }}\n');
    expect(await (await get()).text()).toBe('#!ipxe\necho good g1\n');
    writeFileSync(join(confDir, 'ipxe', 'site.ipxe'), GO_IPXE);
    const r = await get();
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('#!ipxe\necho good g1\n');
  });
});

describe('BMC template', () => {
  test('in Go syntax: refused with file:line, nothing run', () => {
    mkdirSync(join(dir, 'bmc'), { recursive: true });
    writeFileSync(
      join(dir, 'bmc', 'ww.tmpl'),
      'ipmitool -I lanplus -H {{.Ipaddr}} -U {{.UserName}} {{ if eq .Cmd "PowerOn" }}chassis power on{{ end }}\n',
    );
    const d = createIpmitoolDriver({ templateDir: join(dir, 'bmc') });
    const t = { node: 'n1', ipmi: { ipaddr: '10.0.0.9', username: 'admin', password: 'x', template: 'ww.tmpl' } };
    expect(() => d.describe(t, 'on', {})).toThrow(
      `${join(dir, 'bmc', 'ww.tmpl')}:1: Go template syntax ({{.Ipaddr}}); wulf templates are Liquid: convert it with wulf overlay ` +
        `convert ${join(dir, 'bmc', 'ww.tmpl')}`,
    );
  });
});

describe('overlay template', () => {
  test('turned into Go syntax while served: the last good archive keeps serving, one error names file and line', async () => {
    const root = join(dir, 'svc');
    const paths = pathsFor(root, root);
    const tdir = join(paths.siteOverlaysDir, 'motd', 'rootfs', 'etc');
    mkdirSync(tdir, { recursive: true });
    writeFileSync(join(tdir, 'motd.ww'), 'Welcome to {{ id }}\n');
    const conf: NodesConf = {
      profiles: {},
      nodes: { m1: { systemOverlay: ['motd'], runtimeOverlay: [], networkDevices: { eth0: { hwaddr: '52:54:00:aa:40:01' } } } },
      revision: 'r1',
    };
    const lines: string[] = [];
    const svc = createOverlayService({
      paths,
      getConf: () => conf,
      getWulfConf: () => wulfConf,
      log: createLogger({ write: (l) => lines.push(l) }),
      recheckMs: 0,
    });
    const good = await svc.archive('m1', 'system');
    writeFileSync(join(tdir, 'motd.ww'), 'Welcome to {{ .Id }}\n');
    svc.invalidate();
    const after = await svc.archive('m1', 'system');
    expect(after.hash).toBe(good.hash);
    const err = lines.filter((l) => l.includes('Go template syntax'));
    expect(err.length).toBe(1);
    expect(err[0]).toContain('overlay motd: etc/motd.ww:1: Go template syntax ({{ .Id }})');
  });

  test('in Go syntax: one error naming overlay, file and line', () => {
    const env = { confDir: dir, hostRoot: '', hostAllow: [] };
    expect(() =>
      renderTemplate('site', 'etc/motd.ww', 'Welcome\n\n{{ range .NetDevs }}{{ .Ipaddr }}{{ end }}\n', { id: 'n1' }, env),
    ).toThrow(
      'overlay site: etc/motd.ww:3: Go template syntax ({{ range .NetDevs }}); wulf templates are Liquid: convert it with wulf overlay convert FILE',
    );
  });
});
