// `wulf node status`: what every node fetched last and when, from the running server's /status
// (or the state file when no server answers), coloured like Warewulf, with a STATE column: up, booting,
// late or lost by the time since the agent's last refresh (src/runtime/liveness.ts); --timeline per stage.
import { readState } from '../runtime/state-file.ts';
import { readWulfConf } from '../config/wulfconf.ts';
import { readConfigured, readStoreState } from '../store/open.ts';
import { matchNodes } from '../lib/hostlist.ts';
import { naturalCompare } from '../config/cascade.ts';
import type { Ctx } from './command.ts';
import { defineCommand } from './define.ts';
import { WulfError } from '../lib/errors.ts';
import { table } from './table.ts';
import { liveness, type Liveness } from '../runtime/liveness.ts';

interface Unknown {
  mac: string;
  ipaddr: string;
  via: string;
  lastSeen: number;
  count: number;
}
interface Row {
  node: string;
  stage: string;
  sent: string;
  ipaddr: string;
  lastSeen: number;
  lastAgent?: number;
  timeline: { stage: string; start: number; end?: number; seconds?: number; bytes: number; controller?: string }[];
}
/** What a server on the PostgreSQL store says about itself in /status (absent on the files). */
interface ServerInfo {
  controller?: string;
  store?: { kind?: string; down?: number | null; queued?: number };
}

const hms = (t: number) => {
  const d = new Date(t * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
};
/** One line when the server has lost its PostgreSQL store (empty otherwise). */
export function storeNotice(server: ServerInfo | undefined): string {
  const st = server?.store;
  if (!st || st.kind !== 'postgres' || typeof st.down !== 'number') return '';
  const n = Number(st.queued ?? 0);
  const queued = `${n} status write${n === 1 ? '' : 's'} queued`;
  return `store: PostgreSQL unreachable since ${hms(st.down)}; answering known nodes from the last configuration; ${queued}`;
}

async function load(
  ctx: Ctx,
  server?: string,
): Promise<{ rows: Row[]; from: string; unknown: Unknown[]; info?: ServerInfo; live?: boolean }> {
  const wulf = readWulfConf(ctx.paths);
  const url = server ?? `http://${wulf.ipaddr || '127.0.0.1'}:${wulf.warewulf.port}`;
  try {
    const r = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1500) });
    const j = (await r.json()) as {
      nodes: Record<string, Record<string, unknown>>;
      unknown?: Record<string, Unknown>;
      server?: ServerInfo;
    };
    return {
      from: url,
      live: true,
      info: j.server,
      unknown: Object.values(j.unknown ?? {}),
      rows: Object.entries(j.nodes).map(([n, v]) => ({
        node: n,
        stage: String(v.stage ?? ''),
        sent: String(v.sent ?? ''),
        ipaddr: String(v.ipaddr ?? ''),
        lastSeen: Number(v['last seen'] ?? 0),
        lastAgent: v['last agent'] === undefined || v['last agent'] === null ? undefined : Number(v['last agent']),
        timeline: (v.timeline as Row['timeline']) ?? [],
      })),
    };
  } catch {
    const pg = await readStoreState(ctx.paths, ctx.env).catch(() => undefined); // PostgreSQL down too: the local copy
    const st = pg?.state ?? readState(ctx.paths.stateFile);
    return {
      from: `${pg?.where ?? ctx.paths.stateFile} (no server answered at ${url})`,
      rows: Object.values(st.status).map((v) => v as Row),
      unknown: Object.values(st.unknown ?? {}) as Unknown[],
    };
  }
}

const ago = (now: number, t: number | undefined) => (t ? String(Math.max(0, Math.round(now - t))) : '--');

function render(ctx: Ctx, rows: Row[], names: string[], interval: number, timeline: boolean, now: number): string {
  const color = !ctx.env.NO_COLOR && process.stdout.isTTY;
  const by = new Map(rows.map((r) => [r.node, r]));
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const out: string[][] = [];
  const states: Liveness[] = [];
  for (const n of names) {
    const r = by.get(n);
    const st = liveness(r, now, interval).state;
    states.push(st);
    if (!r || !r.lastSeen) {
      out.push([n, '--', '--', '--', '--', '--']);
      continue;
    }
    out.push([n, r.stage.toUpperCase(), r.sent, ago(now, r.lastSeen), ago(now, r.lastAgent), st]);
  }
  // Warewulf's columns, then the agent's last refresh and the state it gives (Warewulf's row colours)
  const lines = table(['NODENAME', 'STAGE', 'SENT', 'LASTSEEN (s)', 'AGENT (s)', 'STATE'], out)
    .split('\n')
    .map((line, i) => {
      if (i < 2) return line;
      const st = states[i - 2];
      return st === 'never' ? paint('90', line) : st === 'lost' ? paint('31', line) : st === 'late' ? paint('33', line) : line;
    });
  if (timeline) {
    for (const n of names) {
      const r = by.get(n);
      if (!r?.timeline?.length) continue;
      const t0 = r.timeline[0]!.start;
      // the controller of each stage, when a controller is named (PostgreSQL store): which one served what
      const byWhom = r.timeline.some((s) => s.controller);
      lines.push('', `${n}:`);
      for (const s of r.timeline) {
        const at = `+${(s.start - t0).toFixed(2).padStart(7)} s  ${(s.seconds ?? 0).toFixed(2).padStart(7)} s`;
        lines.push(`  ${s.stage.padEnd(8)} ${at}  ${String(s.bytes).padStart(11)} bytes${byWhom ? `  ${s.controller ?? '--'}` : ''}`);
      }
    }
  }
  return lines.join('\n');
}

/** MACs that asked for something but belong to no node, newest first. */
function unknownText(list: Unknown[]): string {
  const now = Date.now() / 1000;
  const rows = [...list]
    .sort((a, b) => b.lastSeen - a.lastSeen)
    .slice(0, 20)
    .map((u) => [u.mac, u.ipaddr || '--', u.via, String(u.count), String(Math.max(0, Math.round(now - u.lastSeen)))]);
  const more = list.length > 20 ? `\n(${list.length - 20} more)` : '';
  return `unknown MACs (add one with: wulf node add NAME --hwaddr MAC)\n${table(['HWADDR', 'IPADDR', 'ASKED FOR', 'COUNT', 'LASTSEEN (s)'], rows)}${more}`;
}

/** wwctl's -u (never seen only), -l (most recently seen first) and -r (reversed). */
function order(names: string[], rows: Row[], flags: { unknown: boolean; last: boolean; reverse: boolean }): string[] {
  const seen = new Map(rows.map((r) => [r.node, r.lastSeen || 0]));
  let out = flags.unknown ? names.filter((n) => !seen.get(n)) : [...names];
  if (flags.last) out = out.sort((a, b) => (seen.get(b) ?? 0) - (seen.get(a) ?? 0) || naturalCompare(a, b));
  return flags.reverse ? out.reverse() : out;
}

export const status = defineCommand({
  name: 'status',
  summary:
    "boot status of nodes: stage, file sent, seconds since last seen and since the agent's last refresh," +
    ' up/booting/late/lost (--timeline per stage)',
  positionals: [{ name: 'pattern', variadic: true }],
  flags: {
    watch: { type: 'boolean', short: 'w', help: 'refresh every second' },
    timeline: { type: 'boolean', short: 't', help: 'per-stage timeline (DHCP → iPXE → kernel → image → system → runtime)' },
    server: { type: 'string', help: 'server URL (default from wulf.conf)', arg: 'URL' },
    json: { type: 'boolean', short: 'j', help: 'JSON output' },
    last: { type: 'boolean', short: 'l', help: 'sort by last seen, the most recent first' },
    reverse: { type: 'boolean', short: 'r', help: 'reverse the order' },
    unknown: { type: 'boolean', short: 'u', help: 'only nodes never seen (unknown status)' },
    update: { type: 'string', short: 'U', arg: 'MS', help: 'refresh interval of --watch in milliseconds', default: '500' },
  },
  async run(ctx, { flags, pos: { pattern: pos } }) {
    const every = Number(flags.update);
    if (!Number.isInteger(every) || every < 50) throw new WulfError(`--update ${flags.update}: give milliseconds, at least 50`);
    // PostgreSQL down: the running server's /status still answers (and says so); without a server, the one-line error
    let storeDown: unknown;
    const conf = await readConfigured(ctx.paths, ctx.env).catch((e) => {
      if (!(e instanceof WulfError) || e.code !== 'ESTOREDOWN') throw e;
      storeDown = e;
      return { nodes: {} };
    });
    const interval = readWulfConf(ctx.paths).warewulf.updateInterval;
    for (;;) {
      const { rows, from, unknown, info, live } = await load(ctx, flags.server);
      if (storeDown && !live) throw storeDown;
      const all = [...new Set([...Object.keys(conf.nodes), ...rows.map((r) => r.node)])].sort(naturalCompare);
      const now = Date.now() / 1000;
      const names = order(pos.length ? matchNodes(pos, all) : all, rows, flags);
      if (flags.json) {
        const rec = (r: Row) => ({ ...r, lastAgent: r.lastAgent ?? null, state: liveness(r, now, interval).state });
        const by = new Map(rows.map((r) => [r.node, r]));
        // in the order the server (or state file) gives them, unless -l or -r asks for one
        const keys =
          flags.last || flags.reverse ? names.filter((n) => by.has(n)) : rows.map((r) => r.node).filter((n) => names.includes(n));
        ctx.out(JSON.stringify(Object.fromEntries(keys.map((n) => [n, rec(by.get(n)!)])), null, 2));
        return;
      }
      let text = render(ctx, rows, names, interval, flags.timeline, now);
      const notice = storeNotice(info);
      if (notice) text = `${notice}\n\n${text}`;
      if (!pos.length && unknown.length) text += `\n\n${unknownText(unknown)}`;
      if (!flags.watch) {
        ctx.out(text);
        return;
      }
      const h = (process.stdout.rows ?? 40) - 2;
      process.stdout.write(`\x1b[H\x1b[2J${new Date().toLocaleTimeString()}  ${from}\n${text.split('\n').slice(0, h).join('\n')}\n`);
      await Bun.sleep(every);
    }
  },
});
