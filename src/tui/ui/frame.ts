// The texts of the screen's fixed parts (title, mode, tabs, key hints, a nodes-table line), shared
// by the ink views and by firstFrame(): the start screen written straight to the terminal from the
// files, before ink, react and yoga are loaded. ink then mounts and draws the same frame over it.
// No ink here: this module is what runs before the first paint.
import chalk from 'chalk';
import type { ConfigSnapshot } from '../data/config-source.ts';
import type { FeedMode } from '../data/status-feed.ts';
import type { View } from '../state/app.ts';
import { initialState } from '../state/app.ts';
import { followKey } from '../state/list.ts';
import {
  baseRows,
  COLUMNS,
  columnWidths,
  countStates,
  fit,
  statusRows,
  unknownRows,
  viewRows,
  type ColKey,
  type NodeRow,
} from '../state/nodes.ts';
import { fmtAgo, STATE_LABEL, STATES, type NodeStatus } from '../state/status.ts';
import { c, STATE_COLOR, type Theme } from './theme.ts';

export const MIN_COLS = 60;
export const MIN_ROWS = 16;

export const TITLES: Record<View, string> = {
  nodes: 'Nodes',
  detail: 'Node',
  profiles: 'Profiles',
  images: 'Images',
  overlays: 'Overlays',
  log: 'Log',
};
export const TABS = ['nodes', 'profiles', 'images', 'overlays', 'log'].map((t, i) => `${i + 1}:${TITLES[t as View]}`).join(' ');
export const titleOf = (v: View) => `wulf · ${v === 'detail' ? 'Node detail' : TITLES[v]}`;

export function modeLine(mode: FeedMode, server: string): { text: string; color: string } {
  const text =
    mode === 'live'
      ? `live: ${server}`
      : mode === 'polling'
        ? `polling ${server}`
        : mode === 'files'
          ? 'server unreachable — showing files'
          : `connecting to ${server}…`;
  return { text, color: mode === 'live' ? 'green' : mode === 'files' ? 'yellow' : 'cyan' };
}

/**
 * Key hints joined by two spaces, fitted to `width`: the hints with the highest drop rank go first
 * (rank 0 never goes), so "? help" and "q quit" stay on screen at any width the TUI runs in; what
 * still does not fit is cut by the caller's fit(). Every key is in the help overlay anyway.
 */
export function fitHints(parts: readonly (readonly [string, number])[], width: number): string {
  let ps = [...parts];
  const text = () => ps.map((p) => p[0]).join('  ');
  while ([...text()].length > width) {
    const worst = Math.max(...ps.map((p) => p[1]));
    if (worst <= 0) break;
    const i = ps.map((p) => p[1]).lastIndexOf(worst);
    ps = ps.filter((_, j) => j !== i);
  }
  return text();
}

const HINTS: Record<View, (overlayDiff: boolean) => [string, number][]> = {
  nodes: () => [
    ['↑↓ move', 4],
    ['Enter detail', 3],
    ['/ filter', 1],
    ['s sort', 2],
    ['Space mark', 3],
    ['o/f/c power', 2],
    ['b rebuild', 5],
    ['? help', 0],
    ['q quit', 0],
  ],
  detail: () => [
    ['↑↓ move', 4],
    ['e edit', 1],
    ['o/f/c power', 2],
    ['b rebuild', 5],
    ['P profiles', 3],
    ['I image', 3],
    ['L log', 2],
    ['? help', 0],
    ['q back', 0],
  ],
  profiles: () => [
    ['↑↓ move', 2],
    ['Enter its nodes', 1],
    ['? help', 0],
    ['q back', 0],
  ],
  images: () => [
    ['↑↓ move', 2],
    ['Enter its nodes', 1],
    ['? help', 0],
    ['q back', 0],
  ],
  overlays: (d) => [
    ['↑↓ file', 2],
    [`d ${d ? 'file preview' : 'overlay diff'}`, 1],
    ['? help', 0],
    ['q back', 0],
  ],
  log: () => [
    ['↑↓ scroll', 3],
    ['End follow', 2],
    ['/ filter by node', 1],
    ['? help', 0],
    ['q back', 0],
  ],
};
/** The key bar of a view, fitted to `width` columns (80 unless told). */
export const hintsFor = (v: View, overlayDiff: boolean, width = 80): string => fitHints(HINTS[v](overlayDiff), width);

/** The key bar while a prompt is open (filter, log filter, field edit, action value). */
export function promptHints(kind: 'filter' | 'log-filter' | 'edit' | 'value', width = 80): string {
  switch (kind) {
    case 'filter':
      return fitHints(
        [
          ['Enter apply', 0],
          ['Esc clear', 0],
          ['Ctrl-U empty', 2],
          ['text, glob, hostlist n[01-08], profile:X, state:late', 0],
        ],
        width,
      );
    case 'log-filter':
      return fitHints(
        [
          ['Enter apply', 0],
          ['Esc clear', 0],
          ['Ctrl-U empty', 2],
          ['a node name, glob or hostlist', 0],
        ],
        width,
      );
    default:
      return fitHints(
        [
          ['Enter save', 0],
          ['Esc cancel', 0],
          ['Ctrl-U clear', 2],
          ["empty or UNSET clears the node's own value", 0],
        ],
        width,
      );
  }
}

/** The nodes table's column header line (before the screen-width fit). */
export function nodesHeader(width: number, sortCol: ColKey, sortDesc: boolean): string {
  const w = columnWidths(width);
  return '  ' + COLUMNS.map((col, i) => fit(col.title + (col.key === sortCol ? (sortDesc ? '▼' : '▲') : ''), w[i]!)).join(' ');
}

/** One table row: everything but the state cell, and the state cell (coloured by state). */
export function nodeRowText(r: NodeRow, width: number, now: number, marked: boolean): { left: string; state: string } {
  const w = columnWidths(width);
  const cells = [
    r.name,
    r.profiles,
    r.image,
    r.ip,
    r.stage || (r.sent ? r.sent : ''),
    fmtAgo(r.lastSeen === undefined ? undefined : now - r.lastSeen),
  ];
  const left = (marked ? '* ' : '  ') + cells.map((x, j) => fit(x, w[j]!)).join(' ') + ' ';
  return { left, state: fit(r.state === 'bad-asset' ? 'bad asset' : STATE_LABEL[r.state], w[w.length - 1]!) };
}

/** ink's wrap="truncate" on a line of single-width characters. */
const truncate = (s: string, w: number) => (s.length > w ? s.slice(0, Math.max(0, w - 1)) + '…' : s);
const paint = (t: Theme, color: string | undefined, s: string) => {
  const k = c(t, color);
  return k ? (chalk as unknown as Record<string, (x: string) => string>)[k]!(s) : s;
};

export interface FirstFrameInput {
  snap: ConfigSnapshot;
  statuses: Map<string, NodeStatus>;
  mode: FeedMode;
  detail: string;
  server: string;
  columns: number;
  rows: number;
  theme: Theme;
  now: number;
}

/**
 * The start screen (nodes view, initial state) as terminal text: the lines App draws on its first
 * render. Undefined when it would not be that simple (terminal too small, a config error, text
 * that is not all single-width characters): then ink paints first, as before.
 */
export function firstFrame(f: FirstFrameInput): string[] | undefined {
  const { snap, columns, rows: termRows, theme, now } = f;
  if (columns < MIN_COLS || termRows < MIN_ROWS || snap.error) return undefined;
  const st = initialState();
  const interval = snap.wulf.warewulf.updateInterval;
  const allRows = statusRows(baseRows(snap.merged), f.statuses, now, interval);
  const unknown = unknownRows(snap.byId, f.statuses, now, interval);
  const all = unknown.length ? allRows.concat(unknown) : allRows;
  const shown = viewRows(all, st.filter, st.sortCol, st.sortDesc);
  const counts = countStates(all);
  const bodyH = Math.max(1, termRows - 4);
  const listH = bodyH - 1;
  const list = followKey(
    st.lists.nodes,
    shown.map((r) => r.name),
    listH,
  );
  const cursorNode = shown[list.cursor]?.name;

  const mode = modeLine(f.mode, f.server);
  const lines: string[] = [];
  const plain: string[] = [];
  const add = (text: string, styled: string) => {
    plain.push(text);
    lines.push(styled);
  };
  const title = titleOf('nodes'),
    tail = `   ${TABS}`;
  // title line: truncated as a whole, then styled by part
  {
    const full = truncate(`${title}  ${mode.text}${tail}`, columns);
    const a = full.slice(0, title.length),
      b = full.slice(title.length, title.length + 2 + mode.text.length),
      d = full.slice(title.length + 2 + mode.text.length);
    add(
      full,
      chalk.bold(a) + (b ? b.slice(0, 2) + (b.length > 2 ? paint(theme, mode.color, b.slice(2)) : '') : '') + (d ? chalk.dim(d) : ''),
    );
  }
  {
    const parts: [string, string | undefined][] = [
      [snap.partial ? `${Object.keys(snap.conf.nodes).length} nodes (loading):` : `${all.length} nodes:`, undefined],
    ];
    for (const s of STATES) parts.push([` ${STATE_LABEL[s]} ${counts[s]}`, STATE_COLOR[s]]);
    if (cursorNode && columns >= 110) parts.push([`  · ${cursorNode}`, undefined]);
    const full = truncate(parts.map((p) => p[0]).join(''), columns);
    let at = 0,
      styled = '';
    for (const [text, color] of parts) {
      const piece = full.slice(at, at + text.length);
      at += text.length;
      if (piece) styled += color ? paint(theme, color, piece) : piece;
    }
    add(full, styled);
  }
  const header = fit(nodesHeader(columns, st.sortCol, st.sortDesc), columns);
  add(header, chalk.bold(header));
  const visible = shown.slice(list.top, list.top + listH);
  visible.forEach((r, i) => {
    const { left, state } = nodeRowText(r, columns, now, false);
    const full = truncate(left + state, columns);
    const l = full.slice(0, left.length),
      s = full.slice(left.length);
    const styled = l + (s ? paint(theme, STATE_COLOR[r.state], s) : '');
    add(full, list.top + i === list.cursor ? chalk.inverse(styled) : styled);
  });
  if (shown.length === 0) add('  no node matches', chalk.dim('  no node matches'));
  while (lines.length < 2 + bodyH) add('', '');
  const foot = fit(f.detail || `${all.length} nodes`, columns);
  add(foot, chalk.dim(foot));
  const hints = fit(hintsFor('nodes', false, columns), columns);
  add(hints, chalk.dim(hints));
  // single-width text only: anything else (wide or combining characters) is ink's to measure
  if (plain.some((l) => !/^[\x20-\x7e·…▲▼↑↓—]*$/.test(l))) return undefined;
  return lines;
}
