// Benchmark: `power status` fan-out. (A) 500 Redfish mock BMCs on loopback (another process,
// 20–50 ms per request, session login + discovery + logout = 4 requests per node) at fanout 50 vs
// serial. (B) 50 ipmi_sim BMCs: wulf's ipmitool driver at fanout 50 vs serial vs the reference
// `xargs -P 50 ipmitool` (Warewulf's way: one ipmitool per node, 50 at a time). Bounded in time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultDrivers, runPower } from '../src/power/run.ts';
import type { PowerTarget } from '../src/power/driver.ts';

const args = process.argv.slice(2);
if (args[0] === '--serve') {
  // child mode: start N mocks, print their ports, live until stdin closes
  const { startMock } = await import('../test/power/helpers/redfish-mock.ts');
  const n = Number(args[1] ?? 500);
  const mocks = Array.from({ length: n }, () => startMock({ latency: [20, 50], initialPower: Math.random() < 0.5 ? 'On' : 'Off' }));
  process.stdout.write(JSON.stringify(mocks.map((m) => m.port)) + '\n');
  for await (const _ of Bun.stdin.stream()) {
    /* wait for EOF */
  }
  process.exit(0);
}

const N = Number(process.env.BENCH_NODES ?? 500);
const SERIAL_N = Number(process.env.BENCH_SERIAL_NODES ?? 100); // serial on a slice, bounded
const drivers = defaultDrivers({ env: { PATH: process.env.PATH } });
const secs = (ms: number) => (ms / 1000).toFixed(2) + ' s';

async function timeRun(targets: PowerTarget[], fanout: number): Promise<{ ms: number; ok: number }> {
  const t0 = performance.now();
  const { summary } = await runPower(targets, 'status', { drivers, fanout, timeoutMs: 20_000 });
  return { ms: performance.now() - t0, ok: summary.ok };
}

// (A) Redfish
{
  const child = Bun.spawn([process.execPath, import.meta.path, '--serve', String(N)], { stdin: 'pipe', stdout: 'pipe', stderr: 'inherit' });
  const reader = child.stdout.getReader();
  let text = '';
  while (!text.includes('\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  const ports = JSON.parse(text) as number[];
  const targets: PowerTarget[] = ports.map((p, i) => ({
    node: `n${String(i + 1).padStart(4, '0')}`,
    ipmi: { driver: 'redfish', ipaddr: '127.0.0.1', port: String(p), username: 'root', password: 'mock-secret', tags: { scheme: 'http' } },
  }));
  await timeRun(targets.slice(0, 20), 20); // warm up
  const fan = await timeRun(targets, 50);
  const serial = await timeRun(targets.slice(0, SERIAL_N), 1);
  const serialAll = serial.ms * (N / SERIAL_N);
  console.log(`Redfish mock, ${N} BMCs, 20–50 ms per request, 4 requests per node (session, Systems, system, logout):`);
  console.log(`  wulf fanout 50 : ${secs(fan.ms)} for ${N} nodes (${fan.ok} ok), ${(fan.ms / N).toFixed(1)} ms/node`);
  console.log(
    `  wulf fanout 1  : ${secs(serial.ms)} for ${SERIAL_N} nodes (${serial.ok} ok) → ${secs(serialAll)} for ${N} ` +
      `(extrapolated)${SERIAL_N === N ? ' (measured)' : ''}`,
  );
  console.log(`  ratio serial / fanout 50: ${(serialAll / fan.ms).toFixed(1)}×`);
  child.stdin.end();
  await child.exited;
}

// (B) ipmi_sim
if (Bun.which('ipmi_sim') && Bun.which('ipmitool')) {
  const { startSim } = await import('../test/power/helpers/ipmi-sim.ts');
  const M = Number(process.env.BENCH_SIMS ?? 50);
  const dir = mkdtempSync(join(tmpdir(), 'wpower-bench-'));
  const sims = [];
  try {
    for (let i = 0; i < M; i++) sims.push(await startSim(join(dir, `b${i}`), { password: 'bench-pw' }));
    const targets: PowerTarget[] = sims.map((s, i) => ({
      node: `s${i}`,
      ipmi: { ipaddr: '127.0.0.1', port: String(s.port), username: 'admin', password: 'bench-pw' },
    }));
    const fan = await timeRun(targets, 50);
    const serial = await timeRun(targets, 1);
    const lines = sims.map((s) => String(s.port)).join('\n');
    const t0 = performance.now();
    const ref = Bun.spawnSync(
      ['sh', '-c', `xargs -P 50 -I{} ipmitool -I lanplus -C 3 -H 127.0.0.1 -p {} -U admin -E chassis power status > /dev/null`],
      { stdin: Buffer.from(lines + '\n'), env: { ...process.env, IPMI_PASSWORD: 'bench-pw' } },
    );
    const refMs = performance.now() - t0;
    console.log(`ipmi_sim, ${M} BMCs, ipmitool -C 3:`);
    console.log(`  wulf fanout 50 : ${secs(fan.ms)} (${fan.ok} ok)`);
    console.log(`  wulf fanout 1  : ${secs(serial.ms)} (${serial.ok} ok)   ratio ${(serial.ms / fan.ms).toFixed(1)}×`);
    console.log(`  reference xargs -P 50 ipmitool: ${secs(refMs)} (exit ${ref.exitCode})   wulf/reference ${(fan.ms / refMs).toFixed(2)}×`);
  } finally {
    for (const s of sims) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
} else console.log('ipmi_sim / ipmitool missing: part B skipped (apt-get install -y openipmi ipmitool)');
