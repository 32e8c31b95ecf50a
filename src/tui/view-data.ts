// What the TUI's views show: the config and status sources sampled at most 10×/s, each view's rows
// derived from them (the other views' data only while they are on screen), and the overlays pane.
import { useEffect, useMemo, useState } from 'react';
import type { Paths } from '../config/paths.ts';
import type { ConfigSnapshot, ConfigSource } from './data/config-source.ts';
import type { StatusFeed } from './data/status-feed.ts';
import { overlayDiff, overlayTree, previewFile } from './data/overlays.ts';
import { view, type AppState, type View } from './state/app.ts';
import { baseRows, countStates, makeMatcher, statusRows, unknownRows, viewRows } from './state/nodes.ts';
import { detailLines } from './state/detail.ts';
import { detailListHeight } from './ui/detail-view.tsx';
import { imageRows, profileRows } from './ui/other-views.tsx';
import { treeHeight } from './ui/overlays-view.tsx';

/** Re-render at most 10 times a second while the sources change, and once a second for the ages. */
export function useSampledSources(config: ConfigSource, feed: StatusFeed): [number, (f: (x: number) => number) => void] {
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
export function useViewData(paths: Paths, snap: ConfigSnapshot, feed: StatusFeed, state: AppState, tick: number, treeVer: number) {
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
export type ViewData = ReturnType<typeof useViewData>;

/** The rows of each view's list that fit in a body of `bodyH` lines. */
export const listHeights = (columns: number, bodyH: number): Record<View, number> => ({
  nodes: bodyH - 1,
  detail: detailListHeight(columns, bodyH),
  profiles: bodyH - 1,
  images: bodyH - 2,
  overlays: treeHeight(columns, bodyH),
  log: bodyH - 1,
});

/** The keys of a view's list items (its cursor follows a key, not a position). */
export function keysOf(vv: View, d: ViewData): string[] {
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
export function useOverlayPane(
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
