import { test, expect } from 'bun:test';
import { compressHostlist, expandHostlist, matchNodes } from '../../src/lib/hostlist.ts';
import { addIPv4, isIPv6, isNetmask, normalizeMac } from '../../src/lib/ip.ts';

test('hostlist ranges, padding, lists and products', () => {
  expect(expandHostlist('n[001-003,105]')).toEqual(['n001', 'n002', 'n003', 'n105']);
  expect(expandHostlist('n[8-11]')).toEqual(['n8', 'n9', 'n10', 'n11']);
  expect(expandHostlist('r[1-2]-n[1-2],x')).toEqual(['r1-n1', 'r1-n2', 'r2-n1', 'r2-n2', 'x']);
  expect(() => expandHostlist('n[5-1]')).toThrow('backwards');
  expect(() => expandHostlist('n[1-')).toThrow('missing');
  expect(() => expandHostlist('n[a-b]')).toThrow('bad range');
  expect(() => expandHostlist('n[0-99999999]')).toThrow('too large');
});

test('matchNodes with hostlists and globs; compress', () => {
  const names = ['n01', 'n02', 'n03', 'gpu1', 'gpu2'];
  expect(matchNodes(['n[01-02]'], names)).toEqual(['n01', 'n02']);
  expect(matchNodes(['gpu*', 'n03'], names)).toEqual(['n03', 'gpu1', 'gpu2']);
  expect(matchNodes([], names)).toEqual(names);
  expect(compressHostlist(['n01', 'n02', 'n03', 'n05', 'gpu1'])).toBe('n[01-03,05],gpu1');
});

test('ip helpers', () => {
  expect(addIPv4('10.0.0.254', 3)).toBe('10.0.1.1');
  expect(() => addIPv4('255.255.255.255', 1)).toThrow();
  expect(isNetmask('255.255.255.0')).toBe(true);
  expect(isNetmask('255.0.255.0')).toBe(false);
  expect(isIPv6('fd00::1')).toBe(true);
  expect(isIPv6('fd00:::1')).toBe(false);
  expect(normalizeMac('52-54-00-AA-bb-01')).toBe('52:54:00:aa:bb:01');
  expect(normalizeMac('52:54:00:aa:bb')).toBeUndefined();
});
