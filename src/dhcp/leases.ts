// The DHCP lease table as plain data: indexed by address and by MAC, changed only through
// applyLeaseChanges (the policy computes changes; the server applies them and persists leasesToJSON).

export type LeaseState = 'offered' | 'bound' | 'declined' | 'released';

export interface Lease {
  ip: string;
  /** Client MAC ("aa:bb:.."); empty for a declined address nobody owns. */
  mac: string;
  state: LeaseState;
  /** ms since the epoch; after this the address is free again. */
  expires: number;
  node?: string;
  hostname?: string;
}

export type LeaseChange = { op: 'set'; lease: Lease } | { op: 'delete'; ip: string };

export interface LeaseTable {
  byIp: Map<string, Lease>;
  /** mac -> ip of that MAC's current (offered or bound) lease. */
  byMac: Map<string, string>;
}

export function emptyLeases(): LeaseTable {
  return { byIp: new Map(), byMac: new Map() };
}

/** True while the lease keeps its address from everybody else. */
export function isActive(l: Lease | undefined, now: number): l is Lease {
  return l !== undefined && l.expires > now && l.state !== 'released';
}

/** The live lease of `mac`, if any (offered or bound and not expired). */
export function leaseOfMac(t: LeaseTable, mac: string, now: number): Lease | undefined {
  const ip = t.byMac.get(mac);
  if (ip === undefined) return undefined;
  const l = t.byIp.get(ip);
  return l && l.mac === mac && isActive(l, now) && (l.state === 'offered' || l.state === 'bound') ? l : undefined;
}

/** The most recent lease `mac` held, even expired or released (to give a client its old address back). */
export function lastLeaseOfMac(t: LeaseTable, mac: string): Lease | undefined {
  const ip = t.byMac.get(mac);
  if (ip === undefined) return undefined;
  const l = t.byIp.get(ip);
  return l && l.mac === mac ? l : undefined;
}

/** Is `ip` usable by `mac` now: free, expired, released, or already this MAC's? */
export function isFreeFor(t: LeaseTable, ip: string, mac: string, now: number): boolean {
  const l = t.byIp.get(ip);
  if (!isActive(l, now)) return true;
  return l.mac === mac && l.state !== 'declined';
}

/** Apply changes in place (the one writer of a table). Returns the table. */
export function applyLeaseChanges(t: LeaseTable, changes: readonly LeaseChange[]): LeaseTable {
  for (const c of changes) {
    if (c.op === 'delete') {
      const old = t.byIp.get(c.ip);
      t.byIp.delete(c.ip);
      if (old && t.byMac.get(old.mac) === c.ip) t.byMac.delete(old.mac);
      continue;
    }
    const l = c.lease;
    const old = t.byIp.get(l.ip);
    if (old && old.mac !== l.mac && t.byMac.get(old.mac) === l.ip) t.byMac.delete(old.mac);
    t.byIp.set(l.ip, l);
    if (l.mac) {
      const prevIp = t.byMac.get(l.mac);
      // One address per MAC: a new offer/bind frees the MAC's previous address.
      if (prevIp !== undefined && prevIp !== l.ip && l.state !== 'declined') {
        const prev = t.byIp.get(prevIp);
        if (prev && prev.mac === l.mac) t.byIp.delete(prevIp);
      }
      if (l.state !== 'declined') t.byMac.set(l.mac, l.ip);
    }
  }
  return t;
}

/** Drop leases that expired more than `graceMs` ago (keeps the table small; old MAC->IP memory goes too). */
export function pruneLeases(t: LeaseTable, now: number, graceMs = 24 * 3600_000): LeaseChange[] {
  const changes: LeaseChange[] = [];
  for (const l of t.byIp.values()) if (l.expires + graceMs < now) changes.push({ op: 'delete', ip: l.ip });
  applyLeaseChanges(t, changes);
  return changes;
}

/** Plain JSON/CBOR-friendly form: an array of leases. */
export function leasesToJSON(t: LeaseTable): Lease[] {
  return [...t.byIp.values()].map((l) => ({ ...l }));
}

/** Rebuild a table from leasesToJSON output; malformed entries are skipped. */
export function leasesFromJSON(data: unknown): LeaseTable {
  const t = emptyLeases();
  if (!Array.isArray(data)) return t;
  const states = new Set(['offered', 'bound', 'declined', 'released']);
  const changes: LeaseChange[] = [];
  for (const x of data) {
    if (!x || typeof x !== 'object') continue;
    const l = x as Record<string, unknown>;
    if (
      typeof l.ip !== 'string' ||
      typeof l.mac !== 'string' ||
      typeof l.expires !== 'number' ||
      typeof l.state !== 'string' ||
      !states.has(l.state)
    )
      continue;
    const lease: Lease = { ip: l.ip, mac: l.mac, state: l.state as LeaseState, expires: l.expires };
    if (typeof l.node === 'string') lease.node = l.node;
    if (typeof l.hostname === 'string') lease.hostname = l.hostname;
    changes.push({ op: 'set', lease });
  }
  return applyLeaseChanges(t, changes);
}
