// What the HTTP handlers share: the providers serve.ts hands in, what the listener tells the app
// about a request (Bindings), and what the middleware resolves for the handlers (Variables).
import type { Logger } from '../lib/log.ts';
import type { MergedNode } from '../config/cascade.ts';
import type { StatusBoard, Stage } from '../runtime/board.ts';

export interface Artifact {
  path: string;
  size: number;
  etag: string;
}
/** An artifact this controller does not hold yet (fetched from a peer meanwhile): 503 with Retry-After, never other bytes. */
export interface Pending {
  pending: true;
  retryAfter: number;
  reason: string;
}
export type Served = Artifact | Pending | undefined;
export const isPending = (a: Served): a is Pending => !!a && 'pending' in a;
export interface Peer {
  address: string;
  port: number;
}
export interface Providers {
  log: Logger;
  status: StatusBoard;
  /** node id for a MAC, discovering a `discoverable` node for an unknown one */
  nodeByMac(mac: string): Promise<MergedNode | undefined>;
  kernel(node: MergedNode): Served | Promise<Served>;
  image(node: MergedNode): Served | Promise<Served>;
  overlay(node: MergedNode, kind: 'system' | 'runtime'): Promise<Artifact | undefined>;
  /** GET /artifacts/sha256/<hex>: a verified file this controller holds with that digest (peers fetch by digest) */
  artifactByDigest?(digest: string): Promise<Artifact | undefined>;
  ipxeBinary(name: string): Uint8Array | undefined;
  /** the addresses a node holds: its nodes.conf addresses and its MACs' current DHCP leases */
  nodeAddresses?(node: MergedNode): string[];
  settings(): Settings;
}
export interface Settings {
  authority: string;
  secure: boolean;
  confDir: string;
  /** system and runtime overlays only to an address the node holds (nodeAddresses) */
  secureAddress?: boolean;
  /** an HTTPS listener runs on tlsPort: in secure mode the runtime overlay is served there only */
  tls?: boolean;
  tlsPort?: number;
}
/** The Bun server's side of hono's getConnInfo (hono/bun): the peer of a request. */
export interface PeerSource {
  requestIP(req: Request): { address: string; port: number; family?: string } | null;
}
/**
 * What the listener tells the app about a request: the Bun server (the peer comes from it through
 * getConnInfo) or the peer itself (app.request() in tests), and whether it came over TLS.
 */
export interface Bindings {
  server?: PeerSource;
  peer?: Peer;
  tls?: boolean;
}
/** What the provisioning middleware resolves, in order, for the handler of one artifact. */
export interface Variables {
  peer: Peer | undefined;
  /** the peer's address without an IPv4-mapped prefix ('' when unknown) */
  ip: string;
  stage: Stage;
  mac: string;
  node: MergedNode;
  settings: Settings;
  /** the agent marks its periodic runtime fetches (?agent=…): they tell a live node from a dead one */
  agent: boolean;
  /** what the status board gets for this request once the response is made (recordStatus) */
  sent: { sent: string; opts?: Parameters<StatusBoard['record']>[4] } | undefined;
}
export interface HttpEnv {
  Bindings: Bindings;
  Variables: Variables;
}

/** An address in one spelling: no IPv4-mapped prefix, IPv6 compressed and lower case. */
export function canonicalIp(a: string): string {
  const v = a
    .trim()
    .toLowerCase()
    .replace(/^::ffff:(?=\d+\.)/, '')
    .replace(/^\[|\]$/g, '');
  if (!v.includes(':')) return v;
  try {
    return new URL(`http://[${v}]/`).hostname.slice(1, -1);
  } catch {
    return v;
  }
}
