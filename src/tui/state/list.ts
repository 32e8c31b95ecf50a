// A scrolling list cursor: which item is selected (by key, so it survives reloads and re-sorts)
// and the first visible row. Only the visible window is ever rendered.

export interface ListState {
  cursor: number;
  top: number;
  key?: string;
}
export const emptyList: ListState = { cursor: 0, top: 0 };

export type ListMove = { type: 'move'; by: number } | { type: 'page'; dir: 1 | -1 } | { type: 'home' } | { type: 'end' };

/** Keep the cursor inside [0, count) and the window [top, top+height) around it. */
export function clampList(s: ListState, count: number, height: number): ListState {
  const h = Math.max(1, height);
  const cursor = count === 0 ? 0 : Math.min(Math.max(0, s.cursor), count - 1);
  let top = Math.min(s.top, Math.max(0, count - h));
  if (cursor < top) top = cursor;
  if (cursor >= top + h) top = cursor - h + 1;
  top = Math.max(0, top);
  return cursor === s.cursor && top === s.top ? s : { ...s, cursor, top };
}

export function moveList(s: ListState, m: ListMove, keys: readonly string[], height: number): ListState {
  const count = keys.length;
  let cursor = s.cursor;
  let top = s.top;
  switch (m.type) {
    case 'move':
      cursor += m.by;
      break;
    case 'page':
      cursor += m.dir * Math.max(1, height - 1);
      top += m.dir * Math.max(1, height - 1);
      break;
    case 'home':
      cursor = 0;
      break;
    case 'end':
      cursor = count - 1;
      break;
  }
  const next = clampList({ ...s, cursor, top: Math.max(0, top) }, count, height);
  return { ...next, key: keys[next.cursor] };
}

/** After the items changed (reload, filter, sort): put the cursor back on the same key if it is still there. */
export function followKey(s: ListState, keys: readonly string[], height: number): ListState {
  let cursor = s.cursor;
  if (s.key !== undefined && keys[cursor] !== s.key) {
    const i = keys.indexOf(s.key);
    if (i >= 0) cursor = i;
  }
  const next = clampList({ ...s, cursor }, keys.length, height);
  const key = keys[next.cursor];
  return next === s && key === s.key ? s : { ...next, key };
}

/** The visible slice [top, top+height). */
export function windowOf<T>(items: readonly T[], s: ListState, height: number): T[] {
  return items.slice(s.top, s.top + Math.max(0, height));
}
