// Secure address check (in-process serve): a node without an address in nodes.conf holds the
// address of its current DHCP lease; an expired lease, or another node's lease, gives it none.
// Behind NAT, `secure address: false` turns the check off while secure mode stays.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/serve/serve.ts';
import { pathsFor } from '../../src/config/paths.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { writeState } from '../../src/runtime/state-file.ts';
import { parseWulfConf } from '../../src/config/wulfconf.ts';

const root = mkdtempSync(join(tmpdir(), 'wulf-leaseaddr-'));
const paths = pathsFor(root);
const MAC1 = '52:54:00:cc:00:01',
  MAC2 = '52:54:00:cc:00:02',
  MAC3 = '52:54:00:cc:00:03';
let srv: RunningServer;

/** GET from a chosen loopback source address (curl binds the socket; async: the server is in this process). */
async function from(src: string, path: string): Promise<string> {
  const p = Bun.spawn(
    ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--interface', src, `http://127.0.0.1:${srv.httpPort}${path}`],
    { stdout: 'pipe' },
  );
  return (await new Response(p.stdout).text()).trim();
}

beforeAll(async () => {
  mkdirSync(paths.confDir, { recursive: true });
  writeFileSync(
    paths.wulfConf,
    'ipaddr: 127.0.0.1\nnetmask: 255.0.0.0\nwarewulf:\n  secure: true\ndhcp:\n  mode: off\ntftp:\n  enabled: false\n',
  );
  writeFileSync(
    paths.nodesConf,
    [
      'nodes:',
      ...[
        ['d1', MAC1],
        ['d2', MAC2],
        ['d3', MAC3],
      ].flatMap(([n, m]) => [`  ${n}:`, '    network devices:', '      default:', `        hwaddr: ${m}`]),
      '',
    ].join('\n'),
  );
  const now = Date.now();
  writeState(paths.stateFile, {
    version: 1,
    status: {},
    unknown: {},
    leases: [
      { ip: '127.0.0.11', mac: MAC1, state: 'bound', expires: now + 3_600_000, node: 'd1' },
      { ip: '127.0.0.12', mac: MAC2, state: 'bound', expires: now + 3_600_000, node: 'd2' },
      { ip: '127.0.0.13', mac: MAC3, state: 'bound', expires: now - 1000, node: 'd3' }, // expired
    ],
  });
  srv = await startServer({ paths, log: silentLogger, address: '127.0.0.1', httpPort: 0, dhcp: false, tftp: false, ra: false });
});
afterAll(async () => {
  await srv?.stop();
  rmSync(root, { recursive: true, force: true });
});

test("the address of a live lease is the node's; another node's lease or an expired one is not", async () => {
  expect(await from('127.0.0.11', `/system/${MAC1}`)).toBe('200');
  expect(await from('127.0.0.12', `/system/${MAC1}`)).toBe('403');
  expect(srv.status.get('d1')!.sent).toBe('WRONG_ADDRESS');
  expect(await from('127.0.0.12', `/system/${MAC2}`)).toBe('200');
  expect(await from('127.0.0.13', `/system/${MAC3}`)).toBe('403');
  expect(await from('127.0.0.11', `/kernel/${MAC2}`)).not.toBe('403'); // not an overlay: no address check
});

test('secure address: false (NAT, proxies) serves overlays to any address while secure mode stays on', async () => {
  writeFileSync(
    paths.wulfConf,
    'ipaddr: 127.0.0.1\nnetmask: 255.0.0.0\nwarewulf:\n  secure: true\n  secure address: false\ndhcp:\n  mode: off\ntftp:\n  enabled: false\n',
  );
  srv.reload();
  expect(await from('127.0.0.12', `/system/${MAC1}`)).toBe('200');
  expect(await from('127.0.0.12', `/runtime/${MAC1}`)).toBe('403'); // still HTTPS only / privileged port
  const c = parseWulfConf('warewulf:\n  secure: true\n');
  expect([c.warewulf.secureAddress, c.warewulf.tls, c.warewulf.tlsPort]).toEqual([true, true, 9874]);
  expect(parseWulfConf('warewulf:\n  port: 8000\n').warewulf).toMatchObject({ secureAddress: false, tlsPort: 8001 });
});
