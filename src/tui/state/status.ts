// Node boot status as the TUI sees it: lenient parsing of the server's /status JSON and SSE events,
// the state colour of a node (booting / up / late / lost / never seen / bad asset key) and the
// per-stage boot waterfall. Pure: no sockets, no clock (callers pass `now` in unix seconds).
import { liveness } from '../../runtime/liveness.ts';
import { STAGES, type NodeStatus as BoardStatus, type StageSpan as BoardSpan, type StatusEvent } from '../../runtime/board.ts';

export type NodeState = 'booting' | 'up' | 'late' | 'lost' | 'never' | 'bad-asset';
export const STATES: NodeState[] = ['up', 'booting', 'late', 'lost', 'never', 'bad-asset'];
export const STATE_LABEL: Record<NodeState, string> = {
  up: 'up',
  booting: 'booting',
  late: 'late',
  lost: 'lost',
  never: 'never seen',
  'bad-asset': 'bad asset key',
};
/** A stage of the board's timeline (src/runtime/board.ts) as read from a server: any field but the stage may be missing. */
export type StageSpan = { stage: string } & Partial<Pick<BoardSpan, 'start' | 'seconds' | 'bytes' | 'controller'>>;
/** The board's record of a node (src/runtime/board.ts) as read leniently from a server's JSON (wulf's or
 *  Warewulf's): named by `name`, every other field may be missing. */
export type NodeStatus = { name: string; timeline: StageSpan[] } & Partial<
  Pick<BoardStatus, 'stage' | 'sent' | 'ipaddr' | 'lastSeen' | 'lastAgent'>
>;
/** A line of the log pane: the board's event (src/runtime/board.ts) without its byte count. */
export type LogEvent = Omit<StatusEvent, 'bytes'>;

type Obj = Record<string, unknown>;
const str = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : String(v));

/** Unix seconds from seconds, milliseconds or an ISO string; undefined for 0/absent/unparseable. */
export function toUnixSeconds(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' || (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v))) {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) return undefined;
    return n > 1e12 ? n / 1000 : n;
  }
  const t = Date.parse(String(v));
  return Number.isNaN(t) ? undefined : t / 1000;
}

const agentSeconds = (v: unknown) => (v === 0 || v === '0' ? 0 : toUnixSeconds(v));

/** Normalise stage names from either spelling (Warewulf's RUNTIME_OVERLAY, wulf's runtime). */
export function normStage(s: unknown): string | undefined {
  const v = str(s)
    ?.toLowerCase()
    .replace(/[\s-]+/g, '_');
  if (!v) return undefined;
  if (v === 'system_overlay' || v === 'wwinit') return 'system';
  if (v === 'runtime_overlay') return 'runtime';
  if (v === 'container' || v === 'initramfs') return 'image';
  if (v === 'efiboot' || v === 'grub' || v === 'tftp') return 'ipxe';
  return v;
}

function parseSpan(stage: string | undefined, raw: unknown): StageSpan | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const o = raw as Obj;
  const name = normStage(o.stage ?? o.name ?? stage);
  if (!name) return undefined;
  const start = toUnixSeconds(o.start ?? o.started ?? o.startedAt ?? o.begin);
  let seconds =
    o.seconds !== undefined
      ? Number(o.seconds)
      : o.ms !== undefined
        ? Number(o.ms) / 1000
        : o.durationMs !== undefined
          ? Number(o.durationMs) / 1000
          : undefined;
  const end = toUnixSeconds(o.end ?? o.ended ?? o.endedAt);
  if (seconds === undefined && start !== undefined && end !== undefined) seconds = Math.max(0, end - start);
  const bytes = o.bytes !== undefined ? Number(o.bytes) : o.sent !== undefined && typeof o.sent === 'number' ? o.sent : undefined;
  const span: StageSpan = {
    stage: name,
    start,
    seconds: Number.isFinite(seconds) ? seconds : undefined,
    bytes: Number.isFinite(bytes) ? bytes : undefined,
  };
  const controller = str(o.controller);
  return controller ? { ...span, controller } : span;
}

function parseTimeline(raw: unknown): StageSpan[] {
  const out: StageSpan[] = [];
  if (Array.isArray(raw))
    for (const x of raw) {
      const s = parseSpan(undefined, x);
      if (s) out.push(s);
    }
  else if (raw && typeof raw === 'object')
    for (const [k, x] of Object.entries(raw as Obj)) {
      const s = parseSpan(k, x);
      if (s) out.push(s);
    }
  return out;
}

/** One node's status record from the server's JSON (`"node name"`, `stage`, `sent`, `ipaddr`, `last seen`). */
export function parseStatusEntry(name: string, raw: unknown, prev?: NodeStatus): NodeStatus {
  const o = (raw && typeof raw === 'object' ? raw : {}) as Obj;
  const tl = o.timeline ?? o.stages ?? o.waterfall;
  const has = (k: string) => k in o;
  return {
    name,
    stage: has('stage') ? normStage(o.stage) : prev?.stage,
    sent: has('sent') ? str(o.sent) : prev?.sent,
    ipaddr: has('ipaddr') || has('ip') ? str(o.ipaddr ?? o.ip) : prev?.ipaddr,
    lastSeen:
      has('last seen') || has('lastSeen') || has('last_seen') ? toUnixSeconds(o['last seen'] ?? o.lastSeen ?? o.last_seen) : prev?.lastSeen,
    // 0: no agent refresh yet; null or absent (Warewulf, older wulf): not told apart from boot fetches
    lastAgent: has('last agent') || has('lastAgent') ? agentSeconds(o['last agent'] ?? o.lastAgent) : prev?.lastAgent,
    timeline: tl !== undefined ? parseTimeline(tl) : (prev?.timeline ?? []),
  };
}

const nameOf = (o: Obj) => str(o['node name'] ?? o.node ?? o.name ?? o.id);

/**
 * Status records in a JSON document: `{"nodes":{name:{…}}}` (GET /status and full SSE snapshots),
 * a single record with "node name", or a list of records.
 */
export function parseStatusDoc(doc: unknown, prev?: Map<string, NodeStatus>): NodeStatus[] {
  if (Array.isArray(doc)) return doc.flatMap((d) => parseStatusDoc(d, prev));
  if (!doc || typeof doc !== 'object') return [];
  const o = doc as Obj;
  if (o.nodes && typeof o.nodes === 'object' && !Array.isArray(o.nodes)) {
    return Object.entries(o.nodes as Obj).map(([k, v]) => {
      const n = (v && typeof v === 'object' ? nameOf(v as Obj) : undefined) ?? k;
      return parseStatusEntry(n, v, prev?.get(n));
    });
  }
  if (Array.isArray(o.nodes)) return parseStatusDoc(o.nodes, prev);
  const n = nameOf(o);
  return n ? [parseStatusEntry(n, o.status && typeof o.status === 'object' ? o.status : o, prev?.get(n))] : [];
}

/**
 * The state colour of a node, with Warewulf's thresholds (late ≥ interval+5 s, lost ≥ 2×interval),
 * counted from the agent's last refresh once the node is up (src/runtime/liveness.ts).
 */
export function classify(s: NodeStatus | undefined, now: number, interval: number): NodeState {
  if (!s) return 'never';
  if (s.sent === 'BAD_ASSET') return 'bad-asset';
  return liveness(s, now, interval).state;
}

export interface WaterfallRow {
  stage: string;
  start?: number;
  offset?: number;
  seconds?: number;
  bytes?: number;
  rate?: number;
  controller?: string;
}

/** The waterfall rows in stage order: offset from the first stage, seconds, bytes and bytes/s. */
export function waterfall(s: NodeStatus | undefined): WaterfallRow[] {
  const spans = s?.timeline ?? [];
  const byStage = new Map<string, StageSpan>();
  for (const sp of spans) byStage.set(sp.stage, sp);
  const starts = spans.map((x) => x.start).filter((x): x is number => x !== undefined);
  const t0 = starts.length ? Math.min(...starts) : undefined;
  const order = [...STAGES, ...[...byStage.keys()].filter((k) => !(STAGES as readonly string[]).includes(k))];
  return order.map((stage) => {
    const sp = byStage.get(stage);
    if (!sp) return { stage };
    const rate = sp.bytes !== undefined && sp.seconds ? sp.bytes / sp.seconds : undefined;
    return {
      stage,
      start: sp.start,
      offset: sp.start !== undefined && t0 !== undefined ? sp.start - t0 : undefined,
      seconds: sp.seconds,
      bytes: sp.bytes,
      rate,
      ...(sp.controller ? { controller: sp.controller } : {}),
    };
  });
}

/** A log line for a status change (what the log pane lists). */
export function eventOf(s: NodeStatus, fallbackTime: number, seq: number): LogEvent {
  return { seq, time: s.lastSeen ?? fallbackTime, node: s.name, stage: s.stage ?? '', sent: s.sent ?? '', ipaddr: s.ipaddr ?? '' };
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined) return '';
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024,
    i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}

/** Local wall-clock time hh:mm:ss of unix seconds `t` (event lists, the waterfall's start). */
export const fmtClock = (t: number) => new Date(t * 1000).toTimeString().slice(0, 8);

export function fmtAgo(sec: number | undefined): string {
  if (sec === undefined) return '--';
  const s = Math.max(0, Math.round(sec));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
