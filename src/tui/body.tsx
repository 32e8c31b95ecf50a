// The TUI's screen below the header: the body (help, or the view on screen) and the first footer
// line (the prompt, a confirmation, the last message, a config error, or the filter and node count).
import type { ReactNode } from 'react';
import { Text } from 'ink';
import type { ConfigSnapshot } from './data/config-source.ts';
import type { StatusFeed } from './data/status-feed.ts';
import { ACTION_LABEL, type AppState, type View } from './state/app.ts';
import { fit } from './state/nodes.ts';
import type { ListState } from './state/list.ts';
import type { MergedNode } from '../config/cascade.ts';
import { NodesView } from './ui/nodes-view.tsx';
import { DetailView, type DetailAddress } from './ui/detail-view.tsx';
import { ImagesView, LogView, ProfilesView } from './ui/other-views.tsx';
import { OverlaysView } from './ui/overlays-view.tsx';
import { Help } from './ui/help.tsx';
import { c, type Theme } from './ui/theme.ts';
import type { ViewData } from './view-data.ts';

/** The primary network device's address and MAC (merged through the profiles). */
function addressOf(m: MergedNode | undefined): DetailAddress | undefined {
  const nd = m?.primary ? m.data.networkDevices?.[m.primary] : undefined;
  return m?.primary ? { netdev: m.primary, ipaddr: nd?.ipaddr, hwaddr: nd?.hwaddr } : undefined;
}

export interface BodyProps {
  state: AppState;
  d: ViewData;
  list: ListState;
  listH: Record<View, number>;
  columns: number;
  bodyH: number;
  theme: Theme;
  feed: StatusFeed;
  previewNode: string | undefined;
  pane: { lines: string[]; busy: boolean };
}

/** The body: help, or the view on screen. */
export function viewBody({ state, d, list, listH, columns, bodyH, theme, feed, previewNode, pane }: BodyProps): ReactNode {
  const { v, detailNode, merged } = d;
  if (state.help) return <Help width={columns} height={bodyH} />;
  if (v === 'nodes')
    return (
      <NodesView
        rows={d.shown}
        list={list}
        height={listH.nodes}
        width={columns}
        now={d.now}
        sortCol={state.sortCol}
        sortDesc={state.sortDesc}
        selected={state.selected}
        theme={theme}
      />
    );
  if (v === 'detail')
    return (
      <DetailView
        node={detailNode ?? ''}
        exists={!!merged}
        address={addressOf(merged)}
        lines={d.lines}
        list={list}
        status={detailNode ? feed.statuses.get(detailNode) : undefined}
        events={d.nodeEvents}
        width={columns}
        height={bodyH}
        now={d.now}
        interval={d.interval}
        theme={theme}
      />
    );
  if (v === 'profiles') return <ProfilesView rows={d.profiles} list={list} height={listH.profiles} width={columns} theme={theme} />;
  if (v === 'images')
    return <ImagesView rows={d.images.rows} error={d.images.error} list={list} height={listH.images + 1} width={columns} theme={theme} />;
  if (v === 'overlays')
    return (
      <OverlaysView
        items={d.tree.items}
        error={d.tree.error}
        list={list}
        height={bodyH}
        width={columns}
        theme={theme}
        node={previewNode}
        diff={state.overlayDiff}
        pane={pane.lines}
        busy={pane.busy}
      />
    );
  return (
    <LogView
      events={d.logEvents}
      filter={state.logFilter}
      list={state.lists.log.key === undefined ? { ...list, key: undefined } : list}
      height={listH.log}
      width={columns}
      theme={theme}
    />
  );
}

/** The question a confirmation asks: `power-on on n1? [y/N]`, `set image = img on 3 nodes? [y/N]`. */
function confirmText(cf: NonNullable<AppState['confirm']>): string {
  const value = cf.value !== undefined ? ` = ${cf.value || '(unset)'}` : '';
  const on = cf.action.startsWith('power') ? ' ' : ' on ';
  const targets = cf.targets.length === 1 ? cf.targets[0] : `${cf.targets.length} nodes`;
  return `${ACTION_LABEL[cf.action]}${value}${on}${targets}? [y/N]`;
}

/** The first footer line: the prompt, a confirmation, the last message, a config error, or the filter and node count. */
export function footerLine(state: AppState, snap: ConfigSnapshot, d: ViewData, feed: StatusFeed, columns: number, theme: Theme): ReactNode {
  const p = state.prompt;
  if (p) {
    const label = p.kind === 'edit' ? `edit ${p.lineKey}` : p.kind === 'value' ? ACTION_LABEL[p.action!] : 'filter';
    return <Text wrap="truncate">{`${label}: ${p.text}█`}</Text>;
  }
  if (state.confirm)
    return (
      <Text color={c(theme, 'yellow')} wrap="truncate">
        {fit(confirmText(state.confirm), columns)}
      </Text>
    );
  if (state.message)
    return (
      <Text color={c(theme, state.message.error ? 'red' : 'green')} wrap="truncate">
        {fit(state.message.text, columns)}
      </Text>
    );
  if (snap.error)
    return (
      <Text color={c(theme, 'red')} wrap="truncate">
        {fit(`config: ${snap.error} (showing the last good read)`, columns)}
      </Text>
    );
  return (
    <Text dimColor wrap="truncate">
      {fit(
        state.filter
          ? `filter: ${state.filter} — ${d.shown.length} of ${d.allRows.length} nodes`
          : feed.detail || `${d.allRows.length} nodes`,
        columns,
      )}
    </Text>
  );
}
