// The ipmitool driver and the fan-out against real OpenIPMI ipmi_sim BMCs on 127.0.0.1 (each with
// a power hook that keeps state in a file), plus a BMC with a wrong password and a closed port.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultDrivers, runPower, runSensors, type NodeOutcome } from '../../src/power/run.ts';
import type { PowerTarget } from '../../src/power/driver.ts';
import { freeUdpPort, startSim, type Sim } from './helpers/ipmi-sim.ts';

let dir: string;
const sims: Sim[] = [];
let closedPort: number;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wpower-sim-'));
  for (let i = 0; i < 3; i++) sims.push(await startSim(join(dir, `bmc${i}`), { user: 'admin', password: `pw-sim-${i}` }));
  closedPort = await freeUdpPort();
});
afterAll(async () => {
  for (const s of sims) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const target = (node: string, i: number, extra: Record<string, string> = {}): PowerTarget => ({
  node,
  ipmi: { ipaddr: '127.0.0.1', port: String(sims[i]!.port), username: 'admin', password: `pw-sim-${i}`, ...extra },
});
const drivers = defaultDrivers({ env: { PATH: process.env.PATH } });
const byNode = (rs: NodeOutcome[]) => Object.fromEntries(rs.map((r) => [r.node, r]));

describe('ipmitool against ipmi_sim', () => {
  test('on / status / off / cycle across three BMCs', async () => {
    const ts = [target('n01', 0), target('n02', 1), target('n03', 2)];
    sims[1]!.setPower(1);
    let r = await runPower(ts, 'status', { drivers });
    expect(r.results.map((x) => `${x.node}:${x.state}`).sort()).toEqual(['n01:off', 'n02:on', 'n03:off']);
    r = await runPower(ts, 'on', { drivers });
    expect(r.summary).toMatchObject({ ok: 3, failed: 0 });
    expect(sims.map((s) => s.power())).toEqual(['1', '1', '1']);
    r = await runPower([ts[0]!], 'off', { drivers });
    expect(sims[0]!.power()).toBe('0');
    r = await runPower(ts, 'status', { drivers });
    expect(byNode(r.results).n01!.state).toBe('off');
    expect(byNode(r.results).n02!.state).toBe('on');
    // cycle: the sim runs `set power 0`, waits ~1 s, then `set power 1`
    r = await runPower([ts[1]!], 'cycle', { drivers });
    expect(r.results[0]!.detail).toContain('Cycle');
    // the sim logs the command, then writes its power state: wait for both (a loaded machine read the state between)
    for (let i = 0; i < 200 && !(sims[1]!.log().slice(-1)[0]?.startsWith('set power 1') && sims[1]!.power() === '1'); i++)
      await Bun.sleep(50);
    expect(sims[1]!.log().filter((l) => l.startsWith('set power'))).toEqual(['set power 1', 'set power 0', 'set power 1']);
    expect(sims[1]!.power()).toBe('1');
  }, 30_000);

  test('--pxe sets the boot device before powering on; reset and soft reach the hook', async () => {
    const t = target('n03', 2);
    await runPower([t], 'off', { drivers });
    const r = await runPower([t], 'on', { drivers, pxe: true });
    expect(r.results[0]!.detail).toContain('boot pxe once');
    expect(sims[2]!.boot()).toBe('pxe');
    const log = sims[2]!.log();
    expect(log.indexOf('set boot pxe')).toBeLessThan(log.lastIndexOf('set power 1'));
    await runPower([t], 'reset', { drivers });
    expect(sims[2]!.log()).toContain('set reset 1');
    await runPower([t], 'soft', { drivers });
    expect(sims[2]!.log()).toContain('set shutdown 1');
    expect(sims[2]!.power()).toBe('0');
  }, 30_000);

  test('wrong password and a closed port: one clear line each, the others continue', async () => {
    const ts = [
      target('good', 0),
      target('badpw', 1, { password: 'definitely-not' }),
      { node: 'closed', ipmi: { ipaddr: '127.0.0.1', port: String(closedPort), username: 'admin', password: 'x-pw-x' } },
      { node: 'nobmc', ipmi: { username: 'admin' } },
      target('good2', 2),
    ];
    const lines: string[] = [];
    const { results, summary } = await runPower(ts, 'status', { drivers, timeoutMs: 15_000, onResult: (r) => lines.push(r.node) });
    const by = byNode(results);
    expect(by.good!.status).toBe('ok');
    expect(by.good2!.status).toBe('ok');
    expect(by.badpw!.kind).toBe('auth');
    expect(by.badpw!.error).toMatch(/refused the session: wrong username or password/);
    expect(by.closed!.kind).toBe('unreachable');
    expect(by.closed!.error).toContain(`no answer from BMC 127.0.0.1:${closedPort}`);
    expect(by.nobmc).toMatchObject({ status: 'skipped', detail: 'no BMC address (ipmi ipaddr)' });
    expect(summary).toMatchObject({ total: 5, ok: 2, failed: 2, skipped: 1 });
    expect(lines.at(-1)).toBe('closed'); // results stream: the slow failure lands last
  }, 30_000);

  test('per-node timeout kills a slow ipmitool', async () => {
    const t = { node: 'slow', ipmi: { ipaddr: '127.0.0.1', port: String(closedPort), username: 'admin', password: 'x-pw-x' } };
    const t0 = performance.now();
    const { results } = await runPower([t], 'status', { drivers, timeoutMs: 400 });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(results[0]).toMatchObject({ status: 'failed', kind: 'timeout' });
  });

  test('the password is never on an ipmitool command line', async () => {
    const seen: string[] = [];
    const stop = { v: false };
    const watcher = (async () => {
      while (!stop.v) {
        const ps = Bun.spawnSync(['ps', '-eo', 'args']).stdout.toString();
        for (const l of ps.split('\n')) if (l.startsWith('ipmitool')) seen.push(l);
        await Bun.sleep(5);
      }
    })();
    // a BMC that never answers keeps one ipmitool alive long enough to be seen by ps
    const silent = {
      node: 'silent',
      ipmi: { ipaddr: '127.0.0.1', port: String(closedPort), username: 'admin', password: 'pw-sim-silent' },
    };
    for (let i = 0; i < 3; i++) await runPower([target('n01', 0), target('n02', 1), silent], 'status', { drivers, timeoutMs: 500 });
    stop.v = true;
    await watcher;
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((l) => l.includes(' -E '))).toBe(true);
    for (const l of seen) expect(l).not.toContain('pw-sim-');
  });

  test('sensors: sdr list and sensor list run (the sim has no sensors)', async () => {
    const r = await runSensors([target('n01', 0)], { drivers });
    expect(r.results[0]!.status).toBe('ok');
    const full = await runSensors([target('n01', 0)], { drivers, full: true });
    expect(full.results[0]!.status).toBe('ok');
  });
});
