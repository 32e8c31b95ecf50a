// The controller's end of a VLAN on a bridge in a test namespace, for a host kernel without 802.1Q:
// a veth pair (one end a port of the bridge) and vlan-peer.py on the other end, which untags the
// VLAN's frames into a tap holding the address and tags what the tap sends (see that file).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Netns } from './netns.ts';

export interface VlanPeer {
  tap: string;
  stop(): void;
}

export async function startVlanPeer(ns: Netns, bridge: string, vid: number, cidr: string): Promise<VlanPeer> {
  const port = `vp${vid}a`,
    peer = `vp${vid}b`,
    tap = `${bridge}v${vid}`;
  ns.ip('link', 'add', port, 'type', 'veth', 'peer', 'name', peer);
  ns.ip('link', 'set', port, 'master', bridge, 'up');
  ns.ip('link', 'set', peer, 'up');
  const p: ChildProcess = spawn(
    'ip',
    ['netns', 'exec', ns.name, 'python3', join(import.meta.dir, 'vlan-peer.py'), peer, String(vid), tap],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  p.stdout!.on('data', (d) => {
    out += String(d);
  });
  p.stderr!.on('data', (d) => {
    out += String(d);
  });
  for (let i = 0; i < 100 && !out.includes('ready') && p.exitCode === null; i++) await Bun.sleep(100);
  if (!out.includes('ready')) {
    p.kill();
    throw new Error(`vlan-peer.py did not start: ${out}`);
  }
  ns.ip('addr', 'add', cidr, 'dev', tap);
  ns.ip('link', 'set', tap, 'up');
  return {
    tap,
    stop: () => {
      p.kill();
    },
  };
}
