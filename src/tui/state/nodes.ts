// The nodes table's rows: merged config joined with live status, then filtered (text or hostlist)
// and sorted by a column. Pure functions over plain data; the caller passes `now`.
import type { MergedNode } from '../../config/cascade.ts';
import { naturalCompare } from '../../config/cascade.ts';
import { expandHostlist } from '../../lib/hostlist.ts';
import { classify, STATES, type NodeState, type NodeStatus } from './status.ts';

export interface NodeRow {
  name: string;
  profiles: string;
  image: string;
  ip: string;
  stage: string;
  sent: string;
  lastSeen?: number;
  state: NodeState;
}

export type ColKey = 'name' | 'profiles' | 'image' | 'ip' | 'stage' | 'seen' | 'state';
export interface Column {
  key: ColKey;
  title: string;
  min: number;
  weight: number;
}
export const COLUMNS: Column[] = [
  { key: 'name', title: 'NAME', min: 8, weight: 3 },
  { key: 'profiles', title: 'PROFILES', min: 8, weight: 3 },
  { key: 'image', title: 'IMAGE', min: 8, weight: 3 },
  { key: 'ip', title: 'IP', min: 15, weight: 0 },
  { key: 'stage', title: 'STAGE', min: 8, weight: 1 },
  { key: 'seen', title: 'SEEN', min: 5, weight: 0 },
  { key: 'state', title: 'STATE', min: 10, weight: 0 },
];

/** The parts of a row that come from the config only: computed once per config snapshot. */
export type BaseRow = Pick<NodeRow, 'name' | 'profiles' | 'image' | 'ip'>;
export function baseRows(merged: MergedNode[]): BaseRow[] {
  return merged.map((m) => {
    const nd = m.primary ? m.data.networkDevices?.[m.primary] : undefined;
    return { name: m.id, profiles: (m.data.profiles ?? []).join(','), image: m.data.imageName ?? '', ip: nd?.ipaddr ?? '' };
  });
}

/** Join the config rows with live status (cheap: run on every sampled frame). */
export function statusRows(base: BaseRow[], statuses: Map<string, NodeStatus>, now: number, interval: number): NodeRow[] {
  const out = new Array<NodeRow>(base.length);
  for (let i = 0; i < base.length; i++) {
    const b = base[i]!;
    const st = statuses.get(b.name);
    out[i] = st
      ? {
          name: b.name,
          profiles: b.profiles,
          image: b.image,
          ip: b.ip || (st.ipaddr ?? ''),
          stage: st.stage ?? '',
          sent: st.sent ?? '',
          lastSeen: st.lastSeen,
          state: classify(st, now, interval),
        }
      : { name: b.name, profiles: b.profiles, image: b.image, ip: b.ip, stage: '', sent: '', lastSeen: undefined, state: 'never' };
  }
  return out;
}

export function buildRows(merged: MergedNode[], statuses: Map<string, NodeStatus>, now: number, interval: number): NodeRow[] {
  return statusRows(baseRows(merged), statuses, now, interval);
}

/** Rows for status records of nodes that are not in nodes.conf (unknown nodes booting). */
export function unknownRows(
  known: { has(name: string): boolean },
  statuses: Map<string, NodeStatus>,
  now: number,
  interval: number,
): NodeRow[] {
  const out: NodeRow[] = [];
  for (const [name, st] of statuses) {
    if (known.has(name)) continue;
    out.push({
      name,
      profiles: '(unknown)',
      image: '',
      ip: st.ipaddr ?? '',
      stage: st.stage ?? '',
      sent: st.sent ?? '',
      lastSeen: st.lastSeen,
      state: classify(st, now, interval),
    });
  }
  return out;
}

export type Matcher = (r: NodeRow) => boolean;
/**
 * A filter: a hostlist (`n[001-010]`, commas) or glob (`n1*`) matches names; other text matches
 * any column (case-insensitive); `state:late`, `profile:NAME`, `image:NAME` match exactly.
 */
export function makeMatcher(filter: string): Matcher {
  const f = filter.trim();
  if (!f) return () => true;
  const st = /^state:(\S+)$/i.exec(f);
  if (st) {
    const want = st[1]!.toLowerCase();
    return (r) => r.state.startsWith(want);
  }
  const pr = /^profile:(\S+)$/i.exec(f);
  if (pr) return (r) => r.profiles.split(',').includes(pr[1]!);
  const im = /^image:(\S+)$/i.exec(f);
  if (im) return (r) => r.image === im[1]!;
  const glob = (p: string) =>
    new RegExp(
      '^' +
        p
          .replace(/[.+^${}()|\\[\]]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.') +
        '$',
      'i',
    );
  if (/[[\],]/.test(f)) {
    try {
      const names = expandHostlist(f);
      if (/[*?]/.test(f)) {
        const res = names.map(glob);
        return (r) => res.some((re) => re.test(r.name));
      } // c00[1-2]? : ranges, then globs
      const set = new Set(names);
      return (r) => set.has(r.name);
    } catch {
      /* not a valid hostlist: fall through to text */
    }
  }
  if (/[*?]/.test(f)) {
    const re = glob(f);
    return (r) => re.test(r.name);
  }
  const low = f.toLowerCase();
  return (r) =>
    r.name.toLowerCase().includes(low) ||
    r.profiles.toLowerCase().includes(low) ||
    r.image.toLowerCase().includes(low) ||
    r.ip.includes(low) ||
    r.stage.includes(low) ||
    r.state.includes(low);
}

const STATE_ORDER = new Map(STATES.map((s, i) => [s, i]));
function ipKey(ip: string): number {
  const p = ip.split('.');
  if (p.length !== 4) return Number.MAX_SAFE_INTEGER;
  return p.reduce((acc, x) => acc * 256 + (Number(x) || 0), 0);
}
/** Rank of each distinct string in natural order (few distinct values: profiles, images, stages). */
function ranks(values: string[]): Map<string, number> {
  const distinct = [...new Set(values)].sort(naturalCompare);
  return new Map(distinct.map((v, i) => [v, i]));
}
function sortKeys(rows: NodeRow[], col: ColKey): number[] {
  switch (col) {
    case 'name':
      return rows.map((_, i) => i);
    case 'ip':
      return rows.map((r) => ipKey(r.ip));
    case 'seen':
      return rows.map((r) => -(r.lastSeen ?? -1));
    case 'state':
      return rows.map((r) => STATE_ORDER.get(r.state)!);
    default: {
      const f = col === 'stage' ? (r: NodeRow) => r.stage : col === 'image' ? (r: NodeRow) => r.image : (r: NodeRow) => r.profiles;
      const rk = ranks(rows.map(f));
      return rows.map((r) => rk.get(f(r))!);
    }
  }
}

/**
 * Filter and sort. `rows` come in name order (mergeAll's natural order), so ties keep that order
 * and sorting by name is free; other columns sort by a precomputed numeric key.
 */
export function viewRows(rows: NodeRow[], filter: string, col: ColKey, desc: boolean): NodeRow[] {
  const m = makeMatcher(filter);
  const idx: number[] = [];
  for (let i = 0; i < rows.length; i++) if (m(rows[i]!)) idx.push(i);
  if (col !== 'name') {
    const keys = sortKeys(rows, col);
    idx.sort((a, b) => keys[a]! - keys[b]! || a - b);
  }
  if (desc) {
    if (col === 'name') idx.reverse();
    else {
      const keys = sortKeys(rows, col);
      idx.sort((a, b) => keys[b]! - keys[a]! || b - a);
    }
  }
  return idx.map((i) => rows[i]!);
}

export function countStates(rows: NodeRow[]): Record<NodeState, number> {
  const c = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<NodeState, number>;
  for (const r of rows) c[r.state]++;
  return c;
}

/** Column widths for a terminal width: fixed minimums, the rest shared by weight. */
export function columnWidths(total: number): number[] {
  const gaps = COLUMNS.length - 1 + 2; // one space between columns, 2 for the selection mark
  const base = COLUMNS.reduce((a, c) => a + c.min, 0);
  let spare = Math.max(0, total - gaps - base);
  const wsum = COLUMNS.reduce((a, c) => a + c.weight, 0);
  const widths = COLUMNS.map((c) => c.min + Math.floor((spare * c.weight) / wsum));
  spare -= widths.reduce((a, w, i) => a + w - COLUMNS[i]!.min, 0);
  widths[0]! += Math.max(0, spare);
  if (total - gaps < base) {
    // very narrow: shrink from the right, keep at least 3 per column
    let over = base - (total - gaps);
    for (let i = widths.length - 1; i >= 0 && over > 0; i--) {
      const cut = Math.min(over, widths[i]! - 3);
      widths[i]! -= cut;
      over -= cut;
    }
  }
  return widths;
}

export function fit(s: string, w: number): string {
  if (w <= 0) return '';
  if (s.length > w) return w <= 1 ? s.slice(0, w) : s.slice(0, w - 1) + '…';
  return s.padEnd(w);
}
