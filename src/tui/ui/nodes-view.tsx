// The home view: one line per visible node (only the window on screen is rendered), the column
// header with the sort mark, and state colours.
import { Text, Box } from 'ink';
import { fit, type ColKey, type NodeRow } from '../state/nodes.ts';
import type { ListState } from '../state/list.ts';
import { c, STATE_COLOR, type Theme } from './theme.ts';
import { nodeRowText, nodesHeader } from './frame.ts';

export interface NodesViewProps {
  rows: NodeRow[];
  list: ListState;
  height: number;
  width: number;
  now: number;
  sortCol: ColKey;
  sortDesc: boolean;
  selected: ReadonlySet<string>;
  theme: Theme;
}

export function NodesView(p: NodesViewProps) {
  const header = nodesHeader(p.width, p.sortCol, p.sortDesc);
  const visible = p.rows.slice(p.list.top, p.list.top + p.height);
  return (
    <Box flexDirection="column" height={p.height + 1}>
      <Text bold>{fit(header, p.width)}</Text>
      {visible.map((r, i) => {
        const at = p.list.top + i === p.list.cursor;
        const { left, state } = nodeRowText(r, p.width, p.now, p.selected.has(r.name));
        return (
          <Text key={r.name} inverse={at} wrap="truncate">
            {left}
            <Text color={c(p.theme, STATE_COLOR[r.state])}>{state}</Text>
          </Text>
        );
      })}
      {p.rows.length === 0 ? <Text dimColor>{'  no node matches'}</Text> : null}
    </Box>
  );
}
