// Overlay build benchmark: system + runtime archives for 10,000 nodes with the default overlay set,
// cold, in 2 workers; then one node changed; then the hosts template alone over 1k/5k/10k nodes
// (must grow linearly: allNodes-reading templates render once per distinct input, not per node).
// Run: bun bench/overlays.ts [nodes]
import { mkdtempSync, rmSync } from 'node:fs';
import { pathsFor } from '../src/config/paths.ts';
import { silentLogger } from '../src/lib/log.ts';
import { createOverlayService } from '../src/overlays/service.ts';
import { Builder } from '../src/overlays/build.ts';
import { renderTemplate } from '../src/overlays/render.ts';
import { bigConf, wulfConf } from '../test/overlays/fixtures.ts';
import { readFileSync } from 'node:fs';
import { assetPath } from '../src/lib/assets.ts';

const N = Number(process.argv[2] ?? 10_000);
const root = mkdtempSync('/tmp/woverlay-bench-');
const paths = pathsFor(root);
const ms = (t0: number) => (performance.now() - t0).toFixed(0) + ' ms';
// CPU time of the whole process (all threads): what the machine's load does not change much
let cpu0 = process.cpuUsage();
const cpu = () => {
  const c = process.cpuUsage(cpu0);
  cpu0 = process.cpuUsage();
  return `CPU ${((c.user + c.system) / 1000).toFixed(0)} ms`;
};
try {
  let conf = bigConf(N);
  const svc = createOverlayService({ paths, getConf: () => conf, getWulfConf: () => wulfConf, log: silentLogger });
  const ids = Object.keys(conf.nodes);
  let t0 = performance.now();
  cpu();
  const r = await svc.buildMany(ids, ['system', 'runtime'], 2);
  console.log(
    `COLD  ${N} nodes × (system + runtime), 2 workers: ${ms(t0)} (target ≤ 10000 ms; ${cpu()}) (${r.built} archives, ${r.failed.length} ` +
      `failed)${r.failed[0] ? ' ' + r.failed[0].error : ''}`,
  );

  // a running server: one process that built every node itself (its template memo is warm)
  const svc1 = createOverlayService({
    paths: pathsFor(root + '/one'),
    getConf: () => conf,
    getWulfConf: () => wulfConf,
    log: silentLogger,
  });
  t0 = performance.now();
  cpu();
  const r1 = await svc1.buildMany(ids, ['system', 'runtime'], 1);
  console.log(`cold in one process (1 core): ${ms(t0)} (${cpu()}) (${r1.built} archives)`);
  const one = ids[Math.floor(N / 2)]!;
  conf = structuredClone(conf);
  conf.revision = 'changed-1';
  conf.nodes[one]!.tags = { rack: '42' };
  svc1.invalidate();
  t0 = performance.now();
  await svc1.archive(one, 'system');
  await svc1.archive(one, 'runtime');
  console.log(`ONE NODE CHANGED (a tag), its system + runtime rebuilt: ${ms(t0)} (target ≤ 100 ms)`);
  t0 = performance.now();
  await svc1.archive(ids[0]!, 'system');
  await svc1.archive(ids[0]!, 'runtime');
  console.log(`  an unaffected node after that change (checked, not rebuilt): ${ms(t0)}`);
  conf = structuredClone(conf);
  conf.revision = 'changed-2';
  conf.nodes[one]!.networkDevices!.default!.ipaddr = '10.0.250.250';
  svc1.invalidate();
  t0 = performance.now();
  await svc1.archive(one, 'system');
  await svc1.archive(one, 'runtime');
  console.log(`one node's IP changed (hosts changes for every node), its archives rebuilt: ${ms(t0)}`);
  t0 = performance.now();
  await svc1.archive(ids[0]!, 'runtime');
  console.log(`  another node's runtime after that change (hosts shared, re-packed): ${ms(t0)}`);
  t0 = performance.now();
  const r2 = await svc1.buildMany(ids, ['system', 'runtime'], 1);
  console.log(`  then every node (1 process, memo warm): ${ms(t0)} (${r2.built} archives)`);

  console.log('stats (one-process service)', svc1.stats());

  // hosts alone, scaling
  const src = readFileSync(assetPath('overlays/hosts/rootfs/etc/hosts.ww'), 'utf8');
  for (const n of [1000, 5000, 10000]) {
    const c = bigConf(n);
    const b = new Builder({ paths });
    const snap = b.snapshot(c, wulfConf);
    const id = Object.keys(c.nodes)[0]!;
    let t = performance.now();
    const data = snap.rootFor(id);
    data.build = { host: 'h', time: '', unix: 0, source: 'hosts', overlay: 'hosts' };
    const out = renderTemplate('hosts', 'etc/hosts.ww', src, data, b.env);
    const once = performance.now() - t;
    t = performance.now();
    const hostsSrc = b.overlay('hosts', snap);
    for (const nid of Object.keys(c.nodes)) {
      const d = snap.rootFor(nid);
      b.render(snap, d, hostsSrc, 'etc/hosts.ww', hostsSrc.files.find((f) => f.rel === 'etc/hosts.ww')!.data!, 'bench');
    }
    console.log(
      `HOSTS ${n} nodes: one render ${once.toFixed(1)} ms (${out.files[0]!.data.length} bytes); for all ${n} nodes ` +
        `(memoised): ${(performance.now() - t).toFixed(0)} ms, renders ${b.renders}`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
