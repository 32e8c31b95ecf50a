// The overlays view's data: a file as a node gets it and the diff against what was last served,
// line for line what `wulf overlay show --render` / `wulf overlay diff` print, errors as one line.
import { afterAll, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { pathsFor } from '../../src/config/paths.ts';
import { readNodesConf } from '../../src/config/store.ts';
import { readWulfConf } from '../../src/config/wulfconf.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { createOverlayService } from '../../src/overlays/service.ts';
import { overlayDiff, previewFile } from '../../src/tui/data/overlays.ts';

const root = mkdtempSync('/tmp/wtui-overlays-');
afterAll(() => rmSync(root, { recursive: true, force: true }));
const paths = pathsFor(root, root);
mkdirSync(paths.confDir, { recursive: true });
const nodesConf = (ip: string) =>
  writeFileSync(
    paths.nodesConf,
    `nodeprofiles:
  default:
    system overlay: [hostname]
    runtime overlay: [hosts]
nodes:
  n1:
    profiles: [default]
    network devices:
      default: {device: eth0, hwaddr: "02:00:00:00:00:01", ipaddr: ${ip}, netmask: 255.255.255.0}
`,
  );
nodesConf('10.0.0.11');

test('a file rendered for a node, its plain text without one, and errors as one line', async () => {
  expect(await previewFile(paths, 'hostname', 'etc/hostname.ww', 'n1')).toEqual(['n1']);
  expect(await previewFile(paths, 'hostname', 'etc/hostname', 'n1')).toEqual(['n1']);
  const plain = await previewFile(paths, 'hostname', 'etc/hostname.ww', undefined);
  expect(plain.join('\n')).toContain('{{');
  expect(await previewFile(paths, 'hostname', 'etc/nope', 'n1')).toEqual(['error: overlay hostname has no file etc/nope']);
  expect(await previewFile(paths, 'hostname', 'etc/hostname.ww', 'zz')).toEqual(['error: node "zz" does not exist']);
  expect(await previewFile(paths, 'hostname', 'etc', 'n1')).toEqual(['error: /etc is a directory in overlay hostname']);
}, 60_000);

test('the diff against what was served: never served, no changes, then the changed lines', async () => {
  expect(await overlayDiff(paths, 'n1')).toEqual(['system: never served', 'runtime: never served']);
  const svc = createOverlayService({
    paths,
    getConf: () => readNodesConf(paths),
    getWulfConf: () => readWulfConf(paths),
    log: silentLogger,
  });
  await svc.archive('n1', 'system');
  await svc.archive('n1', 'runtime');
  expect(await overlayDiff(paths, 'n1')).toEqual(['n1: no changes since last served']);
  nodesConf('10.0.0.99');
  const d = await overlayDiff(paths, 'n1');
  expect(d).toEqual([
    'runtime: ~ /etc/hosts content changed',
    '    - 10.0.0.11 n1 n1-default n1-eth0',
    '    + 10.0.0.99 n1 n1-default n1-eth0',
  ]);
  expect((await overlayDiff(paths, 'zz'))[0]).toMatch(/^error: /);
}, 60_000);
