// Sends mutated DHCP packets (the fuzz generator over the real captures) from udp/68 of this network
// namespace to each target ip:port, with SO_BROADCAST. Prints "sent N" when done.
// Usage: bun test/dhcp/fuzz-send.ts COUNT SEED TARGET...
import dgram from 'node:dgram';
import { allPayloads, mutateDhcp, rng } from './helpers.ts';

const [count, seed, ...targets] = process.argv.slice(2);
const seeds = allPayloads();
const r = rng(Number(seed));
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
await new Promise<void>((res) => s.bind(68, '0.0.0.0', () => res()));
s.setBroadcast(true);
let sent = 0;
for (let i = 0; i < Number(count); i++) {
  const b = mutateDhcp(r, seeds);
  for (const t of targets) {
    const [host, port] = t.split(':');
    await new Promise<void>((res) =>
      s.send(b, Number(port), host!, (e) => {
        if (!e) sent++;
        else if (process.env.DEBUG) console.error(t, e.message);
        res();
      }),
    );
  }
  if (i % 10 === 9) await Bun.sleep(1); // paced: the point is what arrives, not the receive buffer
}
console.log(`sent ${sent}`);
s.close();
