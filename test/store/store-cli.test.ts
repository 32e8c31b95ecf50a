// The CLI on the PostgreSQL store, run as users run it (the compiled dist/wulf): node and profile
// verbs, store copy round trips, node edit's revision check, schema versions, an unreachable server.
import { test, expect, beforeAll, afterAll } from 'bun:test';
import { existsSync, readFileSync, rmSync, writeFileSync, appendFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { SQL } from 'bun';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';
import { startPg, type Pg } from './pg.ts';
import { SCHEMA_VERSION } from '../../src/store/migrations.ts';

const bin = modes[0]!;
let pg: Pg;
const roots: { cleanup: () => void }[] = [];
beforeAll(() => {
  requireCompiled();
  pg = startPg();
}, 60_000);
afterAll(() => {
  pg?.stop();
  for (const r of roots) r.cleanup();
}, 30_000);

let dbs = 0;
function site(): {
  dir: string;
  url: string;
  w: (args: string[], env?: Record<string, string>, input?: string) => ReturnType<typeof runWulf>;
} {
  const t = tempRoot('wulf-store-cli-');
  roots.push(t);
  const url = pg.createDb(`c${++dbs}`);
  const w = (args: string[], env: Record<string, string> = {}, input?: string) => runWulf(bin, t.dir, args, { env, input });
  expect(w(['init', '--address', '10.9.0.1/24']).code).toBe(0);
  return { dir: t.dir, url, w };
}
const ok = (r: ReturnType<typeof runWulf>) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.err}`);
  return r.out;
};

test('round trip files → PostgreSQL → files: node list -a -j and node export are identical everywhere', () => {
  const { dir, url, w } = site();
  ok(w(['profile', 'add', 'gpu', '--kernelargs', 'nouveau.modeset=0', '--tagadd', 'k=v']));
  ok(w(['node', 'add', 'n[001-040]', '--ipaddr', '10.9.0.11', '--ipmiaddr', '10.9.1.11', '--image', 'rocky9']));
  ok(w(['node', 'set', 'n[001-008]', '--profile', 'default,gpu', '--comment', 'gpu nodes']));
  ok(w(['node', 'set', 'n001', '--hwaddr', '52:54:00:00:00:01']));
  ok(w(['node', 'set', 'n002', '--hwaddr', '52:54:00:00:00:02', '--netname', 'ib0', '--netdev', 'ib0', '--ipaddr', '10.10.0.2']));
  const list = ok(w(['node', 'list', '-a', '-j']));
  const exp = ok(w(['node', 'export']));
  const profs = ok(w(['profile', 'list', '-a', '-j']));
  expect(ok(w(['store', 'copy', '--to', url]))).toContain('copied 40 nodes and 2 profiles');
  const onPg = { WULF_STORE: url };
  expect(ok(w(['node', 'list', '-a', '-j'], onPg))).toBe(list);
  expect(ok(w(['node', 'export'], onPg))).toBe(exp);
  expect(ok(w(['profile', 'list', '-a', '-j'], onPg))).toBe(profs);
  // back: a site with no nodes.conf at all gets it from PostgreSQL
  const conf = join(dir, 'etc/wulf/nodes.conf');
  rmSync(conf);
  expect(ok(w(['store', 'copy', '--to', 'files'], onPg))).toContain('copied 40 nodes and 2 profiles');
  expect(ok(w(['node', 'list', '-a', '-j']))).toBe(list);
  expect(ok(w(['node', 'export']))).toBe(exp);
  expect(ok(w(['profile', 'list', '-a', '-j']))).toBe(profs);
  expect(existsSync(conf)).toBe(true);
}, 120_000);

test('node and profile verbs work on PostgreSQL ("store:" in wulf.conf) and never touch nodes.conf', () => {
  const { dir, url, w } = site();
  const conf = join(dir, 'etc/wulf/nodes.conf');
  const before = readFileSync(conf, 'utf8');
  ok(w(['store', 'copy', '--to', url]));
  appendFileSync(join(dir, 'etc/wulf/wulf.conf'), `store: ${url}\n`);
  expect(ok(w(['store', 'info']))).toContain('store:     postgres');
  expect(ok(w(['node', 'add', 'a[1-3]', '--ipaddr', '10.9.0.21']))).toBe('added 3 nodes: a[1-3]\n');
  expect(ok(w(['profile', 'add', 'ib', '--comment', 'infiniband']))).toBe('added 1 profile: ib\n');
  expect(ok(w(['node', 'set', 'a2', '--profile', 'default,ib']))).toContain('Profiles: default -> default,ib');
  expect(ok(w(['node', 'delete', 'a3', '--yes']))).toBe('deleted 1 node: a3\n');
  expect(ok(w(['node', 'list']))).toMatch(/a1 +default +default:10\.9\.0\.21\na2 +default,ib +default:10\.9\.0\.22\n$/);
  expect(ok(w(['profile', 'list']))).toContain('infiniband');
  // a profile still in use cannot go; a bad value is one line and changes nothing
  const rev = JSON.parse(ok(w(['store', 'info', '-j']))).revision;
  const used = w(['profile', 'delete', 'ib', '--yes']);
  expect(used.code).toBe(1);
  expect(used.err).toContain('profile ib is still used by a2');
  const bad = w(['node', 'set', 'a1', '--ipaddr', '10.9.0.22']);
  expect(bad.code).toBe(1);
  expect(bad.err).toMatch(/^wulf: node a[12]: ipaddr 10\.9\.0\.22 \(network default\) is already used by a[12] \(network default\)\n$/);
  const badMac = w(['node', 'add', 'a9', '--hwaddr', 'zz:zz']);
  expect(badMac.code).toBe(1);
  expect(badMac.err.trim().split('\n')[0]).toMatch(/^wulf: node a9: .*hwaddr/i);
  expect(JSON.parse(ok(w(['store', 'info', '-j']))).revision).toBe(rev);
  expect(readFileSync(conf, 'utf8')).toBe(before);
}, 120_000);

test('node edit on PostgreSQL: YAML in the editor, applied; a change made meanwhile makes it refuse, naming the revisions', () => {
  const { dir, url, w } = site();
  ok(w(['store', 'copy', '--to', url]));
  ok(w(['node', 'add', 'e1', '--ipaddr', '10.9.0.31'], { WULF_STORE: url }));
  const ed = join(dir, 'editor.sh');
  writeFileSync(ed, `#!/bin/sh\ncp "$1" ${dir}/seen.yaml\nsed -i 's/ipaddr: 10.9.0.31/ipaddr: 10.9.0.32/' "$1"\n`);
  chmodSync(ed, 0o755);
  expect(ok(w(['node', 'edit', 'e1'], { WULF_STORE: url, EDITOR: ed }))).toBe('updated 1 node\n');
  expect(readFileSync(join(dir, 'seen.yaml'), 'utf8')).toContain(
    'e1:\n  profiles:\n    - default\n  network devices:\n    default:\n      ipaddr: 10.9.0.31\n',
  );
  expect(ok(w(['node', 'list', '-n', 'e1'], { WULF_STORE: url }))).toContain('10.9.0.32');
  // another writer changes the node while the editor is open
  const rev = JSON.parse(ok(w(['store', 'info', '-j'], { WULF_STORE: url }))).revision;
  writeFileSync(
    ed,
    `#!/bin/sh\nWULF_STORE='${url}' ${bin.argv[0]} node set e1 --comment meanwhile >/dev/null\nsed -i 's/ipaddr: 10.9.0.32/ipaddr: 10.9.0.33/' "$1"\n`,
  );
  const r = w(['node', 'edit', 'e1'], { WULF_STORE: url, EDITOR: ed });
  expect(r.code).toBe(1);
  expect(r.err.split('\n')[0]).toContain(`changed since it was read (revision ${rev} → ${Number(rev) + 1}); your text is in`);
  const list = ok(w(['node', 'list', '-a', 'e1'], { WULF_STORE: url }));
  expect(list).toContain('meanwhile');
  expect(list).toContain('10.9.0.32');
}, 120_000);

test('store copy refuses a target that holds entries unless --replace, and refuses copying a store onto itself', () => {
  const { url, w } = site();
  ok(w(['store', 'copy', '--to', url]));
  const again = w(['store', 'copy', '--to', url]);
  expect(again.code).toBe(1);
  expect(again.err).toContain('already holds 0 nodes and 1 profile; nothing was copied');
  ok(w(['node', 'add', 'x1']));
  expect(ok(w(['store', 'copy', '--to', url, '--replace']))).toContain('copied 1 node and 1 profile');
  expect(ok(w(['node', 'list'], { WULF_STORE: url }))).toContain('x1');
  const self = w(['store', 'copy', '--to', 'files']);
  expect(self.code).toBe(1);
  expect(self.err).toContain('the source and the target are the same store');
}, 120_000);

test('a schema newer than the binary knows is refused in one line with a hint, and left as it was', async () => {
  const { url, w } = site();
  ok(w(['store', 'copy', '--to', url]));
  const sql = new SQL(url);
  try {
    await sql`insert into wulf_schema (version, summary) values (99, 'from the future')`;
    const r = w(['node', 'list'], { WULF_STORE: url });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      new RegExp(
        `^wulf: postgres://\\S+: the store's schema is version 99, newer than this wulf knows \\(${SCHEMA_VERSION}\\); nothing was changed\n` +
          '  hint: use the wulf binary that migrated it, or a newer one\n$',
      ),
    );
    const w2 = w(['node', 'add', 'late'], { WULF_STORE: url });
    expect(w2.code).toBe(1);
    expect((await sql`select count(*)::int as n from wulf_entries where name = 'late'`)[0].n).toBe(0);
    expect((await sql`select max(version)::int as v from wulf_schema`)[0].v).toBe(99);
  } finally {
    await sql.close();
  }
}, 60_000);

test('PostgreSQL unreachable: one line naming the server, a hint, exit 1, no stack trace', () => {
  const { dir, w } = site();
  for (const url of [
    `postgres://postgres@localhost/none?host=${encodeURIComponent(join(dir, 'no-such-socket-dir'))}`,
    'postgres://wulf:secret@127.0.0.1:1/wulf',
  ]) {
    for (const args of [
      ['node', 'list'],
      ['node', 'set', 'x', '--comment', 'y'],
      ['store', 'info'],
    ]) {
      const r = w(args, { WULF_STORE: url });
      expect(r.code).toBe(1);
      const lines = r.err.trimEnd().split('\n');
      expect(lines.length).toBe(2);
      expect(lines[0]).toStartWith('wulf: cannot reach PostgreSQL at postgres://');
      expect(lines[1]).toStartWith('  hint: ');
      expect(r.err).not.toContain('secret');
    }
  }
  const bad = w(['node', 'list'], { WULF_STORE: 'mysql://db/wulf' });
  expect(bad.code).toBe(1);
  expect(bad.err.split('\n')[0]).toBe('wulf: WULF_STORE: store "mysql://db/wulf" is neither "files" nor a postgres:// URL');
}, 120_000);

test('other commands read nodes from PostgreSQL (overlay show --render, configure hostfile, power --show, completion), not nodes.conf', () => {
  const { dir, url, w } = site();
  ok(w(['store', 'copy', '--to', url]));
  const onPg = { WULF_STORE: url };
  ok(w(['node', 'add', 'pgnode', '--ipaddr', '10.9.0.77', '--ipmiaddr', '10.9.1.77'], onPg));
  // the node exists only in PostgreSQL: a command still on nodes.conf would not know it
  expect(ok(w(['overlay', 'show', 'hosts', '/etc/hosts.ww', '--render', 'pgnode'], onPg))).toContain('10.9.0.77 pgnode');
  expect(w(['overlay', 'show', 'hosts', '/etc/hosts.ww', '--render', 'pgnode']).code).toBe(1);
  ok(w(['configure', 'hostfile'], onPg));
  expect(readFileSync(join(dir, 'etc/hosts'), 'utf8')).toContain('10.9.0.77 pgnode');
  expect(ok(w(['power', 'status', 'pgnode', '--show'], onPg))).toContain('-H 10.9.1.77');
  expect(w(['power', 'status', 'pgnode', '--show']).code).toBe(1);
  // import-warewulf writes nodes.conf: refused on PostgreSQL, where its nodes would go unseen
  const imp = w(['import-warewulf', join(dir, 'no-site')], onPg);
  expect(imp.code).toBe(1);
  expect(imp.err.split('\n')[0]).toBe('wulf: import-warewulf writes nodes.conf, and this wulf uses the PostgreSQL store');
  // TAB offers the names in PostgreSQL
  const tab = (env: Record<string, string>) =>
    w(['completion', 'complete', '3', '--', 'wulf', 'node', 'set', 'pg'], env).out.split('\n').filter(Boolean);
  expect(tab(onPg)).toEqual(['pgnode']);
  expect(tab({})).toEqual([]);
}, 120_000);
