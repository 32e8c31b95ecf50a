// Overlay build benchmark: system + runtime archives for 10,000 nodes with the default overlay set,
// cold, in 2 workers; then one node changed; then the hosts template alone over 1k/5k/10k nodes
// (must grow linearly: allNodes-reading templates render once per distinct input, not per node).
// Run: bun bench/overlays.ts [nodes]
import { mkdtempSync, rmSync } from 'node:fs';
import { pathsFor } from '../src/config/paths.ts';
import { silentLogger } from '../src/lib/log.ts';
import { createOverlayService } from '../src/overlays/cache.ts';
import { Builder } from '../src/overlays/build.ts';
import { renderTemplate } from '../src/overlays/render.ts';
import { bigConf, wulfConf } from '../test/overlays/fixtures.ts';
import { readFileSync } from 'node:fs';
import { assetPath } from '../src/lib/assets.ts';

const N = Number(process.argv[2] ?? 10_000);
const root = mkdtempSync('/tmp/woverlay-bench-');
const paths = pathsFor(root);
const ms = (t0: number) => (performance.now() - t0).toFixed(0) + ' ms';
try {
  let conf = bigConf(N);
  const svc = createOverlayService({ paths, getConf: () => conf, getWulfConf: () => wulfConf, log: silentLogger, recheckMs: 0 });
  const ids = Object.keys(conf.nodes);
  let t0 = performance.now();
  const r = await svc.buildMany(ids, ['system', 'runtime'], 2);
  console.log(`cold: ${N} nodes × (system + runtime), 2 workers: ${ms(t0)} (${r.built} archives, ${r.failed.length} failed)${r.failed[0] ? ' ' + r.failed[0].error : ''}`);

  // warm the in-process memo the way a running server is warm, then change one node
  t0 = performance.now();
  for (const id of ids) { await svc.archive(id, 'system'); await svc.archive(id, 'runtime'); }
  console.log(`in-process warm pass (serving every node once): ${ms(t0)}`);
  const one = ids[Math.floor(N / 2)]!;
  conf = structuredClone(conf); conf.revision = 'changed-1';
  conf.nodes[one]!.tags = { rack: '42' };
  t0 = performance.now();
  await svc.archive(one, 'system'); await svc.archive(one, 'runtime');
  console.log(`one node changed (tag), rebuild its system + runtime: ${ms(t0)}`);
  t0 = performance.now();
  await svc.archive(ids[0]!, 'system'); await svc.archive(ids[0]!, 'runtime');
  console.log(`  an unaffected node after that change (check only): ${ms(t0)}`);
  conf = structuredClone(conf); conf.revision = 'changed-2';
  conf.nodes[one]!.networkDevices!.default!.ipaddr = '10.0.250.250';
  t0 = performance.now();
  await svc.archive(one, 'system'); await svc.archive(one, 'runtime');
  console.log(`one node changed (IP: hosts changes for every node), rebuild its archives: ${ms(t0)}`);
  t0 = performance.now();
  await svc.archive(ids[0]!, 'runtime');
  console.log(`  another node's runtime after that change (hosts shared, re-packed): ${ms(t0)}`);
  console.log('stats', svc.stats());

  // hosts alone, scaling
  const src = readFileSync(assetPath('overlays/hosts/rootfs/etc/hosts.ww'), 'utf8');
  for (const n of [1000, 5000, 10000]) {
    const c = bigConf(n);
    const b = new Builder({ paths });
    const snap = b.snapshot(c, wulfConf);
    const id = Object.keys(c.nodes)[0]!;
    let t = performance.now();
    const data = snap.rootFor(id); data.build = { host: 'h', time: '', unix: 0, source: 'hosts', overlay: 'hosts' };
    const out = renderTemplate('hosts', 'etc/hosts.ww', src, data, b.env);
    const once = performance.now() - t;
    t = performance.now();
    const hostsSrc = b.overlay('hosts', snap);
    for (const nid of Object.keys(c.nodes)) {
      const d = snap.rootFor(nid);
      b.render(snap, d, hostsSrc, 'etc/hosts.ww', hostsSrc.files.find((f) => f.rel === 'etc/hosts.ww')!.data!, 'bench');
    }
    console.log(`hosts ${n} nodes: one render ${once.toFixed(1)} ms (${out.files[0]!.data.length} bytes); for all ${n} nodes (memoised): ${(performance.now() - t).toFixed(0)} ms, renders ${b.renders}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
