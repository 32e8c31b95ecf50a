// The provisioning seam: what a MAC (or an address) gets, asked by DHCP, TFTP and HTTP alike. The
// listeners only speak their protocol; which node a request is, what it is offered and which files
// it is sent are answered here, from the current configuration, the leases and the image and
// overlay services.
import type { MergedNode } from '../config/cascade.ts';
import type { Paths } from '../config/paths.ts';
import { leaseOfMac } from '../dhcp/leases.ts';
import type { PolicyContext } from '../dhcp/policy.ts';
import { statArtifact, type Artifact, type Served } from '../http/app.ts';
import { findKernel, imageArtifactPath } from '../images/service.ts';
import type { OverlayService } from '../overlays/service.ts';
import type { ConfigSource } from './config-source.ts';
import type { ServerRuntime } from './runtime-state.ts';
import type { SiteBoot } from './bootfiles.ts';
import type { ArtifactResolver } from './artifacts.ts';

export interface Provisioning {
  /** the node a MAC belongs to, discovering a `discoverable` node for an unknown one */
  nodeByMac(mac: string): Promise<MergedNode | undefined>;
  /** the node an address is reserved for (TFTP knows only the address) */
  nodeByIp(ip: string): string | undefined;
  isKnownMac(mac: string): boolean;
  /** everything the DHCP policy decides from, now */
  dhcpContext(): PolicyContext;
  /** the kernel / image file (on the PostgreSQL store: the one with the store's digest, or Pending while fetched from a peer) */
  kernel(node: MergedNode): Served | Promise<Served>;
  image(node: MergedNode): Served | Promise<Served>;
  overlay(node: MergedNode, kind: 'system' | 'runtime'): Promise<Artifact>;
  /** a verified file with this digest, for a peer controller (PostgreSQL store only) */
  artifactByDigest?(digest: string): Promise<Artifact | undefined>;
  /** the addresses a node holds: its nodes.conf addresses and its MACs' current DHCP leases */
  nodeAddresses(node: MergedNode): string[];
}

export interface ProvisioningDeps {
  paths: Paths;
  config: ConfigSource;
  runtime: ServerRuntime;
  overlays: OverlayService;
  boot: SiteBoot;
  discover(mac: string): Promise<void>;
  serverIp: string;
  httpPort: number;
  /** the dynamic range this controller may hand out from (the one it holds in the PostgreSQL store); default: wulf.conf's */
  dynamicRange?: () => { start: string; end: string } | undefined;
  /** artifacts by digest (PostgreSQL store); absent: the local builds, as on the files */
  artifacts?: ArtifactResolver;
}

function localKernel(d: ProvisioningDeps, n: MergedNode): Artifact | undefined {
  const k = n.data.imageName ? findKernel(d.paths, n.data.imageName, n.data.kernel?.version) : undefined;
  return k ? statArtifact(k.path) : undefined;
}

function localImage(d: ProvisioningDeps, n: MergedNode): Artifact | undefined {
  const a = n.data.imageName ? imageArtifactPath(d.paths, n.data.imageName) : undefined;
  return a ? { path: a.path, size: a.size, etag: a.digest } : undefined;
}

export function createProvisioning(d: ProvisioningDeps): Provisioning {
  const snap = () => d.config.current();
  return {
    async nodeByMac(mac) {
      await d.config.fresh();
      const known = snap().byMac.get(mac);
      if (known) return known;
      await d.discover(mac);
      return snap().byMac.get(mac);
    },
    nodeByIp(ip) {
      for (const r of snap().reservations.values()) if (r.ipaddr === ip) return r.node;
      return undefined;
    },
    isKnownMac: (mac) => snap().byMac.has(mac),
    dhcpContext() {
      const { wulf, reservations } = snap();
      const { rangeStart, rangeEnd } = wulf.dhcp;
      return {
        serverIp: d.serverIp,
        netmask: wulf.netmask || '255.255.255.0',
        mode: wulf.dhcp.mode === 'proxy' ? 'proxy' : 'full',
        reservations,
        leases: d.runtime.leases(),
        now: Date.now(),
        httpBase: `http://${d.serverIp}:${d.httpPort}`,
        range: d.dynamicRange ? d.dynamicRange() : rangeStart && rangeEnd ? { start: rangeStart, end: rangeEnd } : undefined,
        bootfiles: d.boot.bootfiles(wulf),
        leaseTime: wulf.dhcp.leaseTime,
      };
    },
    kernel(n) {
      if (d.artifacts) return d.artifacts.kernel(n).then((a) => (a === 'local' ? localKernel(d, n) : a));
      return localKernel(d, n);
    },
    image(n) {
      if (d.artifacts) return d.artifacts.image(n).then((a) => (a === 'local' ? localImage(d, n) : a));
      return localImage(d, n);
    },
    ...(d.artifacts ? { artifactByDigest: d.artifacts.byDigest } : {}),
    async overlay(n, kind) {
      const a = await d.overlays.archive(n.id, kind);
      return { path: a.path, size: a.size, etag: a.hash };
    },
    nodeAddresses(n) {
      const now = Date.now();
      const held = [...(snap().addresses.get(n.id) ?? [])];
      for (const nd of Object.values(n.data.networkDevices ?? {})) {
        const l = nd.hwaddr ? leaseOfMac(d.runtime.leases(), nd.hwaddr.toLowerCase(), now) : undefined;
        if (l) held.push(l.ip);
      }
      return held;
    },
  };
}
