// A hostile machine on the provisioning network: throws random and mutated datagrams at a running
// `wulf serve` — DHCP (mutated from the real firmware captures) to udp/67, unicast and broadcast,
// and TFTP to udp/69 — then prints what it sent as JSON. Run inside its own network namespace:
//   bun test/e2e/fuzz-peer.ts SERVER_IP COUNT_PER_PROTOCOL
import dgram from 'node:dgram';
import { allPayloads, mutateDhcp, rng } from '../dhcp/helpers.ts';
import { tftpMutator } from '../tftp/client.ts';

const [server = '10.99.0.1', countArg = '100000'] = process.argv.slice(2);
const count = Number(countArg);
const r = rng(0xf022);
const seeds = allPayloads();
const nextTftp = tftpMutator(r);

const open = (port: number) =>
  new Promise<dgram.Socket>((res) => {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.on('error', () => {}); // ICMP errors for replies we never read
    s.bind(port, () => {
      s.setBroadcast(true);
      s.setRecvBufferSize?.(1 << 20);
      res(s);
    });
  });
const dhcp = await open(68),
  tftp = await open(0);
let replies = 0;
dhcp.on('message', () => replies++);
tftp.on('message', () => replies++);

const sent = { dhcp: 0, tftp: 0, broadcast: 0 };
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  const broadcast = i % 10 === 0;
  dhcp.send(mutateDhcp(r, seeds), 67, broadcast ? '255.255.255.255' : server);
  if (broadcast) sent.broadcast++;
  sent.dhcp++;
  let t = nextTftp();
  if (t.length >= 2 && t[1] === 1 && r() < 0.9) t = t.subarray(0, 2); // few real transfers: keep the slots for the VMs
  tftp.send(t, 69, server);
  sent.tftp++;
  if (i % 50 === 49) await Bun.sleep(1); // ~25-40k datagrams/s per protocol: the server reads most of them
}
await Bun.sleep(500);
console.log(JSON.stringify({ ...sent, replies, seconds: +((performance.now() - t0) / 1000).toFixed(1) }));
dhcp.close();
tftp.close();
