// Real peers for the image tests: a busybox-static rootfs, OCI layouts made with umoci, the
// Debian docker-registry on 127.0.0.1 (anonymous, htpasswd, or token auth with a small RS256
// issuer), hand-made layer tars, and a fault-injecting proxy in front of the registry.
import { compiledBin } from '../helpers/cli.ts';
import { createPrivateKey, createSign } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  copyFileSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';

export const BUN = process.execPath;
export const MAIN = join(import.meta.dir, '../../src/main.ts');

export function need(tool: string, pkg: string): void {
  if (!Bun.which(tool)) throw new Error(`${tool} is missing: apt-get install -y ${pkg}`);
}

export function sh(cmd: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): string {
  const r = Bun.spawnSync(cmd, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdout: 'pipe', stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')} failed (${r.exitCode}): ${r.stderr.toString().trim().slice(-500)}`);
  return r.stdout.toString();
}

/** Like sh, but the event loop keeps running (needed when the peer it talks to lives in this process). */
export async function shAsync(cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, { stdout: 'pipe', stderr: 'pipe' });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if ((await p.exited) !== 0) throw new Error(`${cmd.join(' ')} failed: ${err.trim().slice(-500)}`);
  return out;
}

export const tmp = (p: string) => mkdtempSync(join(tmpdir(), `wimg-${p}-`));

/** The busybox binary from Debian's busybox-static (cached in /var/tmp). */
export function busyboxBinary(): string {
  const cache = '/var/tmp/wulf-images-test';
  const bin = join(cache, 'x/bin/busybox');
  if (existsSync(bin)) return bin;
  mkdirSync(cache, { recursive: true });
  if (!readdirSync(cache).some((f) => f.endsWith('.deb'))) {
    const r = Bun.spawnSync(['apt-get', 'download', 'busybox-static'], { cwd: cache, stdout: 'pipe', stderr: 'pipe' });
    if (r.exitCode !== 0)
      throw new Error(`cannot fetch busybox-static with apt-get download (run apt-get update): ${r.stderr.toString().trim().slice(-300)}`);
  }
  const deb = readdirSync(cache).find((f) => f.endsWith('.deb'))!;
  sh(['dpkg', '-x', join(cache, deb), join(cache, 'x')]);
  return bin;
}

/** A tiny busybox root filesystem with a few kernels for detection. */
export function makeRootfs(dir: string): string {
  for (const d of ['bin', 'sbin', 'etc', 'proc', 'sys', 'dev', 'run', 'tmp', 'root', 'boot', 'usr/bin'])
    mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(busyboxBinary(), join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'ls', 'cat', 'echo', 'id', 'touch', 'rm', 'mkdir', 'hostname', 'stat', 'sleep', 'test'])
    symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nimgonly:x:4242:4242::/:/bin/sh\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nimgonly:x:4242:\n');
  writeFileSync(join(dir, 'etc/hostname'), 'busybox\n');
  writeFileSync(join(dir, 'boot/vmlinuz-6.1.0-9-amd64'), 'kernel 9\n');
  writeFileSync(join(dir, 'boot/vmlinuz-6.1.0-21-amd64'), 'kernel 21\n');
  return dir;
}

/** An OCI layout with tag `1`: base busybox layer, a layer deleting and adding files, and a hand-made opaque layer. */
export function makeOciLayout(work: string, opaqueLayer: Uint8Array): string {
  need('umoci', 'umoci');
  const layout = join(work, 'layout');
  sh(['umoci', 'init', '--layout', layout]);
  sh(['umoci', 'new', '--image', `${layout}:1`]);
  const bundle = join(work, 'bundle');
  sh(['umoci', 'unpack', '--image', `${layout}:1`, bundle]);
  makeRootfs(join(bundle, 'rootfs'));
  mkdirSync(join(bundle, 'rootfs/opt/old'), { recursive: true });
  writeFileSync(join(bundle, 'rootfs/opt/old/lower.txt'), 'lower\n');
  writeFileSync(join(bundle, 'rootfs/etc/gone.txt'), 'to be deleted\n');
  sh(['umoci', 'repack', '--refresh-bundle', '--image', `${layout}:1`, bundle]);
  rmSync(join(bundle, 'rootfs/etc/gone.txt'));
  writeFileSync(join(bundle, 'rootfs/etc/layer2.txt'), 'second layer\n');
  sh(['umoci', 'repack', '--refresh-bundle', '--image', `${layout}:1`, bundle]);
  const lt = join(work, 'opaque.tar');
  writeFileSync(lt, opaqueLayer);
  sh(['umoci', 'raw', 'add-layer', '--image', `${layout}:1`, lt]);
  rmSync(bundle, { recursive: true, force: true });
  return layout;
}

export interface TarItem {
  name: string;
  type?: tar.Header['type'];
  body?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  mtime?: Date;
}

export async function makeTar(items: TarItem[]): Promise<Uint8Array> {
  const p = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(c as Buffer);
  })();
  for (const it of items) {
    await new Promise<void>((res, rej) =>
      p.entry(
        {
          name: it.name,
          type: it.type ?? 'file',
          mode: it.mode ?? (it.type === 'directory' ? 0o755 : 0o644),
          uid: it.uid ?? 0,
          gid: it.gid ?? 0,
          mtime: it.mtime ?? new Date(1_700_000_000_000),
          ...(it.linkname ? { linkname: it.linkname } : {}),
          ...(it.devmajor !== undefined ? { devmajor: it.devmajor, devminor: it.devminor ?? 0 } : {}),
        },
        it.body ?? '',
        (e) => (e ? rej(e) : res()),
      ),
    );
  }
  p.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

/** The opaque layer: a new file in /opt/old BEFORE the opaque marker (the harder case). */
export const opaqueItems: TarItem[] = [
  { name: 'opt/', type: 'directory' },
  { name: 'opt/old/', type: 'directory' },
  { name: 'opt/old/new.txt', body: 'new in layer 3\n' },
  { name: 'opt/old/.wh..wh..opq', body: '' },
];

export async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

export interface Peer {
  port: number;
  url: string;
  stop(): Promise<void>;
  tokenRequests?: () => number;
}

async function waitHttp(url: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      await fetch(url);
      return;
    } catch {
      await Bun.sleep(50);
    }
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

function b64url(b: Buffer | string) {
  return Buffer.from(b).toString('base64url');
}

/** docker-registry on 127.0.0.1; auth: none, htpasswd (user/pw), or token (with an RS256 issuer of ours). */
export async function startRegistry(auth: 'none' | 'htpasswd' | 'token', user = 'wulf', pw = 'sekrit'): Promise<Peer> {
  need('docker-registry', 'docker-registry');
  const dir = tmp('reg');
  const port = await freePort();
  let authYaml = '';
  let issuer: ReturnType<typeof Bun.serve> | undefined;
  let tokens = 0;
  if (auth === 'htpasswd') {
    need('htpasswd', 'apache2-utils');
    writeFileSync(join(dir, 'htpasswd'), sh(['htpasswd', '-Bbn', user, pw]));
    authYaml = `auth:\n  htpasswd:\n    realm: wulf-test\n    path: ${dir}/htpasswd\n`;
  } else if (auth === 'token') {
    need('openssl', 'openssl');
    sh([
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=wulf-test-issuer',
    ]);
    const derB64 = Buffer.from(Bun.spawnSync(['openssl', 'x509', '-in', join(dir, 'cert.pem'), '-outform', 'DER']).stdout).toString(
      'base64',
    );
    const key = createPrivateKey(readFileSync(join(dir, 'key.pem')));
    issuer = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch(req) {
        const u = new URL(req.url);
        const a = req.headers.get('authorization') ?? '';
        const [uu, pp] = a.startsWith('Basic ') ? Buffer.from(a.slice(6), 'base64').toString().split(':') : [];
        const scope = u.searchParams.get('scope') ?? '';
        const [, name, actions] = scope.split(':');
        const allowed = uu === user && pp === pw; // anonymous and wrong creds get a token without access
        tokens++;
        const now = Math.floor(Date.now() / 1000);
        const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [derB64] }));
        const body = b64url(
          JSON.stringify({
            iss: 'wulf-test-issuer',
            sub: uu ?? '',
            aud: u.searchParams.get('service'),
            exp: now + 300,
            nbf: now - 10,
            iat: now,
            jti: String(Math.random()),
            access: allowed && name ? [{ type: 'repository', name, actions: (actions ?? 'pull').split(',') }] : [],
          }),
        );
        const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(key).toString('base64url');
        if (a && !allowed) return new Response('bad credentials', { status: 401 });
        return Response.json({
          token: `${head}.${body}.${sig}`,
          access_token: `${head}.${body}.${sig}`,
          expires_in: 300,
          issued_at: new Date().toISOString(),
        });
      },
    });
    authYaml =
      `auth:\n  token:\n    realm: http://127.0.0.1:${issuer.port}/token\n    service: wulf-test\n    issuer: wulf-test-issuer\n` +
      `    rootcertbundle: ${dir}/cert.pem\n`;
  }
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n` +
      `  addr: 127.0.0.1:${port}\n${authYaml}`,
  );
  const proc = Bun.spawn(['docker-registry', 'serve', join(dir, 'config.yml')], { stdout: 'ignore', stderr: 'pipe' });
  await waitHttp(`http://127.0.0.1:${port}/v2/`);
  return {
    port,
    url: `127.0.0.1:${port}`,
    tokenRequests: () => tokens,
    async stop() {
      proc.kill();
      await proc.exited;
      issuer?.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Fault = (req: Request, count: number) => Response | 'truncate' | 'corrupt' | undefined;

/** An HTTP proxy in front of a registry that can answer for it, cut blob bodies short, or flip a byte. */
export function faultProxy(
  target: string,
  fault: Fault,
): Peer & { log: { method: string; path: string; range?: string; status: number }[] } {
  const log: { method: string; path: string; range?: string; status: number }[] = [];
  let n = 0;
  const srv = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      const f = fault(req, n++);
      const entry = {
        method: req.method,
        path: u.pathname,
        ...(req.headers.get('range') ? { range: req.headers.get('range')! } : {}),
        status: 0,
      };
      log.push(entry);
      if (f instanceof Response) {
        entry.status = f.status;
        return f;
      }
      const headers = new Headers(req.headers);
      headers.delete('host');
      const r = await fetch(`http://${target}${u.pathname}${u.search}`, { headers, redirect: 'manual' });
      entry.status = r.status;
      const h = new Headers(r.headers);
      h.delete('content-encoding');
      if (f === 'truncate' || f === 'corrupt') {
        const body = new Uint8Array(await r.arrayBuffer());
        if (f === 'corrupt') {
          body[body.length >> 1] ^= 0xff;
          h.delete('content-length');
          return new Response(body, { status: r.status, headers: h });
        }
        const half = body.subarray(0, body.length >> 1);
        // send half the body, then end it
        const stream = new ReadableStream({
          start(c) {
            c.enqueue(half);
            setTimeout(() => c.close(), 20);
          },
        });
        h.delete('content-length');
        return new Response(stream, { status: r.status, headers: h });
      }
      return new Response(r.body, { status: r.status, headers: h });
    },
  });
  return {
    port: srv.port!,
    url: `127.0.0.1:${srv.port}`,
    log,
    async stop() {
      srv.stop(true);
    },
  };
}

export async function wulf(
  root: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  // WULF_HOST_ROOT: the controller's passwd/group (overlays, image syncuser) from the temp root too
  const p = Bun.spawn([compiledBin, ...args], {
    env: { ...process.env, WULF_ROOT: root, WULF_HOST_ROOT: root, NO_COLOR: '1', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
    stdin: 'ignore',
  });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out, err };
}
