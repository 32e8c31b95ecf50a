// The home view: one line per visible node (only the window on screen is rendered), the column
// header with the sort mark, and state colours.
import { Text, Box } from 'ink';
import { COLUMNS, columnWidths, fit, type ColKey, type NodeRow } from '../state/nodes.ts';
import { STATE_LABEL, fmtAgo } from '../state/status.ts';
import type { ListState } from '../state/list.ts';
import { c, STATE_COLOR, type Theme } from './theme.ts';

export interface NodesViewProps {
  rows: NodeRow[]; list: ListState; height: number; width: number; now: number;
  sortCol: ColKey; sortDesc: boolean; selected: ReadonlySet<string>; theme: Theme;
}

export function NodesView(p: NodesViewProps) {
  const w = columnWidths(p.width);
  const header = '  ' + COLUMNS.map((col, i) => fit(col.title + (col.key === p.sortCol ? (p.sortDesc ? '▼' : '▲') : ''), w[i]!)).join(' ');
  const visible = p.rows.slice(p.list.top, p.list.top + p.height);
  const stateW = w[w.length - 1]!;
  return (
    <Box flexDirection="column" height={p.height + 1}>
      <Text bold>{fit(header, p.width)}</Text>
      {visible.map((r, i) => {
        const at = p.list.top + i === p.list.cursor;
        const mark = p.selected.has(r.name) ? '* ' : '  ';
        const cells = [r.name, r.profiles, r.image, r.ip, r.stage || (r.sent ? r.sent : ''), fmtAgo(r.lastSeen === undefined ? undefined : p.now - r.lastSeen)];
        const left = mark + cells.map((x, j) => fit(x, w[j]!)).join(' ') + ' ';
        return (
          <Text key={r.name} inverse={at} wrap="truncate">
            {left}<Text color={c(p.theme, STATE_COLOR[r.state])}>{fit(r.state === 'bad-asset' ? 'bad asset' : STATE_LABEL[r.state], stateW)}</Text>
          </Text>
        );
      })}
      {p.rows.length === 0 ? <Text dimColor>  no node matches</Text> : null}
    </Box>
  );
}
