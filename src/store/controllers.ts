// Controllers on the PostgreSQL store: the registry (one row per `wulf serve`, a heartbeat every
// few seconds), the dynamic range each one owns (an exclusion constraint refuses two that overlap)
// and the DHCP leases (the address is the primary key: a claim by another MAC is refused by the
// database, not by a check here). Ages are computed with the database's clock, never the local one.
import { WulfError } from '../lib/errors.ts';
import type { PostgresStore } from './postgres.ts';

/** A controller is alive while its last heartbeat is younger than this (it beats every 5 s). */
export const ALIVE_SECONDS = 15;

export interface ControllerInfo {
  name: string;
  /** what tells this run from another with the same name (host, pid, a random part) */
  instance: string;
  host: string;
  pid: number;
  addresses: string[];
  /** provisioning interfaces and the networks (CIDR) of its addresses */
  segments: string[];
  /** http://ip:port a peer can reach */
  url: string;
  version: string;
}

export interface ControllerRow {
  name: string;
  host: string;
  addresses: string[];
  segments: string[];
  url: string;
  version: string;
  /** the dynamic ranges it owns, [first, last] each */
  ranges: [string, string][];
  startedAt: Date;
  heartbeatAt: Date;
  /** seconds since the last heartbeat, by the database's clock */
  ageSeconds: number;
  alive: boolean;
  stopped: boolean;
}

export interface IpRange {
  start: string;
  end: string;
}

const LOCK_KEY = 0x77756c66; // "wulf", with hashtext(name) as the second key

/** Is a process with this pid running on this machine? */
function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Register (or re-register) this controller. A live controller with the same name is refused in one
 * line, unless it is a run of this machine whose process is gone (a crash and a quick restart).
 */
export async function registerController(store: PostgresStore, c: ControllerInfo): Promise<void> {
  await store.run((sql) =>
    sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOCK_KEY}, hashtext(${c.name}))`;
      const [old] = await tx`select instance, host, pid, url,
          (stopped_at is null and heartbeat_at > now() - make_interval(secs => ${ALIVE_SECONDS})) as alive,
          extract(epoch from now() - heartbeat_at)::float8 as age
        from wulf_controllers where name = ${c.name}`;
      if (old?.alive && old.instance !== c.instance && !(old.host === c.host && !pidRunning(Number(old.pid)))) {
        throw new WulfError(
          `controller "${c.name}" is already running (${old.url} on ${old.host}, pid ${old.pid}, ` +
            `heartbeat ${Math.round(Number(old.age))} s ago); nothing was started`,
          { hint: 'give this one another name: WULF_CONTROLLER=… (default: the host name)', code: 'ECONTROLLER' },
        );
      }
      await tx`insert into wulf_controllers (name, instance, host, pid, addresses, segments, url, version)
        values (${c.name}, ${c.instance}, ${c.host}, ${c.pid}, ${JSON.stringify(c.addresses)}::text::json,
                ${JSON.stringify(c.segments)}::text::json, ${c.url}, ${c.version})
        on conflict (name) do update set instance = excluded.instance, host = excluded.host, pid = excluded.pid,
          addresses = excluded.addresses, segments = excluded.segments, url = excluded.url, version = excluded.version,
          started_at = now(), heartbeat_at = now(), stopped_at = null`;
    }),
  );
}

/** One heartbeat; false when the row is no longer this run's (taken over, or deleted). */
export async function heartbeat(store: PostgresStore, name: string, instance: string): Promise<boolean> {
  const rows = await store.run(
    (sql) => sql`update wulf_controllers set heartbeat_at = now() where name = ${name} and instance = ${instance} returning name`,
  );
  return rows.length > 0;
}

/** A clean stop: the row stays (its ranges too), marked stopped. */
export async function stopController(store: PostgresStore, name: string, instance: string): Promise<void> {
  await store.run((sql) => sql`update wulf_controllers set stopped_at = now() where name = ${name} and instance = ${instance}`);
}

/** Remove a controller that is not alive, with its ranges; false when there is none by that name. */
export async function deleteController(store: PostgresStore, name: string): Promise<boolean> {
  return store.run((sql) =>
    sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOCK_KEY}, hashtext(${name}))`;
      const [row] = await tx`select (stopped_at is null and heartbeat_at > now() - make_interval(secs => ${ALIVE_SECONDS})) as alive
        from wulf_controllers where name = ${name}`;
      if (!row) return false;
      if (row.alive)
        throw new WulfError(`controller "${name}" is alive (heartbeat within ${ALIVE_SECONDS} s); nothing was deleted`, {
          hint: 'stop its wulf serve first',
        });
      await tx`delete from wulf_controllers where name = ${name}`;
      return true;
    }),
  );
}

/** Every registered controller, by name, alive or not (ages by the database's now()). */
export async function listControllers(store: PostgresStore): Promise<ControllerRow[]> {
  const rows = await store.run(
    (sql) => sql`select c.name, c.host, c.addresses::text as addresses, c.segments::text as segments, c.url, c.version,
        c.started_at, c.heartbeat_at, c.stopped_at is not null as stopped,
        extract(epoch from now() - c.heartbeat_at)::float8 as age,
        (c.stopped_at is null and c.heartbeat_at > now() - make_interval(secs => ${ALIVE_SECONDS})) as alive,
        (select json_agg(json_build_array(host(r.first_ip), host(r.last_ip)) order by r.first_ip)::text
           from wulf_ranges r where r.controller = c.name) as ranges
      from wulf_controllers c order by c.name`,
  );
  return (rows as Record<string, unknown>[]).map((r) => ({
    name: String(r.name),
    host: String(r.host),
    addresses: JSON.parse(String(r.addresses)) as string[],
    segments: JSON.parse(String(r.segments)) as string[],
    url: String(r.url),
    version: String(r.version),
    ranges: r.ranges ? (JSON.parse(String(r.ranges)) as [string, string][]) : [],
    startedAt: new Date(r.started_at as Date),
    heartbeatAt: new Date(r.heartbeat_at as Date),
    ageSeconds: Number(r.age),
    alive: Boolean(r.alive),
    stopped: Boolean(r.stopped),
  }));
}

const sqlState = (e: unknown) => String((e as { errno?: unknown })?.errno ?? '');

/**
 * Claim this controller's dynamic range, replacing its previous claim (none: claim nothing). A range
 * that overlaps another controller's is refused by the database; the refusal names both ranges.
 */
export async function claimRange(store: PostgresStore, controller: string, range: IpRange | undefined): Promise<void> {
  await store.run(async (sql) => {
    try {
      await sql.begin(async (tx) => {
        await tx`delete from wulf_ranges where controller = ${controller}`;
        if (range)
          await tx`insert into wulf_ranges (controller, first_ip, last_ip) values (${controller}, ${range.start}::inet, ${range.end}::inet)`;
      });
    } catch (e) {
      if (!range || sqlState(e) !== '23P01') throw e;
      const [other] = await sql`select controller, host(first_ip) as first, host(last_ip) as last from wulf_ranges
        where controller <> ${controller}
          and r && int8range(${range.start}::inet - '0.0.0.0'::inet, ${range.end}::inet - '0.0.0.0'::inet, '[]')
        order by first_ip limit 1`;
      const theirs = other ? `controller "${other.controller}"'s range ${other.first}–${other.last}` : "another controller's range";
      throw new WulfError(`dhcp range ${range.start}–${range.end} of controller "${controller}" overlaps ${theirs}; nothing was started`, {
        hint:
          'each controller hands out its own addresses: change dhcp range start/end in wulf.conf' +
          (other ? `, or remove a dead one: wulf controller delete ${other.controller}` : ''),
        code: 'ERANGE',
      });
    }
  });
}

/**
 * Claim (or renew) a dynamic lease: true when `ip` is now held by `mac` for `ttlMs`, false when the
 * database refused it because another MAC holds it unexpired. One statement; the primary key on the
 * address makes two winners impossible.
 */
export async function claimLease(
  store: PostgresStore,
  l: { ip: string; mac: string; controller: string; ttlMs: number },
): Promise<boolean> {
  const rows = await store.run(
    (sql) => sql`insert into wulf_leases (ip, mac, controller, expires)
      values (${l.ip}::inet, ${l.mac}, ${l.controller}, now() + ${Math.max(0, Math.round(l.ttlMs))}::bigint * interval '1 millisecond')
      on conflict (ip) do update set mac = excluded.mac, controller = excluded.controller, expires = excluded.expires, updated_at = now()
        where wulf_leases.mac = excluded.mac or wulf_leases.expires <= now()
      returning mac`,
  );
  return rows.length > 0;
}

/** A released lease: expired now, when `mac` still holds it. */
export async function releaseLease(store: PostgresStore, ip: string, mac: string): Promise<void> {
  await store.run((sql) => sql`update wulf_leases set expires = now(), updated_at = now() where ip = ${ip}::inet and mac = ${mac}`);
}
