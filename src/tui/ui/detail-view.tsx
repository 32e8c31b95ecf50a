// Node detail: every field with its origin (profile, node, SUPERSEDED), netdevs, the boot
// waterfall (DHCP → iPXE → kernel → image → system → runtime) and the node's recent events.
import { Box, Text } from 'ink';
import type { DetailLine } from '../state/detail.ts';
import { fit } from '../state/nodes.ts';
import type { ListState } from '../state/list.ts';
import { classify, fmtAgo, fmtBytes, fmtClock, STATE_LABEL, waterfall, type LogEvent, type NodeStatus } from '../state/status.ts';
import { c, STATE_COLOR, type Theme } from './theme.ts';

/** The node's primary network device as nodes.conf gives it (shown in the header). */
export interface DetailAddress {
  netdev?: string;
  ipaddr?: string;
  hwaddr?: string;
}

export interface DetailProps {
  node: string;
  exists: boolean;
  address?: DetailAddress;
  lines: readonly DetailLine[];
  list: ListState;
  status?: NodeStatus;
  events: LogEvent[];
  width: number;
  height: number;
  now: number;
  interval: number;
  theme: Theme;
}

/** Rows the field list gets (the rest goes to the waterfall and events), for the reducer's paging. */
export function detailListHeight(width: number, height: number): number {
  return width >= 120 ? Math.max(3, height - HEADER) : Math.max(3, height - HEADER - 8 - 3);
}
/** Header lines: the node with its address and MAC, then its state. */
const HEADER = 2;

function Waterfall({ status, width, theme }: { status?: NodeStatus; width: number; theme: Theme }) {
  const rows = waterfall(status);
  const total = Math.max(1, ...rows.map((r) => (r.offset ?? 0) + (r.seconds ?? 0)));
  // several controllers on one PostgreSQL store: the one that served each stage (no column on the files)
  const ctl = rows.some((r) => r.controller) ? 12 : 0;
  const barW = Math.max(0, width - 46 - ctl);
  const has = rows.some((r) => r.start !== undefined || r.seconds !== undefined);
  const who = (s: string) => (ctl ? `  ${s.slice(0, ctl - 2).padEnd(ctl - 2)}` : '');
  return (
    <Box flexDirection="column">
      <Text bold>{fit(`Boot waterfall${has ? '' : ' — no per-stage timing reported by the server yet'}`, width)}</Text>
      <Text dimColor>
        {fit(
          `${'stage'.padEnd(8)}${'start'.padStart(9)}${'secs'.padStart(7)}${'bytes'.padStart(10)}${'rate/s'.padStart(10)}${who('controller')}`,
          width,
        )}
      </Text>
      {rows.slice(0, 6).map((r) => {
        const start = r.offset !== undefined ? `+${r.offset.toFixed(1)}` : r.start !== undefined ? fmtClock(r.start) : '';
        const a = barW ? Math.round(((r.offset ?? 0) / total) * barW) : 0;
        const b = barW && r.seconds !== undefined ? Math.max(1, Math.round((r.seconds / total) * barW)) : 0;
        const bar = barW ? ' ' + ' '.repeat(Math.min(a, barW)) + '█'.repeat(Math.min(b, Math.max(0, barW - a))) : '';
        const secs = r.seconds !== undefined ? r.seconds.toFixed(2) : '';
        const rate = fmtBytes(r.rate === undefined ? undefined : Math.round(r.rate));
        return (
          <Text key={r.stage} wrap="truncate">
            {`${r.stage.padEnd(8)}${start.padStart(9)}${secs.padStart(7)}${fmtBytes(r.bytes).padStart(10)}${rate.padStart(10)}${who(r.controller ?? '')}`}
            <Text color={c(theme, 'cyan')}>{bar}</Text>
          </Text>
        );
      })}
    </Box>
  );
}

export function DetailView(p: DetailProps) {
  const wide = p.width >= 120;
  const leftW = wide ? Math.floor(p.width * 0.6) : p.width;
  const rightW = wide ? p.width - leftW - 1 : p.width;
  const listH = detailListHeight(p.width, p.height);
  const st = classify(p.status, p.now, p.interval);
  const a = p.address;
  const ago = p.status?.lastSeen !== undefined ? fmtAgo(p.now - p.status.lastSeen) : '--';
  const agentAgo = p.status?.lastAgent ? fmtAgo(p.now - p.status.lastAgent) : '--';
  const titleW = Math.min(30, Math.floor(leftW * 0.38));
  const originW = Math.min(16, Math.floor(leftW * 0.2));
  const valW = Math.max(4, leftW - titleW - originW - 2);
  const fieldsBox = (
    <Box flexDirection="column" width={leftW} height={listH}>
      {p.lines.slice(p.list.top, p.list.top + listH).map((l, i) => {
        const at = p.list.top + i === p.list.cursor;
        if (l.section)
          return (
            <Text key={l.key} bold inverse={at}>
              {fit(l.title, leftW)}
            </Text>
          );
        const origin = l.origin === '--' ? 'node' : l.origin;
        return (
          <Text key={l.key} inverse={at} wrap="truncate">
            <Text dimColor={!l.field && !at}>{fit(l.title, titleW)} </Text>
            {fit(l.value, valW)}{' '}
            <Text color={c(p.theme, l.origin === 'SUPERSEDED' ? 'yellow' : l.origin && l.origin !== '--' ? 'blue' : undefined)}>
              {fit(origin, originW)}
            </Text>
          </Text>
        );
      })}
    </Box>
  );
  const evRows = wide ? Math.max(1, p.height - HEADER - 8 - 1) : Math.max(1, p.height - HEADER - listH - 8 - 1);
  const events = p.events.slice(-evRows);
  const side = (
    <Box flexDirection="column" width={rightW}>
      <Waterfall status={p.status} width={rightW} theme={p.theme} />
      <Text bold>{fit(`Recent events (${p.events.length})`, rightW)}</Text>
      {events.length === 0 ? (
        <Text dimColor>{'  none received'}</Text>
      ) : (
        events.map((e) => (
          <Text key={e.seq} wrap="truncate">
            {fit(`  ${fmtClock(e.time)} ${e.stage.padEnd(8)} ${e.sent} ${e.ipaddr}`, rightW)}
          </Text>
        ))
      )}
    </Box>
  );
  return (
    <Box flexDirection="column" height={p.height}>
      <Text wrap="truncate">
        <Text bold>{`Node ${p.node}`}</Text>
        {p.exists ? '' : ' (not in nodes.conf)'}
        {`  ipaddr ${a?.ipaddr ?? '--'}  hwaddr ${a?.hwaddr ?? '--'}${a?.netdev && a.netdev !== 'default' ? `  (${a.netdev})` : ''}`}
      </Text>
      <Text wrap="truncate">
        {'state '}
        <Text color={c(p.theme, STATE_COLOR[st])}>{STATE_LABEL[st]}</Text>
        {`  stage ${p.status?.stage ?? '--'}  seen ${ago}  agent ${agentAgo}` +
          `${p.status?.ipaddr && p.status.ipaddr !== a?.ipaddr ? `  from ${p.status.ipaddr}` : ''}`}
      </Text>
      {wide ? (
        <Box flexDirection="row">
          {fieldsBox}
          <Text> </Text>
          {side}
        </Box>
      ) : (
        <>
          {fieldsBox}
          {side}
        </>
      )}
    </Box>
  );
}
