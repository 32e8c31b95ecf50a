// A stand-alone wulf DHCP server from source, for the DHCP benchmark and the network-namespace tests
// (until `wulf serve` wires it). Prints "READY" once bound, JSON events with --events, stops on SIGTERM.
// Usage: bun bench/dhcp-server.ts --server-ip 10.77.0.1 [--netmask 255.255.255.0] [--range A-B]
//          [--reserve mac=ip[=hostname]]... [--port 67] [--lease-time 3600] [--proxy] [--events] [--log debug]
//          [--broadcast 255.255.255.255] [--interface IF]...
import { createLogger } from '../src/lib/log.ts';
import { emptyLeases } from '../src/dhcp/leases.ts';
import type { PolicyContext, Reservation } from '../src/dhcp/policy.ts';
import { createDhcpServer } from '../src/dhcp/server.ts';
import { errorLine } from '../src/lib/errors.ts';

const argv = process.argv.slice(2);
const get = (k: string) => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : undefined;
};
const all = (k: string) => argv.flatMap((a, i) => (a === k && argv[i + 1] ? [argv[i + 1]!] : []));

const serverIp = get('--server-ip') ?? '10.77.0.1';
const range = get('--range')?.split('-');
const reservations = new Map<string, Reservation>();
for (const r of all('--reserve')) {
  const [mac, ip, hostname] = r.split('=');
  reservations.set(mac!.toLowerCase(), { ipaddr: ip!, hostname, node: hostname ?? mac! });
}
const leases = emptyLeases();
const base: Omit<PolicyContext, 'now'> = {
  serverIp,
  netmask: get('--netmask') ?? '255.255.255.0',
  mode: argv.includes('--proxy') ? 'proxy' : 'full',
  reservations,
  range: range ? { start: range[0]!, end: range[1]! } : undefined,
  leases,
  httpBase: `http://${serverIp}:9873`,
  bootfiles: { bios: 'undionly.kpxe', efi64: 'ipxe.efi' },
  leaseTime: Number(get('--lease-time') ?? 3600),
  gateway: serverIp,
};
const log = createLogger({ level: (get('--log') as 'debug' | undefined) ?? 'warn', write: (l) => process.stderr.write(l + '\n') });
const events = argv.includes('--events');
const server = createDhcpServer({
  port: Number(get('--port') ?? 67),
  bootServerPort: argv.includes('--proxy') ? 4011 : undefined,
  broadcastAddress: get('--broadcast'),
  ...(all('--interface').length ? { interfaces: all('--interface') } : {}),
  getContext: () => ({ ...base, now: Date.now() }),
  log,
  onEvent: events ? (e) => process.stdout.write(JSON.stringify(e) + '\n') : undefined,
});
try {
  await server.start();
} catch (e) {
  process.stderr.write(errorLine(e) + '\n');
  process.exit(1);
}
process.stdout.write('READY\n');
const stop = async () => {
  await server.stop();
  process.stderr.write(`stats ${JSON.stringify(server.stats())}\n`);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
