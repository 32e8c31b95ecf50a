// Secure mode of `wulf serve` (the compiled binary) on loopback: a node's overlays only to the
// address it holds (n1 = 127.0.0.1, n2 = 127.0.0.2; curl binds its socket to one or the other), the
// refusal in `wulf node status`; the CA and server certificate `wulf init` makes (and `serve` makes
// for an install without them), HTTPS with that CA pinned, and the agent from n1's own system
// overlay fetching its runtime overlay over HTTPS from the real server. Needs root (privileged ports).
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modes, requireCompiled, runWulf, spawnWulf, tempRoot } from '../helpers/cli.ts';
import { ensureTls, tlsFiles } from '../../src/serve/tls.ts';

const bin = modes[0]!;
const t = tempRoot('wulf-secure-');
const w = (...a: string[]) => runWulf(bin, t.dir, a);
const port = 20000 + Math.floor(Math.random() * 20000),
  tlsPort = port + 1;
const base = `http://127.0.0.1:${port}`,
  sbase = `https://127.0.0.1:${tlsPort}`;
const MAC1 = '52:54:00:bb:00:01',
  MAC2 = '52:54:00:bb:00:02';
const tls = tlsFiles(join(t.dir, 'etc/wulf'));
let serve: ReturnType<typeof spawnWulf> | undefined;
let log = '',
  initOut = '';

/** curl: [HTTP status or 000, exit code, body file] */
function curl(url: string, ...args: string[]): { code: string; exit: number; out: string } {
  const out = join(t.dir, `curl-${Math.random().toString(36).slice(2)}`);
  const r = Bun.spawnSync(['curl', '-sS', '-o', out, '-w', '%{http_code}', ...args, url]);
  return { code: r.stdout.toString(), exit: r.exitCode, out };
}

beforeAll(async () => {
  requireCompiled();
  const i = w('init', '--address', '127.0.0.1/8', '--interface', 'lo');
  expect(i.code).toBe(0);
  initOut = i.out;
  const wc = join(t.dir, 'etc/wulf/wulf.conf');
  writeFileSync(wc, readFileSync(wc, 'utf8').replace('secure: false', 'secure: true'));
  expect(w('node', 'add', 'n1', '--hwaddr', MAC1, '--ipaddr', '127.0.0.1', '--netdev', 'eth0').code).toBe(0);
  expect(w('node', 'add', 'n2', '--hwaddr', MAC2, '--ipaddr', '127.0.0.2', '--netdev', 'eth0').code).toBe(0);
}, 60_000);
afterAll(async () => {
  if (serve) {
    const p = serve;
    const done = new Promise((r) => p.on('exit', r));
    p.kill('SIGTERM');
    await done;
  }
  t.cleanup();
});

test('wulf init makes the cluster CA and a server certificate naming the server address; keys 0600', () => {
  expect(initOut).toContain(`created the cluster CA ${tls.caCert}`);
  expect(initOut).toContain('for 127.0.0.1, ::1');
  for (const k of [tls.caKey, tls.key]) expect(statSync(k).mode & 0o777).toBe(0o600);
  const cert = new X509Certificate(readFileSync(tls.cert));
  expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
  expect(cert.verify(new X509Certificate(readFileSync(tls.caCert)).publicKey)).toBe(true);
  expect(Bun.spawnSync(['openssl', 'verify', '-CAfile', tls.caCert, tls.cert]).stdout.toString().trim()).toBe(`${tls.cert}: OK`);
  expect(readFileSync(join(t.dir, 'etc/wulf/wulf.conf'), 'utf8')).toMatch(/\n {2}tls: true\n {2}tls port: 9874\n/);
});

test('an install without TLS files gets them when serve starts, said in one info line; HTTP and HTTPS listen', async () => {
  rmSync(tls.dir, { recursive: true });
  serve = spawnWulf(bin, t.dir, ['serve', '--address', '127.0.0.1', '--http-port', String(port), '--no-dhcp', '--no-tftp', '--no-ra']);
  serve.stderr!.on('data', (d) => {
    log += String(d);
  });
  for (let i = 0; i < 100 && !log.includes('serving on'); i++) await Bun.sleep(100);
  expect(log).toContain(`HTTP ${port}, HTTPS ${tlsPort}`);
  expect(log.split('\n').filter((l) => /\btls\b/.test(l) && !l.includes('serving on'))).toHaveLength(1);
  expect(log).toMatch(/tls.*created the cluster CA .* and the server certificate .* for 127\.0\.0\.1/);
  expect(statSync(tls.caKey).mode & 0o777).toBe(0o600);
});

test("n1's overlays from n2's address: 403 and WRONG_ADDRESS in `wulf node status`; from n1's address they are served", async () => {
  for (const path of [`/system/${MAC1}`, `/overlay-system/${MAC1}`, `/provision/${MAC1}?stage=system`]) {
    expect([path, curl(`${base}${path}`, '--interface', '127.0.0.2').code]).toEqual([path, '403']);
  }
  expect(curl(`${sbase}/runtime/${MAC1}`, '--interface', '127.0.0.2', '--local-port', '600-700', '--cacert', tls.caCert).code).toBe('403');
  const st = w('node', 'status', '--server', base, '-j', 'n1');
  expect(JSON.parse(st.out)).toMatchObject({ n1: { sent: 'WRONG_ADDRESS', ipaddr: '127.0.0.2' } });
  expect(w('node', 'status', '--server', base, 'n1').out).toMatch(/n1\s+RUNTIME\s+WRONG_ADDRESS/);
  for (let i = 0; i < 30 && !log.includes('n1 refused'); i++) await Bun.sleep(100); // stderr arrives on the event loop
  expect(log).toMatch(/WARN http: system overlay of n1 refused: the request came from an address the node does not hold.*127\.0\.0\.2/);
  // n1 itself (127.0.0.1) gets its system overlay: a gzip cpio with the CA and a 0600 config holding the asset key
  const own = curl(`${base}/system/${MAC1}`, '--interface', '127.0.0.1');
  expect(own.code).toBe('200');
  const list = Bun.spawnSync(['sh', '-c', `gzip -dc < "${own.out}" | cpio -itv 2>/dev/null`]).stdout.toString();
  expect(list).toMatch(/-rw------- .* warewulf\/config\n/);
  const ca = Bun.spawnSync(['sh', '-c', `gzip -dc < "${own.out}" | cpio -i --to-stdout etc/wulf/ca.crt 2>/dev/null`]).stdout.toString();
  expect(ca.trim()).toBe(readFileSync(tls.caCert, 'utf8').trim());
  expect(JSON.parse(w('node', 'status', '--server', base, '-j', 'n1').out).n1.sent).not.toBe('WRONG_ADDRESS');
  // n2 gets its own
  expect(curl(`${base}/system/${MAC2}`, '--interface', '127.0.0.2').code).toBe('200');
});

test('HTTPS: curl with the cluster CA gets the runtime overlay; another CA fails; plain HTTP is refused in secure mode', async () => {
  const ok = curl(`${sbase}/runtime/${MAC1}`, '--cacert', tls.caCert, '--local-port', '700-800');
  expect([ok.code, ok.exit]).toEqual(['200', 0]);
  expect(Bun.spawnSync(['sh', '-c', `gzip -dc < "${ok.out}" | cpio -it 2>/dev/null`]).stdout.toString()).toContain('etc/hosts');
  const other = join(t.dir, 'other');
  await ensureTls(other, { ips: ['127.0.0.1'], dns: [] });
  const bad = curl(`${sbase}/runtime/${MAC1}`, '--cacert', tlsFiles(other).caCert, '--local-port', '700-800');
  expect([bad.code, bad.exit]).toEqual(['000', 60]); // 60: peer certificate cannot be authenticated
  const plain = curl(`${base}/runtime/${MAC1}`, '--local-port', '700-800');
  expect(plain.code).toBe('403');
  expect(readFileSync(plain.out, 'utf8')).toContain(`HTTPS only (port ${tlsPort})`);
  expect(curl(`${sbase}/runtime/${MAC1}`, '--cacert', tls.caCert).code).toBe('403'); // unprivileged port, TLS or not
});

test("the agent from n1's own system overlay fetches its runtime overlay over HTTPS from the server", async () => {
  const node = join(t.dir, 'node1');
  mkdirSync(node, { recursive: true });
  const sys = curl(`${base}/system/${MAC1}`);
  expect(Bun.spawnSync(['sh', '-c', `cd "${node}" && gzip -dc < "${sys.out}" | cpio -idm 2>/dev/null`]).exitCode).toBe(0);
  expect(readFileSync(join(node, 'warewulf/config'), 'utf8')).toContain('WWTLS=true');
  const binDir = join(t.dir, 'bin');
  mkdirSync(binDir, { recursive: true });
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
    'echo',
    'test',
    '[',
  ]) {
    if (!existsSync(join(binDir, a))) symlinkSync('/bin/busybox', join(binDir, a));
  }
  symlinkSync('/usr/bin/curl', join(binDir, 'curl'));
  const p = Bun.spawn(['/bin/busybox', 'sh', join(node, 'warewulf/wulf-agent'), '--once'], {
    env: { PATH: binDir, WULF_AGENT_ROOT: node, WULF_PORT: String(port), WULF_TLS_PORT: String(tlsPort), TMPDIR: t.dir },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  expect(`${code} ${err}`).toStartWith('0 ');
  expect(readFileSync(join(node, 'etc/hosts'), 'utf8')).toContain('n1');
  const st = JSON.parse(w('node', 'status', '--server', base, '-j', 'n1').out);
  expect(st.n1).toMatchObject({ stage: 'agent', ipaddr: '127.0.0.1' });
  expect(log).toMatch(/boot.*n1.*"stage":"agent"|boot: n1 stage=agent/);
}, 30_000);
