// TUI benchmark, compiled binary in tmux at 80×24 with 2,000 nodes:
//  1. start → first paint (the node table on screen), against `wulf node list` (the CLI) as reference;
//  2. CPU of the TUI process while a stand-in status server streams 2,000 updates/s over SSE
//     (every node once a second), read from /proc/<pid>/stat; and how fresh the screen stays.
// Run: bun build/build.ts && bun bench/tui.ts [--seconds 10] [--cpu-only]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeRoot, nodeName, ipOf } from '../test/tui/fixture.ts';
import { Pane, tmux } from '../test/tui/tmux.ts';

const bin = resolve(process.env.WULF_BIN ?? 'dist/wulf');
const N = 2000;
const secs = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 10;
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const root = mkdtempSync(join(tmpdir(), 'wtui-bench-'));

// the stand-in server: /status snapshot, then /status/events with every node once a second
const enc = new TextEncoder();
let round = 0;
const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  idleTimeout: 0,
  fetch(req) {
    const p = new URL(req.url).pathname;
    if (p === '/status') return Response.json({ nodes: {} });
    if (p === '/status/events') {
      let ctl: ReadableStreamDefaultController<Uint8Array>;
      return new Response(
        new ReadableStream({
          start(c) {
            ctl = c;
            streams.add(c);
          },
          cancel() {
            streams.delete(ctl);
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    }
    return new Response('', { status: 404 });
  },
});
const stages = ['IPXE', 'KERNEL', 'IMAGE', 'SYSTEM_OVERLAY', 'RUNTIME_OVERLAY'];
let sent = 0;
const emitter = setInterval(() => {
  // 10 batches a second, 200 nodes each: 2,000 updates/s
  const slot = round++ % 10;
  const now = Date.now() / 1000;
  let out = '';
  for (let i = slot * (N / 10) + 1; i <= (slot + 1) * (N / 10); i++) {
    const ev = {
      'node name': nodeName(i),
      stage: stages[(i + Math.floor(round / 10)) % stages.length],
      sent: 'x',
      ipaddr: ipOf(i),
      'last seen': now,
    };
    out += `data: ${JSON.stringify(ev)}\n\n`;
    sent++;
  }
  const bytes = enc.encode(out);
  for (const c of streams) {
    try {
      c.enqueue(bytes);
    } catch {
      streams.delete(c);
    }
  }
}, 100);

function wulfPid(pane: Pane): number {
  const shell = pane.info('#{pane_pid}');
  for (let i = 0; i < 50; i++) {
    const r = spawnSync('ps', ['-o', 'pid=', '--ppid', shell], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .find((l) => l.trim());
    if (r) return Number(r.trim().split(/\s+/)[0]);
    Bun.sleepSync(10);
  }
  throw new Error('wulf process not found');
}
const cpuTicks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime
};
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function firstPaint(port: number): Promise<number> {
  const t0 = performance.now();
  const pane = Pane.start('wtui-bench-paint', `${bin} tui`, { env: { WULF_ROOT: root, TERM: 'xterm-256color' } });
  try {
    await pane.waitFor((s) => s.includes('NAME▲') && s.includes('n0001'), 10_000);
    return performance.now() - t0;
  } finally {
    pane.kill();
    void port;
  }
}

// a session that lives for the whole run, so the tmux server does not exit between panes
const keeper = Pane.start('wtui-bench-keep', 'sleep 900', {});
try {
  writeRoot(root, N, server.port!, 60);
  // reference: the CLI listing the same nodes, and tmux's own overhead (a shell that prints at once)
  const cliMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    spawnSync(bin, ['node', 'list'], { env: { ...process.env, WULF_ROOT: root }, stdio: 'ignore' });
    cliMs.push(performance.now() - t);
  }
  const verMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    spawnSync(bin, ['version'], { stdio: 'ignore' });
    verMs.push(performance.now() - t);
  }
  const tmuxMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const p = Pane.start('wtui-bench-echo', 'echo NAME▲ n0001', {});
    await p.waitFor('NAME▲ n0001');
    tmuxMs.push(performance.now() - t);
    p.kill();
  }
  const paints: number[] = [];
  const cpuOnly = process.argv.includes('--cpu-only');
  for (let i = 0; i < (cpuOnly ? 0 : 5); i++) paints.push(await firstPaint(server.port!));
  if (cpuOnly) paints.push(NaN);
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const paint = med(paints),
    tm = med(tmuxMs),
    cli = med(cliMs);

  // CPU under 2,000 updates/s
  const pane = Pane.start('wtui-bench-cpu', `${bin} tui`, { env: { WULF_ROOT: root, TERM: 'xterm-256color' } });
  await pane.waitFor('live: http://127.0.0.1', 30_000);
  await Bun.sleep(2000); // settle: the stream is flowing
  const pid = wulfPid(pane);
  const c0 = cpuTicks(pid),
    w0 = performance.now(),
    s0 = sent;
  let stale = 0,
    samples = 0;
  while (performance.now() - w0 < secs * 1000) {
    await Bun.sleep(500);
    const scr = pane.screen();
    samples++;
    if (!/n0001 .* (up|booting)/.test(scr)) stale++;
  }
  const c1 = cpuTicks(pid),
    w1 = performance.now();
  const cpu = ((c1 - c0) / TICK / ((w1 - w0) / 1000)) * 100;
  const rss = rssMiB(pid);
  const screen = pane.screen();
  pane.keys('q');
  await pane.waitFor('EXIT=0', 5000).catch(() => {});
  pane.kill();

  console.log(`wulf tui bench — ${N} nodes, 80×24 tmux, ${bin}`);
  console.log(`first paint: median ${paint.toFixed(0)} ms of ${paints.map((x) => x.toFixed(0)).join(', ')} (target ≤ 300 ms)`);
  console.log(
    `  reference: tmux + shell echo ${tm.toFixed(0)} ms (included above); 'wulf version' ${med(verMs).toFixed(0)} ms; ` +
      `'wulf node list' (${N} nodes) ${cli.toFixed(0)} ms`,
  );
  console.log(`  paint without tmux ${(paint - tm).toFixed(0)} ms; ratio to 'wulf node list' ${((paint - tm) / cli).toFixed(2)}`);
  console.log(
    `CPU at ${((sent - s0) / ((w1 - w0) / 1000)).toFixed(0)} updates/s over ${((w1 - w0) / 1000).toFixed(1)} s: ${cpu.toFixed(1)}% of one core ` +
      `(target ≤ 15%), RSS ${rss.toFixed(0)} MiB`,
  );
  console.log(`screen showed live states in ${samples - stale}/${samples} samples`);
  console.log(screen.split('\n').slice(0, 5).join('\n'));
} finally {
  clearInterval(emitter);
  server.stop(true);
  tmux('kill-session', '-t', 'wtui-bench-cpu');
  keeper.kill();
  rmSync(root, { recursive: true, force: true });
}
