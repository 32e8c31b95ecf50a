// Is a node alive? One rule for the server's /status, `wulf node status` and the TUI. Pure: the caller
// passes `now` (unix seconds).
//
// Warewulf's `wwctl node status` colours a row yellow when `now - last seen ≥ update interval + 5` and
// red when `≥ 2 × update interval`. Its last seen is any request, so a node that fetched its runtime
// overlay from iPXE and then died looks like one whose client polls. wulf tells them apart: the agent
// marks its periodic fetches (?agent=…), and
//  * a node whose agent has fetched since the node's last boot request is measured from that agent
//    fetch: up, late (≥ interval + 5 s), lost (≥ 2 × interval). A DHCP renewal does not keep it up;
//  * a node booting (no agent fetch since its last boot request: iPXE, kernel, image, overlays) is
//    measured from its last request: booting, then late and lost with the same thresholds (its agent
//    did not start);
//  * never: nothing heard.
// A record from a source that does not mark agent fetches (a Warewulf server, a state file written before
// wulf did) has no lastAgent at all: there its last runtime fetch counts as the agent's, as in Warewulf.

export type Liveness = 'up' | 'booting' | 'late' | 'lost' | 'never';

export interface LivenessInput {
  /** unix seconds of the last request of any kind */
  lastSeen?: number;
  /** unix seconds of the last agent refresh; 0: none; undefined: the source does not tell (see above) */
  lastAgent?: number;
  /** the last request's stage (used only when lastAgent is undefined) */
  stage?: string;
  /** the current boot's stages (the timeline); DHCP is left out, as renewals come from running nodes */
  timeline?: readonly { stage: string; start?: number; end?: number; seconds?: number }[];
}

/** The agent's default when the update interval is 0 (as Warewulf's wwclient). */
export const effectiveInterval = (interval: number) => (interval > 0 ? interval : 300);

/** Unix seconds of the node's last boot request (a timeline stage other than DHCP), or undefined. */
export function lastBootAt(s: LivenessInput): number | undefined {
  let t: number | undefined;
  for (const x of s.timeline ?? []) {
    if (x.stage === 'dhcp' || x.start === undefined) continue;
    const at = x.end ?? (x.seconds !== undefined ? x.start + x.seconds : x.start);
    if (t === undefined || at > t) t = at;
  }
  return t;
}

/** The node's state and the time it is measured from (undefined for never). */
export function liveness(s: LivenessInput | undefined, now: number, interval: number): { state: Liveness; since?: number } {
  if (!s?.lastSeen) return { state: 'never' };
  const iv = effectiveInterval(interval);
  const agentAt = s.lastAgent === undefined ? (s.stage === 'runtime' ? s.lastSeen : undefined) : s.lastAgent || undefined;
  const boot = lastBootAt(s);
  // whole seconds: /status floors "last agent" (as "last seen"), the timeline keeps fractions
  const agentUp = agentAt !== undefined && (boot === undefined || agentAt >= Math.floor(boot));
  const since = agentUp ? agentAt : s.lastSeen;
  const age = now - since;
  if (age >= 2 * iv) return { state: 'lost', since };
  if (age >= iv + 5) return { state: 'late', since };
  return { state: agentUp ? 'up' : 'booting', since };
}
