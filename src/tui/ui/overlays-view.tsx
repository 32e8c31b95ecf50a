// Overlays as a file tree, beside the selected file rendered for one node, or that node's
// `overlay diff` (what changed since it was last served).
import { Box, Text } from 'ink';
import { fit } from '../state/nodes.ts';
import type { ListState } from '../state/list.ts';
import type { TreeItem } from '../data/overlays.ts';
import { c, type Theme } from './theme.ts';

export interface OverlaysProps {
  items: TreeItem[];
  error?: string;
  list: ListState;
  height: number;
  width: number;
  theme: Theme;
  node?: string;
  diff: boolean;
  pane: string[];
  busy: boolean;
}

/** Rows the tree gets: the left half on wide screens, the top half otherwise. */
export function treeHeight(width: number, height: number): number {
  return width >= 100 ? height : Math.max(3, Math.floor(height / 2));
}

export function OverlaysView(p: OverlaysProps) {
  const wide = p.width >= 100;
  const tw = wide ? Math.floor(p.width * 0.4) : p.width;
  const pw = wide ? p.width - tw - 1 : p.width;
  const th = treeHeight(p.width, p.height);
  const ph = wide ? p.height : p.height - th - 1;
  const sel = p.items[p.list.cursor];
  const title = p.diff
    ? `overlay diff for ${p.node ?? '(no node)'}`
    : sel?.rel
      ? `${sel.overlay}/${sel.rel}${p.node && sel.rel.endsWith('.ww') ? ` rendered for ${p.node}` : ''}`
      : 'select a file (d: overlay diff)';
  const tree = (
    <Box flexDirection="column" width={tw} height={th}>
      {p.error ? <Text color={c(p.theme, 'red')}>{fit(p.error, tw)}</Text> : null}
      {p.items.slice(p.list.top, p.list.top + th).map((it, i) => (
        <Text key={it.key} inverse={p.list.top + i === p.list.cursor} bold={it.kind === 'overlay'} wrap="truncate">
          {fit(it.label, tw)}
        </Text>
      ))}
    </Box>
  );
  const pane = (
    <Box flexDirection="column" width={pw} height={ph}>
      <Text bold color={c(p.theme, 'blue')}>
        {fit(`── ${title}${p.busy ? ' …' : ''}`, pw)}
      </Text>
      {p.pane.slice(0, Math.max(0, ph - 1)).map((l, i) => {
        const col = p.diff
          ? /^\s*\+/.test(l) || /: \+ /.test(l)
            ? 'green'
            : /^\s*-/.test(l) || /: - /.test(l)
              ? 'red'
              : undefined
          : undefined;
        return (
          <Text key={i} color={c(p.theme, col)} wrap="truncate">
            {fit(l.replace(/\t/g, '  '), pw)}
          </Text>
        );
      })}
    </Box>
  );
  return wide ? (
    <Box flexDirection="row" height={p.height}>
      {tree}
      <Text> </Text>
      {pane}
    </Box>
  ) : (
    <Box flexDirection="column" height={p.height}>
      {tree}
      <Text> </Text>
      {pane}
    </Box>
  );
}
