// Navigation and keys as a pure reducer: (state, key, what the screen shows) → new state plus at
// most one effect for the shell to run (write an edit, run an action, quit). No terminal, no I/O.
import { COLUMNS, type ColKey } from './nodes.ts';
import { emptyList, moveList, type ListMove, type ListState } from './list.ts';
import { parseEdit, type DetailLine } from './detail.ts';

export type View = 'nodes' | 'detail' | 'profiles' | 'images' | 'overlays' | 'log';
export const TOP_VIEWS: View[] = ['nodes', 'profiles', 'images', 'overlays', 'log'];
export type ActionKind = 'power-on' | 'power-off' | 'power-cycle' | 'rebuild' | 'set-profile' | 'set-image' | 'discoverable';
export const ACTION_LABEL: Record<ActionKind, string> = {
  'power-on': 'power on',
  'power-off': 'power off',
  'power-cycle': 'power cycle',
  rebuild: 'rebuild overlays',
  'set-profile': 'set profiles',
  'set-image': 'set image',
  discoverable: 'mark discoverable',
};

export interface Prompt {
  kind: 'filter' | 'log-filter' | 'edit' | 'value';
  text: string;
  error?: string;
  lineKey?: string;
  action?: ActionKind;
  targets?: string[];
  revision?: string;
}
/** `revision`: the nodes.conf revision on screen when the edit or action began (a later change makes the write fail). */
export interface Confirm {
  action: ActionKind;
  targets: string[];
  value?: string;
  revision?: string;
}
export interface AppState {
  stack: View[];
  lists: Record<View, ListState>;
  sortCol: ColKey;
  sortDesc: boolean;
  filter: string;
  logFilter: string;
  selected: ReadonlySet<string>;
  detailNode?: string;
  /** overlays view: diff pane instead of the file preview */
  overlayDiff: boolean;
  prompt?: Prompt;
  confirm?: Confirm;
  help: boolean;
  message?: { text: string; error: boolean };
}

export function initialState(): AppState {
  const lists = Object.fromEntries(['nodes', 'detail', 'profiles', 'images', 'overlays', 'log'].map((v) => [v, emptyList])) as Record<
    View,
    ListState
  >;
  return {
    stack: ['nodes'],
    lists,
    sortCol: 'name',
    sortDesc: false,
    filter: '',
    logFilter: '',
    selected: new Set(),
    overlayDiff: false,
    help: false,
  };
}

export interface KeyIn {
  input: string;
  up?: boolean;
  down?: boolean;
  left?: boolean;
  right?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  enter?: boolean;
  escape?: boolean;
  tab?: boolean;
  backspace?: boolean;
  ctrl?: boolean;
  shift?: boolean;
}
/** What the screen currently shows, for the reducer to act on. */
export interface Env {
  /** keys of the current view's list, in display order */
  keys: readonly string[];
  /** rows available to the current list */
  height: number;
  detailLines?: readonly DetailLine[];
  /** own (unmerged) value of each detail line, to start an edit from */
  ownValue?: (line: DetailLine) => string;
  /** why power actions are unavailable (undefined: available) */
  powerUnavailable?: string;
  /** the nodes.conf revision on screen */
  revision?: string;
}
export type Effect =
  | { type: 'quit' }
  | { type: 'write-edit'; node: string; line: DetailLine; value: unknown; revision?: string }
  | { type: 'action'; action: ActionKind; targets: string[]; value?: string; revision?: string };
export interface Step {
  state: AppState;
  effect?: Effect;
}

export const view = (s: AppState): View => s.stack[s.stack.length - 1]!;
const withList = (s: AppState, v: View, l: ListState): AppState => (l === s.lists[v] ? s : { ...s, lists: { ...s.lists, [v]: l } });
const msg = (s: AppState, text: string, error = false): AppState => ({ ...s, message: { text, error } });

function listMove(k: KeyIn): ListMove | undefined {
  if (k.up || k.input === 'k') return { type: 'move', by: -1 };
  if (k.down || k.input === 'j') return { type: 'move', by: 1 };
  if (k.pageUp || (k.ctrl && k.input === 'b')) return { type: 'page', dir: -1 };
  if (k.pageDown || (k.ctrl && k.input === 'f')) return { type: 'page', dir: 1 };
  if (k.home || k.input === 'g') return { type: 'home' };
  if (k.end || k.input === 'G') return { type: 'end' };
  return undefined;
}

/** The nodes an action applies to: the marked ones, else the one under the cursor / on the detail page. */
export function targetsOf(s: AppState, env: Env): string[] {
  if (view(s) === 'detail') return s.detailNode ? [s.detailNode] : [];
  if (view(s) !== 'nodes') return [];
  if (s.selected.size) return [...s.selected];
  const k = env.keys[s.lists.nodes.cursor];
  return k ? [k] : [];
}

function startAction(s: AppState, action: ActionKind, env: Env): Step {
  const targets = targetsOf(s, env);
  if (!targets.length) return { state: msg(s, 'no node selected', true) };
  if (action.startsWith('power') && env.powerUnavailable)
    return { state: msg(s, `${ACTION_LABEL[action]}: unavailable — ${env.powerUnavailable}`, true) };
  if (action === 'set-profile' || action === 'set-image')
    return { state: { ...s, message: undefined, prompt: { kind: 'value', text: '', action, targets, revision: env.revision } } };
  return { state: { ...s, message: undefined, confirm: { action, targets, revision: env.revision } } };
}

function promptKey(s: AppState, k: KeyIn, env: Env): Step {
  const p = s.prompt!;
  const live = (text: string): AppState => {
    const np = { ...p, text, error: undefined };
    if (p.kind === 'filter')
      return { ...s, prompt: np, filter: text, lists: { ...s.lists, nodes: { ...s.lists.nodes, cursor: 0, top: 0, key: undefined } } };
    if (p.kind === 'log-filter') return { ...s, prompt: np, logFilter: text };
    return { ...s, prompt: np };
  };
  if (k.escape) {
    if (p.kind === 'filter') return { state: { ...s, prompt: undefined, filter: '' } };
    if (p.kind === 'log-filter') return { state: { ...s, prompt: undefined, logFilter: '' } };
    return { state: { ...s, prompt: undefined, message: { text: 'edit cancelled, nothing written', error: false } } };
  }
  if (k.enter) {
    if (p.kind === 'filter' || p.kind === 'log-filter') return { state: { ...s, prompt: undefined } };
    if (p.kind === 'value')
      return {
        state: { ...s, prompt: undefined, confirm: { action: p.action!, targets: p.targets!, value: p.text.trim(), revision: p.revision } },
      };
    const line = env.detailLines?.find((l) => l.key === p.lineKey);
    if (!line?.field || !s.detailNode) return { state: { ...s, prompt: undefined } };
    const r = parseEdit(line.field, p.text);
    if (!r.ok) return { state: { ...s, prompt: { ...p, error: r.error } } };
    return {
      state: { ...s, prompt: undefined },
      effect: { type: 'write-edit', node: s.detailNode, line, value: r.value, revision: p.revision },
    };
  }
  if (k.backspace) return { state: live(p.text.slice(0, -1)) };
  if (k.ctrl && k.input === 'u') return { state: live('') };
  if (k.input && !k.ctrl && !k.up && !k.down && !k.tab && !/[\x00-\x1f\x7f]/.test(k.input)) return { state: live(p.text + k.input) };
  return { state: s };
}

export function handleKey(s0: AppState, k: KeyIn, env: Env): Step {
  if (k.ctrl && k.input === 'c') return { state: s0, effect: { type: 'quit' } };
  if (s0.prompt) return promptKey(s0, k, env);
  if (s0.help) return { state: { ...s0, help: false } };
  if (s0.confirm) {
    if (k.input === 'y' || k.input === 'Y') return { state: { ...s0, confirm: undefined }, effect: { type: 'action', ...s0.confirm } };
    if (k.input === 'n' || k.input === 'N' || k.escape || k.input === 'q')
      return { state: { ...s0, confirm: undefined, message: { text: 'cancelled', error: false } } };
    return { state: s0 };
  }
  const s = s0.message ? { ...s0, message: undefined } : s0;
  const v = view(s);
  if (k.input === '?') return { state: { ...s, help: true } };
  if (k.input === 'q' || k.escape) {
    if (s.stack.length > 1) return { state: { ...s, stack: s.stack.slice(0, -1) } };
    if (k.escape && v === 'nodes' && (s.filter || s.selected.size)) return { state: { ...s, filter: '', selected: new Set() } };
    if (k.escape && v === 'log' && s.logFilter) return { state: { ...s, logFilter: '' } };
    if (v !== 'nodes') return { state: { ...s, stack: ['nodes'] } }; // q and Esc go back home; only q at home quits
    if (k.input === 'q') return { state: s, effect: { type: 'quit' } };
    return { state: s };
  }
  const n = '12345'.indexOf(k.input);
  if (k.input && n >= 0) return { state: { ...s, stack: [TOP_VIEWS[n]!] } };
  if (k.tab) {
    const i = TOP_VIEWS.indexOf(s.stack[0]!);
    return { state: { ...s, stack: [TOP_VIEWS[(i + (k.shift ? TOP_VIEWS.length - 1 : 1)) % TOP_VIEWS.length]!] } };
  }
  const mv = listMove(k);
  if (mv) {
    const l = moveList(s.lists[v], mv, env.keys, env.height);
    // the log follows new events while its cursor sits on the last one
    return { state: withList(s, v, v === 'log' && l.cursor >= env.keys.length - 1 ? { ...l, key: undefined } : l) };
  }
  const cur = env.keys[s.lists[v].cursor];

  switch (v) {
    case 'nodes': {
      if (k.input === '/') return { state: { ...s, prompt: { kind: 'filter', text: s.filter } } };
      if (k.enter && cur)
        return { state: { ...s, stack: [...s.stack, 'detail'], detailNode: cur, lists: { ...s.lists, detail: emptyList } } };
      if (k.input === 's' || k.input === '>' || k.input === '<') {
        const i = COLUMNS.findIndex((c) => c.key === s.sortCol);
        const d = k.input === '<' ? COLUMNS.length - 1 : 1;
        return {
          state: msg(
            { ...s, sortCol: COLUMNS[(i + d) % COLUMNS.length]!.key },
            `sorted by ${COLUMNS[(i + d) % COLUMNS.length]!.title.toLowerCase()}`,
          ),
        };
      }
      if (k.input === 'r') return { state: { ...s, sortDesc: !s.sortDesc } };
      if (k.input === ' ' && cur) {
        const sel = new Set(s.selected);
        if (sel.has(cur)) sel.delete(cur);
        else sel.add(cur);
        return { state: withList({ ...s, selected: sel }, v, moveList(s.lists.nodes, { type: 'move', by: 1 }, env.keys, env.height)) };
      }
      if (k.input === 'a') return { state: { ...s, selected: s.selected.size ? new Set() : new Set(env.keys) } };
      if (k.input === 'L' && cur) return { state: { ...s, stack: ['log'], logFilter: cur } };
      break;
    }
    case 'detail': {
      const line = env.detailLines?.find((l) => l.key === cur);
      if ((k.enter || k.input === 'e') && line) {
        if (!line.field) return { state: msg(s, `${line.title.trim()} is not editable here`, true) };
        return { state: { ...s, prompt: { kind: 'edit', text: env.ownValue?.(line) ?? '', lineKey: line.key, revision: env.revision } } };
      }
      if (k.input === 'L' && s.detailNode) return { state: { ...s, stack: ['log'], logFilter: s.detailNode } };
      break;
    }
    case 'profiles':
      if (k.enter && cur) return { state: { ...s, stack: ['nodes'], filter: `profile:${cur}`, lists: { ...s.lists, nodes: emptyList } } };
      break;
    case 'images':
      if (k.enter && cur) return { state: { ...s, stack: ['nodes'], filter: `image:${cur}`, lists: { ...s.lists, nodes: emptyList } } };
      break;
    case 'overlays':
      if (k.input === 'd') return { state: { ...s, overlayDiff: !s.overlayDiff } };
      break;
    case 'log':
      if (k.input === '/') return { state: { ...s, prompt: { kind: 'log-filter', text: s.logFilter } } };
      break;
  }
  if (v === 'nodes' || v === 'detail') {
    const a: Record<string, ActionKind> = {
      o: 'power-on',
      f: 'power-off',
      c: 'power-cycle',
      b: 'rebuild',
      P: 'set-profile',
      I: 'set-image',
      D: 'discoverable',
    };
    if (a[k.input]) return startAction(s, a[k.input]!, env);
  }
  return { state: s };
}

/** Every key, for the help overlay (and the tests that check it stays complete). */
export const HELP: [string, string][] = [
  ['↑/↓ j/k', 'move'],
  ['PgUp/PgDn ^B/^F', 'page'],
  ['Home/End g/G', 'first / last'],
  ['1-5, Tab', 'nodes, profiles, images, overlays, log'],
  ['Enter', 'open (node detail; profile/image → its nodes)'],
  ['/', 'filter: text, hostlist n[01-10], glob, state:late, profile:X, image:X'],
  ['s / < >', 'sort by next / previous column'],
  ['r', 'reverse the sort'],
  ['Space', 'mark node'],
  ['a', 'mark all shown / clear marks'],
  ['e, Enter', 'edit the field (detail)'],
  ['o / f / c', 'power on / off / cycle'],
  ['b', 'rebuild overlays'],
  ['P / I', 'set profiles / image'],
  ['D', 'mark discoverable'],
  ['L', 'log of this node'],
  ['d', 'overlays: file preview ↔ overlay diff'],
  ['?', 'this help'],
  ['q / Esc', 'back (q on the nodes view quits)'],
  ['Ctrl-C', 'quit'],
];
