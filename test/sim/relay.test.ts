// The simulator's relay with several servers (failover): it forwards every request to each, takes
// the first OFFER, is not fooled by a second server's late OFFER while it waits for the ACK, and a
// dead server (nothing on its port: ICMP port unreachable) costs nothing to the live one.
import { test, expect, afterAll } from 'bun:test';
import dgram from 'node:dgram';
import { BOOTREPLY, decodePacket, encodePacket, messageType, newPacket } from '../../src/dhcp/packet.ts';
import { MessageType, Option } from '../../src/dhcp/options.ts';
import { dora, Relay, type SimOptions } from '../../src/sim/sim.ts';

const port = 20000 + Math.floor(Math.random() * 20000);
const relayPort = port + 1;
const sockets: dgram.Socket[] = [];

/** A DHCP server on ip:port answering relayed requests (OFFER after offerMs; ACK after ackMs, only to a REQUEST naming it). */
async function server(ip: string, offerMs: number, ackMs = 0): Promise<{ offers: number; acks: number }> {
  const n = { offers: 0, acks: 0 };
  const s = dgram.createSocket('udp4');
  sockets.push(s);
  s.on('message', (m) => {
    const d = decodePacket(m);
    if (!d.ok) return;
    const req = d.packet;
    const type = messageType(req);
    if (type === MessageType.Request && req.options.ip(Option.ServerIdentifier) !== ip) return;
    const reply = newPacket({ op: BOOTREPLY, xid: req.xid, chaddr: req.chaddr, giaddr: req.giaddr, yiaddr: '10.0.0.9', siaddr: ip });
    reply.options.setU8(Option.MessageType, type === MessageType.Discover ? MessageType.Offer : MessageType.Ack);
    reply.options.setIp(Option.ServerIdentifier, ip);
    if (type === MessageType.Discover) n.offers++;
    else n.acks++;
    setTimeout(() => s.send(encodePacket(reply), relayPort, req.giaddr), type === MessageType.Discover ? offerMs : ackMs);
  });
  await new Promise<void>((r) => s.bind(port, ip, () => r()));
  return n;
}

afterAll(() => {
  for (const s of sockets) s.close();
});

test('two live servers and a dead one: every node takes the first OFFER and gets its ACK from that server', async () => {
  const fast = await server('127.0.0.1', 0, 60);
  const slow = await server('127.0.0.2', 30); // its OFFER arrives while the node waits for the ACK
  const o: SimOptions = {
    server: '127.0.0.1',
    servers: ['127.0.0.3', '127.0.0.1', '127.0.0.2'], // 127.0.0.3: nothing listens there
    httpPort: 0,
    dhcpPort: port,
    tftpPort: 0,
    relayPort,
  };
  const relay = new Relay(o);
  await relay.open();
  try {
    const macs = Array.from({ length: 40 }, (_, i) => `52:54:00:aa:00:${i.toString(16).padStart(2, '0')}`);
    const acks = await Promise.all(macs.map((m) => dora(relay, o, m, false)));
    for (const a of acks) {
      expect(messageType(a)).toBe(MessageType.Ack);
      expect(a.options.ip(Option.ServerIdentifier)).toBe('127.0.0.1');
    }
    expect(fast.offers).toBe(40);
    expect(slow.offers).toBe(40); // asked too; it answered, late
    expect(fast.acks).toBe(40);
    expect(slow.acks).toBe(0); // the REQUEST named the other server
  } finally {
    relay.close();
  }
}, 30_000);
