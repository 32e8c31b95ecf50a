// `wulf sim`: simulated nodes booting against a running server (the demo and load tests):
// DHCP as a relay agent, TFTP, iPXE script, kernel, image, overlays; then, as the node agent
// would, the runtime overlay every --agent seconds.
import { WulfError } from '../lib/errors.ts';
import { matchNodes } from '../lib/hostlist.ts';
import { readConfigured } from '../store/open.ts';
import { mergeAll } from '../config/cascade.ts';
import { bootMany, percentile, type BootResult } from '../sim/sim.ts';
import type { Noun } from './command.ts';
import { defineCommand } from './define.ts';

const num = (v: unknown, d: number, name: string) => {
  if (v === undefined) return d;
  const n = Number(String(v).replace(/s$/, ''));
  if (!Number.isFinite(n) || n < 0) throw new WulfError(`--${name} "${v}" is not a number`);
  return n;
};

/** With several servers or retries: which server answered, where the script came from and what it names, the attempts. */
function via(r: BootResult, show: boolean): string {
  if (!show) return '';
  const parts = [r.server ? `from ${r.server}` : '', r.scriptFrom ? `script ${r.scriptFrom} names ${r.scriptNames?.join(' ') || '-'}` : ''];
  if ((r.attempts ?? 1) > 1) parts.push(`attempt ${r.attempts} after: ${r.failures!.join('; ')}`);
  return `; ${parts.filter(Boolean).join(', ')}`;
}

export const noun: Noun = {
  verbs: [],
  direct: defineCommand({
    name: '',
    summary: 'boot simulated nodes against a running wulf serve: DHCP (as a relay), TFTP, iPXE, kernel, image, overlays',
    flags: {
      server: {
        type: 'string',
        help: 'server address (default 127.0.0.1); A,B: the relay forwards to each, nodes follow the addresses they are given',
        arg: 'IP',
      },
      giaddr: { type: 'string', help: "the relay's address, where servers send their replies (default 127.0.0.1)", arg: 'IP' },
      retries: { type: 'string', help: 'a node whose boot fails boots again from DHCP, up to N times (default 0)', arg: 'N' },
      'retry-wait': { type: 'string', help: 'pause before booting again, e.g. 1s (default 1s)', arg: 'S' },
      'http-port': { type: 'string', help: 'HTTP port (default 9873)', arg: 'PORT' },
      'dhcp-port': { type: 'string', help: 'server DHCP port (default 67)', arg: 'PORT' },
      'tftp-port': { type: 'string', help: 'server TFTP port (default 69)', arg: 'PORT' },
      'relay-port': { type: 'string', help: "port this relay listens on (the server's --dhcp-relay-port; default 67)", arg: 'PORT' },
      nodes: { type: 'string', help: 'nodes to simulate, by name or hostlist (their MACs come from nodes.conf)', arg: 'PATTERN' },
      concurrency: { type: 'string', help: 'boots at once (default 50)', arg: 'N' },
      interval: { type: 'string', help: 'pause after each boot, e.g. 2s (default 0)', arg: 'S' },
      agent: { type: 'string', help: 'after booting, fetch the runtime overlay every S seconds until stopped', arg: 'S' },
    },
    async run(ctx, { flags }) {
      const servers = String(flags.server ?? '127.0.0.1')
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      const o = {
        server: servers[0] ?? '127.0.0.1',
        servers,
        ...(flags.giaddr ? { giaddr: String(flags.giaddr) } : {}),
        retries: num(flags.retries, 0, 'retries'),
        retryWaitMs: num(flags['retry-wait'], 1, 'retry-wait') * 1000,
        httpPort: num(flags['http-port'], 9873, 'http-port'),
        dhcpPort: num(flags['dhcp-port'], 67, 'dhcp-port'),
        tftpPort: num(flags['tftp-port'], 69, 'tftp-port'),
        relayPort: num(flags['relay-port'], 67, 'relay-port'),
      };
      const show = servers.length > 1 || o.retries > 0;
      const merged = mergeAll(await readConfigured(ctx.paths, ctx.env));
      const chosen = flags.nodes
        ? matchNodes(
            [flags.nodes],
            merged.map((m) => m.id),
          )
        : merged.map((m) => m.id);
      const macs = merged
        .filter((m) => chosen.includes(m.id))
        .map((m) => m.data.networkDevices?.[m.primary ?? '']?.hwaddr)
        .filter((x): x is string => !!x);
      if (!macs.length) throw new WulfError('no nodes with a MAC address to simulate', { hint: 'wulf node set NODE --hwaddr MAC' });
      const results = await bootMany(o, macs, {
        concurrency: num(flags.concurrency, 50, 'concurrency'),
        intervalMs: num(flags.interval, 0, 'interval') * 1000,
        onResult: (r) =>
          ctx.out(
            r.ok
              ? `${r.mac}: booted in ${r.ms} ms (${Object.entries(r.stages)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', ')})${via(r, show)}`
              : `${r.mac}: FAILED after ${r.ms} ms: ${r.error}${via(r, show)}`,
          ),
      });
      const ok = results.filter((r) => r.ok).map((r) => r.ms);
      const again = results.filter((r) => (r.attempts ?? 1) > 1).length;
      const times = `time to booted p50 ${percentile(ok, 50)} ms, p99 ${percentile(ok, 99)} ms`;
      ctx.out(
        `${results.length} nodes: ${ok.length} booted, ${results.length - ok.length} errors; ${times}` +
          (show ? `; ${again} booted only after a retry` : ''),
      );
      const agent = flags.agent !== undefined ? num(flags.agent, 10, 'agent') : 0;
      if (agent > 0) {
        // like wulf-agent, whose first refresh follows the boot at once: the nodes show "up" right after booting
        for (;;) {
          await Promise.all(
            macs.map((m) =>
              fetch(`http://${o.server}:${o.httpPort}/runtime/${m}?agent=wulf-sim`).then(
                (r) => r.arrayBuffer(),
                () => undefined,
              ),
            ),
          );
          await Bun.sleep(agent * 1000);
        }
      }
      return results.length === ok.length ? 0 : 1;
    },
  }),
};
