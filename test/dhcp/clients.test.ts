// Real DHCP clients (busybox udhcpc, ISC dhclient, nmap) against the wulf DHCP server, each in its
// own network namespace joined by a veth. Needs root, iproute2, udhcpc, isc-dhcp-client, nmap.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUN, createNsPair, type NsPair, requireTool, run, sh, startAndWait, waitFor } from './netns.ts';
import type { DhcpEvent } from '../../src/dhcp/server.ts';

const KNOWN = '52:54:00:77:01:01';
const NET = '10.77.1';
const tag = String(process.pid % 1000);
let ns: NsPair;
let server: Awaited<ReturnType<typeof startAndWait>>;
let dir: string;
const events = (): DhcpEvent[] => server.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

beforeAll(async () => {
  for (const [t, p] of [
    ['udhcpc', 'udhcpc'],
    ['dhclient', 'isc-dhcp-client'],
    ['nmap', 'nmap'],
    ['ip', 'iproute2'],
  ])
    requireTool(t!, p!);
  dir = mkdtempSync(join(tmpdir(), 'wdhcp-'));
  ns = createNsPair(tag, NET, KNOWN);
  server = await startAndWait(
    ns.exec(ns.srv, [
      BUN,
      join(import.meta.dir, '../../bench/dhcp-server.ts'),
      '--server-ip',
      `${NET}.1`,
      '--range',
      `${NET}.100-${NET}.150`,
      '--reserve',
      `${KNOWN}=${NET}.11=n01`,
      '--events',
    ]),
    /^READY$/,
  );
  // print-only lease scripts: the distro scripts would rewrite the host's resolv.conf
  writeFileSync(
    join(dir, 'udhcpc.sh'),
    '#!/bin/sh\necho "UDHCPC $1 ip=$ip mask=$subnet router=$router hostname=$hostname serverid=$serverid"\n',
  );
  writeFileSync(
    join(dir, 'dhclient.sh'),
    `#!/bin/sh\necho "DHCLIENT $reason ip=$new_ip_address mask=$new_subnet_mask host=$new_host_name" >> ${dir}/dhclient.out\n`,
  );
  chmodSync(join(dir, 'udhcpc.sh'), 0o755);
  chmodSync(join(dir, 'dhclient.sh'), 0o755);
}, 60_000);

afterAll(() => {
  try {
    server?.proc.kill('SIGKILL');
  } catch {
    /* gone */
  }
  ns?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function setMac(mac: string) {
  sh(ns.exec(ns.cli, ['ip', 'link', 'set', ns.cliIf, 'address', mac]));
}

async function udhcpc(): Promise<string> {
  const r = await run(ns.exec(ns.cli, ['udhcpc', '-i', ns.cliIf, '-n', '-q', '-f', '-t', '4', '-T', '1', '-s', join(dir, 'udhcpc.sh')]));
  if (r.code !== 0) throw new Error(`udhcpc exit ${r.code}: ${r.err}`);
  return r.out.split('\n').find((l) => l.startsWith('UDHCPC bound')) ?? '';
}

async function dhclient(release = false): Promise<string> {
  const out = join(dir, 'dhclient.out');
  rmSync(out, { force: true });
  const args = [
    'dhclient',
    '-4',
    '-v',
    '-1',
    '-sf',
    join(dir, 'dhclient.sh'),
    '-lf',
    join(dir, 'dhclient.leases'),
    '-pf',
    join(dir, 'dhclient.pid'),
  ];
  const r = await run(ns.exec(ns.cli, [...args, ns.cliIf]), 30_000);
  if (r.code !== 0) throw new Error(`dhclient exit ${r.code}: ${r.err}`);
  const pidFile = join(dir, 'dhclient.pid');
  if (release) {
    // what a real lease script does: configure the address, so the unicast RELEASE can leave
    const ip = /BOUND ip=(\S+)/.exec(existsSync(out) ? readFileSync(out, 'utf8') : '')?.[1];
    if (ip) sh(ns.exec(ns.cli, ['ip', 'addr', 'add', `${ip}/24`, 'dev', ns.cliIf]));
    await run(ns.exec(ns.cli, [...args, '-r', ns.cliIf]), 15_000);
    sh(ns.exec(ns.cli, ['ip', 'addr', 'flush', 'dev', ns.cliIf]));
  } else if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(pidFile, { force: true });
  return existsSync(out) ? readFileSync(out, 'utf8') : '';
}

describe('real DHCP clients in network namespaces', () => {
  test('udhcpc with a reserved MAC gets the reserved address, hostname and router', async () => {
    setMac(KNOWN);
    const line = await udhcpc();
    expect(line).toBe(`UDHCPC bound ip=${NET}.11 mask=255.255.255.0 router=${NET}.1 hostname=n01 serverid=${NET}.1`);
    expect(await waitFor(() => events().some((e) => e.kind === 'ack' && e.mac === KNOWN && e.ip === `${NET}.11` && e.node === 'n01'))).toBe(
      true,
    );
    expect(events().some((e) => e.kind === 'discover' && e.mac === KNOWN && !e.ipxe)).toBe(true);
  }, 60_000);

  test('udhcpc with an unknown MAC gets an address from the range', async () => {
    setMac('52:54:00:77:01:99');
    const line = await udhcpc();
    expect(line).toMatch(new RegExp(`^UDHCPC bound ip=10\\.77\\.1\\.1([0-4]\\d|50) mask=255\\.255\\.255\\.0 router=${NET}\\.1 hostname= `));
  }, 60_000);

  test('dhclient with a reserved MAC gets the reserved address, then releases it', async () => {
    setMac(KNOWN);
    sh(ns.exec(ns.cli, ['ip', 'addr', 'flush', 'dev', ns.cliIf]));
    const out = await dhclient(true);
    expect(out).toContain(`DHCLIENT BOUND ip=${NET}.11 mask=255.255.255.0 host=n01`);
    expect(await waitFor(() => events().some((e) => e.kind === 'release' && e.mac === KNOWN && e.ip === `${NET}.11`), 8000)).toBe(true);
  }, 60_000);

  test('dhclient with an unknown MAC gets a range address', async () => {
    setMac('52:54:00:77:01:98');
    sh(ns.exec(ns.cli, ['ip', 'addr', 'flush', 'dev', ns.cliIf]));
    rmSync(join(dir, 'dhclient.leases'), { force: true });
    const out = await dhclient();
    expect(out).toMatch(/DHCLIENT BOUND ip=10\.77\.1\.1([0-4]\d|50) mask=255\.255\.255\.0/);
  }, 60_000);

  test('nmap broadcast-dhcp-discover sees the offer', async () => {
    sh(ns.exec(ns.cli, ['ip', 'addr', 'flush', 'dev', ns.cliIf]));
    sh(ns.exec(ns.cli, ['ip', 'addr', 'add', `${NET}.2/24`, 'dev', ns.cliIf]));
    const r = await run(
      ns.exec(ns.cli, [
        'nmap',
        '-e',
        ns.cliIf,
        '--script',
        'broadcast-dhcp-discover',
        '--script-args',
        'broadcast-dhcp-discover.timeout=4',
      ]),
      60_000,
    );
    expect(r.out).toMatch(/IP Offered: 10\.77\.1\.1([0-4]\d|50)/);
    expect(r.out).toContain(`Server Identifier: ${NET}.1`);
    expect(r.out).toContain('DHCP Message Type: DHCPOFFER');
  }, 60_000);
});
