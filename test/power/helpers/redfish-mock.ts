// A small Redfish service for tests and the benchmark (Debian has no emulator): service root,
// Systems/1 with PowerState, Boot override PATCH, ComputerSystem.Reset, SessionService with
// X-Auth-Token, Basic auth, Chassis Thermal/Power, and injectable faults. HTTP, or HTTPS with a cert.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MockOptions {
  user?: string;
  password?: string;
  /** which auth the service accepts (default both) */
  auth?: 'session' | 'basic' | 'both';
  /** ResetType@Redfish.AllowableValues; null leaves the annotation out */
  resetTypes?: string[] | null;
  tls?: { cert: string; key: string };
  /** extra latency per request, ms [min, max] */
  latency?: [number, number];
  fault?: 'none' | '503' | 'hang' | 'malformed' | 'schema';
  serialConsole?: Record<string, unknown>;
  initialPower?: 'On' | 'Off';
}

export interface MockBmc {
  port: number;
  url: string;
  state: {
    power: 'On' | 'Off';
    boot: { BootSourceOverrideTarget: string; BootSourceOverrideEnabled: string };
    resets: string[];
    sessions: Set<string>;
    deleted: number;
    requests: string[];
  };
  opts: MockOptions;
  stop(): Promise<void>;
}

const SYS = '/redfish/v1/Systems/1';
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
const redfishError = (status: number, message: string) =>
  json({ error: { code: 'Base.1.8.GeneralError', message, '@Message.ExtendedInfo': [{ Message: message }] } }, status);

export function startMock(opts: MockOptions = {}): MockBmc {
  const user = opts.user ?? 'root',
    pass = opts.password ?? 'mock-secret';
  const auth = opts.auth ?? 'both';
  const state: MockBmc['state'] = {
    power: opts.initialPower ?? 'Off',
    boot: { BootSourceOverrideTarget: 'None', BootSourceOverrideEnabled: 'Disabled' },
    resets: [],
    sessions: new Set(),
    deleted: 0,
    requests: [],
  };
  let nextSession = 1;
  const resetTypes = opts.resetTypes === undefined ? ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'] : opts.resetTypes;

  function authorized(req: Request): boolean {
    const token = req.headers.get('x-auth-token');
    if (token && auth !== 'basic' && state.sessions.has(token)) return true;
    const basic = req.headers.get('authorization');
    if (basic && auth !== 'session') return basic === 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
    return false;
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname.replace(/\/$/, '');
    state.requests.push(`${req.method} ${path}`);
    if (opts.latency) await Bun.sleep(opts.latency[0] + Math.random() * (opts.latency[1] - opts.latency[0]));
    if (opts.fault === 'hang') await new Promise(() => {});
    if (opts.fault === '503') return redfishError(503, 'The service is temporarily unavailable');
    if (req.method === 'GET' && path === '/redfish/v1') {
      return json({
        '@odata.id': '/redfish/v1',
        Id: 'RootService',
        Name: 'Root Service',
        RedfishVersion: '1.11.0',
        UUID: '92384634-2938-2342-8820-489239905423',
        Systems: { '@odata.id': '/redfish/v1/Systems' },
        Chassis: { '@odata.id': '/redfish/v1/Chassis' },
        SessionService: { '@odata.id': '/redfish/v1/SessionService' },
        Links: { Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' } },
      });
    }
    if (path === '/redfish/v1/SessionService/Sessions' && req.method === 'POST') {
      if (auth === 'basic') return redfishError(405, 'sessions are not supported');
      let body: { UserName?: string; Password?: string } = {};
      try {
        body = (await req.json()) as typeof body;
      } catch {
        return redfishError(400, 'bad JSON');
      }
      if (body.UserName !== user || body.Password !== pass) return redfishError(401, 'Invalid username or password');
      const id = String(nextSession++),
        token = crypto.randomUUID();
      state.sessions.add(token);
      tokens.set(id, token);
      return json({ '@odata.id': `/redfish/v1/SessionService/Sessions/${id}`, Id: id, UserName: user }, 201, {
        'X-Auth-Token': token,
        Location: `/redfish/v1/SessionService/Sessions/${id}`,
      });
    }
    if (!authorized(req)) return redfishError(401, 'authentication required');
    const sm = /^\/redfish\/v1\/SessionService\/Sessions\/(\d+)$/.exec(path);
    if (sm && req.method === 'DELETE') {
      const token = tokens.get(sm[1]!);
      if (token) {
        state.sessions.delete(token);
        tokens.delete(sm[1]!);
        state.deleted++;
      }
      return new Response(null, { status: 204 });
    }
    if (req.method === 'GET' && path === '/redfish/v1/SessionService')
      return json({ Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' }, ServiceEnabled: true });
    if (req.method === 'GET' && path === '/redfish/v1/Systems') {
      if (opts.fault === 'malformed')
        return new Response('{"Members": [ {"@odata.id": "/redfish/v1/Sys', { headers: { 'Content-Type': 'application/json' } });
      return json({ '@odata.id': '/redfish/v1/Systems', Name: 'Systems', 'Members@odata.count': 1, Members: [{ '@odata.id': SYS }] });
    }
    if (path === SYS && req.method === 'GET') {
      if (opts.fault === 'schema') return json({ '@odata.id': SYS, Id: '1', Power: 'maybe' });
      const action: Record<string, unknown> = { target: `${SYS}/Actions/ComputerSystem.Reset` };
      if (resetTypes) action['ResetType@Redfish.AllowableValues'] = resetTypes;
      return json(
        {
          '@odata.id': SYS,
          '@odata.type': '#ComputerSystem.v1_13_0.ComputerSystem',
          Id: '1',
          Name: 'Mock System',
          PowerState: state.power,
          Boot: { ...state.boot, 'BootSourceOverrideTarget@Redfish.AllowableValues': ['None', 'Pxe', 'Hdd'] },
          Actions: { '#ComputerSystem.Reset': action },
          Links: { Chassis: [{ '@odata.id': '/redfish/v1/Chassis/1' }] },
          ...(opts.serialConsole ? { SerialConsole: opts.serialConsole } : {}),
        },
        200,
        { ETag: `"${state.resets.length}"` },
      );
    }
    if (path === SYS && req.method === 'PATCH') {
      const body = (await req.json()) as { Boot?: Partial<MockBmc['state']['boot']> };
      if (!body.Boot) return redfishError(400, 'only Boot can be changed');
      state.boot = { ...state.boot, ...body.Boot } as MockBmc['state']['boot'];
      return new Response(null, { status: 204 });
    }
    if (path === `${SYS}/Actions/ComputerSystem.Reset` && req.method === 'POST') {
      const { ResetType } = (await req.json()) as { ResetType?: string };
      if (!ResetType || (resetTypes && !resetTypes.includes(ResetType))) return redfishError(400, `ResetType ${ResetType} not supported`);
      state.resets.push(ResetType);
      if (ResetType === 'On') state.power = 'On';
      else if (ResetType === 'ForceOff' || ResetType === 'GracefulShutdown') state.power = 'Off';
      else if (ResetType === 'PowerCycle' || ResetType === 'ForceRestart') state.power = 'On';
      if (state.power === 'On' && state.boot.BootSourceOverrideEnabled === 'Once' && ResetType !== 'ForceOff')
        state.boot = { BootSourceOverrideTarget: 'None', BootSourceOverrideEnabled: 'Disabled' };
      return new Response(null, { status: 204 });
    }
    if (req.method === 'GET' && path === '/redfish/v1/Chassis')
      return json({ '@odata.id': path, Name: 'Chassis', 'Members@odata.count': 1, Members: [{ '@odata.id': '/redfish/v1/Chassis/1' }] });
    if (req.method === 'GET' && path === '/redfish/v1/Chassis/1')
      return json({ '@odata.id': path, Id: '1', Thermal: { '@odata.id': `${path}/Thermal` }, Power: { '@odata.id': `${path}/Power` } });
    if (req.method === 'GET' && path === '/redfish/v1/Chassis/1/Thermal') {
      return json({
        Temperatures: [{ MemberId: '0', Name: 'CPU1 Temp', ReadingCelsius: 41, Status: { Health: 'OK' } }],
        Fans: [{ MemberId: '0', Name: 'Fan1', Reading: 5400, ReadingUnits: 'RPM', Status: { Health: 'OK' } }],
      });
    }
    if (req.method === 'GET' && path === '/redfish/v1/Chassis/1/Power') {
      return json({
        PowerControl: [{ MemberId: '0', Name: 'System Power', PowerConsumedWatts: 180, Status: { Health: 'OK' } }],
        Voltages: [{ MemberId: '0', Name: '12V', ReadingVolts: 12.1, Status: { Health: 'OK' } }],
      });
    }
    return redfishError(404, `no resource ${path}`);
  }

  const tokens = new Map<string, string>();
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: handle, idleTimeout: 30, ...(opts.tls ? { tls: opts.tls } : {}) });
  const port = server.port!;
  return {
    port,
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    state,
    opts,
    async stop() {
      await server.stop(true);
    },
  };
}

/** A self-signed certificate for 127.0.0.1 made by openssl (the test's own CA). */
export function selfSignedCert(): { cert: string; key: string; certFile: string; cleanup: () => void } {
  if (!Bun.which('openssl')) throw new Error('openssl is missing: apt-get install -y openssl');
  const dir = mkdtempSync(join(tmpdir(), 'wpower-tls-'));
  const r = Bun.spawnSync([
    'openssl',
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return {
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    certFile: join(dir, 'cert.pem'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
