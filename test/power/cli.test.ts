// `wulf power …` end to end with the compiled dist/wulf (nodes.conf → merged nodes → targets → drivers) against
// ipmi_sim BMCs and a Redfish mock; plus `node sensors` / `node console` through their Verb objects.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { compiledBin } from '../helpers/cli.ts';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort, startSim, type Sim } from './helpers/ipmi-sim.ts';
import { startMock, type MockBmc } from './helpers/redfish-mock.ts';
import { repoRoot } from '../helpers/cli.ts';
import { pathsFor } from '../../src/config/paths.ts';
import { silentLogger } from '../../src/lib/log.ts';
import type { Ctx } from '../../src/cli/command.ts';
import { console as consoleVerb, sensors as sensorsVerb } from '../../src/cli/node-power.ts';

let root: string;
const sims: Sim[] = [];
let rf: MockBmc;
let closedPort: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wpower-cli-'));
  for (let i = 0; i < 3; i++) sims.push(await startSim(join(root, `bmc${i}`), { user: 'admin', password: 'cli-Secret-9' }));
  closedPort = await freeUdpPort();
  rf = startMock({ user: 'admin', password: 'cli-Secret-9' });
  mkdirSync(join(root, 'etc', 'wulf', 'bmc'), { recursive: true });
  writeFileSync(
    join(root, 'etc', 'wulf', 'bmc', 'pwfile.tmpl'),
    'ipmitool -I lanplus -C 3 -H {{ ipaddr }} -p {{ port }} -U "{{ username }}" -f {{ passwordfile }} {% if cmd == "PowerStatus" %}chassis power ' +
      'status{% endif %}',
  );
  const bmc = (i: number) => `    ipmi:\n      ipaddr: 127.0.0.1\n      port: "${sims[i]!.port}"\n`;
  writeFileSync(
    join(root, 'etc', 'wulf', 'nodes.conf'),
    `nodeprofiles:
  default:
    ipmi:
      username: admin
      password: cli-Secret-9
nodes:
  n01:
    profiles: [default]
${bmc(0)}  n02:
    profiles: [default]
${bmc(1)}  n03:
    profiles: [default]
${bmc(2)}  n04:
    profiles: [default]
  dead01:
    profiles: [default]
    ipmi:
      ipaddr: 127.0.0.1
      port: "${closedPort}"
  pwf01:
    profiles: [default]
${bmc(0)}      template: pwfile.tmpl
  rf01:
    profiles: [default]
    ipmi:
      driver: redfish
      ipaddr: 127.0.0.1
      port: "${rf.port}"
      tags:
        scheme: http
`,
  );
});
afterAll(async () => {
  for (const s of sims) await s.stop();
  await rf.stop();
  rmSync(root, { recursive: true, force: true });
});

async function wulf(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([compiledBin, ...args], { env: { ...process.env, WULF_ROOT: root, NO_COLOR: '1' }, stdout: 'pipe', stderr: 'pipe' });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

describe('wulf power', () => {
  test('status over a hostlist: one line per node, summary, exit 0', async () => {
    sims[1]!.setPower(1);
    const r = await wulf('power', 'status', 'n[01-04]');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines.slice(0, -1).sort()).toEqual(['n01: off', 'n02: on', 'n03: off', 'n04: skipped: no BMC address (ipmi ipaddr)']);
    expect(lines.at(-1)).toMatch(/^power status: 4 nodes: 3 ok, 0 failed, 1 skipped in /);
  }, 20_000);

  test('--show prints the commands with the password masked and changes nothing', async () => {
    const r = await wulf('power', 'on', '-s', '--pxe', 'n[01-04]', 'rf01', 'pwf01');
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('cli-Secret-9');
    expect(r.out).toContain(
      `n01: IPMI_PASSWORD=**** ipmitool -I lanplus -C 3 -H 127.0.0.1 -p ${sims[0]!.port} -U admin -E -N 1 -R 2 chassis bootdev pxe`,
    );
    expect(r.out).toContain('n04: skipped');
    expect(r.out).toContain('rf01: POST http://127.0.0.1');
    expect(r.out).toContain('"Password":"****"');
    expect(r.out).toContain('pwf01: ipmitool -I lanplus -C 3 -H 127.0.0.1');
    expect(sims[0]!.power()).toBe('0');
    expect(rf.state.requests).toEqual([]);
  }, 20_000);

  test('on with --stagger, then -j status; Redfish and ipmitool nodes side by side', async () => {
    const t0 = performance.now();
    const r = await wulf('power', 'on', '--stagger', '0.3s', 'n[01,03]', 'rf01');
    expect(r.code).toBe(0);
    expect(performance.now() - t0).toBeGreaterThan(600);
    expect(r.out).toContain('rf01: on ok (ResetType On)');
    expect(sims[0]!.power()).toBe('1');
    expect(rf.state.power).toBe('On');
    const j = await wulf('power', 'status', '-j', 'n[01-03]', 'rf01');
    const doc = JSON.parse(j.out) as { results: { node: string; state: string; driver: string }[]; summary: { ok: number } };
    expect(doc.summary.ok).toBe(4);
    expect(doc.results.find((x) => x.node === 'rf01')).toMatchObject({ state: 'on', driver: 'redfish' });
  }, 20_000);

  test('a password-file template works and leaves no file behind', async () => {
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('wulf-ipmi-')).length;
    const r = await wulf('power', 'status', 'pwf01');
    expect(r.out).toMatch(/^pwf01: (on|off)$/m);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('wulf-ipmi-')).length).toBe(before);
  }, 20_000);

  test('an unreachable BMC fails its line, the others succeed, exit 1', async () => {
    const r = await wulf('power', 'off', '--timeout', '3s', 'n01', 'dead01');
    expect(r.code).toBe(1);
    expect(r.out).toContain('n01: off ok');
    expect(r.out).toMatch(/dead01: failed: (timed out after 3 s|no answer from BMC)/);
    expect(r.out).toMatch(/power off: 2 nodes: 1 ok, 1 failed, 0 skipped/);
  }, 20_000);

  test('usage errors', async () => {
    const none = await wulf('power', 'off');
    expect(none.code).toBe(1);
    expect(none.err).toContain('give a node pattern');
    const nomatch = await wulf('power', 'status', 'zz[1-3]');
    expect(nomatch.err).toContain('no node matches zz[1-3]');
    const bad = await wulf('power', 'on', '--fanout', '0', 'n01');
    expect(bad.code).toBe(2);
    expect((await wulf('power', 'on', '--stagger', 'later', 'n01')).err).toContain('--stagger later');
  }, 20_000);
});

describe('node sensors / node console verbs', () => {
  const out: string[] = [],
    err: string[] = [];
  const ctx = (): Ctx => ({
    paths: pathsFor(root),
    log: silentLogger,
    env: { PATH: process.env.PATH },
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    isTTY: false,
    debug: false,
    logFormat: 'human',
    confirm: async () => false,
  });

  test('sensors across an IPMI and a Redfish node', async () => {
    out.length = 0;
    const code = await sensorsVerb.run(ctx(), { fanout: '50', timeout: '10s' }, ['n01', 'rf01']);
    expect(code).toBe(0);
    expect(out).toContain('rf01: CPU1 Temp    | 41 degrees C | OK');
    expect(out.some((l) => l.startsWith('n01: '))).toBe(true);
    expect(out.at(-1)).toMatch(/^sensors: 2 nodes: 2 ok/);
  }, 20_000);

  test('console --show masks the password; Redfish without a serial console says so', async () => {
    out.length = 0;
    expect(await consoleVerb.run(ctx(), { show: true }, ['n02'])).toBe(0);
    expect(out[0]).toBe(`n02: IPMI_PASSWORD=**** ipmitool -I lanplus -C 3 -H 127.0.0.1 -p ${sims[1]!.port} -U admin -E sol activate`);
    await expect(consoleVerb.run(ctx(), {}, ['rf01'])).rejects.toThrow('rf01: serial console not supported');
    await expect(consoleVerb.run(ctx(), {}, ['n04'])).rejects.toThrow('n04: no BMC address');
  }, 20_000);
});
