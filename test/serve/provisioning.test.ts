// Which interfaces `serve` provisions on: the named ones (--interface or dhcp.interface, a comma- or
// space-separated list, or a YAML list), else the interface that holds the server address.
import { expect, test } from 'bun:test';
import { provisioningInterfaces } from '../../src/serve/serve.ts';
import { parseWulfConf } from '../../src/config/wulfconf.ts';

test('named interfaces win, in order; a YAML list works as well as a comma-separated one', () => {
  expect(provisioningInterfaces('eth1', '127.0.0.1')).toEqual(['eth1']);
  expect(provisioningInterfaces('eth1, eth2 eth3', '127.0.0.1')).toEqual(['eth1', 'eth2', 'eth3']);
  expect(provisioningInterfaces(parseWulfConf('dhcp:\n  interface: [br0, br1]\n').dhcp.interface, '10.0.0.1')).toEqual(['br0', 'br1']);
});

test('none named: the interface holding the server address (127.0.0.1 → lo); none holds it: none', () => {
  expect(provisioningInterfaces(undefined, '127.0.0.1')).toEqual(['lo']);
  expect(provisioningInterfaces(' ', '127.0.0.1')).toEqual(['lo']);
  expect(provisioningInterfaces(undefined, '192.0.2.77')).toEqual([]);
});
