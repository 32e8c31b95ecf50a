// warewulf.conf's tftp.tftproot and tftp.ipxe honoured by `wulf serve` (compiled): a PXE client is
// offered the site's iPXE build from <tftproot>/warewulf/ (where `wwctl configure tftp` put it), TFTP
// and HTTP serve it; a build wulf cannot serve keeps wulf's own for that architecture, said once.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loopbackPorts, modes, requireCompiled, runWulf, startServe, stopServe, tempRoot, tinyRootfs } from '../helpers/cli.ts';
import { bootFilesFromMap } from '../../src/serve/bootfiles.ts';
import { dora, Relay, tftpGet } from '../../src/sim/sim.ts';

const bin = modes[0]!;
const t = tempRoot('wulf-tftp-');
const w = (...a: string[]) => runWulf(bin, t.dir, a);
const { ports, base } = loopbackPorts();
const SITE_BUILD = Buffer.from('a site iPXE build, e.g. a snponly one for NICs undionly does not drive\n'.repeat(200));
let serve: Awaited<ReturnType<typeof startServe>> | undefined;
let log = '';

beforeAll(async () => {
  requireCompiled();
  const fs = tinyRootfs(t.dir, Buffer.alloc(1 << 20, 7));
  for (const a of [
    ['init', '--address', '127.0.0.1/8', '--interface', 'lo'],
    ['image', 'import', fs, 'tiny'],
    ['image', 'build', 'tiny'],
  ]) {
    const r = w(...a);
    if (r.code !== 0) throw new Error(`wulf ${a.join(' ')}: ${r.err}`);
  }
  expect(w('node', 'add', 't1', '--image', 'tiny', '--hwaddr', '52:54:00:5f:00:01', '--ipaddr', '127.0.0.41').code).toBe(0);
  // as `wwctl configure tftp` leaves it: the builds under <tftproot>/warewulf (a controller path: WULF_HOST_ROOT is the temp root)
  mkdirSync(join(t.dir, 'srv/tftpboot/warewulf'), { recursive: true });
  writeFileSync(join(t.dir, 'srv/tftpboot/warewulf/site-undionly.kpxe'), SITE_BUILD);
  writeFileSync(
    join(t.dir, 'etc/wulf/wulf.conf'),
    `ipaddr: 127.0.0.1\nnetmask: 255.0.0.0\nwarewulf:\n  secure: false\ntftp:\n  enabled: true\n  tftproot: /srv/tftpboot\n  ipxe:\n` +
      `    "00:00": site-undionly.kpxe\n    "00:07": not-here.efi\n`,
  );
  serve = await startServe(bin, t.dir, ports, (d) => {
    log += d;
  });
}, 60_000);
afterAll(async () => {
  await stopServe(serve);
  t.cleanup();
});

test('a BIOS PXE client is offered the tftp.ipxe build and fetches it over TFTP from <tftproot>/warewulf', async () => {
  const r = w(
    'sim',
    '--server',
    '127.0.0.1',
    '--http-port',
    String(ports.http),
    '--dhcp-port',
    String(ports.dhcp),
    '--tftp-port',
    String(ports.tftp),
    '--relay-port',
    String(ports.relay),
    '--nodes',
    't1',
  );
  expect(r.out).toContain('1 nodes: 1 booted, 0 errors');
  // the offer itself, as the PXE ROM sees it, and the TFTP transfer of that file (the sim's relay and client)
  const o = { server: '127.0.0.1', httpPort: ports.http, dhcpPort: ports.dhcp, tftpPort: ports.tftp, relayPort: ports.relay };
  const relay = new Relay(o);
  await relay.open();
  try {
    const ack = await dora(relay, o, '52:54:00:5f:00:01', false);
    expect(ack.file).toBe('site-undionly.kpxe');
  } finally {
    relay.close();
  }
  expect(await tftpGet(o, 'site-undionly.kpxe', 10_000)).toBe(SITE_BUILD.length);
  const h = await fetch(`${base}/tftp/site-undionly.kpxe`);
  expect(h.status).toBe(200);
  expect(Buffer.from(await h.arrayBuffer()).equals(SITE_BUILD)).toBe(true);
}, 60_000);

test('a tftp.ipxe build wulf cannot serve keeps its own for that architecture, said once', () => {
  expect(log.match(/tftp\.ipxe 00:07: not-here\.efi: wulf has no such build/g)?.length).toBe(1);
  const r = bootFilesFromMap(
    { '00:00': 'undionly.kpxe', '00:07': 'x/missing.efi', '00:09': 'snp.efi', '00:0B': 'arm64-efi/snponly.efi' },
    (n) => n !== 'missing.efi',
  );
  expect(r.files).toEqual({ bios: 'undionly.kpxe', efi64: 'snp.efi', arm64: 'snponly.efi' });
  expect(r.skipped).toEqual(['00:07: missing.efi']);
});
