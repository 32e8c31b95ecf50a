// IPv6 router advertisements (src/serve/ra.ts, raw ICMPv6 through bun:ffi) between the two ends of a
// veth pair in a network namespace this test creates and deletes; a Python raw socket receives.
import { test, expect } from 'bun:test';
import { join } from 'node:path';

const NS = `wserve-ra-${process.pid}`;
const sh = (cmd: string) => Bun.spawnSync(['sh', '-c', cmd], { stderr: 'pipe', stdout: 'pipe' });
const bun = process.execPath;

test('RAs leave the interface for ff02::1 with hop limit 255, router lifetime 0, from a link-local source', async () => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root (network namespaces, raw sockets)');
  if (!Bun.which('python3')) throw new Error('python3 is missing (apt-get install python3)');
  const setup = sh(
    `ip netns add ${NS} && ip netns exec ${NS} sh -c 'sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 && ` +
      `ip link add wra0 type veth peer name wra1 && ip link set wra0 up && ip link set wra1 up'`,
  );
  try {
    expect(setup.stderr.toString()).toBe('');
    const recv = Bun.spawn(['ip', 'netns', 'exec', NS, 'python3', join(import.meta.dir, 'helpers/ra-recv.py'), 'wra1', '10'], {
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const reader = recv.stdout.getReader();
    let out = '';
    while (!out.includes('ready')) {
      const r = await reader.read();
      if (r.done) break;
      out += new TextDecoder().decode(r.value);
    }
    const script = `import { startRouterAdvertisements } from ${JSON.stringify(join(import.meta.dir, '../../src/serve/ra.ts'))};
import { createLogger } from ${JSON.stringify(join(import.meta.dir, '../../src/lib/log.ts'))};
const r = startRouterAdvertisements('wra0', createLogger({ write: (l) => console.error(l) }), 300);
await Bun.sleep(1500); console.log(r ? r.sent() : -1); r?.stop();`;
    const send = Bun.spawnSync(['ip', 'netns', 'exec', NS, bun, '-e', script], { stdout: 'pipe', stderr: 'pipe' });
    expect(send.stderr.toString()).toContain('sending IPv6 router advertisements on wra0');
    expect(Number(send.stdout.toString().trim())).toBeGreaterThanOrEqual(3);
    while (out.split('\n').length < 3) {
      const r = await reader.read();
      if (r.done) break;
      out += new TextDecoder().decode(r.value);
    }
    await recv.exited;
    const [hex, src, hops, dst] = out.split('\n')[1]!.trim().split(' ');
    expect(hex!.slice(0, 2)).toBe('86'); // type 134
    expect(hex!.slice(8, 10)).toBe('40'); // cur hop limit 64
    expect(hex!.slice(12, 16)).toBe('0000'); // router lifetime 0: not a default router
    expect(hex!.length).toBe(32); // no options
    expect(src!.startsWith('fe80::')).toBe(true);
    expect(hops).toBe('255'); // receivers drop RAs that crossed a router
    expect(dst).toBe('ff02::1'); // all nodes on the link
  } finally {
    sh(`ip netns del ${NS}`);
  }
}, 30_000);

test('an unknown interface is a warning, not a crash', () => {
  const script = `import { startRouterAdvertisements } from ${JSON.stringify(join(import.meta.dir, '../../src/serve/ra.ts'))};
import { createLogger } from ${JSON.stringify(join(import.meta.dir, '../../src/lib/log.ts'))};
console.log(String(startRouterAdvertisements('wnosuch9', createLogger({ write: (l) => console.error(l) }))));`;
  const r = Bun.spawnSync([bun, '-e', script], { stdout: 'pipe', stderr: 'pipe' });
  expect(r.stdout.toString().trim()).toBe('undefined');
  expect(r.stderr.toString()).toContain('no interface wnosuch9');
});
