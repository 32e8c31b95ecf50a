// The cluster-wide server settings in the PostgreSQL store (schema 6): `store copy` puts wulf.conf's
// cluster-wide part there, `store settings` shows it and `--push` replaces it (validated whole, nothing
// written on a bad value), and two controllers whose local wulf.conf disagree render byte-identical
// overlays with the store's values — one warning naming the keys — while the iPXE script still names
// the controller that answered. WWSERVERS: the service address, then every registered controller.
import { test, expect, beforeAll, afterAll, setDefaultTimeout } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { SQL } from 'bun';
import { modes, runWulf, tempRoot } from '../helpers/cli.ts';
import { startPg, type Pg } from './pg.ts';
import { pathsFor, type Paths } from '../../src/config/paths.ts';
import { createLogger } from '../../src/lib/log.ts';
import { startServer, type RunningServer } from '../../src/serve/serve.ts';
import { PostgresStore } from '../../src/store/postgres.ts';

setDefaultTimeout(120_000);
const src = modes[1]!; // the source entry: no dist/wulf needed
const MAC = '52:54:00:5e:00:01';
const t = tempRoot('wulf-settings-');
let pg: Pg;
let url = '';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const conf = (fqdn: string, interval: number, ipaddr: string) =>
  `ipaddr: ${ipaddr}\nnetmask: 255.0.0.0\nfqdn: ${fqdn}\nwarewulf:\n  secure: false\n  tls: false\n  update interval: ${interval}\n` +
  'dhcp:\n  mode: off\ntftp:\n  enabled: false\n';
const roots = { A: join(t.dir, 'a'), B: join(t.dir, 'b') };
const paths: Record<'A' | 'B', Paths> = { A: pathsFor(roots.A, join(t.dir, 'host')), B: pathsFor(roots.B, join(t.dir, 'host')) };
const w = (root: string, args: string[], env: Record<string, string> = { WULF_STORE: url }) => runWulf(src, root, args, { env });
const ok = (r: ReturnType<typeof runWulf>) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  return r.out;
};

beforeAll(() => {
  pg = startPg();
  url = pg.createDb('settings');
  // A: the service address 10.7.0.1 (what nodes are told), fqdn ctl.cluster, update interval 30
  // B: its local wulf.conf disagrees on all three
  for (const [c, text] of [
    ['A', conf('ctl.cluster', 30, '10.7.0.1')],
    ['B', conf('other.cluster', 90, '127.0.0.1')],
  ] as const) {
    mkdirSync(paths[c].confDir, { recursive: true });
    writeFileSync(paths[c].wulfConf, text);
  }
  mkdirSync(join(t.dir, 'host/etc'), { recursive: true });
  writeFileSync(join(t.dir, 'host/etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(t.dir, 'host/etc/group'), 'root:x:0:\n');
}, 60_000);

afterAll(() => {
  pg?.stop();
  t.cleanup();
}, 30_000);

test('files backend: store settings says the settings are wulf.conf', () => {
  const out = ok(w(roots.A, ['store', 'settings'], { WULF_STORE: '' }));
  expect(out.trim().split('\n')).toEqual([`on the files the server settings are ${paths.A.wulfConf}: nothing is stored elsewhere`]);
});

test('store copy puts the cluster-wide settings in the store; store settings shows them as wulf.conf YAML; store info', () => {
  ok(
    w(
      roots.A,
      [
        'node',
        'add',
        'n1',
        '--hwaddr',
        MAC,
        '--ipaddr',
        '10.7.0.21',
        '--image',
        'img',
        '--system-overlays',
        'wwinit,wulf-agent',
        '--runtime-overlays',
        'hosts',
      ],
      { WULF_STORE: '' },
    ),
  );
  expect(ok(w(roots.A, ['store', 'info']))).toContain('settings:  none in the store (wulf store settings --push)');
  const out = ok(w(roots.A, ['store', 'copy', '--from', 'files', '--to', url]));
  expect(out).toContain('copied 1 node');
  expect(out).toMatch(/settings: \d+ cluster-wide keys of .* copied \(revision 1\)/);
  const shown = ok(w(roots.A, ['store', 'settings']));
  expect(shown).toContain('revision 1');
  expect(shown).toContain('ipaddr: 10.7.0.1');
  expect(shown).toContain('fqdn: ctl.cluster');
  expect(shown).toContain('update interval: 30');
  expect(shown).not.toContain('dhcp'); // per controller: never in the store
  expect(shown).not.toContain('tftp');
  expect(ok(w(roots.A, ['store', 'info']))).toContain('settings:  cluster-wide, revision 1');
  // back to the files: wulf.conf is left alone; one line names what differs (B's wulf.conf differs on three keys)
  const back = ok(w(roots.B, ['store', 'copy', '--to', 'files']));
  expect(back).toContain("differs from the store's cluster-wide settings on ipaddr, fqdn, warewulf.update interval");
});

test("store copy --replace replaces the settings too; a copy between two PostgreSQL stores carries the source's settings", () => {
  const url2 = pg.createDb('settings2'),
    url3 = pg.createDb('settings3');
  expect(ok(w(roots.A, ['store', 'copy', '--from', 'files', '--to', url2]))).toContain('copied (revision 1)');
  expect(ok(w(roots.A, ['store', 'copy', '--from', 'files', '--to', url2, '--replace']))).toContain('copied (revision 2)');
  // url2's settings edited in the store (pushed from B): a copy url2 → url3 takes those, not A's wulf.conf
  ok(w(roots.B, ['store', 'settings', '--push'], { WULF_STORE: url2 }));
  const out = ok(w(roots.A, ['store', 'copy', '--from', url2, '--to', url3]));
  expect(out).toMatch(/settings: \d+ cluster-wide keys of postgres:.* copied \(revision 1\)/);
  expect(ok(w(roots.A, ['store', 'settings'], { WULF_STORE: url3 }))).toContain('fqdn: other.cluster');
});

test('store settings --push: a bad value is one line and nothing is written; a good one replaces the settings whole', () => {
  const bad = join(t.dir, 'bad');
  mkdirSync(join(bad, 'etc/wulf'), { recursive: true });
  writeFileSync(
    join(bad, 'etc/wulf/wulf.conf'),
    `${conf('x.cluster', 30, '10.7.0.1')}`.replace('  tls: false', '  tls: false\n  port: 99999'),
  );
  const r = w(bad, ['store', 'settings', '--push']);
  expect(r.code).not.toBe(0);
  expect(r.err.trim().split('\n')[0]).toContain('warewulf.port "99999" is not a port number');
  expect(r.err).not.toContain('    at '); // no stack
  const still = ok(w(roots.A, ['store', 'settings']));
  expect(still).toContain('revision 1');
  expect(still).not.toContain('x.cluster');
  // a good push: A's wulf.conf again, now with a new update interval
  writeFileSync(paths.A.wulfConf, conf('ctl.cluster', 45, '10.7.0.1'));
  expect(ok(w(roots.A, ['store', 'settings', '--push']))).toMatch(/pushed \d+ cluster-wide keys of .* \(revision 2\)/);
  expect(ok(w(roots.A, ['store', 'settings']))).toContain('update interval: 45');
});

test("two controllers, their wulf.conf disagreeing: the store's values, one warning naming the keys, same bytes, iPXE names the local address", async () => {
  const srv: Partial<Record<'A' | 'B', RunningServer>> = {};
  const logs: Record<'A' | 'B', string[]> = { A: [], B: [] };
  const stores: PostgresStore[] = [];
  try {
    for (const c of ['A', 'B'] as const) {
      const store = new PostgresStore(url);
      stores.push(store);
      srv[c] = await startServer({
        paths: paths[c],
        log: createLogger({ write: (l) => logs[c].push(l) }),
        // B listens where its own wulf.conf says (127.0.0.1), not at the store's service address (10.7.0.1)
        address: c === 'A' ? '127.0.0.1' : undefined,
        httpPort: 0,
        dhcp: false,
        tftp: false,
        ra: false,
        controller: c,
        store,
      });
    }
    const warnings = (c: 'A' | 'B') => logs[c].filter((l) => l.includes('cluster-wide settings on') && l.includes("using the store's"));
    expect(warnings('A')).toEqual([]); // A's wulf.conf is what it pushed
    expect(warnings('B').length).toBe(1);
    expect(warnings('B')[0]).toContain('ipaddr, fqdn, warewulf.update interval');
    const base = (c: 'A' | 'B') => `http://127.0.0.1:${srv[c]!.httpPort}`;
    const texts: Record<string, string> = {};
    for (const kind of ['system', 'runtime'] as const) {
      const [a, b] = await Promise.all(
        (['A', 'B'] as const).map(async (c) => {
          const res = await fetch(`${base(c)}/${kind}/${MAC}`);
          expect(res.status).toBe(200);
          return new Uint8Array(await res.arrayBuffer());
        }),
      );
      expect(sha(a!)).toBe(sha(b!));
      texts[kind] = new TextDecoder().decode(gunzipSync(a!));
    }
    // the store's values on both: the service address, the interval A pushed; WWSERVERS: the service address,
    // then the registered controllers' addresses by name (both 127.0.0.1 here: once)
    expect(texts.system).toContain("WWIPADDR='10.7.0.1'");
    expect(texts.system).toContain('WWUPDATE=45');
    expect(texts.system).toContain("WWSERVERS='10.7.0.1 127.0.0.1'");
    expect(texts.runtime).toContain('ctl.cluster');
    expect(texts.runtime).not.toContain('other.cluster');
    // the iPXE script names the controller that answered (its local address), never the store's service address
    for (const c of ['A', 'B'] as const) {
      const script = await (await fetch(`${base(c)}/ipxe/${MAC}`)).text();
      expect(script).toContain('set base http://127.0.0.1:'); // (httpPort 0 here: the authority says the configured port)
      expect(script).not.toContain('10.7.0.1');
    }
    // a push while serving is read like the nodes: the next answer renders the new value
    writeFileSync(paths.A.wulfConf, conf('ctl.cluster', 75, '10.7.0.1'));
    ok(w(roots.A, ['store', 'settings', '--push']));
    const res = await fetch(`${base('B')}/system/${MAC}`);
    expect(new TextDecoder().decode(gunzipSync(new Uint8Array(await res.arrayBuffer())))).toContain('WWUPDATE=75');
    // WWSERVERS follows the registry: controllers by name (C0, Z registered here by hand), a deleted one gone, same on both
    const admin = new SQL(url);
    const system = async (c: 'A' | 'B') =>
      new TextDecoder().decode(gunzipSync(new Uint8Array(await (await fetch(`${base(c)}/system/${MAC}`)).arrayBuffer())));
    try {
      for (const [name, ip] of [
        ['Z', '10.7.0.9'],
        ['C0', '10.7.0.5'],
      ])
        await admin`insert into wulf_controllers (name, instance, host, pid, addresses, segments, url, version)
          values (${name}, 'x', 'h', 1, '[]', '[]', ${`http://${ip}:9873`}, 'test')`;
      await admin`update wulf_controllers set stopped_at = now() where name = 'Z'`; // stopped: it may be deleted
      for (const c of ['A', 'B'] as const) expect(await system(c)).toContain("WWSERVERS='10.7.0.1 127.0.0.1 10.7.0.5 10.7.0.9'");
      expect(ok(w(roots.A, ['controller', 'delete', 'Z']))).toContain('Z');
      for (const c of ['A', 'B'] as const) expect(await system(c)).toContain("WWSERVERS='10.7.0.1 127.0.0.1 10.7.0.5'");
    } finally {
      await admin.close();
    }
    // the overlay preview on a controller's CLI renders the same settings
    const shown = ok(w(roots.B, ['overlay', 'show', 'wwinit', '/warewulf/config.ww', '--render', 'n1']));
    expect(shown).toContain("WWIPADDR='10.7.0.1'");
    expect(shown).toContain('WWUPDATE=75');
  } finally {
    for (const c of ['B', 'A'] as const) await srv[c]?.stop();
    for (const s of stores) await s.close();
  }
});
