// A controller among several on the PostgreSQL store: at start it registers (a second live one with the
// same name is refused) and claims its DHCP range (one overlapping another controller's is refused: the
// database's exclusion constraint), then beats every 5 s; its dynamic leases are claimed in the store
// before they are sent. On the files there is one controller and none of this runs.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { errorLine } from '../lib/errors.ts';
import { buildInfo } from '../lib/assets.ts';
import type { Logger } from '../lib/log.ts';
import type { WulfConf } from '../config/wulfconf.ts';
import type { LeaseChange } from '../dhcp/leases.ts';
import { ipNum, numIp } from '../dhcp/policy.ts';
import type { PostgresStore } from '../store/postgres.ts';
import {
  claimLease,
  claimRange,
  heartbeat,
  registerController,
  releaseLease,
  stopController,
  type ControllerInfo,
  type IpRange,
} from '../store/controllers.ts';
import { provisioningInterfaces } from './listeners.ts';
import type { ServeOptions } from './options.ts';

export const HEARTBEAT_MS = 5000;
/** A claim the store does not answer within this is not waited for (see claim below). */
const CLAIM_WAIT_MS = 2000;

/** What the DHCP server asks the store about its dynamic leases. */
export interface LeaseHooks {
  claim(ip: string, mac: string, expires: number): Promise<boolean>;
  /** after the table changed: released leases are expired in the store too */
  changed(changes: LeaseChange[]): void;
}

export interface Cluster {
  name: string;
  leases: LeaseHooks;
  /** the dynamic range this controller holds in the store now (DHCP hands out from it alone) */
  range(): IpRange | undefined;
  /** wulf.conf changed: a new dhcp range is claimed; refused, the old one stays in use */
  configChanged(wulf: WulfConf): void;
  stop(): Promise<void>;
}

export interface Where {
  wulf: WulfConf;
  address: string;
  serverIp: string;
  httpPort: number;
}

/** The network of `ip`/`netmask` as CIDR, e.g. 10.0.0.0/24. */
export function cidrOf(ip: string, netmask: string): string | undefined {
  const a = ipNum(ip);
  const m = ipNum(netmask);
  if (a < 0 || m < 0) return undefined;
  const bits = m.toString(2).replace(/0+$/, '').length;
  return `${numIp((a & m) >>> 0)}/${m === 0 ? 0 : bits}`;
}

export function controllerInfo(o: ServeOptions, w: Where): ControllerInfo {
  const name = o.controller ?? hostname();
  const addresses = [...new Set([w.serverIp, w.address].filter((a) => a && a !== '0.0.0.0'))];
  const ifaces = provisioningInterfaces(o.interface ?? w.wulf.dhcp.interface, w.serverIp);
  const nets = addresses.map((a) => cidrOf(a, w.wulf.netmask || '255.255.255.0')).filter((n): n is string => !!n);
  return {
    name,
    instance: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    host: hostname(),
    pid: process.pid,
    addresses,
    segments: [...new Set([...ifaces, ...nets])],
    url: `http://${addresses[0] ?? hostname()}:${w.httpPort}`,
    version: buildInfo().version,
  };
}

/** The range this controller hands out from: its wulf.conf dhcp range when it runs a full DHCP server. */
function ownRange(o: ServeOptions, wulf: WulfConf): IpRange | undefined {
  const { rangeStart, rangeEnd, mode } = wulf.dhcp;
  if (o.dhcp === false || mode !== 'full' || !rangeStart || !rangeEnd) return undefined;
  return { start: rangeStart, end: rangeEnd };
}

/** Join the controllers on the PostgreSQL store (undefined on the files): register, claim the range, beat. */
export async function joinCluster(o: ServeOptions, db: PostgresStore | undefined, w: Where): Promise<Cluster | undefined> {
  if (!db) return undefined;
  const log = o.log;
  const me = controllerInfo(o, w);
  let range = ownRange(o, w.wulf);
  const join = async () => {
    await registerController(db, me);
    await claimRange(db, me.name, range);
  };
  try {
    await join();
  } catch (e) {
    await stopController(db, me.name, me.instance).catch(() => {}); // refused at start: not left looking alive
    throw e;
  }
  const show = (r: IpRange | undefined) => (r ? `range ${r.start}–${r.end}` : 'no dynamic range');
  log.info('cluster', `controller "${me.name}" registered (${me.url}; segments ${me.segments.join(', ') || 'none'}; ${show(range)})`);
  let claiming: IpRange | undefined;
  /** a range change the store could not be asked about (PostgreSQL away): asked again at the next heartbeat */
  let retry: WulfConf | undefined;
  const beat = heartbeater(db, me, join, log, () => {
    if (retry) configChanged(retry);
  });
  const configChanged = (wulf: WulfConf) => {
    retry = undefined;
    const want = ownRange(o, wulf);
    const key = (r?: IpRange) => (r ? `${r.start}-${r.end}` : '');
    if (key(want) === key(range) || (want && key(want) === key(claiming))) return;
    claiming = want;
    claimRange(db, me.name, want)
      .then(
        () => {
          range = want;
          log.info('cluster', `dhcp: now ${show(range)}`);
        },
        (e) => {
          if ((e as { code?: string }).code === 'ESTOREDOWN') retry = wulf;
          log.warn('cluster', `${errorLine(e)}; still handing out from ${show(range)}`);
        },
      )
      .finally(() => {
        claiming = undefined;
      });
  };
  return { name: me.name, leases: leaseHooks(db, me.name, log), range: () => range, configChanged, stop: beat.stop };
}

/** The heartbeat every 5 s; a failure is one warning (and one line when it is back), never a crash. */
function heartbeater(db: PostgresStore, me: ControllerInfo, rejoin: () => Promise<void>, log: Logger, after: () => void) {
  let failing = false;
  let running: Promise<void> | undefined;
  const tick = async () => {
    try {
      // not ours any more (deleted, or taken over while this one was late): register and claim the range again, or say why not
      if (!(await heartbeat(db, me.name, me.instance))) await rejoin();
      if (failing) log.info('cluster', 'heartbeat written to PostgreSQL again');
      failing = false;
      after();
    } catch (e) {
      if (!failing) log.warn('cluster', `heartbeat failed (${errorLine(e)}); other controllers see this one as late until it is back`);
      failing = true;
    }
  };
  const timer = setInterval(() => {
    running ??= tick().finally(() => {
      running = undefined;
    });
  }, HEARTBEAT_MS);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await stopController(db, me.name, me.instance).catch(() => {});
    },
  };
}

/**
 * Leases in the store: a claim refused by the database (another MAC holds the address) is false; the
 * store unreachable (or slower than 2 s) is true — the address is from this controller's own range,
 * which no other controller may overlap — and the row is written at the client's next renewal.
 */
function leaseHooks(db: PostgresStore, controller: string, log: Logger): LeaseHooks {
  let downUntil = 0;
  return {
    async claim(ip, mac, expires) {
      if (Date.now() < downUntil) return true;
      const ttlMs = expires - Date.now();
      try {
        const won = await Promise.race([
          claimLease(db, { ip, mac, controller, ttlMs }),
          Bun.sleep(CLAIM_WAIT_MS).then(() => {
            throw new Error(`no answer within ${CLAIM_WAIT_MS / 1000} s`);
          }),
        ]);
        return won;
      } catch (e) {
        downUntil = Date.now() + HEARTBEAT_MS;
        log.limited(
          'lease-claim',
          'warn',
          'dhcp',
          `lease not recorded in PostgreSQL (${errorLine(e)}); handing out from this controller's own range`,
          { ip, mac },
        );
        return true;
      }
    },
    changed(changes) {
      for (const c of changes) {
        if (c.op === 'set' && c.lease.state === 'released' && c.lease.mac && !c.lease.node)
          releaseLease(db, c.lease.ip, c.lease.mac).catch(() => {});
      }
    },
  };
}
