// The TUI's pure state, without a terminal: status parsing and colours, the nodes table's
// filter/sort/window, the key reducer's navigation, edits and actions.
import { describe, expect, test } from 'bun:test';
import { mergeAll, mergeNode } from '../../src/config/cascade.ts';
import { parseNodesConf } from '../../src/config/store.ts';
import { fields } from '../../src/config/schema.ts';
import { classify, parseStatusDoc, waterfall, type NodeStatus } from '../../src/tui/state/status.ts';
import { buildRows, columnWidths, countStates, makeMatcher, viewRows, COLUMNS } from '../../src/tui/state/nodes.ts';
import { followKey, moveList, emptyList, windowOf } from '../../src/tui/state/list.ts';
import { applyEdit, detailLines, parseEdit } from '../../src/tui/state/detail.ts';
import { handleKey, initialState, view, HELP, type AppState, type Env, type KeyIn } from '../../src/tui/state/app.ts';
import { hintsFor, promptHints } from '../../src/tui/ui/frame.ts';
import { nodesYaml, nodeName } from './fixture.ts';

const conf = parseNodesConf(nodesYaml(30));
const merged = mergeAll(conf);
const st = (name: string, o: Partial<NodeStatus>): NodeStatus => ({ name, timeline: [], ...o });

describe('status', () => {
  test('parses the Warewulf /status document and wulf SSE events', () => {
    const recs = parseStatusDoc({
      nodes: {
        n0001: { 'node name': 'n0001', stage: 'RUNTIME_OVERLAY', sent: 'runtime.img', ipaddr: '10.0.1.2', 'last seen': 1700000000 },
      },
    });
    expect(recs).toEqual([
      { name: 'n0001', stage: 'runtime', sent: 'runtime.img', ipaddr: '10.0.1.2', lastSeen: 1700000000, timeline: [] },
    ]);
    const prev = new Map(recs.map((r) => [r.name, r]));
    const upd = parseStatusDoc({ 'node name': 'n0001', stage: 'kernel', 'last seen': 1700000005000 }, prev);
    expect(upd[0]).toMatchObject({ stage: 'kernel', sent: 'runtime.img', ipaddr: '10.0.1.2', lastSeen: 1700000005 });
  });
  test('state colours follow the update-interval thresholds', () => {
    const now = 1000;
    expect(classify(undefined, now, 60)).toBe('never');
    expect(classify(st('a', { stage: 'ipxe', lastSeen: 990, lastAgent: 0 }), now, 60)).toBe('booting');
    // iPXE's fetch of the runtime overlay is a boot stage: up takes the agent's refresh
    expect(
      classify(st('a', { stage: 'runtime', lastSeen: 990, lastAgent: 0, timeline: [{ stage: 'runtime', start: 990 }] }), now, 60),
    ).toBe('booting');
    expect(
      classify(st('a', { stage: 'agent', lastSeen: 990, lastAgent: 990, timeline: [{ stage: 'runtime', start: 950 }] }), now, 60),
    ).toBe('up');
    expect(classify(st('a', { stage: 'agent', lastSeen: now - 64, lastAgent: now - 64 }), now, 60)).toBe('up');
    expect(classify(st('a', { stage: 'agent', lastSeen: now - 65, lastAgent: now - 65 }), now, 60)).toBe('late');
    expect(classify(st('a', { stage: 'agent', lastSeen: now - 120, lastAgent: now - 120 }), now, 60)).toBe('lost');
    // a renewal does not make a silent agent alive
    expect(classify(st('a', { stage: 'dhcp', lastSeen: now - 1, lastAgent: now - 130 }), now, 60)).toBe('lost');
    // a Warewulf server (no "last agent"): RUNTIME_OVERLAY means its client polls, as Warewulf reads it
    const [ww] = parseStatusDoc({ nodes: { a: { 'node name': 'a', stage: 'RUNTIME_OVERLAY', sent: 'x', 'last seen': 990 } } });
    expect([ww!.lastAgent, classify(ww, now, 60)]).toEqual([undefined, 'up']);
    const [wulf] = parseStatusDoc({ nodes: { a: { 'node name': 'a', stage: 'runtime', sent: 'x', 'last seen': 990, 'last agent': 0 } } });
    expect([wulf!.lastAgent, classify(wulf, now, 60)]).toEqual([0, 'booting']);
    const [agent] = parseStatusDoc({ 'node name': 'a', stage: 'agent', 'last seen': 990, 'last agent': 990 });
    expect([agent!.lastAgent, classify(agent, now, 60)]).toEqual([990, 'up']);
    expect(classify(st('a', { sent: 'BAD_ASSET', lastSeen: now }), now, 60)).toBe('bad-asset');
  });
  test('waterfall: stage order, offsets, rates', () => {
    const [s] = parseStatusDoc({
      'node name': 'n1',
      timeline: [
        { stage: 'ipxe', start: 100, seconds: 0.5, bytes: 1000 },
        { stage: 'kernel', start: 101, seconds: 2, bytes: 8_000_000 },
      ],
    });
    const w = waterfall(s);
    expect(w.map((r) => r.stage)).toEqual(['dhcp', 'ipxe', 'kernel', 'image', 'system', 'runtime']);
    expect(w[1]).toMatchObject({ offset: 0, seconds: 0.5, bytes: 1000, rate: 2000 });
    expect(w[2]).toMatchObject({ offset: 1, rate: 4_000_000 });
    expect(w[0]).toEqual({ stage: 'dhcp' });
  });

  test('the waterfall keeps the controller of each stage when the server names one (several controllers, PostgreSQL)', () => {
    const [s] = parseStatusDoc({
      'node name': 'n1',
      timeline: [
        { stage: 'ipxe', start: 100, seconds: 0.5, bytes: 1000, controller: 'ctl-a' },
        { stage: 'kernel', start: 101, seconds: 2, bytes: 8, controller: 'ctl-b' },
        { stage: 'image', start: 103, seconds: 2, bytes: 8 },
      ],
    });
    expect(waterfall(s).map((r) => r.controller)).toEqual([undefined, 'ctl-a', 'ctl-b', undefined, undefined, undefined]);
    expect(s!.timeline[2]).not.toHaveProperty('controller');
  });
});

describe('nodes table', () => {
  const statuses = new Map([
    ['n0002', st('n0002', { stage: 'agent', lastSeen: 995, lastAgent: 995 })],
    ['n0003', st('n0003', { stage: 'kernel', lastSeen: 800, lastAgent: 0 })],
  ]);
  const rows = buildRows(merged, statuses, 1000, 60);
  test('rows join config and status; counts per state', () => {
    expect(rows[1]).toMatchObject({ name: 'n0002', profiles: 'default', image: 'rocky-9', ip: '10.0.1.3', stage: 'agent', state: 'up' });
    expect(rows[9]).toMatchObject({ name: 'n0010', profiles: 'default,gpu', image: 'rocky-9-gpu' });
    expect(countStates(rows)).toEqual({ up: 1, booting: 0, late: 0, lost: 1, never: 28, 'bad-asset': 0 });
  });
  test('filters: text, hostlist, glob, state:, profile:, image:', () => {
    const names = (f: string) => viewRows(rows, f, 'name', false).map((r) => r.name);
    expect(names('n000[2-4]')).toEqual(['n0002', 'n0003', 'n0004']);
    expect(names('n0001,n0030')).toEqual(['n0001', 'n0030']);
    expect(names('n002*')).toHaveLength(10);
    expect(names('gpu')).toEqual(['n0010', 'n0020', 'n0030']);
    expect(names('state:lost')).toEqual(['n0003']);
    expect(names('profile:gpu')).toEqual(['n0010', 'n0020', 'n0030']);
    expect(names('image:rocky-9')).toHaveLength(27);
    expect(names('10.0.1.31')).toEqual(['n0030']);
  });
  test('sort by column, reversed, ties by name', () => {
    expect(
      viewRows(rows, '', 'state', false)
        .slice(0, 2)
        .map((r) => r.name),
    ).toEqual(['n0002', 'n0003']);
    expect(viewRows(rows, '', 'name', true)[0]!.name).toBe('n0030');
    expect(
      viewRows(rows, '', 'image', true)
        .slice(0, 3)
        .map((r) => r.name),
    ).toEqual(['n0030', 'n0020', 'n0010']);
  });
  test('column widths fit 80 and 200 columns', () => {
    for (const w of [60, 80, 200]) {
      const ws = columnWidths(w);
      expect(ws.reduce((a, b) => a + b, 0) + COLUMNS.length - 1 + 2).toBeLessThanOrEqual(w);
    }
  });
});

describe('list window', () => {
  const keys = Array.from({ length: 2000 }, (_, i) => nodeName(i + 1));
  test('moves, pages and keeps the window around the cursor', () => {
    let l = moveList(emptyList, { type: 'page', dir: 1 }, keys, 19);
    expect(l).toMatchObject({ cursor: 18, key: 'n0019' });
    l = moveList(l, { type: 'end' }, keys, 19);
    expect(l).toEqual({ cursor: 1999, top: 1981, key: 'n2000' });
    expect(windowOf(keys, l, 19)).toHaveLength(19);
    l = moveList(l, { type: 'move', by: 5 }, keys, 19);
    expect(l.cursor).toBe(1999);
    l = moveList(l, { type: 'home' }, keys, 19);
    expect(l).toEqual({ cursor: 0, top: 0, key: 'n0001' });
  });
  test('follows its key through reloads and re-sorts', () => {
    const l = moveList(emptyList, { type: 'move', by: 100 }, keys, 19);
    const rev = [...keys].reverse();
    const f = followKey(l, rev, 19);
    expect(rev[f.cursor]).toBe(l.key!);
    const gone = followKey(
      l,
      keys.filter((k) => k !== l.key),
      19,
    );
    expect(gone.cursor).toBe(100);
  });
});

const key = (input: string, extra: Partial<KeyIn> = {}): KeyIn => ({ input, ...extra });
function press(s: AppState, env: Env, ...ks: KeyIn[]) {
  let effect;
  for (const k of ks) {
    const r = handleKey(s, k, env);
    s = r.state;
    effect = r.effect ?? effect;
  }
  return { s, effect };
}

describe('key reducer', () => {
  const keys = merged.map((m) => m.id);
  const env: Env = { keys, height: 19, powerUnavailable: 'no power service' };
  test('Enter opens the detail, q goes back, q on the home view quits', () => {
    let { s } = press(initialState(), env, key('', { down: true }), key('', { enter: true }));
    expect(view(s)).toBe('detail');
    expect(s.detailNode).toBe('n0002');
    ({ s } = press(s, env, key('q')));
    expect(view(s)).toBe('nodes');
    expect(press(s, env, key('q')).effect).toEqual({ type: 'quit' });
    expect(press(s, env, key('c', { ctrl: true })).effect).toEqual({ type: 'quit' });
    for (const top of ['2', '3', '4', '5']) {
      // profiles, images, overlays, log: q goes home, it does not quit
      const r = press(initialState(), env, key(top), key('q'));
      expect(r.effect).toBeUndefined();
      expect(view(r.s)).toBe('nodes');
    }
  });
  test('/ filters live, Enter keeps it, Esc clears it', () => {
    let { s } = press(initialState(), env, key('/'), key('n'), key('0'), key('x'), key('', { backspace: true }));
    expect(s.filter).toBe('n0');
    ({ s } = press(s, env, key('', { enter: true })));
    expect(s.prompt).toBeUndefined();
    expect(s.filter).toBe('n0');
    ({ s } = press(s, env, key('', { escape: true })));
    expect(s.filter).toBe('');
  });
  test('? shows help, any key hides it; number keys and Tab switch views', () => {
    let { s } = press(initialState(), env, key('?'));
    expect(s.help).toBe(true);
    ({ s } = press(s, env, key('x')));
    expect(s.help).toBe(false);
    ({ s } = press(s, env, key('4')));
    expect(view(s)).toBe('overlays');
    ({ s } = press(s, env, key('', { tab: true })));
    expect(view(s)).toBe('log');
    ({ s } = press(s, env, key('', { escape: true })));
    expect(view(s)).toBe('nodes');
  });
  test('s cycles the sort column, r reverses, Space marks', () => {
    let { s } = press(initialState(), env, key('s'), key('r'), key(' '), key(' '));
    expect(s.sortCol).toBe('profiles');
    expect(s.sortDesc).toBe(true);
    expect([...s.selected]).toEqual(['n0001', 'n0002']);
  });
  test('actions ask for confirmation; power is refused with the reason', () => {
    let r = press(initialState(), env, key('D'));
    expect(r.s.confirm).toEqual({ action: 'discoverable', targets: ['n0001'] });
    r = press(r.s, env, key('y'));
    expect(r.effect).toEqual({ type: 'action', action: 'discoverable', targets: ['n0001'] });
    r = press(initialState(), env, key('I'), key('x'), key('', { enter: true }));
    expect(r.s.confirm).toEqual({ action: 'set-image', targets: ['n0001'], value: 'x' });
    r = press(r.s, env, key('n'));
    expect(r.effect).toBeUndefined();
    r = press(initialState(), env, key('o'));
    expect(r.s.confirm).toBeUndefined();
    expect(r.s.message).toEqual({ text: 'power on: unavailable — no power service', error: true });
  });
  test('edit: invalid value stays in the form with the schema error, valid one becomes a write', () => {
    const m = mergeNode(conf, 'n0001');
    const lines = detailLines(m);
    const dkeys = lines.map((l) => l.key);
    const denv: Env = { keys: dkeys, height: 10, detailLines: lines, ownValue: () => '' };
    let s: AppState = { ...initialState(), stack: ['nodes', 'detail'], detailNode: 'n0001' };
    const at = dkeys.indexOf('Ipmi.Ipaddr');
    s = { ...s, lists: { ...s.lists, detail: { cursor: at, top: 0, key: 'Ipmi.Ipaddr' } } };
    let r = press(s, denv, key('e'), key('10.0.0.300'), key('', { enter: true }));
    expect(r.effect).toBeUndefined();
    expect(r.s.prompt?.error).toContain('is not an IPv4 address');
    r = press(r.s, denv, key('', { ctrl: true, input: 'u' }), key('10.9.0.1'), key('', { enter: true }));
    expect(r.effect).toMatchObject({ type: 'write-edit', node: 'n0001', value: '10.9.0.1' });
  });
  test('help lists the keys the reducer answers to', () => {
    const text = HELP.map(([k]) => k).join(' ');
    for (const k of ['/', '?', 'Enter', 'Space', 'q / Esc', 'Tab', 'o / f / c', 'b', 'P / I', 'D', 'L', 'd', 's', 'r', 'e'])
      expect(text).toContain(k);
  });
});

describe('detail', () => {
  const c2 = parseNodesConf(
    `nodeprofiles:\n  default:\n    cluster name: c1\n    kernel:\n      args: [quiet]\nnodes:\n  n1:\n    profiles: [default]\n` +
      `    cluster name: mine\n    network devices:\n      eth0:\n        ipaddr: 10.0.0.5\n`,
  );
  test('lines carry the origin of each value, SUPERSEDED when the node overrides a profile', () => {
    const lines = detailLines(mergeNode(c2, 'n1'));
    const get = (k: string) => lines.find((l) => l.key === k)!;
    expect(get('ClusterName')).toMatchObject({ value: 'mine', origin: 'SUPERSEDED' });
    expect(get('Kernel.Args')).toMatchObject({ value: 'quiet', origin: 'default' });
    expect(get('NetDevs[eth0].Ipaddr')).toMatchObject({ value: '10.0.0.5', origin: '--', netdev: 'eth0' });
    expect(get('Init')).toMatchObject({ value: '', origin: '' });
  });
  test('parseEdit uses the schema checks; applyEdit touches only the node', () => {
    const f = (t: string) => fields.find((x) => x.title === t && x.scope !== 'netdev') ?? fields.find((x) => x.title === t)!;
    expect(parseEdit(f('Discoverable'), 'yes')).toEqual({ ok: true, value: 'true' });
    expect(parseEdit(f('Hwaddr'), 'zz')).toMatchObject({ ok: false });
    expect(parseEdit(f('Tags'), 'a=1,b=2')).toEqual({ ok: true, value: { a: '1', b: '2' } });
    expect(parseEdit(f('ClusterName'), 'UNSET')).toEqual({ ok: true, value: undefined });
    const node = structuredClone(c2.nodes.n1!);
    applyEdit(node, f('Ipaddr'), 'eth0', '10.0.0.6');
    applyEdit(node, f('ClusterName'), undefined, undefined);
    expect(node).toEqual({ profiles: ['default'], networkDevices: { eth0: { ipaddr: '10.0.0.6' } } });
  });
});

test('filter: hostlist ranges combine with ? and * globs', () => {
  const rows = ['c0010', 'c0011', 'c0021', 'c0031', 'c001', 'n01'].map((name) => ({
    name,
    profiles: '',
    image: '',
    ip: '',
    stage: '',
    state: '',
  }));
  const pick = (f: string) => rows.filter((r) => makeMatcher(f)(r as Parameters<ReturnType<typeof makeMatcher>>[0])).map((r) => r.name);
  expect(pick('c00[1-2]?')).toEqual(['c0010', 'c0011', 'c0021']);
  expect(pick('c001?')).toEqual(['c0010', 'c0011']);
  expect(pick('c00[1-2]*')).toEqual(['c0010', 'c0011', 'c0021', 'c001']);
  expect(pick('n01,c001')).toEqual(['c001', 'n01']);
});

test('key bars fit the width: "? help" and "q quit"/"q back" always show', () => {
  const views = ['nodes', 'detail', 'profiles', 'images', 'overlays', 'log'] as const;
  for (const w of [60, 80, 100]) {
    for (const v of views) {
      const h = hintsFor(v, false, w);
      expect([...h].length).toBeLessThanOrEqual(w);
      expect(h).toEndWith(v === 'nodes' ? '? help  q quit' : '? help  q back');
    }
  }
  expect(hintsFor('nodes', false, 120)).toContain('b rebuild');
  expect([...promptHints('filter', 80)].length).toBeLessThanOrEqual(80);
  expect(promptHints('filter', 80)).toContain('hostlist n[01-08]');
  expect(promptHints('edit', 80)).not.toContain('(');
  expect([...promptHints('edit', 80)].length).toBeLessThanOrEqual(80);
});
