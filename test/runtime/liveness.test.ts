// Live or dead, with an injected clock: Warewulf's thresholds (late ≥ interval + 5 s, lost ≥ 2 × interval)
// counted from the agent's last refresh once a node is up, from its last request while it boots.
import { expect, test } from 'bun:test';
import { lastBootAt, liveness } from '../../src/runtime/liveness.ts';

const NOW = 10_000;
const boot = (at: number) => [
  { stage: 'dhcp', start: at - 10, end: at - 9 },
  { stage: 'ipxe', start: at - 8, end: at - 8 },
  { stage: 'kernel', start: at - 7, end: at - 5 },
  { stage: 'system', start: at - 2, end: at - 1 },
  { stage: 'runtime', start: at - 1, end: at },
];
const state = (s: Parameters<typeof liveness>[0], interval = 60) => liveness(s, NOW, interval).state;

test('an agent refresh since the last boot request: up until interval + 5 s, late until 2 × interval, then lost', () => {
  const up = (ago: number) => state({ lastSeen: NOW - ago, lastAgent: NOW - ago, timeline: boot(NOW - 500) });
  expect([up(0), up(64), up(65), up(119), up(120), up(3600)]).toEqual(['up', 'up', 'late', 'late', 'lost', 'lost']);
  expect(liveness({ lastSeen: NOW - 70, lastAgent: NOW - 70, timeline: [] }, NOW, 60)).toEqual({ state: 'late', since: NOW - 70 });
});

test('the runtime overlay fetched by iPXE is not the agent: booting, then late and lost when no agent follows', () => {
  // this is what a node that died right after iPXE handed over looks like: before, it showed as up
  const b = (ago: number) => state({ lastSeen: NOW - ago, lastAgent: 0, stage: 'runtime', timeline: boot(NOW - ago) });
  expect([b(1), b(64), b(65), b(120)]).toEqual(['booting', 'booting', 'late', 'lost']);
});

test('a DHCP renewal does not keep a node up; a reboot (new boot requests after the agent) is booting again', () => {
  // the agent stopped 100 s ago; the OS renewed its lease 2 s ago (the board started a timeline with it)
  expect(
    state({ lastSeen: NOW - 2, lastAgent: NOW - 100, stage: 'dhcp', timeline: [{ stage: 'dhcp', start: NOW - 2, end: NOW - 2 }] }),
  ).toBe('late');
  expect(state({ lastSeen: NOW - 2, lastAgent: NOW - 130, stage: 'dhcp', timeline: [] })).toBe('lost');
  // powered off for 200 s, now PXE-booting: measured from its boot requests, not from the old agent refresh
  expect(
    state({
      lastSeen: NOW - 3,
      lastAgent: NOW - 200,
      stage: 'kernel',
      timeline: [
        { stage: 'ipxe', start: NOW - 4, end: NOW - 4 },
        { stage: 'kernel', start: NOW - 3 },
      ],
    }),
  ).toBe('booting');
  expect(
    lastBootAt({
      timeline: [
        { stage: 'ipxe', start: 5, seconds: 2 },
        { stage: 'dhcp', start: 50 },
      ],
    }),
  ).toBe(7);
});

test('never seen; interval 0 means the agent default of 300 s; sources that do not mark agent fetches count runtime as the agent', () => {
  expect(state(undefined)).toBe('never');
  expect(state({ lastSeen: 0, lastAgent: 0 })).toBe('never');
  expect(state({ lastSeen: NOW - 200, lastAgent: NOW - 200, timeline: [] }, 0)).toBe('up');
  expect(state({ lastSeen: NOW - 305, lastAgent: NOW - 305, timeline: [] }, 0)).toBe('late');
  // lastAgent absent (a Warewulf server, a state file from before): Warewulf's reading of RUNTIME_OVERLAY
  expect(state({ lastSeen: NOW - 10, stage: 'runtime', timeline: boot(NOW - 300) })).toBe('up');
  expect(state({ lastSeen: NOW - 10, stage: 'image', timeline: [] })).toBe('booting');
});

test('an agent refresh in the same second as the boot fetches counts (JSON floors "last agent" to whole seconds)', () => {
  expect(state({ lastSeen: NOW - 1, lastAgent: NOW - 1, timeline: [{ stage: 'runtime', start: NOW - 0.7, end: NOW - 0.6 }] })).toBe('up');
});
