// The TUI shell: samples the config and status sources at most 10×/s and derives what each view
// shows (view-data.ts), maps keys to the pure reducer (state/app.ts), runs the effects it asks for,
// and lays out the screen (its body and footer: body.tsx).
import { useEffect, useRef, useState } from 'react';
import { Box, Text, useApp, useInput, useWindowSize, type Key } from 'ink';
import type { Paths } from '../config/paths.ts';
import type { ConfigSource } from './data/config-source.ts';
import type { StatusFeed } from './data/status-feed.ts';
import { runAction, writeEdit } from './data/actions.ts';
import { ACTION_LABEL, handleKey, initialState, view, type AppState, type Effect, type Env, type KeyIn } from './state/app.ts';
import { fit } from './state/nodes.ts';
import { ownValue } from './state/detail.ts';
import { followKey, type ListState } from './state/list.ts';
import { STATE_LABEL, STATES } from './state/status.ts';
import { c, STATE_COLOR, type Theme } from './ui/theme.ts';
import { hintsFor, MIN_COLS, MIN_ROWS, modeLine, promptHints, TABS, titleOf } from './ui/frame.ts';
import { keysOf, listHeights, useOverlayPane, useSampledSources, useViewData } from './view-data.ts';
import { footerLine, viewBody } from './body.tsx';

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
