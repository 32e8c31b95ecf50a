// The TUI shell: samples the config and status sources at most 10×/s, derives what each view
// shows, maps keys to the pure reducer (state/app.ts) and runs the effects it asks for.
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Box, Text, useApp, useInput, useWindowSize, type Key } from 'ink';
import type { Paths } from '../config/paths.ts';
import type { ConfigSnapshot, ConfigSource } from './data/config-source.ts';
import type { StatusFeed } from './data/status-feed.ts';
import { overlayDiff, overlayTree, previewFile } from './data/overlays.ts';
import { runAction, writeEdit } from './data/actions.ts';
import { ACTION_LABEL, handleKey, initialState, view, type AppState, type Effect, type Env, type KeyIn, type View } from './state/app.ts';
import { baseRows, countStates, fit, makeMatcher, statusRows, unknownRows, viewRows } from './state/nodes.ts';
import { detailLines, ownValue } from './state/detail.ts';
import { followKey, type ListState } from './state/list.ts';
import { STATE_LABEL, STATES } from './state/status.ts';
import { NodesView } from './ui/nodes-view.tsx';
import { DetailView, detailListHeight, type DetailAddress } from './ui/detail-view.tsx';
import type { MergedNode } from '../config/cascade.ts';
import { ImagesView, imageRows, LogView, ProfilesView, profileRows } from './ui/other-views.tsx';
import { OverlaysView, treeHeight } from './ui/overlays-view.tsx';
import { Help } from './ui/help.tsx';
import { c, STATE_COLOR, type Theme } from './ui/theme.ts';
import { hintsFor, MIN_COLS, MIN_ROWS, modeLine, promptHints, TABS, titleOf } from './ui/frame.ts';

export { MIN_COLS, MIN_ROWS };

export interface AppProps {
  paths: Paths;
  config: ConfigSource;
  feed: StatusFeed;
  server: string;
  theme: Theme;
  onFirstPaint?: () => void;
}

const toKeyIn = (input: string, k: Key): KeyIn => ({
  input,
  up: k.upArrow,
  down: k.downArrow,
  left: k.leftArrow,
  right: k.rightArrow,
  pageUp: k.pageUp,
  pageDown: k.pageDown,
  home: k.home,
  end: k.end,
  enter: k.return,
  escape: k.escape,
  tab: k.tab,
  backspace: k.backspace || k.delete,
  ctrl: k.ctrl,
  shift: k.shift,
});

/** One character of a run of keys that arrived together. */
const charKey = (ch: string): KeyIn =>
  ch === '\r' || ch === '\n'
    ? { input: '', enter: true }
    : ch === '\t'
      ? { input: '', tab: true }
      : ch === '\x7f' || ch === '\b'
        ? { input: '', backspace: true }
        : ch === '\x1b'
          ? { input: '', escape: true }
          : ch < ' '
            ? { input: String.fromCharCode(ch.charCodeAt(0) + 96), ctrl: true }
            : { input: ch };

/** The primary network device's address and MAC (merged through the profiles). */
function addressOf(m: MergedNode | undefined): DetailAddress | undefined {
  const nd = m?.primary ? m.data.networkDevices?.[m.primary] : undefined;
  return m?.primary ? { netdev: m.primary, ipaddr: nd?.ipaddr, hwaddr: nd?.hwaddr } : undefined;
}

/** Re-render at most 10 times a second while the sources change, and once a second for the ages. */
function useSampledSources(config: ConfigSource, feed: StatusFeed): [number, (f: (x: number) => number) => void] {
  const [tick, setTick] = useState(0);
  // the first paint showed the first nodes; merge the rest now
  useEffect(() => {
    const t = setTimeout(() => {
      config.completeMerge();
      setTick((x) => x + 1);
    }, 0);
    return () => clearTimeout(t);
  }, [config]);
  // sample the sources: at most 10 renders a second, and once a second for the ages
  useEffect(() => {
    let lastFeed = -1,
      lastSec = 0;
    const t = setInterval(() => {
      const cfg = config.check();
      const sec = Math.floor(Date.now() / 1000);
      if (cfg || feed.version !== lastFeed || sec !== lastSec) {
        lastFeed = feed.version;
        lastSec = sec;
        setTick((x) => x + 1);
      }
    }, 100);
    return () => clearInterval(t);
  }, [config, feed]);
  return [tick, setTick];
}

/** What the views show, derived from the sampled sources; the other views' data only while they are on screen. */
function useViewData(paths: Paths, snap: ConfigSnapshot, feed: StatusFeed, state: AppState, tick: number, treeVer: number) {
  const interval = snap.wulf.warewulf.updateInterval;
  const now = useMemo(() => Date.now() / 1000, [tick]);
  const base = useMemo(() => baseRows(snap.merged), [snap]);
  const allRows = useMemo(() => {
    const rows = statusRows(base, feed.statuses, now, interval);
    const unknown = unknownRows(snap.byId, feed.statuses, now, interval);
    return unknown.length ? rows.concat(unknown) : rows;
  }, [tick, base]);
  const shown = useMemo(
    () => viewRows(allRows, state.filter, state.sortCol, state.sortDesc),
    [allRows, state.filter, state.sortCol, state.sortDesc],
  );
  const counts = useMemo(() => countStates(allRows), [allRows]);
  const v = view(state);
  // the other views' data is only computed while they are on screen
  const profiles = useMemo(() => (v === 'profiles' ? profileRows(snap.conf) : []), [snap, v]);
  const images = useMemo(() => (v === 'images' ? imageRows(snap.merged, paths) : { rows: [] }), [snap, v]);
  const tree = useMemo(() => (v === 'overlays' ? overlayTree(paths) : { items: [] }), [treeVer, snap, v]);
  const detailNode = state.detailNode;
  const merged = detailNode ? snap.byId.get(detailNode) : undefined;
  const lines = useMemo(
    () => (v === 'detail' && detailNode ? detailLines(merged ?? { id: detailNode, data: {}, origins: new Map(), leaves: [] }) : []),
    [v, merged, detailNode],
  );
  const logMatch = useMemo(() => makeMatcher(state.logFilter), [state.logFilter]);
  const logEvents = useMemo(
    () =>
      v === 'log'
        ? feed.events.filter(
            (e) =>
              !state.logFilter ||
              logMatch({ name: e.node, profiles: '', image: '', ip: e.ipaddr, stage: e.stage, sent: e.sent, state: 'never' }),
          )
        : [],
    [v, tick, state.logFilter],
  );
  const nodeEvents = useMemo(
    () => (v === 'detail' && detailNode ? feed.events.filter((e) => e.node === detailNode) : []),
    [v, tick, detailNode],
  );
  return { interval, now, allRows, shown, counts, v, profiles, images, tree, detailNode, merged, lines, logEvents, nodeEvents };
}
type ViewData = ReturnType<typeof useViewData>;

/** The rows of each view's list that fit in a body of `bodyH` lines. */
const listHeights = (columns: number, bodyH: number): Record<View, number> => ({
  nodes: bodyH - 1,
  detail: detailListHeight(columns, bodyH),
  profiles: bodyH - 1,
  images: bodyH - 2,
  overlays: treeHeight(columns, bodyH),
  log: bodyH - 1,
});

/** The keys of a view's list items (its cursor follows a key, not a position). */
function keysOf(vv: View, d: ViewData): string[] {
  switch (vv) {
    case 'nodes':
      return d.shown.map((r) => r.name);
    case 'detail':
      return d.lines.map((l) => l.key);
    case 'profiles':
      return d.profiles.map((p) => p.name);
    case 'images':
      return d.images.rows.map((i) => i.name);
    case 'overlays':
      return d.tree.items.map((i) => i.key);
    case 'log':
      return d.logEvents.map((e) => String(e.seq));
  }
}

/** The overlays view's pane: the selected file rendered for the node, or the node's overlay diff (debounced). */
function useOverlayPane(
  paths: Paths,
  paneKey: string,
  snap: ConfigSnapshot,
  diff: boolean,
  previewNode: string | undefined,
  selItem: { overlay: string; rel?: string } | undefined,
) {
  const [pane, setPane] = useState<{ lines: string[]; busy: boolean }>({ lines: [], busy: false });
  useEffect(() => {
    if (!paneKey || paneKey === 'none') {
      setPane({ lines: [], busy: false });
      return;
    }
    let live = true;
    setPane((p) => ({ ...p, busy: true }));
    const t = setTimeout(() => {
      const job = diff
        ? previewNode
          ? overlayDiff(paths, previewNode)
          : Promise.resolve(['no node to diff'])
        : previewFile(paths, selItem!.overlay, selItem!.rel!, previewNode);
      job.then(
        (l) => {
          if (live) setPane({ lines: l, busy: false });
        },
        (e) => {
          if (live) setPane({ lines: [String(e)], busy: false });
        },
      );
    }, 120); // debounce while scrolling through the tree
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [paneKey, snap]);
  return pane;
}

interface EffectDeps {
  exit: () => void;
  paths: Paths;
  config: ConfigSource;
  setTick: (f: (x: number) => number) => void;
  setState: (f: (s: AppState) => AppState) => void;
  setTreeVer: (f: (x: number) => number) => void;
}

/** Run what the reducer asked for: quit, write an edited value, or run an action on nodes. */
function runEffect(e: Effect, d: EffectDeps): void {
  const revision = e.type === 'quit' ? '' : (e.revision ?? d.config.snap.conf.revision);
  const done = (o: { text: string; error: boolean }) => {
    d.config.reload();
    d.setTick((x) => x + 1);
    d.setState((s) => ({ ...s, message: o }));
  };
  if (e.type === 'quit') {
    d.exit();
    return;
  }
  if (e.type === 'write-edit') {
    void writeEdit(d.paths, e.node, e.line, e.value, revision, d.config.store).then(done);
    return;
  }
  d.setState((s) => ({ ...s, message: { text: `${ACTION_LABEL[e.action]}: working…`, error: false } }));
  void runAction(d.paths, e.action, e.targets, e.value, revision, d.config.store).then((o) => {
    done(o);
    if (e.action === 'rebuild') d.setTreeVer((x) => x + 1);
  });
}

/**
 * Keys that arrive together, handled one at a time; after one that changes the view, the rest are
 * returned to wait for the next render, so they act on what that view shows.
 */
function applyKeys(s: AppState, ks: KeyIn[], env: Env, list: ListState, run: (e: Effect) => void): { state: AppState; rest: KeyIn[] } {
  const vv = view(s);
  s = {
    ...s,
    lists: {
      ...s.lists,
      [vv]: vv === 'log' && s.lists.log.key === undefined ? { ...list, key: undefined } : followKey(s.lists[vv], env.keys, env.height),
    },
  };
  let i = 0;
  for (; i < ks.length; i++) {
    const before = s.stack.join('/') + (s.detailNode ?? '');
    const step = handleKey(s, ks[i]!, env);
    s = step.state;
    if (step.effect) {
      run(step.effect);
      if (step.effect.type === 'quit') {
        i = ks.length;
        break;
      }
    }
    if (s.stack.join('/') + (s.detailNode ?? '') !== before) {
      i++;
      break;
    }
  }
  return { state: s, rest: ks.slice(i) };
}

interface BodyProps {
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
function viewBody({ state, d, list, listH, columns, bodyH, theme, feed, previewNode, pane }: BodyProps): ReactNode {
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
function footerLine(state: AppState, snap: ConfigSnapshot, d: ViewData, feed: StatusFeed, columns: number, theme: Theme): ReactNode {
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

export function App({ paths, config, feed, server, theme }: AppProps) {
  const { exit } = useApp();
  const { columns, rows: termRows } = useWindowSize();
  const [state, setState] = useState<AppState>(initialState);
  const [tick, setTick] = useSampledSources(config, feed);
  const [treeVer, setTreeVer] = useState(0);

  const snap = config.snap;
  const d = useViewData(paths, snap, feed, state, tick, treeVer);
  const { v, shown, detailNode } = d;

  const bodyH = Math.max(1, termRows - 4); // 2 header lines, 2 footer lines
  const listH = listHeights(columns, bodyH);
  const keys = keysOf(v, d);
  const list =
    v === 'log' && state.lists.log.key === undefined
      ? { cursor: Math.max(0, keys.length - 1), top: Math.max(0, keys.length - listH.log) }
      : followKey(state.lists[v], keys, listH[v]);
  const cursorNode = v === 'nodes' ? keys[list.cursor] : undefined;
  const previewNode =
    detailNode ??
    followKey(
      state.lists.nodes,
      shown.map((r) => r.name),
      listH.nodes,
    ).key ??
    shown[0]?.name;

  // overlays pane: the selected file rendered for the node, or the node's overlay diff
  const selItem = v === 'overlays' ? d.tree.items[list.cursor] : undefined;
  const paneKey =
    v !== 'overlays'
      ? ''
      : state.overlayDiff
        ? `diff:${previewNode}`
        : selItem?.rel && selItem.kind === 'file'
          ? `file:${selItem.key}:${previewNode}`
          : 'none';
  const pane = useOverlayPane(paths, paneKey, snap, state.overlayDiff, previewNode, selItem);

  const stateRef = useRef(state);
  stateRef.current = state;
  const run = (e: Effect) => runEffect(e, { exit, paths, config, setTick, setState, setTreeVer });

  // the keys applyKeys left for the next render (they act on what the new view shows)
  const pending = useRef<KeyIn[]>([]);
  const feedKeys = (ks: KeyIn[]) => {
    const vv = view(stateRef.current);
    const env: Env = {
      keys: keysOf(vv, d),
      height: listH[vv],
      detailLines: d.lines,
      ownValue: (l) => ownValue(detailNode ? snap.conf.nodes[detailNode] : undefined, l),
      revision: config.snap.conf.revision,
    };
    const { state: s, rest } = applyKeys(stateRef.current, ks, env, list, run);
    pending.current = rest;
    stateRef.current = s;
    setState(s);
  };
  useEffect(() => {
    if (pending.current.length) feedKeys(pending.current);
  });
  useInput((input, key) => {
    const multi = input.length > 1 && !key.ctrl && !key.meta && (!stateRef.current.prompt || /[\x00-\x1f\x7f]/.test(input));
    feedKeys([...pending.current, ...(multi ? [...input].map(charKey) : [toKeyIn(input, key)])]);
  });

  if (columns < MIN_COLS || termRows < MIN_ROWS) {
    return (
      <Text
        color={c(theme, 'yellow')}
        wrap="wrap"
      >{`Terminal too small (${columns}×${termRows}); wulf tui needs at least ${MIN_COLS}×${MIN_ROWS}. Enlarge it, or press q to quit.`}</Text>
    );
  }

  const { text: modeText, color: modeColor } = modeLine(feed.mode, server);
  const p = state.prompt;
  return (
    <Box flexDirection="column" width={columns} height={termRows}>
      <Text wrap="truncate">
        <Text bold>{titleOf(v)}</Text>
        {'  '}
        <Text color={c(theme, modeColor)}>{modeText}</Text>
        <Text dimColor>{`   ${TABS}`}</Text>
      </Text>
      <Text wrap="truncate">
        {snap.partial ? `${Object.keys(snap.conf.nodes).length} nodes (loading):` : `${d.allRows.length} nodes:`}
        {STATES.map((st) => (
          <Text key={st} color={c(theme, STATE_COLOR[st])}>{` ${STATE_LABEL[st]} ${d.counts[st]}`}</Text>
        ))}
        {state.selected.size ? `  marked ${state.selected.size}` : ''}
        {cursorNode && columns >= 110 ? `  · ${cursorNode}` : ''}
      </Text>
      <Box height={bodyH} flexDirection="column">
        {viewBody({ state, d, list, listH, columns, bodyH, theme, feed, previewNode, pane })}
      </Box>
      {footerLine(state, snap, d, feed, columns, theme)}
      {p?.error ? (
        <Text color={c(theme, 'red')} wrap="truncate">
          {fit(`✗ ${p.error} — fix it, or Esc to cancel (nothing is written)`, columns)}
        </Text>
      ) : (
        <Text dimColor wrap="truncate">
          {fit(p ? promptHints(p.kind, columns) : hintsFor(v, state.overlayDiff, columns), columns)}
        </Text>
      )}
    </Box>
  );
}
