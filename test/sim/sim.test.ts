// The simulator reads the iPXE scripts wulf serves the way iPXE would: rendered from the real
// templates, it must find the kernel and initrds in order, the optional runtime, and a chain.
import { test, expect } from 'bun:test';
import { Liquid } from 'liquidjs';
import defaultIpxe from '../../src/http/ipxe/default.ipxe' with { type: 'text' };
import unconfiguredIpxe from '../../src/http/ipxe/unconfigured.ipxe' with { type: 'text' };
import { percentile, planIpxeScript } from '../../src/sim/sim.ts';

const liquid = new Liquid();
const MAC = '52:54:00:aa:00:01';
const render = (tpl: string, extra: Record<string, unknown> = {}) =>
  liquid.parseAndRenderSync(tpl, {
    id: 'n1',
    hwaddr: MAC,
    image: 'rocky',
    authority: '10.0.0.1:9873',
    kernelArgs: 'quiet',
    secure: false,
    ...extra,
  });

test('default script: kernel, image, system (required) and runtime (optional), URLs expanded', () => {
  const plan = planIpxeScript(render(defaultIpxe));
  expect(plan.chain).toBeUndefined();
  expect(plan.files.map((f) => f.name)).toEqual(['kernel', 'image', 'system', 'runtime']);
  expect(plan.files.map((f) => f.required)).toEqual([true, true, true, false]);
  expect(plan.files[0]!.url).toBe(`http://10.0.0.1:9873/kernel/${MAC}?assetkey=&uuid=`);
  expect(plan.files[3]!.url).toBe(`http://10.0.0.1:9873/runtime/${MAC}?assetkey=&uuid=`);
});

test('secure mode leaves the runtime overlay to the agent', () => {
  expect(planIpxeScript(render(defaultIpxe, { secure: true })).files.map((f) => f.name)).toEqual(['kernel', 'image', 'system']);
});

test('no image, or an unknown MAC: the script chains back and says why', () => {
  const none = planIpxeScript(render(defaultIpxe, { image: '' }));
  expect(none.files).toEqual([]);
  expect(none.chain).toBe(`http://10.0.0.1:9873/ipxe/${MAC}?assetkey=&uuid=`);
  expect(none.message).toContain('has no image');
  const unknown = planIpxeScript(render(unconfiguredIpxe));
  expect(unknown.files).toEqual([]);
  expect(unknown.message).toContain('not a known node');
});

test('percentile', () => {
  expect(percentile([], 50)).toBe(0);
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
  expect(percentile(xs, 50)).toBe(51);
  expect(percentile(xs, 99)).toBe(100);
});
