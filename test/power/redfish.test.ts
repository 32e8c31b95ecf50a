// Redfish driver against the mock service: sessions and Basic auth, power actions, PXE override,
// sensors, console, and the failures a real BMC produces (401, 503, hang, bad JSON, odd schema, TLS).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createRedfishDriver } from '../../src/power/redfish.ts';
import { defaultDrivers, describeRun, runPower, runSensors } from '../../src/power/run.ts';
import type { PowerTarget } from '../../src/power/driver.ts';
import { selfSignedCert, startMock, type MockBmc, type MockOptions } from './helpers/redfish-mock.ts';

const mocks: MockBmc[] = [];
const mock = (o: MockOptions = {}) => {
  const m = startMock(o);
  mocks.push(m);
  return m;
};
afterAll(async () => {
  for (const m of mocks) await m.stop();
});

const target = (node: string, m: MockBmc, ipmi: Record<string, unknown> = {}): PowerTarget => ({
  node,
  ipmi: {
    driver: 'redfish',
    ipaddr: '127.0.0.1',
    port: String(m.port),
    username: m.opts.user ?? 'root',
    password: m.opts.password ?? 'mock-secret',
    ...ipmi,
    tags: { scheme: m.url.startsWith('https') ? 'https' : 'http', ...((ipmi.tags as Record<string, string>) ?? {}) },
  },
});
const drivers = defaultDrivers();
const rf = createRedfishDriver({ pollMs: 20 });

describe('redfish: power through sessions and basic auth', () => {
  test('status, on, off, soft, reset, cycle; sessions are deleted afterwards', async () => {
    const m = mock();
    const t = target('r1', m);
    expect((await rf.power(t, 'status', {})).state).toBe('off');
    await rf.power(t, 'on', {});
    expect(m.state.power).toBe('On');
    expect((await rf.power(t, 'status', {})).state).toBe('on');
    await rf.power(t, 'soft', {});
    await rf.power(t, 'off', {});
    await rf.power(t, 'reset', {});
    await rf.power(t, 'cycle', {});
    expect(m.state.resets).toEqual(['On', 'GracefulShutdown', 'ForceOff', 'ForceRestart', 'PowerCycle']);
    expect(m.state.sessions.size).toBe(0);
    expect(m.state.deleted).toBe(7);
    expect(m.state.requests).toContain('POST /redfish/v1/SessionService/Sessions');
  });

  test('basic auth: no session requests at all', async () => {
    const m = mock({ auth: 'basic' });
    await rf.power(target('r2', m, { tags: { auth: 'basic' } }), 'on', {});
    expect(m.state.power).toBe('On');
    expect(m.state.requests.some((r) => r.includes('Sessions'))).toBe(false);
  });

  test('a BMC without a session service falls back to Basic', async () => {
    const m = mock({ auth: 'basic' });
    expect((await rf.power(target('r3', m), 'status', {})).state).toBe('off');
  });

  test('system chosen by the system tag', async () => {
    const m = mock();
    await rf.power(target('r4', m, { tags: { system: '1' } }), 'status', {});
    expect(m.state.requests).not.toContain('GET /redfish/v1/Systems');
    const bad = await runPower([target('r4', m, { tags: { system: 'nope' } })], 'status', { drivers });
    expect(bad.results[0]!.error).toContain('HTTP 404');
  });

  test('cycle without PowerCycle: ForceOff, wait for Off, then On', async () => {
    const m = mock({ resetTypes: ['On', 'ForceOff', 'GracefulShutdown'], initialPower: 'On' });
    const r = await rf.power(target('r5', m), 'cycle', {});
    expect(m.state.resets).toEqual(['ForceOff', 'On']);
    expect(r.detail).toContain('ForceOff, then On');
    const r2 = await rf.power(target('r5', m), 'reset', {}).catch((e: Error) => e);
    expect(String(r2)).toContain('does not allow ResetType ForceRestart');
  });

  test('--pxe: one-time boot override PATCH before the reset', async () => {
    const m = mock();
    await rf.power(target('r6', m), 'on', { pxe: true });
    const i = m.state.requests.indexOf('PATCH /redfish/v1/Systems/1');
    expect(i).toBeGreaterThan(0);
    expect(i).toBeLessThan(m.state.requests.indexOf('POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset'));
    const m2 = mock();
    await rf.power(target('r6b', m2), 'off', { pxe: false });
    await runPower([target('r6c', m2)], 'cycle', { drivers, pxe: true });
    expect(m2.state.requests).toContain('PATCH /redfish/v1/Systems/1');
  });

  test('sensors from Chassis Thermal and Power', async () => {
    const m = mock();
    const r = await runSensors([target('r7', m)], { drivers, full: true });
    const names = r.results[0]!.readings!.map((x) => `${x.name}=${x.value} ${x.unit}`);
    expect(names).toEqual(['CPU1 Temp=41 degrees C', 'Fan1=5400 RPM', 'System Power=180 Watts', '12V=12.1 Volts']);
  });

  test('console: a clear error when the BMC offers none; ssh when it does', async () => {
    const none = mock();
    expect(String(await rf.console(target('r8', none), {}).catch((e: Error) => e.message))).toContain('serial console not supported');
    const ssh = mock({ serialConsole: { SSH: { ServiceEnabled: true, Port: 2200 } } });
    expect((await rf.console(target('r8', ssh), {})).argv).toEqual(['ssh', '-p', '2200', 'root@127.0.0.1']);
  });
});

describe('redfish: failures are one line per node and the others continue', () => {
  test('401, 503, hang, malformed JSON, unexpected schema, refused', async () => {
    const good = mock();
    const targets = [
      target('ok', good),
      target('badpw', good, { password: 'not-the-one' }),
      target('busy', mock({ fault: '503' })),
      target('hang', mock({ fault: 'hang' })),
      target('junk', mock({ fault: 'malformed' })),
      target('odd', mock({ fault: 'schema' })),
      { node: 'closed', ipmi: { driver: 'redfish', ipaddr: '127.0.0.1', port: '1', tags: { scheme: 'http' } } },
      { node: 'nobmc', ipmi: { driver: 'redfish' } },
      { node: 'typo', ipmi: { driver: 'redfsh', ipaddr: '127.0.0.1' } },
    ];
    const seen: string[] = [];
    const t0 = performance.now();
    const { results, summary } = await runPower(targets, 'status', { drivers, timeoutMs: 1500, onResult: (r) => seen.push(r.node) });
    expect(performance.now() - t0).toBeLessThan(5000);
    const by = Object.fromEntries(results.map((r) => [r.node, r]));
    expect(by.ok!.state).toBe('off');
    expect(by.badpw!.kind).toBe('auth');
    expect(by.badpw!.error).toContain('HTTP 401');
    expect(by.busy!.error).toContain('HTTP 503');
    expect(by.busy!.error).toContain('temporarily unavailable');
    expect(by.hang!.kind).toBe('timeout');
    expect(by.hang!.error).toContain('timed out after 1.5 s');
    expect(by.junk!.error).toContain('invalid JSON in reply to GET /redfish/v1/Systems');
    expect(by.odd!.error).toContain('PowerState is undefined');
    expect(by.closed!.kind).toBe('unreachable');
    expect(by.nobmc!.status).toBe('skipped');
    expect(by.typo!.error).toContain('unknown ipmi driver "redfsh"');
    expect(summary).toMatchObject({ total: 9, ok: 1, failed: 7, skipped: 1 });
    expect(seen.at(-1)).toBe('hang'); // streamed: the slow one lands last
    for (const r of results) expect(JSON.stringify(r)).not.toContain('mock-secret');
  });
});

describe('redfish over HTTPS', () => {
  let cert: ReturnType<typeof selfSignedCert>;
  let m: MockBmc;
  beforeAll(() => {
    cert = selfSignedCert();
    m = mock({ tls: { cert: cert.cert, key: cert.key } });
  });
  afterAll(() => cert.cleanup());

  test('verification on by default: a self-signed certificate is a clear error', async () => {
    const { results } = await runPower([target('tls', m)], 'status', { drivers });
    expect(results[0]!.status).toBe('failed');
    expect(results[0]!.error).toMatch(/TLS certificate of https:\/\/127\.0\.0\.1:\d+ not trusted/);
    expect(results[0]!.error).toContain('insecure');
  });
  test('insecure "true" skips verification', async () => {
    const { results } = await runPower([target('tls', m, { insecure: 'true' })], 'on', { drivers });
    expect(results[0]!.status).toBe('ok');
    expect(m.state.power).toBe('On');
  });
  test('https to a BMC port that speaks plain HTTP: a handshake error, not a certificate one', async () => {
    const plain = mock();
    for (const insecure of ['true', 'false']) {
      const { results } = await runPower([target('plain', plain, { insecure, tags: { scheme: 'https' } })], 'status', { drivers });
      expect(results[0]!.status).toBe('failed');
      expect(results[0]!.error).toMatch(/TLS handshake with https:\/\/127\.0\.0\.1:\d+ failed .*does the BMC speak HTTPS on this port\?/);
    }
  });
  test('verification against a given CA file works', async () => {
    const { results } = await runPower([target('tls', m, { tags: { ca: cert.certFile } })], 'status', { drivers });
    expect(results[0]).toMatchObject({ status: 'ok', state: 'on' });
  });
});

test('--show plan masks the password and sends nothing', () => {
  const m = mock();
  const plans = describeRun([target('s1', m), target('s2', m, { tags: { auth: 'basic', system: '1' } })], 'cycle', { drivers, pxe: true });
  const text = JSON.stringify(plans);
  expect(text).not.toContain('mock-secret');
  expect(plans[0]!.lines[0]).toContain('"Password":"****"');
  expect(plans[1]!.lines.join('\n')).toContain('Authorization: Basic ****');
  expect(plans[1]!.lines.join('\n')).toContain('PATCH');
  expect(m.state.requests).toEqual([]);
});

describe('the mock speaks Redfish as a real client expects (DMTF redfishtool)', () => {
  const tool = async (m: MockBmc, ...a: string[]) => {
    if (!Bun.which('redfishtool')) throw new Error('redfishtool is missing: apt-get install -y redfishtool');
    const p = Bun.spawn(['redfishtool', '-r', `127.0.0.1:${m.port}`, '-S', 'Never', '-u', 'root', '-p', 'mock-secret', ...a], {
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { out, err, code };
  };
  test('Systems get, reset, boot override, Chassis Thermal; then our driver reads the same state', async () => {
    const m = mock();
    const sys = await tool(m, '-A', 'Session', 'Systems', 'get');
    expect(sys.code).toBe(0);
    expect(JSON.parse(sys.out).PowerState).toBe('Off');
    expect((await tool(m, '-A', 'Basic', 'Systems', 'reset', 'On')).code).toBe(0);
    expect((await tool(m, '-A', 'Session', 'Systems', 'setBootOverride', 'Once', 'Pxe')).code).toBe(0);
    const th = await tool(m, 'Chassis', 'Thermal');
    expect(th.code).toBe(0);
    expect(JSON.parse(th.out).Temperatures[0].ReadingCelsius).toBe(41);
    expect(m.state.boot).toEqual({ BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' });
    expect((await rf.power(target('rt', m), 'status', {})).state).toBe('on');
    expect(m.state.sessions.size).toBe(0);
  }, 20_000);
});
