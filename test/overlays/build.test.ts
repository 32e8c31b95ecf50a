// Overlay builds: golden renders of every shipped overlay on representative nodes, cache
// invalidation for each kind of edit, bad templates and names, and GNU cpio reading the archives.
import { test, expect, describe, afterAll } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { pathsFor } from '../../src/config/paths.ts';
import { silentLogger, type Logger } from '../../src/lib/log.ts';
import { readCpio } from '../../src/lib/cpio.ts';
import { Builder } from '../../src/overlays/build.ts';
import { createOverlayService } from '../../src/overlays/service.ts';
import { checkOverlayName } from '../../src/overlays/sources.ts';
import { LIMITS } from '../../src/overlays/render.ts';
import type { NodesConf } from '../../src/config/cascade.ts';
import { bigConf, goldenConf, wulfConf } from './fixtures.ts';

const tmp = mkdtempSync('/tmp/woverlay-build-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const GOLDEN = join(import.meta.dir, 'golden');

function dump(b: Builder, snap: ReturnType<Builder['snapshot']>, id: string, kind: 'system' | 'runtime'): string {
  const out: string[] = [];
  const e = [...b.entries(snap, id, kind).values()].sort((x, y) => (x.rel < y.rel ? -1 : 1));
  for (const x of e) {
    const head = `== /${x.rel} ${x.type} ${x.mode.toString(8)} ${x.uid}:${x.gid}${x.target ? ' -> ' + x.target : ''} (${x.origin})`;
    if (x.type !== 'file') {
      out.push(head);
      continue;
    }
    // shipped scripts are checked by a hash of their content (not of the entry: that has the checkout's mtime); rendered files in full
    out.push(
      x.origin.endsWith('.ww')
        ? `${head}\n${new TextDecoder().decode(x.data)}`
        : `${head} sha1=${createHash('sha1').update(x.data!).digest('hex').slice(0, 12)}`,
    );
  }
  return out.join('\n') + '\n';
}

describe('golden renders of the shipped overlays', () => {
  const root = join(tmp, 'golden');
  const paths = pathsFor(root, root); // the controller's passwd and group: ROOT/etc
  mkdirSync(join(paths.confDir, 'keys'), { recursive: true });
  writeFileSync(
    join(paths.confDir, 'keys/ssh_host_ed25519_key'),
    '-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----\n',
  );
  writeFileSync(join(paths.confDir, 'keys/ssh_host_ed25519_key.pub'), 'ssh-ed25519 AAAAtest root@wulf\n');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nalice:x:1000:\n');
  const imgRoot = join(paths.imagesDir, 'rocky-9', 'rootfs', 'etc');
  mkdirSync(imgRoot, { recursive: true });
  writeFileSync(join(imgRoot, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nchrony:x:990:990::/var/lib/chrony:/sbin/nologin\n');
  const b = new Builder({ paths });
  const snap = b.snapshot(goldenConf(), { ...wulfConf });
  for (const id of Object.keys(goldenConf().nodes)) {
    for (const kind of ['system', 'runtime'] as const) {
      test(`${id} ${kind}`, () => {
        const text = dump(b, snap, id, kind)
          .replaceAll(snap.server.ipaddr as string, 'SERVER')
          .replace(/^(\S+) \S+ wulf warewulf$/m, '$1 BUILDHOST wulf warewulf');
        const f = join(GOLDEN, `${id}.${kind}.txt`);
        if (process.env.UPDATE_GOLDEN === '1' || !existsSync(f)) {
          mkdirSync(GOLDEN, { recursive: true });
          writeFileSync(f, text);
        }
        expect(text).toBe(readFileSync(f, 'utf8'));
      });
    }
  }
  test('rendered files have no stray blank lines (tags on their own lines leave none)', () => {
    const bad: string[] = [];
    for (const id of Object.keys(goldenConf().nodes)) {
      for (const kind of ['system', 'runtime'] as const) {
        for (const e of b.entries(snap, id, kind).values()) {
          if (e.type !== 'file' || !e.origin.endsWith('.ww') || !e.data?.length) continue;
          const t = new TextDecoder().decode(e.data);
          const why = t.startsWith('\n')
            ? 'leading blank line'
            : /\n[ \t]*\n[ \t]*\n/.test(t)
              ? 'two blank lines in a row'
              : /\n\n$/.test(t) && e.rel !== 'etc/issue'
                ? 'trailing blank line'
                : !t.endsWith('\n')
                  ? 'no final newline'
                  : /^(\[[^\]\n]+\]|[^\n]*:)\n[ \t]*\n/m.test(t) && !e.rel.endsWith('group')
                    ? 'blank line after a header'
                    : '';
          if (why) bad.push(`${id} ${kind} /${e.rel}: ${why}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });
  test('the debug overlay renders every variable', () => {
    const conf = goldenConf();
    conf.nodes['n-multi']!.systemOverlay = ['debug'];
    const s2 = b.snapshot(conf, wulfConf);
    const md = new TextDecoder().decode(b.entries(s2, 'n-multi', 'system').get('warewulf/template-variables.md')!.data);
    expect(md).toContain('"ipaddr":"10.0.1.5"');
    expect(md).toContain('6 nodes: n-bare n-bond n-ib n-ipv6 n-multi n-static');
  });
  test('the host overlay renders /etc/exports from wulf.conf', () => {
    const conf = goldenConf();
    conf.nodes['n-static']!.systemOverlay = ['host'];
    const e = b.entries(b.snapshot(conf, wulfConf), 'n-static', 'system');
    expect(new TextDecoder().decode(e.get('etc/exports')!.data)).toContain('/home 10.0.0.0/16(rw,sync)');
  });
});

interface World {
  paths: ReturnType<typeof pathsFor>;
  conf: NodesConf;
  svc: ReturnType<typeof createOverlayService>;
  errors: string[];
  bump(): void;
}

function world(name: string): World {
  const root = join(tmp, name);
  const paths = pathsFor(root);
  const site = (o: string, rel: string, text: string) => {
    const f = join(paths.siteOverlaysDir, o, 'rootfs', rel);
    mkdirSync(join(f, '..'), { recursive: true });
    writeFileSync(f, text);
  };
  site('own', 'etc/own.ww', '{{ id }} {{ tags.color }}\n');
  site('own', 'etc/static', 'same for all\n');
  site('list', 'etc/list.ww', '{% for n in allNodes %}{{ n.id }} {{ n.primary.ipaddr }}\n{% endfor %}');
  site('inc', 'etc/inc.ww', '{% include_file "site.txt" %}');
  mkdirSync(paths.confDir, { recursive: true });
  writeFileSync(join(paths.confDir, 'site.txt'), 'v1\n');
  let rev = 0;
  const w: World = {
    paths,
    errors: [],
    conf: {
      profiles: { p: { systemOverlay: ['own'], runtimeOverlay: ['list', 'inc'], tags: { color: 'red' } } },
      nodes: Object.fromEntries(
        ['a1', 'a2', 'a3'].map((id, i) => [
          id,
          { profiles: ['p'], networkDevices: { default: { ipaddr: `10.9.0.${i + 1}`, netmask: '255.255.255.0' } } },
        ]),
      ),
      revision: 'r0',
    },
    svc: undefined as never,
    bump() {
      w.conf = structuredClone({ ...w.conf, revision: `r${++rev}` });
    }, // configs are immutable once read
  };
  const log: Logger = {
    ...silentLogger,
    error: (_t, m) => {
      w.errors.push(m);
    },
  };
  w.svc = createOverlayService({ paths, getConf: () => w.conf, getWulfConf: () => wulfConf, log, recheckMs: 0 });
  return w;
}

async function hashes(w: World) {
  const out: Record<string, string> = {};
  for (const id of Object.keys(w.conf.nodes))
    for (const k of ['system', 'runtime'] as const) out[`${id}.${k}`] = (await w.svc.archive(id, k)).hash;
  return out;
}
const changed = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a)
    .filter((k) => a[k] !== b[k])
    .sort();

describe('cache invalidation', () => {
  test('nothing changed: same files, no renders', async () => {
    const w = world('inv0');
    const h0 = await hashes(w);
    const r0 = w.svc.stats().renders;
    w.bump(); // a new config revision with equal content
    expect(await hashes(w)).toEqual(h0);
    expect(w.svc.stats().renders).toBe(r0);
  });
  test('template edit rebuilds every node using it, and only those archives', async () => {
    const w = world('inv1');
    const h0 = await hashes(w);
    writeFileSync(join(w.paths.siteOverlaysDir, 'own/rootfs/etc/own.ww'), '{{ id }}!\n');
    expect(changed(h0, await hashes(w))).toEqual(['a1.system', 'a2.system', 'a3.system']);
  });
  test('node edit rebuilds that node; other nodes are not re-rendered', async () => {
    const w = world('inv2');
    const h0 = await hashes(w);
    const r0 = w.svc.stats().renders;
    w.conf.nodes.a2!.tags = { color: 'blue' };
    w.bump();
    expect(changed(h0, await hashes(w))).toEqual(['a2.system']);
    // at most a2's own.ww (its values only reach the output, so the earlier render is refilled)
    expect(w.svc.stats().renders - r0).toBeLessThanOrEqual(1);
    const text = (id: string) => new TextDecoder().decode(w.svc.entries(id, 'system').get('etc/own')!.data);
    expect(text('a2')).toBe('a2 blue\n');
    expect(text('a1')).toBe('a1 red\n');
  });
  test('profile edit rebuilds the nodes of the profile', async () => {
    const w = world('inv3');
    const h0 = await hashes(w);
    w.conf.profiles.p!.tags = { color: 'green' };
    w.bump();
    expect(changed(h0, await hashes(w))).toEqual(['a1.system', 'a2.system', 'a3.system']);
  });
  test('another node read through allNodes: every runtime archive changes, systems do not', async () => {
    const w = world('inv4');
    const h0 = await hashes(w);
    const r0 = w.svc.stats().renders;
    w.conf.nodes.a3!.networkDevices!.default!.ipaddr = '10.9.0.33';
    w.bump();
    expect(changed(h0, await hashes(w))).toEqual(['a1.runtime', 'a2.runtime', 'a3.runtime']);
    expect(w.svc.stats().renders - r0).toBe(1); // list.ww rendered once for all three
    const e = w.svc.entries('a1', 'runtime');
    expect(new TextDecoder().decode(e.get('etc/list')!.data)).toContain('a3 10.9.0.33');
  });
  test('allNodes memo: a node added in the middle, removed, and an address changed and changed back', async () => {
    const w = world('inv8');
    const list = async (id = 'a1') => {
      await w.svc.archive(id, 'runtime');
      return new TextDecoder().decode(w.svc.entries(id, 'runtime').get('etc/list')!.data);
    };
    expect(await list()).toBe('a1 10.9.0.1\na2 10.9.0.2\na3 10.9.0.3\n');
    w.conf.nodes.a2b = { profiles: ['p'], networkDevices: { default: { ipaddr: '10.9.0.22', netmask: '255.255.255.0' } } };
    w.bump();
    expect(await list('a3')).toBe('a1 10.9.0.1\na2 10.9.0.2\na2b 10.9.0.22\na3 10.9.0.3\n');
    delete w.conf.nodes.a2;
    w.bump();
    expect(await list()).toBe('a1 10.9.0.1\na2b 10.9.0.22\na3 10.9.0.3\n');
    const h0 = await w.svc.archive('a1', 'runtime');
    w.conf.nodes.a3!.networkDevices!.default!.ipaddr = '10.9.0.99';
    w.bump();
    expect(await list()).toBe('a1 10.9.0.1\na2b 10.9.0.22\na3 10.9.0.99\n');
    w.conf.nodes.a3!.networkDevices!.default!.ipaddr = '10.9.0.3';
    w.bump();
    expect(await list()).toBe('a1 10.9.0.1\na2b 10.9.0.22\na3 10.9.0.3\n');
    expect((await w.svc.archive('a1', 'runtime')).hash).toBe(h0.hash);
  });
  test('buildMany in workers (renders shared by the main thread) gives the archives one process gives', async () => {
    const conf = bigConf(450);
    conf.nodes.n00007!.networkDevices!.default!.ipaddr6 = 'fd00::7';
    const mk = (name: string) =>
      createOverlayService({ paths: pathsFor(join(tmp, name)), getConf: () => conf, getWulfConf: () => wulfConf, log: silentLogger });
    const [a, b] = [mk('many-workers'), mk('many-one')];
    const ids = Object.keys(conf.nodes);
    const ra = await a.buildMany(ids, ['system', 'runtime'], 3);
    const rb = await b.buildMany(ids, ['system', 'runtime'], 1);
    expect(ra.failed).toEqual([]);
    expect(ra.built).toBe(900);
    for (const id of [ids[0]!, 'n00007', ids[449]!])
      for (const k of ['system', 'runtime'] as const) {
        expect((await a.archive(id, k)).hash).toBe((await b.archive(id, k)).hash);
      }
    const hosts = new TextDecoder().decode(a.entries('n00300', 'runtime').get('etc/hosts')!.data);
    expect(hosts).toContain('\nfd00::7 n00007 n00007-default\n');
    expect(hosts.split('\n').filter((l) => /^10\.0\.\d+\.\d+ n\d{5} /.test(l)).length).toBe(450);
    void rb;
  }, 60_000);
  test('included controller file edit rebuilds', async () => {
    const w = world('inv5');
    const h0 = await hashes(w);
    writeFileSync(join(w.paths.confDir, 'site.txt'), 'v2 longer\n');
    expect(changed(h0, await hashes(w))).toEqual(['a1.runtime', 'a2.runtime', 'a3.runtime']);
  });
  test('untouched archive files are not rewritten', async () => {
    const w = world('inv6');
    const a = await w.svc.archive('a1', 'system');
    const m0 = statSync(a.path).mtimeMs;
    await Bun.sleep(20);
    w.conf.nodes.a2!.tags = { color: 'x' };
    w.bump();
    expect((await w.svc.archive('a1', 'system')).path).toBe(a.path);
    expect(statSync(a.path).mtimeMs).toBe(m0);
  });
  test('concurrent requests share one build', async () => {
    const w = world('inv7');
    const r0 = w.svc.stats().renders;
    const all = await Promise.all(Array.from({ length: 20 }, () => w.svc.archive('a1', 'system')));
    expect(new Set(all.map((x) => x.hash)).size).toBe(1);
    expect(w.svc.stats().renders - r0).toBe(1);
  });
});

describe('bad input', () => {
  LIMITS.renderMs = 1500; // the default (10 s) bounds real templates; keep the test short
  const bad = async (tpl: string, re: RegExp) => {
    const w = world(`bad${Math.random().toString(36).slice(2, 8)}`);
    const good = await w.svc.archive('a1', 'system');
    writeFileSync(join(w.paths.siteOverlaysDir, 'own/rootfs/etc/own.ww'), tpl);
    const t0 = performance.now();
    const again = await w.svc.archive('a1', 'system'); // previous good archive still served
    expect(performance.now() - t0).toBeLessThan(15_000);
    expect(again).toEqual(good);
    expect(w.errors.join('\n')).toMatch(re);
    expect(() => w.svc.entries('a2', 'system')).toThrow(re); // no previous: clear error
    const dir = join(w.paths.cacheDir, 'overlays', 'a1');
    expect(readdirSync(dir).filter((n) => n.includes('.tmp'))).toEqual([]);
  };
  test('syntax error names overlay, file and line', () => bad('ok\nok\n{% if %}\n', /overlay own: etc\/own\.ww:3: /));
  test('unknown variable', () => bad('{{ id }}\n{{ nosuch.field }}\n', /overlay own: etc\/own\.ww:2: undefined variable: nosuch/));
  test('include of a missing file', () => bad('{% include_file "nope.txt" %}', /etc\/own\.ww:1: .*nope\.txt.*does not exist/));
  test("Liquid's own include (partials from the working directory) points to include_file", () =>
    bad(
      '{{ id }}\n{% include "foo" %}',
      /own\.ww:2: .*\{% include %\} is not available in overlay templates: use \{% include_file "PATH" %\}/,
    ));
  test('include out of the tree', () => bad('{% include_file "../../../../etc/shadow" %}', /leaves/));
  test('include of a host file not allowed', () => bad('{% include_file "/etc/shadow" %}', /only files under/));
  test('output outside the overlay', () => bad('{% file "../../x" %}x', /leaves the overlay/));
  test(
    'endless loop',
    () =>
      bad(
        '{% for i in (1..100000) %}{% for j in (1..100000) %}{% for k in (1..10000) %}{% endfor %}{% endfor %}{% endfor %}',
        /own\.ww:1: .*limit exceeded/,
      ),
    20_000,
  );
  test('a failed render is not repeated for the same inputs: the next fetch answers at once with the previous archive', async () => {
    const w = world(`badagain${Math.random().toString(36).slice(2, 8)}`);
    const good = await w.svc.archive('a1', 'system');
    writeFileSync(
      join(w.paths.siteOverlaysDir, 'own/rootfs/etc/own.ww'),
      '{% for i in (1..100000) %}{% for j in (1..100000) %}{% for k in (1..10000) %}{% endfor %}{% endfor %}{% endfor %}',
    );
    expect(await w.svc.archive('a1', 'system')).toEqual(good); // pays the time limit once
    const r0 = w.svc.stats().renders;
    for (let i = 0; i < 5; i++) {
      w.svc.invalidate(); // re-check the inputs: unchanged
      const t0 = performance.now();
      expect(await w.svc.archive('a1', 'system')).toEqual(good);
      expect(performance.now() - t0).toBeLessThan(500);
    }
    expect(w.svc.stats().renders).toBe(r0);
    writeFileSync(join(w.paths.siteOverlaysDir, 'own/rootfs/etc/own.ww'), 'fixed {{ id }}\n'); // a change: rendered again
    expect((await w.svc.archive('a1', 'system')).hash).not.toBe(good.hash);
  }, 20_000);
  test(
    'huge output',
    () =>
      bad(
        '{% for i in (1..100000) %}{% for j in (1..100000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endfor %}',
        /own\.ww:1: (output larger|.*limit exceeded)/,
      ),
    20_000,
  );
  test('overlay names with / or ..', () => {
    for (const n of ['a/b', '..', '.', '../x', '', 'a b']) expect(() => checkOverlayName(n)).toThrow(/invalid overlay name/);
    const w = world('badname');
    w.conf.nodes.a1!.systemOverlay = ['../../etc'];
    w.bump();
    expect(() => w.svc.entries('a1', 'system')).toThrow(/invalid overlay name/);
  });
  test('a missing overlay is named', () => {
    const w = world('missing');
    w.conf.nodes.a1!.systemOverlay = ['nosuch'];
    w.bump();
    expect(() => w.svc.entries('a1', 'system')).toThrow(/overlay "nosuch" does not exist/);
  });
});

test('GNU cpio lists and extracts the multi-member archive; readCpio agrees', async () => {
  if (spawnSync('cpio', ['--version']).status !== 0) throw new Error('GNU cpio is required (apt-get install cpio)');
  const root = join(tmp, 'cpio');
  const paths = pathsFor(root);
  const conf = goldenConf();
  const svc = createOverlayService({ paths, getConf: () => conf, getWulfConf: () => wulfConf, log: silentLogger });
  const a = await svc.archive('n-bond', 'system');
  const raw = gunzipSync(readFileSync(a.path)); // node:zlib reads all gzip members
  const names = readCpio(raw).map((e) => e.name);
  const t = spawnSync('sh', ['-c', `gzip -dc '${a.path}' | cpio -t 2>/dev/null`], { encoding: 'utf8' });
  expect(t.status).toBe(0);
  expect(t.stdout.trim().split('\n')).toEqual(names);
  expect(names).toContain('init');
  expect(names).toContain('etc/NetworkManager/system-connections/wulf-bond0.nmconnection');
  // parents come before children
  const seen = new Set<string>();
  for (const n of names) {
    const p = n.split('/').slice(0, -1).join('/');
    if (p) expect(seen.has(p)).toBe(true);
    seen.add(n);
  }
  const x = join(root, 'x');
  mkdirSync(x, { recursive: true });
  expect(spawnSync('sh', ['-c', `gzip -dc '${a.path}' | (cd '${x}' && cpio -idm 2>/dev/null)`]).status).toBe(0);
  expect(statSync(join(x, 'init')).mode & 0o777).toBe(0o755);
  expect(statSync(join(x, 'etc/NetworkManager/system-connections/wulf-bond0.nmconnection')).mode & 0o777).toBe(0o600);
  expect(readFileSync(join(x, 'etc/hostname'), 'utf8')).toBe('n-bond\n');
});

describe('narrowed reads: one memoised builder agrees with a fresh render per node', () => {
  const tpls: Record<string, string> = {
    'etc/truth.ww':
      '{% if tags.color %}has {{ tags.color }}{% else %}none{% endif %}|{% unless tags.size or tags.color %}bare{% endunless %}\n',
    'etc/cmp.ww': '{% if id == "b2" %}TWO{% else %}{{ id }}{% endif %} {% if tags.color != "red" and tags.color %}not-red{% endif %}\n',
    'etc/cap.ww':
      '{% capture c %}{{ id }}{% endcapture %}{% if c == "b3" %}three{% endif %} {{ tags.color | shell_quote }} {{ tags.color | upcase }}\n',
    'etc/multi.ww': '{% file "x-" | append: id %}{{ tags.color }}{% file "y" %}{{ tags.size }}.\n',
    'etc/sizes.ww': '{{ tags.color.size }} {{ systemOverlay.first }} {{ tags[tags.key] }}\n',
  };
  const colors: (string | undefined)[] = ['red', 'blue', '', ' ', "it's", undefined, 'red'];
  const conf = (): NodesConf => ({
    profiles: {},
    nodes: Object.fromEntries(
      colors.map((c, i) => [
        `b${i + 1}`,
        {
          systemOverlay: ['tricky'],
          profiles: [],
          tags: { ...(c === undefined ? {} : { color: c }), ...(i % 2 ? { size: 'L', key: 'size' } : { key: 'color' }) },
        },
      ]),
    ),
    revision: 'n1',
  });
  const root = join(tmp, 'narrow');
  const paths = pathsFor(root);
  for (const [rel, text] of Object.entries(tpls)) {
    const f = join(paths.siteOverlaysDir, 'tricky', 'rootfs', rel);
    mkdirSync(join(f, '..'), { recursive: true });
    writeFileSync(f, text);
  }
  const show = (e: Map<string, { rel: string; data?: Uint8Array; hash: string }>) =>
    [...e.values()]
      .map((x) => `${x.rel}=${x.data ? new TextDecoder().decode(x.data) : ''}#${x.hash}`)
      .sort()
      .join('\n');
  test('every node, every template', () => {
    const shared = new Builder({ paths });
    const snap = shared.snapshot(conf(), wulfConf);
    for (const id of Object.keys(conf().nodes)) {
      const fresh = new Builder({ paths });
      expect(show(shared.entries(snap, id, 'system'))).toBe(show(fresh.entries(fresh.snapshot(conf(), wulfConf), id, 'system')));
    }
    expect(shared.renders).toBeLessThan(Object.keys(conf().nodes).length * Object.keys(tpls).length);
  });
});
