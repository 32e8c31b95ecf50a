// DHCP benchmark: DORA/s of wulf's DHCP server vs dnsmasq (--no-ping), both driven by ISC perfdhcp
// from a client network namespace over a veth. Bounded: --seconds per server (default 10) at --rate.
// Usage (root): bun bench/dhcp.ts [--seconds 10] [--rate 4000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUN, createNsPair, requireTool, run, sh, startAndWait } from '../test/dhcp/netns.ts';

const argv = process.argv.slice(2);
const arg = (k: string, d: number) => {
  const i = argv.indexOf(k);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const seconds = arg('--seconds', 10);
const rate = arg('--rate', 4000);

requireTool('perfdhcp', 'kea-admin');
requireTool('dnsmasq', 'dnsmasq-base');
const NET = '10.77.3';
const ns = createNsPair('bn', NET);
const dir = mkdtempSync(join(tmpdir(), 'wdhcp-bench-'));

interface Result {
  name: string;
  sent: number;
  acks: number;
  offers: number;
  dora: number;
  drops: string;
}

function parse(name: string, out: string): Result {
  const sec = (title: string) => out.slice(out.indexOf(`Statistics for: ${title}`));
  const num = (s: string, key: string) => Number(new RegExp(`${key}: (\\d+)`).exec(s)?.[1] ?? NaN);
  const ra = sec('REQUEST-ACK'),
    doff = sec('DISCOVER-OFFER');
  const acks = num(ra, 'received packets');
  return {
    name,
    sent: num(doff, 'sent packets'),
    offers: num(doff, 'received packets'),
    acks,
    dora: acks / seconds,
    drops: /drops ratio: ([\d.]+) %/.exec(ra)?.[1] ?? '?',
  };
}

async function perf(name: string): Promise<Result> {
  const r = await run(
    ns.exec(ns.cli, ['perfdhcp', '-4', '-l', ns.cliIf, '-r', String(rate), '-R', '1000000', '-p', String(seconds)]),
    (seconds + 30) * 1000,
  );
  if (!/Statistics for: REQUEST-ACK/.test(r.out)) throw new Error(`perfdhcp against ${name} failed: ${r.err || r.out}`);
  return parse(name, r.out);
}

const results: Result[] = [];
try {
  sh(ns.exec(ns.cli, ['ip', 'addr', 'add', `${NET}.2/16`, 'dev', ns.cliIf]));
  sh(ns.exec(ns.srv, ['ip', 'addr', 'flush', 'dev', ns.srvIf]));
  sh(ns.exec(ns.srv, ['ip', 'addr', 'add', `${NET}.1/16`, 'dev', ns.srvIf]));

  // wulf (from source, as `wulf serve` will run it)
  const w = await startAndWait(
    ns.exec(ns.srv, [
      BUN,
      join(import.meta.dir, 'dhcp-server.ts'),
      '--server-ip',
      `${NET}.1`,
      '--netmask',
      '255.255.0.0',
      '--range',
      `${NET}.10-10.77.254.250`,
    ]),
    /^READY$/,
  );
  try {
    results.push(await perf('wulf'));
  } finally {
    w.proc.kill();
    await w.proc.exited;
  }

  // dnsmasq 2.90, DHCP only, no ping probe, leases in a temp file
  const d = Bun.spawn(
    ns.exec(ns.srv, [
      'dnsmasq',
      '--no-daemon',
      '--port=0',
      '--no-ping',
      '--bind-interfaces',
      `--interface=${ns.srvIf}`,
      '--no-resolv',
      '--no-hosts',
      '--user=root',
      '--dhcp-authoritative',
      '--dhcp-lease-max=1000000',
      '--quiet-dhcp',
      `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
      `--dhcp-range=${NET}.10,10.77.254.250,255.255.0.0,1h`,
    ]),
    { stdout: 'ignore', stderr: 'pipe' },
  );
  await Bun.sleep(500);
  try {
    results.push(await perf('dnsmasq'));
  } finally {
    d.kill();
    await d.exited;
  }
} finally {
  ns.teardown();
  rmSync(dir, { recursive: true, force: true });
}

console.log(`perfdhcp -r ${rate} for ${seconds} s per server (2-core machine, veth between two netns)`);
console.log('server    DISCOVER sent  OFFER recv  ACK recv  ACK drop%  DORA/s');
for (const r of results) {
  console.log(
    `${r.name.padEnd(9)} ${String(r.sent).padStart(13)} ${String(r.offers).padStart(11)} ${String(r.acks).padStart(9)} ` +
      `${r.drops.padStart(10)} ${r.dora.toFixed(0).padStart(7)}`,
  );
}
const [wr, dr] = results;
if (wr && dr) console.log(`ratio wulf/dnsmasq: ${(wr.dora / dr.dora).toFixed(2)}x`);
