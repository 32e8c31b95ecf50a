// `wulf serve` (compiled) in a server network namespace with two interfaces, each a veth to its own
// client namespace; wulf.conf names the first as the provisioning interface. Clients on the other
// interface — a known MAC and an unknown one, with busybox udhcpc — get nothing, and nothing is
// recorded for them (no boot event, no unknown MAC); the same client on the provisioning interface
// gets its lease; router advertisements go out of the provisioning interface only.
// Needs root, iproute2, udhcpc, python3.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNsStar, type NsStar, requireTool, run, sh, startAndWait, waitFor } from './netns.ts';
import { compiledBin, requireCompiled, runWulf, modes } from '../helpers/cli.ts';

const KNOWN = '52:54:00:78:01:01',
  STRANGER = '52:54:00:78:02:99';
const tag = String(process.pid);
let star: NsStar;
let dir: string;
let serve: Awaited<ReturnType<typeof startAndWait>> | undefined;
const prov = () => star.legs[0]!,
  other = () => star.legs[1]!;

beforeAll(async () => {
  requireCompiled();
  for (const [t, p] of [
    ['udhcpc', 'udhcpc'],
    ['ip', 'iproute2'],
    ['python3', 'python3'],
  ])
    requireTool(t!, p!);
  star = createNsStar(tag, ['10.78.1', '10.78.2']);
  dir = mkdtempSync(join(tmpdir(), 'wdhcp-if-'));
  const w = (...a: string[]) => runWulf(modes[0]!, dir, a);
  expect(w('init', '--address', '10.78.1.1/24', '--interface', prov().srvIf).code).toBe(0);
  expect(w('node', 'add', 'n1', '--hwaddr', KNOWN, '--ipaddr', '10.78.1.11', '--netdev', 'eth0').code).toBe(0);
  writeFileSync(join(dir, 'udhcpc.sh'), '#!/bin/sh\necho "UDHCPC $1 ip=$ip hostname=$hostname"\n');
  chmodSync(join(dir, 'udhcpc.sh'), 0o755);
  // the server logs on stderr: joined to stdout, where startAndWait reads
  const cmd = star.exec(star.srv, ['env', `WULF_ROOT=${dir}`, 'sh', '-c', `exec "$0" "$@" 2>&1`, compiledBin, 'serve', '--ra']);
  serve = await startAndWait(cmd, /serving on 10\.78\.1\.1/, 30_000);
}, 90_000);

afterAll(async () => {
  try {
    serve?.proc.kill('SIGKILL');
  } catch {
    /* gone */
  }
  star?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const log = () => serve!.lines.join('\n');
function setMac(ns: string, ifc: string, mac: string) {
  sh(star.exec(ns, ['ip', 'link', 'set', ifc, 'address', mac]));
}
async function udhcpc(leg: NsStar['legs'][number], tries = 3): Promise<{ code: number; bound: string }> {
  const r = await run(
    star.exec(leg.cli, ['udhcpc', '-i', leg.cliIf, '-n', '-q', '-f', '-t', String(tries), '-T', '1', '-s', join(dir, 'udhcpc.sh')]),
    30_000,
  );
  return { code: r.code, bound: r.out.split('\n').find((l) => l.startsWith('UDHCPC bound')) ?? '' };
}
async function status(): Promise<{ nodes: Record<string, { stage: string }>; unknown: Record<string, unknown> }> {
  const r = await run(star.exec(star.srv, ['curl', '-sS', 'http://10.78.1.1:9873/status']));
  return JSON.parse(r.out);
}
/** Whether a router advertisement arrives on a client's interface within `seconds`. */
async function raSeen(leg: NsStar['legs'][number], seconds: number): Promise<boolean> {
  const r = await run(
    star.exec(leg.cli, ['python3', join(import.meta.dir, '../serve/helpers/ra-recv.py'), leg.cliIf, String(seconds)]),
    (seconds + 5) * 1000,
  );
  return r.out.split('\n').length > 2;
}

describe('DHCP only on the provisioning interface', () => {
  test('the server listens on its provisioning interface only', () => {
    expect(log()).toMatch(new RegExp(`dhcp: listening on ${prov().srvIf}\\b`));
    expect(log()).not.toContain(other().srvIf);
  });

  test('a known MAC and an unknown MAC on the other interface get nothing, and nothing is recorded', async () => {
    for (const mac of [KNOWN, STRANGER]) {
      setMac(other().cli, other().cliIf, mac);
      const r = await udhcpc(other());
      expect(r.bound).toBe('');
      expect(r.code).not.toBe(0);
    }
    await Bun.sleep(300);
    expect(log()).not.toMatch(/boot: n1|dhcp:.*(discover|offer)/i);
    const st = await status();
    expect(st.unknown).toEqual({});
    expect(st.nodes.n1?.stage ?? '').toBe('');
  }, 60_000);

  test('router advertisements go out of the provisioning interface, not the other', async () => {
    const [mine, theirs] = await Promise.all([raSeen(prov(), 8), raSeen(other(), 8)]);
    expect(mine).toBe(true);
    expect(theirs).toBe(false);
  }, 30_000);

  test('the same client on the provisioning interface gets its lease', async () => {
    setMac(prov().cli, prov().cliIf, KNOWN);
    const r = await udhcpc(prov(), 4);
    expect(r.bound).toBe('UDHCPC bound ip=10.78.1.11 hostname=n1');
    expect(await waitFor(() => /boot: n1 .*stage=dhcp/.test(log()), 5000)).toBe(true);
    expect((await status()).nodes.n1!.stage).toBe('dhcp');
  }, 60_000);
});
