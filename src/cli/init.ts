// `wulf init`: write wulf.conf and nodes.conf with defaults (a `default` profile like Warewulf's),
// detecting the provisioning interface and address, and create the state folders.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { WulfError, errorLine } from '../lib/errors.ts';
import { writeFileAtomic } from '../lib/atomic.ts';
import { ensureImageStore } from '../images/layout.ts';
import { isIPv4, maskToPrefix, networkOf, parseIPv4, formatIPv4 } from '../lib/ip.ts';
import type { Noun } from './command.ts';
import { defineCommand } from './define.ts';
import { defaultRuntimeOverlays, defaultSystemOverlays } from '../overlays/defaults.ts';
import { parseWulfConf } from '../config/wulfconf.ts';
import { ensureTls, serverNames } from '../serve/tls.ts';

interface Detected {
  iface: string;
  ipaddr: string;
  netmask: string;
}

/** The first non-loopback IPv4 interface (or the one named). */
export function detectInterface(name?: string): Detected | undefined {
  for (const [iface, addrs] of Object.entries(networkInterfaces())) {
    if (name && iface !== name) continue;
    for (const a of addrs ?? []) if (a.family === 'IPv4' && (name || !a.internal)) return { iface, ipaddr: a.address, netmask: a.netmask };
  }
  return undefined;
}

/** The interface that has this address (127.0.0.1 → lo), if any. */
function interfaceHolding(ip: string): string | undefined {
  for (const [iface, addrs] of Object.entries(networkInterfaces()))
    if ((addrs ?? []).some((a) => a.family === 'IPv4' && a.address === ip)) return iface;
  return undefined;
}

export function defaultWulfConfText(d: Detected, opts: { port?: number } = {}): string {
  const net = networkOf(d.ipaddr, d.netmask);
  const base = parseIPv4(net)!;
  const hosts = 2 ** (32 - maskToPrefix(d.netmask));
  const start = hosts >= 256 ? formatIPv4(base + Math.floor(hosts / 2)) : formatIPv4(base + Math.floor(hosts / 2));
  const end = formatIPv4(base + Math.min(hosts - 2, Math.floor(hosts / 2) + Math.max(1, Math.floor(hosts / 4))));
  return `# wulf server configuration (Warewulf warewulf.conf keys are accepted too)
ipaddr: ${d.ipaddr}
netmask: ${d.netmask}
network: ${net}
warewulf:
  port: ${opts.port ?? 9873}
  secure: false
  # HTTPS for the agents' runtime overlay fetches, with the cluster CA under tls/ (docs/security.md)
  tls: true
  tls port: ${(opts.port ?? 9873) === 65535 ? 65534 : (opts.port ?? 9873) + 1}
  update interval: 60
  autobuild overlays: true
dhcp:
  # full: wulf is the DHCP server; proxy: boot options beside a site DHCP server; off
  mode: full
  interface: ${d.iface}
  range start: ${start}
  range end: ${end}
tftp:
  enabled: true
nfs:
  enabled: true
  export paths:
    - path: /home
      export options: rw,sync
ssh:
  key types: [ed25519, ecdsa, rsa]
image mounts:
  - source: /etc/resolv.conf
    dest: /etc/resolv.conf
`;
}

export function defaultNodesConfText(): string {
  return `# wulf nodes.conf: profiles first, then nodes (Warewulf 4.7 layout)
nodeprofiles:
  default:
    comment: the default profile for every node
    runtime overlay: [${defaultRuntimeOverlays.join(', ')}]
    system overlay: [${defaultSystemOverlays.join(', ')}]
    kernel:
      args: [quiet, crashkernel=no, net.ifnames=1]
    init: /sbin/init
    root: initramfs
    ipxe template: default
    ipmi:
      template: ipmitool.tmpl
    resources:
      fstab:
        - spec: warewulf:/home
          file: /home
          vfstype: nfs
          mntops: defaults,nofail,x-systemd.automount
nodes: {}
`;
}

export const noun: Noun = {
  verbs: [],
  direct: defineCommand({
    name: '',
    summary: 'write default wulf.conf and nodes.conf (with a default profile) and create the state folders',
    flags: {
      interface: { type: 'string', help: 'provisioning interface (default: the first non-loopback one)', arg: 'IFACE' },
      address: { type: 'string', help: 'provisioning IPv4 address/prefix, e.g. 10.0.0.1/24 (default: detected)', arg: 'CIDR' },
      port: { type: 'string', help: 'HTTP port (default 9873)', arg: 'PORT' },
      force: { type: 'boolean', short: 'f', help: 'overwrite existing files' },
    },
    async run(ctx, { flags }) {
      let d: Detected | undefined;
      if (flags.address) {
        const [ip, p] = flags.address.split('/');
        if (!ip || !isIPv4(ip)) throw new WulfError(`--address "${flags.address}" is not an IPv4 address`);
        const prefix = p === undefined ? 24 : Number(p);
        if (!Number.isInteger(prefix) || prefix < 8 || prefix > 30)
          throw new WulfError(`--address "${flags.address}": prefix must be 8..30`);
        d = {
          iface: flags.interface ?? interfaceHolding(ip) ?? detectInterface()?.iface ?? 'eth0',
          ipaddr: ip,
          netmask: formatIPv4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0),
        };
      } else {
        d = detectInterface(flags.interface);
        if (!d)
          throw new WulfError(
            flags.interface ? `interface ${flags.interface} has no IPv4 address` : 'no network interface with an IPv4 address found',
            { hint: 'pass --address 10.0.0.1/24 --interface eth0' },
          );
      }
      const port = flags.port ? Number(flags.port) : undefined;
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535))
        throw new WulfError(`--port "${flags.port}" is not a port number`);
      const p = ctx.paths;
      for (const dir of [p.confDir, p.stateDir, p.siteOverlaysDir, p.cacheDir, p.tftpRoot, p.runDir]) mkdirSync(dir, { recursive: true });
      ensureImageStore(p); // 0700: image trees hold device nodes and setuid files
      const wrote: string[] = [];
      for (const [file, text] of [
        [p.wulfConf, defaultWulfConfText(d, { port })],
        [p.nodesConf, defaultNodesConfText()],
      ] as const) {
        if (existsSync(file) && !flags.force) {
          ctx.out(`kept ${file} (exists; --force overwrites)`);
          continue;
        }
        writeFileAtomic(file, text, { mode: 0o640, ...(existsSync(file) ? { backup: `${file}.bak` } : {}) });
        wrote.push(file);
      }
      for (const f of wrote) ctx.out(`wrote ${f}`);
      // the cluster CA and the server certificate (kept when present; re-issued for a new address)
      const conf = parseWulfConf(readFileSync(p.wulfConf, 'utf8'), p.wulfConf);
      if (conf.warewulf.tls) {
        let made: string | undefined;
        try {
          made = await ensureTls(p.confDir, serverNames(conf));
        } catch (e) {
          throw new WulfError(`cannot create the TLS files in ${p.confDir}/tls: ${errorLine(e)}`);
        }
        if (made) ctx.out(made);
      }
      ctx.out(`provisioning on ${d.iface} ${d.ipaddr}/${maskToPrefix(d.netmask)}`);
    },
  }),
};
