// `wulf serve` (the compiled binary) on loopback with unprivileged ports: every provisioning
// route, its refusals, status with timeline and SSE, persistence, reload, discovery, one instance.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { modes, requireCompiled, runWulf, spawnWulf, tempRoot, tinyRootfs } from '../helpers/cli.ts';

const bin = modes[0]!;
const t = tempRoot('wulf-serve-');
const w = (...a: string[]) => runWulf(bin, t.dir, a);
const port = 20000 + Math.floor(Math.random() * 20000);
const ports = [
  '--address',
  '127.0.0.1',
  '--http-port',
  String(port),
  '--dhcp-port',
  String(port + 1),
  '--tftp-port',
  String(port + 2),
  '--dhcp-relay-port',
  String(port + 3),
];
const base = `http://127.0.0.1:${port}`;
const MAC = '52:54:00:aa:00:01';
const enc = encodeURIComponent(MAC);
let serve: ReturnType<typeof spawnWulf> | undefined;
let log = '';

async function startServe() {
  serve = spawnWulf(bin, t.dir, ['serve', ...ports]);
  serve.stderr!.on('data', (d) => {
    log += String(d);
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/status`)).ok) return;
    } catch {
      /* starting */
    }
    await Bun.sleep(100);
  }
  throw new Error(`serve did not start: ${log}`);
}
async function stopServe() {
  if (!serve) return;
  const p = serve;
  serve = undefined;
  const done = new Promise((r) => p.on('exit', r));
  p.kill('SIGTERM');
  await done;
}

beforeAll(async () => {
  requireCompiled();
  const fs = tinyRootfs(t.dir, 'not really a kernel, but a file to serve\n'.repeat(1000));
  expect(w('init', '--address', '127.0.0.1/8', '--interface', 'lo').code).toBe(0);
  expect(w('image', 'import', fs, 'tiny').code).toBe(0);
  expect(w('image', 'build', 'tiny').code).toBe(0);
  expect(w('node', 'add', 'n1', '--image', 'tiny', '--hwaddr', MAC, '--ipaddr', '127.0.20.1', '--netdev', 'eth0').code).toBe(0);
  expect(
    w('node', 'add', 'n2', '--image', 'tiny', '--hwaddr', '52:54:00:aa:00:02', '--ipaddr', '127.0.20.2', '--asset', 'TAG-2').code,
  ).toBe(0);
  await startServe();
}, 60_000);
afterAll(async () => {
  await stopServe();
  t.cleanup();
});

test('iPXE script for a known MAC (colons URL-encoded as iPXE sends them) and for an unknown one', async () => {
  const r = await fetch(`${base}/ipxe/${enc}?assetkey=&uuid=x`);
  expect(r.status).toBe(200);
  const s = await r.text();
  expect(s).toContain('#!ipxe');
  expect(s).toContain(`kernel --name kernel \${base}/kernel/${MAC}`);
  expect(s).toContain(`wwid=${MAC}`);
  expect(s).toContain('initrd=image initrd=system');
  const u = await (await fetch(`${base}/ipxe/52-54-00-ff-ff-ff`)).text();
  expect(u).toContain('not a known node');
  expect((await fetch(`${base}/kernel/52:54:00:ff:ff:ff`)).status).toBe(404);
});

test('kernel, image, system and runtime with Content-Length, HEAD, Range and ETag', async () => {
  for (const stage of ['kernel', 'image', 'system', 'runtime', 'container', 'overlay-system']) {
    const r = await fetch(`${base}/${stage}/${enc}`);
    expect(r.status).toBe(200);
    const body = new Uint8Array(await r.arrayBuffer());
    expect(Number(r.headers.get('content-length'))).toBe(body.length);
    expect(body.length).toBeGreaterThan(0);
    const h = await fetch(`${base}/${stage}/${enc}`, { method: 'HEAD' });
    expect(h.headers.get('content-length')).toBe(String(body.length));
    const etag = r.headers.get('etag')!;
    expect((await fetch(`${base}/${stage}/${enc}`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
  }
  const rr = await fetch(`${base}/image/${enc}`, { headers: { Range: 'bytes=0-99' } });
  expect(rr.status).toBe(206);
  expect((await rr.arrayBuffer()).byteLength).toBe(100);
  const legacy = await fetch(`${base}/provision/${enc}?stage=kernel`);
  expect(legacy.status).toBe(200);
});

test('the system overlay is a gzip cpio holding the node hostname', async () => {
  const r = await fetch(`${base}/system/${enc}`);
  const p = Bun.spawnSync(['sh', '-c', 'gzip -dc | cpio -i --to-stdout etc/hostname 2>/dev/null'], {
    stdin: new Uint8Array(await r.arrayBuffer()),
  });
  expect(p.stdout.toString().trim()).toBe('n1');
});

test('an edit is answered at once: the very next fetch after `node set` or a passwd change has it', async () => {
  const text = async (stage: string) =>
    new TextDecoder('latin1').decode(gunzipSync(new Uint8Array(await (await fetch(`${base}/${stage}/${enc}`)).arrayBuffer())));
  expect(await text('system')).toContain('IPADDR=127.0.20.1\n');
  for (const ip of ['127.0.20.41', '127.0.20.1']) {
    expect(w('node', 'set', 'n1', '--ipaddr', ip, '-y').code).toBe(0);
    expect(await text('system')).toContain(`IPADDR=${ip}\n`); // no wait for the watcher
  }
  const passwd = join(t.dir, 'etc/passwd');
  const before = existsSync(passwd) ? readFileSync(passwd, 'utf8') : undefined;
  try {
    await text('runtime');
    appendFileSync(passwd, 'freshuser:x:4242:4242::/home/freshuser:/bin/sh\n');
    expect(await text('runtime')).toContain('freshuser:x:4242');
  } finally {
    if (before === undefined) rmSync(passwd, { force: true });
    else writeFileSync(passwd, before);
  }
});

test('refusals: asset key 401, .. and encoded slashes 400, unknown routes 404', async () => {
  expect((await fetch(`${base}/kernel/52:54:00:aa:00:02`)).status).toBe(401);
  expect((await fetch(`${base}/kernel/52:54:00:aa:00:02?assetkey=TAG-2`)).status).toBe(200);
  expect((await fetch(`${base}/ipxe/..%2f..%2fetc%2fpasswd`)).status).toBe(400);
  const dd = Bun.spawnSync(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--path-as-is', `${base}/image/../../etc/passwd`]);
  expect(dd.stdout.toString()).toBe('400');
  expect((await fetch(`${base}/nosuch/${enc}`)).status).toBe(400);
  const st = (await (await fetch(`${base}/status`)).json()) as { nodes: Record<string, { sent: string }> };
  expect(st.nodes.n2!.sent).not.toBe('');
});

test('TFTP serves the embedded iPXE binaries', () => {
  const out = join(t.dir, 'undionly.kpxe');
  const r = Bun.spawnSync(['curl', '-sS', `tftp://127.0.0.1:${port + 2}/undionly.kpxe`, '-o', out]);
  expect(r.exitCode).toBe(0);
  expect(readFileSync(out).length).toBeGreaterThan(10_000);
});

test('status: Warewulf fields plus a timeline, an SSE event, and `wulf node status`', async () => {
  const ctl = new AbortController();
  const sse = await fetch(`${base}/status/events`, { signal: ctl.signal });
  const reader = sse.body!.getReader();
  await reader.read(); // the snapshot
  await fetch(`${base}/runtime/${enc}`);
  const ev = new TextDecoder().decode((await reader.read()).value);
  expect(ev).toContain('"node name":"n1"');
  expect(ev).toContain('"stage":"runtime"');
  ctl.abort();
  const st = (await (await fetch(`${base}/status`)).json()) as { nodes: Record<string, Record<string, unknown>> };
  const n1 = st.nodes.n1!;
  expect(n1['node name']).toBe('n1');
  expect(n1['last seen']).toBeGreaterThan(0);
  expect((n1.timeline as { stage: string }[]).map((s) => s.stage)).toEqual(
    expect.arrayContaining(['ipxe', 'kernel', 'image', 'system', 'runtime']),
  );
  const cli = w('node', 'status', '--server', base, '--timeline');
  expect(cli.out).toMatch(/n1\s+RUNTIME/);
  expect(cli.out).toMatch(/kernel\s+\+/);
});

test('wulf sim boots simulated nodes through DHCP (relay), TFTP and HTTP; status shows the dhcp stage', () => {
  const r = w(
    'sim',
    '--server',
    '127.0.0.1',
    '--http-port',
    String(port),
    '--dhcp-port',
    String(port + 1),
    '--tftp-port',
    String(port + 2),
    '--relay-port',
    String(port + 3),
    '--nodes',
    'n1',
  );
  expect(r.err).toBe('');
  expect(r.out).toContain('1 nodes: 1 booted, 0 errors');
  expect(r.out).toMatch(/dhcp \d+, tftp \d+, ipxe \d+, kernel \d+, image \d+, system \d+, runtime \d+/);
  const st = w('node', 'status', '--server', base, '--timeline', 'n1');
  expect(st.out).toMatch(/dhcp\s+\+/);
});

test('one instance only, and a taken port is a clear error', () => {
  const second = w('serve', ...ports);
  expect(second.code).not.toBe(0);
  expect(second.err).toContain(`another wulf serve (pid ${serve!.pid}) is already running`);
  const other = tempRoot('wulf-serve2-');
  try {
    const r = runWulf(bin, other.dir, ['serve', '--address', '127.0.0.1', '--http-port', String(port), '--no-dhcp', '--no-tftp']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(`HTTP port ${port}`);
    expect(r.err.split('\n').filter(Boolean).length).toBeLessThanOrEqual(2);
  } finally {
    other.cleanup();
  }
});

test('config changes apply without a restart; a broken file keeps the last good one serving', async () => {
  expect(w('node', 'add', 'n3', '--image', 'tiny', '--hwaddr', '52:54:00:aa:00:03', '--ipaddr', '127.0.20.3').code).toBe(0);
  let ok = false;
  for (let i = 0; i < 50 && !ok; i++) {
    ok = (await fetch(`${base}/kernel/52:54:00:aa:00:03`)).status === 200;
    if (!ok) await Bun.sleep(100);
  }
  expect(ok).toBe(true);
  appendFileSync(join(t.dir, 'etc/wulf/nodes.conf'), '\n  broken: [\n');
  await Bun.sleep(600);
  expect((await fetch(`${base}/kernel/${enc}`)).status).toBe(200);
  expect(log).toContain('still serving the last good one');
});

test('discovery binds an unknown MAC to the first discoverable node', async () => {
  const conf = join(t.dir, 'etc/wulf/nodes.conf');
  writeFileSync(conf, readFileSync(conf, 'utf8').replace('\n  broken: [\n', ''));
  expect(w('node', 'add', 'n9', '--image', 'tiny', '--discoverable', '--netname', 'default', '--ipaddr', '127.0.20.9').code).toBe(0);
  await Bun.sleep(400);
  const r = await fetch(`${base}/ipxe/52:54:00:aa:00:99`);
  expect(await r.text()).toContain('booting n9');
  const j = JSON.parse(w('node', 'list', '-j', 'n9').out);
  expect(j.n9['network devices'].default.hwaddr).toBe('52:54:00:aa:00:99');
  expect(j.n9.discoverable).toBeUndefined();
});

test('SIGHUP re-reads the configuration and keeps serving', async () => {
  serve!.kill('SIGHUP');
  for (let i = 0; i < 30 && !log.includes('SIGHUP: re-reading'); i++) await Bun.sleep(100);
  expect(log).toContain('SIGHUP: re-reading the configuration');
  expect(serve!.exitCode).toBeNull();
  expect((await fetch(`${base}/kernel/${enc}`)).status).toBe(200);
});

test('unknown MACs are listed by `wulf node status` and kept in the state file', async () => {
  await fetch(`${base}/ipxe/52:54:00:ee:00:01`);
  await fetch(`${base}/kernel/52:54:00:ee:00:01`);
  const st = (await (await fetch(`${base}/status`)).json()) as { unknown: Record<string, { count: number; via: string }> };
  expect(st.unknown['52:54:00:ee:00:01']).toMatchObject({ count: 2, via: 'http kernel' });
  const out = w('node', 'status', '--server', base).out;
  expect(out).toContain('unknown MACs');
  expect(out).toMatch(/52:54:00:ee:00:01\s+\S+\s+http kernel\s+2/);
});

test('status survives a restart (CBOR state file)', async () => {
  await stopServe();
  const offline = w('node', 'status', '--server', `http://127.0.0.1:${port + 4}`, 'n1');
  expect(offline.out).toMatch(/n1\s+KERNEL\s+vmlinuz/); // read from the state file: the last thing n1 fetched
  await startServe();
  const st = (await (await fetch(`${base}/status`)).json()) as {
    nodes: Record<string, { stage: string; 'last seen': number }>;
    unknown: Record<string, unknown>;
  };
  expect(st.nodes.n1!['last seen']).toBeGreaterThan(0);
  expect(st.unknown['52:54:00:ee:00:01']).toBeDefined();
}, 30_000);

test('--log-format json: one JSON line per boot event with node, stage and bytes', async () => {
  const other = tempRoot('wulf-serve-json-');
  const jport = port + 5;
  const p = spawnWulf(bin, other.dir, [
    '--log-format',
    'json',
    'serve',
    '--address',
    '127.0.0.1',
    '--http-port',
    String(jport),
    '--no-dhcp',
    '--no-tftp',
  ]);
  let err = '';
  p.stderr!.on('data', (d) => {
    err += String(d);
  });
  try {
    expect(runWulf(bin, other.dir, ['init', '--address', '127.0.0.1/8', '--interface', 'lo']).code).toBe(0);
    expect(runWulf(bin, other.dir, ['node', 'add', 'j1', '--hwaddr', '52:54:00:aa:77:01', '--ipaddr', '127.0.21.1']).code).toBe(0);
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      try {
        up = (await fetch(`http://127.0.0.1:${jport}/status`)).ok;
      } catch {
        await Bun.sleep(100);
      }
    }
    expect(up).toBe(true);
    for (let i = 0; i < 30; i++) {
      if ((await (await fetch(`http://127.0.0.1:${jport}/ipxe/52:54:00:aa:77:01`)).text()).includes('booting j1')) break;
      await Bun.sleep(200);
    }
    for (let i = 0; i < 20 && !err.includes('"tag":"boot"'); i++) await Bun.sleep(50);
    const lines = err
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const boot = lines.filter((l) => l.tag === 'boot');
    expect(boot.length).toBeGreaterThanOrEqual(1);
    expect(boot[0]).toMatchObject({ level: 'info', msg: 'j1', stage: 'ipxe', sent: 'default.ipxe', ip: '127.0.0.1' });
  } finally {
    const done = new Promise((r) => p.on('exit', r));
    p.kill('SIGTERM');
    await done;
    other.cleanup();
  }
}, 30_000);
