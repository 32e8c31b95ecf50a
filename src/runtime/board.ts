// Node boot status: what each node fetched last, when, from where, and a per-stage timeline
// (dhcp → ipxe → kernel → image → system → runtime). Every DHCP/TFTP/HTTP event lands here;
// listeners (the SSE stream) hear every change. JSON keeps Warewulf's /status field names.
// The agent's periodic runtime fetches are not boot stages: they are recorded as stage "agent",
// with their time in lastAgent, and leave the boot timeline alone (src/runtime/liveness.ts).
import { liveness } from './liveness.ts';

export const STAGES = ['dhcp', 'ipxe', 'kernel', 'image', 'system', 'runtime'] as const;
export type Stage = (typeof STAGES)[number];

/** One stage of a boot. A file stage (kernel, image, system) ends when the node asks for the next
 *  stage (iPXE fetches them one after the other): sendfile gives no completion signal. */
export interface StageSpan {
  stage: Stage;
  start: number;
  end?: number;
  seconds?: number;
  bytes: number;
  /** the controller that served it (several controllers on one PostgreSQL store; absent on the files) */
  controller?: string;
}
const FILE_STAGES = new Set<string>(['kernel', 'image', 'system']);
export interface NodeStatus {
  node: string;
  stage: string;
  sent: string;
  ipaddr: string;
  lastSeen: number; // unix seconds
  /** unix seconds of the last agent refresh of the runtime overlay, 0 for none; absent in state files
   *  written before wulf told agent refreshes apart (src/runtime/liveness.ts then counts runtime fetches) */
  lastAgent?: number;
  timeline: StageSpan[];
}
/** The stage an agent refresh is shown as. */
export const AGENT_STAGE = 'agent';
/** A runtime fetch this long after the boot's system overlay is an agent's even when unmarked (an older agent, wwclient). */
const UNMARKED_AGENT_AFTER = 120;
export interface StatusEvent {
  seq: number;
  time: number;
  node: string;
  stage: string;
  sent: string;
  ipaddr: string;
  bytes?: number;
  /** the controller that served it (set when the board has a name: the PostgreSQL store) */
  controller?: string;
  /** what `record` was told besides, so another controller can replay the event as it happened */
  done?: boolean;
  refused?: boolean;
  /** recorded from another controller's event (src/serve/status-sync.ts): not written back */
  remote?: boolean;
}
/** How record() is told about an event. */
export interface RecordOpts {
  bytes?: number;
  done?: boolean;
  now?: number;
  agent?: boolean;
  refused?: boolean;
  /** another controller's event (its name in `controller`): the agent guess of a runtime fetch is not made again */
  remote?: boolean;
  controller?: string;
}
/** A MAC that asked for something but belongs to no node (candidates for `wulf node add --hwaddr`). */
export interface UnknownMac {
  mac: string;
  ipaddr: string;
  via: string;
  firstSeen: number;
  lastSeen: number;
  count: number;
}
const MAX_UNKNOWN = 1000;

export class StatusBoard {
  private nodes = new Map<string, NodeStatus>();
  private listeners = new Set<(s: NodeStatus, e: StatusEvent) => void>();
  private seq = 0;
  private unknown = new Map<string, UnknownMac>();
  readonly recent: StatusEvent[] = [];
  /** this controller's name on the PostgreSQL store: its events and stage spans carry it (absent on the files) */
  controller?: string;
  /** what /status tells about the server itself besides the nodes (the store's health); absent: nothing */
  serverInfo?: () => Record<string, unknown> | undefined;
  /** `interval`: the update interval in seconds (wulf.conf), read when states are computed. */
  constructor(
    private onChange: () => void = () => {},
    readonly interval: () => number = () => 60,
  ) {}

  load(saved: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(saved)) {
      const s = v as NodeStatus;
      if (s && typeof s === 'object' && typeof s.node === 'string')
        this.nodes.set(k, { ...s, timeline: Array.isArray(s.timeline) ? s.timeline : [] });
    }
  }

  /** Record an event for a node. A DHCP event of a node that was up starts a new timeline. */
  /** `refused`: a request turned away before any check of the node's own (WRONG_ADDRESS, HTTPS_ONLY): shown as
   *  the node's last event, but it is no boot stage and no agent refresh (another machine may have sent it). */
  record(node: string, stage: Stage | string, sent: string, ipaddr: string, opts: RecordOpts = {}): void {
    const controller = opts.controller ?? this.controller;
    const now = opts.now ?? Date.now() / 1000;
    let s = this.nodes.get(node);
    if (!s) {
      s = { node, stage: '', sent: '', ipaddr: '', lastSeen: 0, lastAgent: 0, timeline: [] };
      this.nodes.set(node, s);
    }
    if (stage === 'runtime' && !opts.refused && (opts.agent || (!opts.remote && this.unmarkedAgent(s, now)))) {
      s.lastAgent = now;
      stage = AGENT_STAGE;
    }
    const known = (STAGES as readonly string[]).includes(stage);
    // DHCP after the overlays were fetched a while ago is a new boot: start a new timeline. (The
    // node's own Linux DHCP seconds after the kernel starts is part of the same boot.)
    if (stage === 'dhcp' && s.timeline.some((t) => (t.stage === 'system' || t.stage === 'runtime') && now - (t.end ?? t.start) > 30))
      s.timeline = [];
    if (known && !opts.refused && sent !== 'BAD_ASSET' && sent !== 'NOT_FOUND') {
      let span = s.timeline.find((t) => t.stage === stage);
      if (!span || (stage === 'runtime' && span.end)) {
        if (span && stage === 'runtime') s.timeline = s.timeline.filter((t) => t !== span);
        const prev = s.timeline.at(-1);
        // iPXE fetches kernel → image → system (→ runtime) back to back: the next request ends the
        // previous file stage. (A runtime fetch long after system is the agent, not iPXE.)
        const next = prev && STAGES.indexOf(stage as Stage) === STAGES.indexOf(prev.stage) + 1;
        if (!span && prev && next && FILE_STAGES.has(prev.stage) && now - prev.start < (stage === 'runtime' ? 60 : 600)) {
          prev.end = now;
          prev.seconds = Math.round((now - prev.start) * 1000) / 1000;
        }
        span = { stage: stage as Stage, start: now, bytes: 0 };
        s.timeline.push(span);
      }
      if (opts.bytes) span.bytes += opts.bytes;
      if (controller) span.controller = controller;
      // a stage ends at its last event, except DHCP once the boot moved on (the OS renews later)
      const movedOn = stage === 'dhcp' && s.timeline.some((t) => t.stage !== 'dhcp');
      if (opts.done !== false && !movedOn) {
        span.end = now;
        span.seconds = Math.round((now - span.start) * 1000) / 1000;
      }
    }
    s.stage = stage;
    s.sent = sent;
    if (ipaddr) s.ipaddr = ipaddr;
    s.lastSeen = now;
    const e: StatusEvent = { seq: ++this.seq, time: now, node, stage, sent, ipaddr: s.ipaddr, bytes: opts.bytes };
    if (controller) Object.assign(e, { controller, done: opts.done, refused: opts.refused || undefined, remote: opts.remote || undefined });
    this.recent.push(e);
    if (this.recent.length > 2000) this.recent.splice(0, this.recent.length - 1000);
    for (const l of this.listeners) l(s, e);
    this.onChange();
  }

  /** A runtime fetch not marked as the agent's, with no system overlay fetched in this boot shortly before: an agent's. */
  private unmarkedAgent(s: NodeStatus, now: number): boolean {
    const sys = s.timeline.find((t) => t.stage === 'system');
    return !!s.lastSeen && (!sys || now - (sys.end ?? sys.start) > UNMARKED_AGENT_AFTER);
  }

  /** Remember an unknown MAC (DHCP or HTTP); the oldest are forgotten past 1000. */
  seenUnknown(mac: string, ipaddr: string, via: string, now = Date.now() / 1000): void {
    const u = this.unknown.get(mac);
    if (u) {
      u.lastSeen = now;
      u.count++;
      u.via = via;
      if (ipaddr) u.ipaddr = ipaddr;
      this.unknown.delete(mac);
      this.unknown.set(mac, u);
    } else {
      this.unknown.set(mac, { mac, ipaddr, via, firstSeen: now, lastSeen: now, count: 1 });
      if (this.unknown.size > MAX_UNKNOWN) this.unknown.delete(this.unknown.keys().next().value!);
    }
    this.onChange();
  }
  /** A MAC that became a node (discovery, `node add`) is no longer unknown. */
  forgetUnknown(mac: string): void {
    if (this.unknown.delete(mac)) this.onChange();
  }
  loadUnknown(saved: Record<string, unknown>): void {
    for (const v of Object.values(saved)) {
      const u = v as UnknownMac;
      if (u && typeof u === 'object' && typeof u.mac === 'string' && typeof u.lastSeen === 'number') this.unknown.set(u.mac, { ...u });
    }
  }
  unknownSnapshot(): Record<string, UnknownMac> {
    return Object.fromEntries(this.unknown);
  }

  get(node: string): NodeStatus | undefined {
    return this.nodes.get(node);
  }
  all(): NodeStatus[] {
    return [...this.nodes.values()];
  }
  subscribe(fn: (s: NodeStatus, e: StatusEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  snapshot(): Record<string, NodeStatus> {
    return Object.fromEntries(this.nodes);
  }

  /** Warewulf-shaped JSON, with wulf's timeline added (and, for the whole board, the unknown MACs seen). */
  /** `state` is as of `now` (clients with a clock recompute it from "last seen", "last agent" and the timeline). */
  static toJSON(s: NodeStatus, now: number, interval: number) {
    return {
      'node name': s.node,
      stage: s.stage,
      sent: s.sent,
      ipaddr: s.ipaddr,
      'last seen': Math.floor(s.lastSeen),
      'last agent': s.lastAgent === undefined ? null : Math.floor(s.lastAgent),
      state: liveness(s, now, interval).state,
      timeline: s.timeline,
    };
  }
  json(names?: string[], now = Date.now() / 1000) {
    const out: Record<string, unknown> = {};
    for (const n of names ?? [...this.nodes.keys()]) {
      const s = this.nodes.get(n);
      out[n] = s
        ? StatusBoard.toJSON(s, now, this.interval())
        : { 'node name': n, stage: '', sent: '', ipaddr: '', 'last seen': 0, 'last agent': 0, state: 'never', timeline: [] };
    }
    if (names) return { nodes: out };
    const server = this.serverInfo?.();
    return server ? { nodes: out, unknown: this.unknownSnapshot(), server } : { nodes: out, unknown: this.unknownSnapshot() };
  }
}
