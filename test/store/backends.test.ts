// One behaviour suite, run against both backends of the config store: the files (nodes.conf) and a
// real PostgreSQL started from Debian's packages (test/store/pg.ts). If PostgreSQL cannot start the
// PostgreSQL half fails with the reason; nothing is skipped.
import { test, expect, describe, beforeAll, afterAll, setDefaultTimeout } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathsFor } from '../../src/config/paths.ts';
import { WulfError } from '../../src/lib/errors.ts';
import { fileStore } from '../../src/store/files.ts';
import { PostgresStore } from '../../src/store/postgres.ts';
import type { ConfigStore } from '../../src/store/store.ts';
import { tempRoot } from '../helpers/cli.ts';
import { startPg, type Pg } from './pg.ts';

// a real server on a busy 2-core machine: seconds, not the default 5
setDefaultTimeout(30_000);
let pg: Pg | undefined;
let pgFailure: Error | undefined;
const t = tempRoot('wulf-store-');
beforeAll(() => {
  try {
    pg = startPg();
  } catch (e) {
    pgFailure = e as Error;
  }
}, 60_000);
afterAll(() => {
  pg?.stop();
  t.cleanup();
}, 30_000);

let n = 0;
type Backend = { name: string; fresh: () => () => ConfigStore };
const backends: Backend[] = [
  {
    name: 'files',
    fresh: () => {
      const dir = join(t.dir, `f${++n}`);
      mkdirSync(dir);
      const paths = pathsFor(dir);
      return () => fileStore(paths);
    },
  },
  {
    name: 'postgres',
    fresh: () => {
      if (!pg) throw new Error(`PostgreSQL did not start: ${pgFailure?.message}`);
      const url = pg.createDb(`b${++n}`);
      return () => new PostgresStore(url);
    },
  },
];

async function using<T>(open: () => ConfigStore, f: (s: ConfigStore) => Promise<T>): Promise<T> {
  const s = open();
  try {
    return await f(s);
  } finally {
    await s.close();
  }
}
async function refusal(p: Promise<unknown>): Promise<WulfError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof WulfError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}
const seed = (open: () => ConfigStore) =>
  using(open, (s) =>
    s.update((c) => {
      c.profiles.default = { kernel: { args: ['quiet'] }, runtimeOverlay: ['generic'] };
      c.nodes.n1 = { profiles: ['default'], networkDevices: { default: { hwaddr: '52:54:00:00:00:01', ipaddr: '10.0.0.1' } } };
      c.nodes.n2 = { profiles: ['default'], comment: 'second', networkDevices: { default: { ipaddr: '10.0.0.2' } } };
    }),
  );

for (const b of backends) {
  describe(`${b.name} backend`, () => {
    test('an empty store reads as empty; a write reads back whole, in order, under a new revision', async () => {
      const open = b.fresh();
      const empty = await using(open, (s) => s.read());
      expect(empty.nodes).toEqual({});
      expect(empty.profiles).toEqual({});
      const r = await seed(open);
      expect(r.changed).toBe(true);
      expect(r.revision).not.toBe(empty.revision);
      const back = await using(open, (s) => s.read());
      expect(back.revision).toBe(r.revision);
      expect(Object.keys(back.nodes)).toEqual(['n1', 'n2']);
      expect(back.nodes.n2).toEqual({ profiles: ['default'], comment: 'second', networkDevices: { default: { ipaddr: '10.0.0.2' } } });
      expect(back.profiles.default).toEqual({ kernel: { args: ['quiet'] }, runtimeOverlay: ['generic'] });
      // a change that changes nothing keeps the revision
      const same = await using(open, (s) =>
        s.update((c) => {
          c.nodes.n2!.comment = 'second';
        }),
      );
      expect(same.changed).toBe(false);
      expect(same.revision).toBe(r.revision);
      // deleting an entry
      await using(open, (s) =>
        s.update((c) => {
          delete c.nodes.n1;
        }),
      );
      expect(Object.keys((await using(open, (s) => s.read())).nodes)).toEqual(['n2']);
    });

    test('a write based on an older revision is refused with one line naming both revisions, and writes nothing', async () => {
      const open = b.fresh();
      await seed(open);
      const old = await using(open, (s) => s.read());
      const other = await using(open, (s) =>
        s.update((c) => {
          c.nodes.n1!.comment = 'by another writer';
        }),
      );
      const e = await refusal(
        using(open, (s) =>
          s.update(
            (c) => {
              c.nodes.n2!.comment = 'stale';
            },
            { expectedRevision: old.revision },
          ),
        ),
      );
      expect(e.code).toBe('ESTALE');
      expect(e.message).toContain(`(revision ${old.revision} → ${other.revision})`);
      expect(e.message.includes('\n')).toBe(false);
      const now = await using(open, (s) => s.read());
      expect(now.revision).toBe(other.revision);
      expect(now.nodes.n2!.comment).toBe('second');
      expect(now.nodes.n1!.comment).toBe('by another writer');
    });

    test('two writers based on the same revision, at once: exactly one commits, the other is refused', async () => {
      const open = b.fresh();
      await seed(open);
      const base = (await using(open, (s) => s.read())).revision;
      const write = (who: string) =>
        using(open, (s) =>
          s.update(
            async (c) => {
              await Bun.sleep(30);
              c.nodes.n1!.comment = who;
            },
            { expectedRevision: base },
          ),
        );
      const results = await Promise.allSettled([write('A'), write('B')]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const no = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(ok.length).toBe(1);
      expect(no.length).toBe(1);
      expect((no[0]!.reason as WulfError).code).toBe('ESTALE');
      const winner = results[0]!.status === 'fulfilled' ? 'A' : 'B';
      expect((await using(open, (s) => s.read())).nodes.n1!.comment).toBe(winner);
    });

    test('no lost update: 8 concurrent read-modify-write writers (each its own connection) all land', async () => {
      const open = b.fresh();
      await seed(open);
      await using(open, (s) =>
        s.update((c) => {
          c.nodes.n1!.comment = '0';
        }),
      );
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          using(open, (s) =>
            s.update(async (c) => {
              const v = Number(c.nodes.n1!.comment);
              await Bun.sleep(5 + (i % 3) * 5); // widen the window a store without isolation would lose updates in
              c.nodes.n1!.comment = String(v + 1);
              c.nodes[`w${i}`] = { comment: `writer ${i}` };
            }),
          ),
        ),
      );
      const back = await using(open, (s) => s.read());
      expect(back.nodes.n1!.comment).toBe('8');
      expect(
        Object.keys(back.nodes)
          .filter((k) => k.startsWith('w'))
          .sort(),
      ).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7']);
    });

    test('a write that fails validation is refused with one line and leaves nothing written', async () => {
      const open = b.fresh();
      await seed(open);
      const before = await using(open, (s) => s.read());
      // many good changes and one bad one: none of them may land
      const dup = await refusal(
        using(open, (s) =>
          s.update((c) => {
            for (let i = 3; i < 50; i++)
              c.nodes[`n${i}`] = { profiles: ['default'], networkDevices: { default: { ipaddr: `10.0.0.${i}` } } };
            c.nodes.n2!.comment = 'changed';
            c.nodes.n49!.networkDevices!.default!.ipaddr = '10.0.0.1';
          }),
        ),
      );
      expect(dup.message).toBe('node n49: ipaddr 10.0.0.1 (network default) is already used by n1 (network default)');
      const unknown = await refusal(
        using(open, (s) =>
          s.update((c) => {
            c.nodes.n9 = { profiles: ['nosuch'] };
          }),
        ),
      );
      expect(unknown.message).toBe('node n9: unknown profile "nosuch"');
      // the network checks of what changed (bond members, VLANs), on both backends
      const bond = await refusal(
        using(open, (s) =>
          s.update((c) => {
            c.nodes.n2!.networkDevices!.en9 = { device: 'en9', tags: { master: 'bond9' } };
          }),
        ),
      );
      expect(bond.message).toBe('node n2: network en9: master "bond9" is not one of the node\'s network devices');
      const thrown = await refusal(
        using(open, (s) =>
          s.update((c) => {
            c.nodes.n7 = {};
            throw new WulfError('changed my mind');
          }),
        ),
      );
      expect(thrown.message).toBe('changed my mind');
      const after = await using(open, (s) => s.read());
      expect(after.revision).toBe(before.revision);
      expect(after.nodes).toEqual(before.nodes);
      expect(after.profiles).toEqual(before.profiles);
    });
  });
}
