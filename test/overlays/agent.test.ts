// The node agent for real: busybox sh running overlays/wulf-agent/.../wulf-agent (with only busybox
// applets plus curl on PATH) against a Bun.serve server on 127.0.0.1 serving a runtime archive built
// by the overlay service; files land under a temp root (WULF_AGENT_ROOT).
import { test, expect, afterAll } from 'bun:test';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathsFor } from '../../src/config/paths.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { createOverlayService } from '../../src/overlays/service.ts';
import { wulfConf } from './fixtures.ts';
import type { NodesConf } from '../../src/config/cascade.ts';
import { ensureTls, serverTls, tlsFiles } from '../../src/serve/tls.ts';

const AGENT = join(import.meta.dir, '../../overlays/wulf-agent/rootfs/warewulf/wulf-agent');
const tmp = mkdtempSync('/tmp/woverlay-agent-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function binDir(withCurl: boolean): string {
  if (!existsSync('/bin/busybox')) throw new Error('busybox is required (apt-get install busybox)');
  const d = join(tmp, withCurl ? 'bin-curl' : 'bin-bb');
  mkdirSync(d, { recursive: true });
  for (const a of [
    'sh',
    'cat',
    'cp',
    'mv',
    'ln',
    'rm',
    'mkdir',
    'mktemp',
    'cpio',
    'gzip',
    'find',
    'sort',
    'stat',
    'cmp',
    'readlink',
    'dirname',
    'chmod',
    'chown',
    'sleep',
    'kill',
    'wget',
    'echo',
    'test',
    '[',
  ]) {
    if (!existsSync(join(d, a))) symlinkSync('/bin/busybox', join(d, a));
  }
  if (withCurl) {
    if (!existsSync('/usr/bin/curl')) throw new Error('curl is required (apt-get install curl)');
    if (!existsSync(join(d, 'curl'))) symlinkSync('/usr/bin/curl', join(d, 'curl'));
  }
  return d;
}

async function setup(name: string, opts: { tls?: boolean } = {}) {
  const root = join(tmp, name);
  const paths = pathsFor(root);
  const ov = join(paths.siteOverlaysDir, 'rt', 'rootfs');
  mkdirSync(join(ov, 'etc/app'), { recursive: true });
  writeFileSync(join(ov, 'etc/motd'), 'hello v1\n');
  writeFileSync(join(ov, 'etc/app/secret.conf'), 'token=1\n');
  chmodSync(join(ov, 'etc/app/secret.conf'), 0o600);
  writeFileSync(join(ov, 'etc/node.ww'), 'node={{ id }}\n');
  symlinkSync('/etc/motd', join(ov, 'etc/motd.link'));
  let rev = 1;
  const conf = (): NodesConf => ({
    profiles: {},
    nodes: {
      n1: {
        runtimeOverlay: ['rt'],
        assetKey: 'k y&z',
        networkDevices: { default: { hwaddr: '02:00:00:00:00:01', ipaddr: '127.0.0.1', netmask: '255.0.0.0' } },
      },
    },
    revision: `r${rev}`,
  });
  const svc = createOverlayService({ paths, getConf: conf, getWulfConf: () => wulfConf, log: silentLogger, recheckMs: 0 });
  const hits: { port: number; assetkey: string | null; agent: string | null; tls: boolean }[] = [];
  const handler = (tls: boolean) => async (req: Request, srv: { requestIP(r: Request): { port: number } | null }) => {
    const u = new URL(req.url);
    const m = /^\/runtime\/([0-9a-f:]+)$/.exec(u.pathname);
    if (!m || m[1] !== '02:00:00:00:00:01') return new Response('no', { status: 404 });
    hits.push({ port: srv.requestIP(req)!.port, assetkey: u.searchParams.get('assetkey'), agent: u.searchParams.get('agent'), tls });
    if (u.searchParams.get('assetkey') !== 'k y&z') return new Response('bad asset', { status: 401 });
    const a = await svc.archive('n1', 'runtime');
    return new Response(Bun.file(a.path));
  };
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: handler(false) });
  // TLS: the cluster CA and a server certificate for 127.0.0.1 under the controller's config dir
  if (opts.tls) await ensureTls(paths.confDir, { ips: ['127.0.0.1'], dns: ['localhost'] });
  const https = opts.tls ? Bun.serve({ hostname: '127.0.0.1', port: 0, tls: serverTls(paths.confDir), fetch: handler(true) }) : undefined;
  const target = join(root, 'node');
  mkdirSync(join(target, 'warewulf'), { recursive: true });
  const config = join(target, 'warewulf/config');
  writeFileSync(
    config,
    [
      `WWIPADDR=127.0.0.1`,
      `WWPORT=${server.port}`,
      `WWHWADDR=02:00:00:00:00:01`,
      `WWASSETKEY='k y&z'`,
      `WWSECURE=true`,
      `WWUPDATE=3600`,
      ...(https ? ['WWTLS=true', `WWTLSPORT=${https.port}`] : []),
      '',
    ].join('\n'),
  );
  if (https) {
    mkdirSync(join(target, 'etc/wulf'), { recursive: true });
    writeFileSync(join(target, 'etc/wulf/ca.crt'), readFileSync(tlsFiles(paths.confDir).caCert));
  }
  const stop = () => {
    server.stop(true);
    https?.stop(true);
  };
  return {
    ov,
    target,
    config,
    server,
    https,
    hits,
    svc,
    stop,
    bump: () => {
      rev++;
    },
  };
}

async function once(s: Awaited<ReturnType<typeof setup>>, withCurl: boolean): Promise<{ code: number; err: string }> {
  const proc = Bun.spawn(['/bin/busybox', 'sh', AGENT, '--once'], {
    env: { PATH: binDir(withCurl), WULF_AGENT_ROOT: s.target, TMPDIR: tmp },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  return { code, err };
}

async function until(cond: () => boolean, ms = 20000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await Bun.sleep(50);
  }
}

test('agent (busybox sh + curl): applies files, keeps modes and symlinks, SIGHUP fetches at once', async () => {
  const s = await setup('curl');
  const proc = Bun.spawn(['/bin/busybox', 'sh', AGENT], {
    env: { PATH: binDir(true), WULF_AGENT_ROOT: s.target, TMPDIR: tmp },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  try {
    await until(() => existsSync(join(s.target, 'etc/node')));
    expect(readFileSync(join(s.target, 'etc/motd'), 'utf8')).toBe('hello v1\n');
    expect(readFileSync(join(s.target, 'etc/node'), 'utf8')).toBe('node=n1\n');
    expect(statSync(join(s.target, 'etc/app/secret.conf')).mode & 0o777).toBe(0o600);
    expect(readlinkSync(join(s.target, 'etc/motd.link'))).toBe('/etc/motd');
    expect(s.hits.length).toBe(1);
    expect(s.hits[0]!.assetkey).toBe('k y&z');
    expect(s.hits[0]!.agent).toBe('wulf-agent'); // the server tells it from iPXE's fetch
    expect(s.hits[0]!.port).toBeLessThan(1024); // privileged source port via curl --local-port
    // change the overlay; the interval is an hour, so only SIGHUP can bring the update
    writeFileSync(join(s.ov, 'etc/motd'), 'hello v2\n');
    s.svc.invalidate();
    proc.kill('SIGHUP');
    await until(() => readFileSync(join(s.target, 'etc/motd'), 'utf8') === 'hello v2\n');
    expect(s.hits.length).toBe(2);
    // no temp files left beside the targets
    expect(readFileSync(join(s.target, 'etc/node'), 'utf8')).toBe('node=n1\n');
    const left = [...new Bun.Glob('**/.wulf-agent.*').scanSync({ cwd: s.target, dot: true })];
    expect(left).toEqual([]);
  } finally {
    proc.kill('SIGTERM');
    await proc.exited;
    s.stop();
  }
}, 30_000);

test('agent (busybox wget, no curl) --once: one update without a privileged port', async () => {
  const s = await setup('wget');
  writeFileSync(
    s.config,
    readFileSync(s.config, 'utf8').replace("WWASSETKEY='k y&z'", "WWASSETKEY='k%20y%26z'").replace('WWSECURE=true', 'WWSECURE=false'),
  );
  const proc = Bun.spawn(['/bin/busybox', 'sh', AGENT, '--once'], {
    env: { PATH: binDir(false), WULF_AGENT_ROOT: s.target, TMPDIR: tmp },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const code = await proc.exited;
  const err = await new Response(proc.stderr).text();
  s.stop();
  expect(`${code} ${err}`).toStartWith('0 ');
  expect(readFileSync(join(s.target, 'etc/motd'), 'utf8')).toBe('hello v1\n');
  expect(s.hits.length).toBe(1);
  expect(s.hits[0]!.agent).toBe('wulf-agent');
}, 30_000);

test('agent (curl) with TLS: HTTPS to the TLS port with the cluster CA pinned, privileged port; another CA fails, no HTTP fallback', async () => {
  const s = await setup('tls', { tls: true });
  try {
    const ok = await once(s, true);
    expect(`${ok.code} ${ok.err}`).toStartWith('0 ');
    expect(readFileSync(join(s.target, 'etc/node'), 'utf8')).toBe('node=n1\n');
    expect(s.hits.map((h) => [h.tls, h.agent, h.assetkey, h.port < 1024])).toEqual([[true, 'wulf-agent', 'k y&z', true]]);
    // a node whose pinned CA is not the one that signed the server's certificate (an impostor server) fetches nothing
    const other = join(tmp, 'other-ca');
    await ensureTls(other, { ips: ['127.0.0.1'], dns: [] });
    writeFileSync(join(s.target, 'etc/wulf/ca.crt'), readFileSync(tlsFiles(other).caCert));
    writeFileSync(join(s.ov, 'etc/motd'), 'from an impostor\n');
    s.svc.invalidate();
    const bad = await once(s, true);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain(`fetch of https://127.0.0.1:${s.https!.port}/runtime/02:00:00:00:00:01 failed`);
    expect(bad.err).toMatch(/SSL certificate|certificate/i);
    expect(readFileSync(join(s.target, 'etc/motd'), 'utf8')).toBe('hello v1\n');
    expect(s.hits.length).toBe(1); // the handshake failed: no request reached either listener
  } finally {
    s.stop();
  }
}, 30_000);

test('agent without curl, TLS on: refuses in secure mode (exit 3, nothing fetched); warns and uses plain HTTP otherwise', async () => {
  const s = await setup('tls-wget', { tls: true });
  try {
    writeFileSync(s.config, readFileSync(s.config, 'utf8').replace("WWASSETKEY='k y&z'", "WWASSETKEY='k%20y%26z'"));
    const refused = await once(s, false);
    expect(refused.code).toBe(3);
    expect(refused.err).toContain('no curl');
    expect(refused.err).toContain('no plain HTTP fallback');
    expect(s.hits).toEqual([]);
    rmSync(join(s.target, 'etc/wulf/ca.crt')); // and with curl but no CA, the same refusal
    const noCa = await once(s, true);
    expect([noCa.code, noCa.err.includes('cluster CA')]).toEqual([3, true]);
    writeFileSync(s.config, readFileSync(s.config, 'utf8').replace('WWSECURE=true', 'WWSECURE=false'));
    const plain = await once(s, false);
    expect(`${plain.code} ${plain.err}`).toStartWith('0 ');
    expect(plain.err).toContain('warning: fetching the runtime overlay over plain HTTP');
    expect(s.hits.map((h) => h.tls)).toEqual([false]);
    expect(readFileSync(join(s.target, 'etc/motd'), 'utf8')).toBe('hello v1\n');
  } finally {
    s.stop();
  }
}, 30_000);

test('agent fails over: WWIPADDR refuses connections, the next of WWSERVERS that answers is used (one line per switch)', async () => {
  const s = await setup('failover');
  // 127.0.0.2 and 127.0.0.3: loopback addresses nothing listens on (connection refused); 127.0.0.1 is the server
  writeFileSync(
    s.config,
    readFileSync(s.config, 'utf8').replace('WWIPADDR=127.0.0.1', "WWIPADDR=127.0.0.2\nWWSERVERS='127.0.0.2 127.0.0.3 127.0.0.1'"),
  );
  const t0 = Date.now();
  const r = await once(s, true);
  s.stop();
  expect(`${r.code} ${r.err}`).toStartWith('0 ');
  expect(r.err).toContain('127.0.0.2 did not answer; trying 127.0.0.3');
  expect(r.err).toContain('127.0.0.3 did not answer; trying 127.0.0.1');
  expect(r.err.match(/did not answer/g)?.length).toBe(2);
  expect(readFileSync(join(s.target, 'etc/motd'), 'utf8')).toBe('hello v1\n');
  expect(s.hits.length).toBe(1);
  expect(Date.now() - t0).toBeLessThan(10_000); // a refused connection costs no timeout
  // no server answers: each is tried once, exit 1
  const r2 = await once(s, true);
  expect(r2.code).toBe(1);
  expect(r2.err).toContain('fetch of http://127.0.0.1:');
}, 30_000);
