// The compiled TUI in tmux against the real compiled `wulf serve` on loopback (unprivileged ports),
// with nodes booted by `wulf sim`: a node's row changes live from never seen to its boot stage (booting
// after iPXE's runtime fetch) and to up at its agent's first refresh, from the server's own status stream,
// while a node that did not boot stays never seen.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { compiledBin, modes, requireCompiled, runWulf, tempRoot, tinyRootfs } from '../helpers/cli.ts';
import { Pane } from './tmux.ts';

const bin = modes[0]!;
const t = tempRoot('wtui-serve-');
const w = (...a: string[]) => runWulf(bin, t.dir, a);
const freeTcp = () =>
  new Promise<number>((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
const freeUdp = () =>
  new Promise<number>((res, rej) => {
    const s = createSocket('udp4');
    s.once('error', rej);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
let ports = { http: 0, dhcp: 0, tftp: 0, relay: 0 };
let serve: ReturnType<typeof Bun.spawn> | undefined;
let serveLog = '';
let pane: Pane | undefined;

beforeAll(async () => {
  requireCompiled();
  ports = { http: await freeTcp(), dhcp: await freeUdp(), tftp: await freeUdp(), relay: await freeUdp() };
  const fs = tinyRootfs(t.dir, Buffer.alloc(1 << 20, 7));
  for (const a of [
    ['init', '--address', '127.0.0.1/8', '--interface', 'lo', '--port', String(ports.http)],
    ['image', 'import', fs, 'tiny'],
    ['image', 'build', 'tiny'],
  ]) {
    const r = w(...a);
    if (r.code !== 0) throw new Error(`wulf ${a.join(' ')}: ${r.err}`);
  }
  for (let i = 1; i <= 2; i++) {
    const r = w('node', 'add', `t${i}`, '--image', 'tiny', '--hwaddr', `52:54:00:7e:00:0${i}`, '--ipaddr', `127.0.40.${i}`);
    if (r.code !== 0) throw new Error(`node add t${i}: ${r.err}`);
  }
  serve = Bun.spawn(
    [
      compiledBin,
      'serve',
      '--address',
      '127.0.0.1',
      '--http-port',
      String(ports.http),
      '--dhcp-port',
      String(ports.dhcp),
      '--tftp-port',
      String(ports.tftp),
      '--dhcp-relay-port',
      String(ports.relay),
    ],
    {
      env: { ...process.env, WULF_ROOT: t.dir, NO_COLOR: '1' },
      stdout: 'ignore',
      stderr: 'pipe',
    },
  );
  void (async () => {
    for await (const chunk of serve!.stderr as ReadableStream<Uint8Array>) serveLog += new TextDecoder().decode(chunk);
  })();
  for (let i = 0; i < 150; i++) {
    if (serve.exitCode !== null) break;
    try {
      if ((await fetch(`http://127.0.0.1:${ports.http}/status`)).ok) return;
    } catch {
      /* starting */
    }
    await Bun.sleep(100);
  }
  throw new Error(`wulf serve did not start: ${serveLog}`);
}, 90_000);

afterAll(async () => {
  pane?.kill();
  if (serve) {
    serve.kill('SIGTERM');
    await serve.exited;
  }
  t.cleanup();
});

/** `wulf sim` boots the given nodes against the server (async: the server is another process). */
async function sim(nodes: string): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(
    [
      compiledBin,
      'sim',
      '--server',
      '127.0.0.1',
      '--http-port',
      String(ports.http),
      '--dhcp-port',
      String(ports.dhcp),
      '--tftp-port',
      String(ports.tftp),
      '--relay-port',
      String(ports.relay),
      '--nodes',
      nodes,
    ],
    { env: { ...process.env, WULF_ROOT: t.dir, NO_COLOR: '1' }, stdout: 'pipe', stderr: 'pipe' },
  );
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

/** What the node agent does every update interval: fetch the runtime overlay, marked as its own. */
async function agent(mac: string): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${ports.http}/runtime/${mac}?assetkey=&compress=gz&agent=wulf-agent`);
  expect(r.status).toBe(200);
  await r.arrayBuffer();
}

const row = (screen: string, node: string) => screen.split('\n').find((l) => new RegExp(`^[ *]{2}${node}\\s`).test(l)) ?? '';

describe('wulf tui against wulf serve (both compiled), nodes booted by wulf sim', () => {
  test("a booting node's row changes live from never seen to its stage and up; the other stays never seen", async () => {
    const server = `http://127.0.0.1:${ports.http}`;
    pane = Pane.start('wtui-serve', `${compiledBin} tui --server ${server}`, {
      cols: 120,
      env: { WULF_ROOT: t.dir, TERM: 'xterm-256color' },
    });
    let s = await pane.waitFor(
      (x) => x.includes(`live: ${server}`) && /never seen\s*$/.test(row(x, 't1')) && /never seen\s*$/.test(row(x, 't2')),
      15_000,
    );
    expect(s).toContain('2 nodes: up 0 booting 0');
    // ink drew over the early frame ("connecting to …", longer than "live: …"): nothing of it is left
    expect(s.split('\n')[0]).toMatch(/5:Log\s*$/);

    const r1 = await sim('t1');
    expect(r1.err).toBe('');
    expect(r1.code).toBe(0);
    expect(r1.out).toContain('1 nodes: 1 booted, 0 errors');
    // the row follows the server's status stream: stage and state change without a key press; iPXE's
    // fetch of the runtime overlay leaves the node booting until its agent refreshes it
    s = await pane.waitFor((x) => /\bruntime\s+\d+s\s+booting\s*$/.test(row(x, 't1')), 15_000);
    expect(row(s, 't1')).toContain('127.0.40.1');
    expect(row(s, 't2')).toMatch(/never seen\s*$/);
    expect(s).toContain(`live: ${server}`);
    expect(s).toMatch(/2 nodes: up 0 booting 1 late 0 lost 0 never seen 1/);
    await agent('52:54:00:7e:00:01');
    s = await pane.waitFor((x) => /\bagent\s+\d+s\s+up\s*$/.test(row(x, 't1')), 15_000);
    expect(s).toMatch(/2 nodes: up 1 booting 0 late 0 lost 0 never seen 1/);

    const r2 = await sim('t2');
    expect(r2.code).toBe(0);
    await agent('52:54:00:7e:00:02');
    s = await pane.waitFor((x) => /\bagent\s+\d+s\s+up\s*$/.test(row(x, 't2')), 15_000);
    expect(s).toMatch(/2 nodes: up 2 booting 0 late 0 lost 0 never seen 0/);

    // the log view lists the boot stages the server reported, in order, for each node
    pane.keys('5');
    s = await pane.waitFor((x) => x.includes('wulf · Log') && /t2\b.*agent/.test(x), 10_000);
    const stages = s
      .split('\n')
      .filter((l) => /\bt1\b/.test(l))
      .map((l) => /\b(dhcp|ipxe|kernel|image|system|runtime|agent)\b/.exec(l)?.[1])
      .filter(Boolean);
    expect(stages.filter((x, i) => stages.indexOf(x) === i)).toEqual(['dhcp', 'ipxe', 'kernel', 'image', 'system', 'runtime', 'agent']);
    pane.keys('q', 'q');
    await pane.waitFor('EXIT=0', 10_000);
  }, 90_000);
});
