import { expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { release } from 'node:os';

// In a child process: the hint sticks to the calling thread, which here would be the test runner's.
test("requestShortSlice sets the calling thread's EEVDF slice (Linux ≥ 6.12), and is harmless elsewhere", () => {
  const script = `
    const { requestShortSlice } = await import(${JSON.stringify(new URL('../../src/lib/sched-libc.ts', import.meta.url).pathname)});
    const ok = requestShortSlice(100);
    let slice = null;
    try { slice = Number(/se\\.slice\\s*:\\s*(\\d+)/.exec(require('fs').readFileSync('/proc/thread-self/sched', 'utf8'))?.[1] ?? NaN); } catch {}
    console.log(JSON.stringify({ ok, slice }));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const { ok, slice } = JSON.parse(r.stdout.trim()) as { ok: boolean; slice: number | null };
  const [major, minor] = release().split('.').map(Number) as [number, number];
  if (process.platform === 'linux' && (major > 6 || (major === 6 && minor >= 12)) && ['x64', 'arm64'].includes(process.arch)) {
    expect(ok).toBe(true);
    if (slice !== null && !Number.isNaN(slice)) expect(slice).toBe(100_000); // ns; /proc/<tid>/sched needs CONFIG_SCHED_DEBUG
  }
});
