// The transactional store: comments and key order survive, stale writers are refused, invalid
// changes write nothing, a backup of the previous revision is kept.
import { test, expect, afterAll } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { removeStaleTemps } from '../../src/lib/atomic.ts';
import { pathsFor } from '../../src/config/paths.ts';
import { readNodesConf, updateNodesConf } from '../../src/config/store.ts';
import { tempRoot } from '../helpers/cli.ts';

const t = tempRoot('wulf-store-');
afterAll(t.cleanup);
const paths = pathsFor(t.dir);
mkdirSync(paths.confDir, { recursive: true });

const original = `# site nodes — edited by hand
nodeprofiles:
  default:
    comment: base   # keep this comment
    kernel:
      args: [quiet]
nodes:
  # rack 1
  n2:
    profiles: [default]
    network devices:
      default:
        hwaddr: "52:54:00:00:00:02"
        ipaddr: 10.0.0.12
  n1:
    profiles: [default]
`;

test('a set keeps comments, key order and untouched text', async () => {
  writeFileSync(paths.nodesConf, original);
  await updateNodesConf(paths, (c) => {
    c.nodes.n1!.imageName = 'rocky';
  });
  const text = readFileSync(paths.nodesConf, 'utf8');
  expect(text).toContain('# site nodes — edited by hand');
  expect(text).toContain('# keep this comment');
  expect(text).toContain('# rack 1');
  expect(text.indexOf('n2:')).toBeLessThan(text.indexOf('n1:'));
  expect(text).toContain('image name: rocky');
  expect(readNodesConf(paths).nodes.n1!.imageName).toBe('rocky');
  expect(readFileSync(`${paths.nodesConf}.bak`, 'utf8')).toBe(original);
});

test('a stale revision is refused and nothing is written', async () => {
  const before = readNodesConf(paths);
  await updateNodesConf(paths, (c) => {
    c.nodes.n2!.comment = 'changed by someone else';
  });
  const text = readFileSync(paths.nodesConf, 'utf8');
  await expect(
    updateNodesConf(
      paths,
      (c) => {
        c.nodes.n1!.init = '/bin/sh';
      },
      { expectedRevision: before.revision },
    ),
  ).rejects.toThrow('changed since it was read');
  expect(readFileSync(paths.nodesConf, 'utf8')).toBe(text);
});

const bad: [string, (c: any) => void, string][] = [
  [
    'bad MAC',
    (c) => {
      c.nodes.n1.networkDevices = { default: { hwaddr: 'zz:00' } };
    },
    'node n1: NetDevs[default].Hwaddr "zz:00" is not a MAC address',
  ],
  [
    'bad IP',
    (c) => {
      c.nodes.n1.networkDevices = { default: { ipaddr: '10.0.0.256' } };
    },
    'is not an IPv4 address',
  ],
  [
    'bad netmask',
    (c) => {
      c.nodes.n1.networkDevices = { default: { netmask: '255.0.255.0' } };
    },
    'is not a netmask',
  ],
  [
    'duplicate hwaddr',
    (c) => {
      c.nodes.n1.networkDevices = { default: { hwaddr: '52:54:00:00:00:02' } };
    },
    'hwaddr 52:54:00:00:00:02 (network default) is already used by n2',
  ],
  [
    'duplicate ipaddr',
    (c) => {
      c.nodes.n1.networkDevices = { default: { ipaddr: '10.0.0.12' } };
    },
    'ipaddr 10.0.0.12 (network default) is already used by n2',
  ],
  [
    'unknown profile',
    (c) => {
      c.nodes.n1.profiles = ['nope'];
    },
    'node n1: unknown profile "nope"',
  ],
  [
    'bad name',
    (c) => {
      c.nodes['bad/name'] = {};
    },
    'node name "bad/name" is not valid',
  ],
];
for (const [name, mutate, msg] of bad) {
  test(`validation: ${name} → one-line error, nothing written`, async () => {
    const text = readFileSync(paths.nodesConf, 'utf8');
    const err = await updateNodesConf(paths, mutate).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain(msg);
    expect(err?.message.includes('\n')).toBe(false);
    expect(readFileSync(paths.nodesConf, 'utf8')).toBe(text);
  });
}

test('no temp or lock debris after writes', () => {
  const debris = readdirSync(paths.confDir).filter((f) => f.includes('wulf-tmp'));
  expect(debris).toEqual([]);
  expect(existsSync(paths.nodesConf)).toBe(true);
});

test('a temp left by a killed writer is removed even when its pid now belongs to another process', () => {
  const dir = mkdtempSync('/tmp/wulf-stale-');
  try {
    const target = join(dir, 'nodes.conf');
    const st = readFileSync('/proc/self/stat', 'utf8');
    const myStart = st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
    const names = {
      reused: `.nodes.conf.wulf-tmp-${process.pid}-1.abc`, // this pid, another (earlier) process
      running: `.nodes.conf.wulf-tmp-${process.pid}-${myStart}.def`, // this very process: still writing
      gone: `.nodes.conf.wulf-tmp-999999999.ghi`, // old name format, no such pid
    };
    for (const n of Object.values(names)) writeFileSync(join(dir, n), 'x');
    removeStaleTemps(target);
    expect(readdirSync(dir).sort()).toEqual([names.running]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
