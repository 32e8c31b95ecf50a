// The compiled binary's TUI in tmux at 80×24: navigation, filter, detail, help, an edit that lands
// in nodes.conf (and an invalid one that does not), a concurrent CLI edit, live status over SSE,
// config reloads, NO_COLOR, a too-small terminal, and the terminal restored after exit.
// The status server here is a stand-in speaking the documented /status + /status/events contract,
// so each SSE event is exact; tui-serve.test.ts runs the TUI against the real `wulf serve`.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBin, requireCompiled, runWulf, modes, tempRoot } from '../helpers/cli.ts';
import { writeRoot, nodesYaml } from './fixture.ts';
import { Pane, tmux } from './tmux.ts';

const enc = new TextEncoder();
let push: ((o: unknown) => void) | undefined;
const status: Record<string, unknown> = {};
const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  idleTimeout: 0,
  fetch(req) {
    const p = new URL(req.url).pathname;
    if (p === '/status') return Response.json({ nodes: status });
    if (p === '/status/events') {
      return new Response(
        new ReadableStream({
          start(c) {
            push = (o) => c.enqueue(enc.encode(`data: ${JSON.stringify(o)}\n\n`));
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    }
    return new Response('not found', { status: 404 });
  },
});
const panes: Pane[] = [];
const roots: (() => void)[] = [];
beforeAll(() => requireCompiled());
afterAll(() => {
  for (const p of panes) p.kill();
  for (const r of roots) r();
  server.stop(true);
});

function start(
  name: string,
  n: number,
  port: number,
  opts: { cols?: number; rows?: number; env?: Record<string, string>; interval?: number } = {},
) {
  const { dir, cleanup } = tempRoot('wtui-');
  roots.push(cleanup);
  writeRoot(dir, n, port, opts.interval);
  const pane = Pane.start(`wtui-${name}`, `${compiledBin} tui`, { ...opts, env: { WULF_ROOT: dir, TERM: 'xterm-256color', ...opts.env } });
  panes.push(pane);
  return { pane, dir, nodesConf: join(dir, 'etc', 'wulf', 'nodes.conf') };
}

describe('wulf tui (compiled, tmux 80×24)', () => {
  test('files mode: navigation, sort, filter by hostlist, help, detail, exit restores the terminal', async () => {
    const { pane } = start('nav', 2000, 1); // port 1: nothing listens
    // the first frame shows the first nodes merged ("2000 nodes (loading):"), the rest follow at once
    let s = await pane.waitFor((x) => x.includes('server unreachable — showing files') && x.includes('2000 nodes:'));
    expect(s).toContain('never seen 2000');
    s = await pane.waitFor(/^server unreachable \(.*\)$/m); // the reason is short, not a sentence cut mid-word
    expect(s).toMatch(/^server unreachable \((ECONNREFUSED|ConnectionRefused)\)\s*$/m);
    expect(s.split('\n').length).toBeLessThanOrEqual(25);
    pane.keys('End');
    s = await pane.waitFor('n2000');
    expect(s).not.toContain('n0001 ');
    pane.keys('Home', 'r');
    await pane.waitFor('NAME▼'); // reversed; the cursor stays on n0001, now the last row
    pane.keys('Home');
    await pane.waitFor((x) => x.split('\n')[3]!.includes('n2000'));
    pane.keys('r', '/');
    s = await pane.waitFor('filter: █');
    expect(s).toContain('Enter apply  Esc clear  text, glob, hostlist n[01-08]'); // the filter's hint, not the edit hint
    expect(s).not.toContain('UNSET');
    pane.type('n00[1-2]?'); // a hostlist range and a glob together
    await pane.waitFor('filter: n00[1-2]?█');
    pane.keys('Enter');
    s = await pane.waitFor('— 20 of 2000 nodes');
    pane.keys('o');
    s = await pane.waitFor('? [y/N]');
    expect(s).toContain('power on n0010? [y/N]');
    pane.keys('n', '5');
    s = await pane.waitFor('wulf · Log');
    expect(s).toContain('? help  q back');
    pane.keys('q'); // q in the log goes back; it does not quit
    await pane.waitFor('wulf · Nodes');
    pane.keys('/', 'C-u');
    pane.type('n00[07-09],n1500');
    s = await pane.waitFor('n1500');
    expect(s.match(/^\s+n\d{4}/gm)).toEqual(['  n0007', '  n0008', '  n0009', '  n1500']);
    pane.keys('Enter', 'Down', 'Down', '?');
    s = await pane.waitFor('Keys — press any key to close');
    expect(s).toContain('filter: text, hostlist');
    pane.keys('x', 'Enter');
    s = await pane.waitFor('Node n0009');
    expect(s).toContain('Boot waterfall');
    expect(s).toMatch(/ClusterName\s+c1\s+default/);
    pane.keys('q');
    s = await pane.waitFor('NAME▲');
    expect(s).toContain('? help  q quit'); // the key bar fits 80 columns
    expect(pane.info('#{alternate_on}')).toBe('1');
    pane.keys('q');
    await pane.waitFor('EXIT=0');
    expect(pane.info('#{alternate_on}')).toBe('0');
    expect(pane.info('#{cursor_flag}')).toBe('1');
  }, 60_000);

  test('detail header at 80×24 shows the address and MAC unscrolled; q quits at once after the detail and help views', async () => {
    const { pane } = start('header', 12, 1); // port 1: files mode, the status feed retrying in the background
    await pane.waitFor('n0012');
    for (let i = 0; i < 8; i++) pane.keys('Down');
    pane.keys('Enter');
    const s = await pane.waitFor('Node n0009');
    const head = s.split('\n').slice(2, 4).join('\n'); // the two lines under the title bar
    expect(head).toContain('ipaddr 10.0.1.10'); // ipOf(9), merged netdev "default"
    expect(head).toContain('hwaddr 52:54:00:00:00:09');
    expect(head).toMatch(/state never seen/);
    expect(s.split('\n').length).toBeLessThanOrEqual(25);
    pane.keys('q');
    await pane.waitFor('NAME▲');
    pane.keys('?');
    await pane.waitFor('Keys — press any key to close');
    pane.keys('x');
    await pane.waitFor('NAME▲');
    await Bun.sleep(500); // the feed is in its retry pause now (3 s): quitting must not wait for it
    const t0 = Date.now();
    pane.keys('q');
    await pane.waitFor('EXIT=0', 5000);
    expect(Date.now() - t0).toBeLessThan(1200);
  }, 60_000);

  test('edit in the detail form lands in nodes.conf; invalid input is refused inline; a concurrent CLI edit is detected', async () => {
    const { pane, dir, nodesConf } = start('edit', 5, 1);
    await pane.waitFor('n0005');
    pane.keys('Down', 'Enter');
    await pane.waitFor('Node n0002');
    pane.keys('Down', 'Down', 'e');
    await pane.waitFor('edit Comment:');
    pane.type('rack 7');
    pane.keys('Enter');
    await pane.waitFor('saved n0002 Comment = rack 7');
    expect(readFileSync(nodesConf, 'utf8')).toMatch(/n0002:[\s\S]*comment: rack 7/);
    // Ipmi.Ipaddr: 15 lines further down
    for (let i = 0; i < 15; i++) pane.keys('Down');
    pane.keys('e');
    await pane.waitFor('edit Ipmi.Ipaddr:');
    const before = readFileSync(nodesConf, 'utf8');
    pane.type('10.0.0.300');
    pane.keys('Enter');
    await pane.waitFor('is not an IPv4 address');
    pane.keys('Escape');
    await pane.waitFor('edit cancelled, nothing written');
    expect(readFileSync(nodesConf, 'utf8')).toBe(before);
    // the CLI changes the file while the form is open: the save must not overwrite it
    pane.keys('e');
    await pane.waitFor('edit Ipmi.Ipaddr:');
    const cli = runWulf(modes[0]!, dir, ['node', 'set', 'n0002', '--comment', 'from the cli', '--yes']);
    expect(cli.err).toBe('');
    pane.type('10.0.0.30');
    pane.keys('Enter');
    await pane.waitFor('changed by someone else');
    const after = readFileSync(nodesConf, 'utf8');
    expect(after).toContain('comment: from the cli');
    expect(after).not.toContain('10.0.0.30');
    // the screen reloaded: the CLI's value shows, and the edit can be redone
    pane.keys('g');
    await pane.waitFor(/Comment\s+from the cli/);
    for (let i = 0; i < 17; i++) pane.keys('Down');
    pane.keys('e');
    await pane.waitFor('edit Ipmi.Ipaddr:');
    pane.type('10.0.0.30');
    pane.keys('Enter');
    await pane.waitFor('saved n0002 Ipmi.Ipaddr = 10.0.0.30');
    expect(readFileSync(nodesConf, 'utf8')).toContain('ipaddr: 10.0.0.30');
  }, 60_000);

  test('live: status snapshot then SSE events change a node from booting to up; the log pane lists them', async () => {
    const now = Math.floor(Date.now() / 1000);
    status.n0003 = { 'node name': 'n0003', stage: 'IPXE', sent: 'ipxe', ipaddr: '10.0.1.4', 'last seen': now };
    const { pane } = start('live', 20, server.port!);
    let s = await pane.waitFor('live: http://127.0.0.1');
    expect(s).toMatch(/n0003 .*ipxe .*booting/);
    await (async () => {
      for (let i = 0; i < 100 && !push; i++) await Bun.sleep(20);
    })();
    push!({ 'node name': 'n0003', stage: 'kernel', sent: 'vmlinuz', 'last seen': now + 1 });
    s = await pane.waitFor(/n0003 .*kernel .*booting/);
    push!({
      'node name': 'n0003',
      stage: 'RUNTIME_OVERLAY',
      sent: 'runtime.img.gz',
      'last seen': now + 2,
      timeline: [
        { stage: 'ipxe', start: now, seconds: 0.2, bytes: 2000 },
        { stage: 'kernel', start: now + 1, seconds: 1, bytes: 9000000 },
      ],
    });
    s = await pane.waitFor(/n0003 .*runtime .*up/);
    expect(s).toContain('up 1 booting 0');
    pane.keys('Down', 'Down', 'Enter');
    s = await pane.waitFor('Node n0003');
    expect(s).toMatch(/kernel\s+\+1\.0\s+1\.00\s+8\.6 MiB\s+8\.6 MiB/);
    pane.keys('L');
    s = await pane.waitFor('filter: n0003');
    expect(s).toMatch(/n0003\s+kernel\s+vmlinuz/);
    expect(s).toMatch(/n0003\s+runtime\s+runtime\.img\.gz/);
  }, 60_000);

  test('config changed underneath: reloads and keeps the selection', async () => {
    const { pane, nodesConf } = start('reload', 30, 1);
    await pane.waitFor('n0019');
    for (let i = 0; i < 11; i++) {
      pane.keys('Down');
      await Bun.sleep(60);
    }
    await pane.waitFor(/^\s+n0012.*$/m);
    await Bun.sleep(800); // let every key land before the file changes (on a loaded machine they trail)
    // n0001..n0005 disappear: n0012 must stay selected
    writeFileSync(nodesConf, nodesYaml(30).replace(/  n000[1-5]:\n(    .*\n)+/g, ''));
    const s = await pane.waitFor('25 nodes:');
    pane.keys('Enter');
    await pane.waitFor('Node n0012');
    expect(s).not.toContain('n0001 ');
  }, 60_000);

  test('NO_COLOR: no colour escapes; a too-small terminal gets a message, not a crash', async () => {
    const { pane } = start('nocolor', 5, 1, { env: { NO_COLOR: '1' } });
    await pane.waitFor('n0005');
    // the first frames may still be drawing ("connecting to ..."): wait for the cursor row
    let esc = pane.screen(true);
    for (let i = 0; i < 30 && !/\x1b\[[0-9;]*7m/.test(esc); i++) {
      await Bun.sleep(100);
      esc = pane.screen(true);
    }
    expect(esc).not.toMatch(/\x1b\[(3[0-7]|9[0-7]|38;)/);
    expect(esc).toMatch(/\x1b\[[0-9;]*7m/); // the cursor row is inverse video
    const colored = start('color', 5, 1);
    await colored.pane.waitFor('n0005');
    expect(colored.pane.screen(true)).toMatch(/\x1b\[(3[0-7]|9[0-7]|38;)/);
    const small = start('small', 5, 1, { cols: 50, rows: 10 });
    await small.pane.waitFor('Terminal too small (50×10)');
    tmux('resize-window', '-t', small.pane.name, '-x', '80', '-y', '24');
    await small.pane.waitFor('n0005');
    small.pane.keys('q');
    await small.pane.waitFor('EXIT=0');
  }, 60_000);
});
