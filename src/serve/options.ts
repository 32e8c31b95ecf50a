// What `wulf serve` is asked to do (the CLI's flags; tests pass ports of their own) and what it hands back.
import type { Logger } from '../lib/log.ts';
import type { Paths } from '../config/paths.ts';
import type { ConfigStore } from '../store/store.ts';
import type { StatusBoard } from '../runtime/board.ts';

export interface ServeOptions {
  paths: Paths;
  log: Logger;
  address?: string;
  /**
   * provisioning interface(s), comma-separated: DHCP listens and answers there only; RAs go there
   * (default dhcp.interface, else the one holding the address)
   */
  interface?: string;
  httpPort?: number;
  dhcpPort?: number;
  tftpPort?: number;
  /** HTTPS port (default warewulf.tls port; HTTP port + 1 when httpPort is given, 0 with 0) */
  tlsPort?: number;
  /** where replies to relay agents go (67; the loopback simulator uses another port) */
  dhcpRelayPort?: number;
  dhcp?: boolean;
  tftp?: boolean;
  /** send IPv6 router advertisements on the provisioning interfaces but lo (default: when root) */
  ra?: boolean;
  /** this controller's name among several on one PostgreSQL store (WULF_CONTROLLER; default: the host name) */
  controller?: string;
  /** nodes and profiles from this store instead of nodes.conf (PostgreSQL); absent: nodes.conf as always */
  store?: ConfigStore;
}
export interface RunningServer {
  httpPort: number;
  status: StatusBoard;
  /** the HTTPS port, undefined when TLS is off */
  tlsPort?: number;
  stop(): Promise<void>;
  /** re-read the configuration now (SIGHUP); a no-op when the revisions did not change */
  reload(): void;
}
