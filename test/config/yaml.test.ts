// The YAML reader and the in-place writer of nodes.conf: duplicate keys are refused with file and
// line wherever they hide (checked against the yaml library's own duplicate check), an entry is
// rewritten without touching a byte of the others, and random edits read back as the model says.
import { test, expect, afterAll } from 'bun:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { pathsFor } from '../../src/config/paths.ts';
import { readNodesConf, updateNodesConf } from '../../src/config/store.ts';
import { readYaml } from '../../src/config/yaml-read.ts';
import { scanYaml } from '../../src/config/yaml-scan.ts';
import { parseWulfConf } from '../../src/config/wulfconf.ts';
import { tempRoot } from '../helpers/cli.ts';

const t = tempRoot('wulf-yaml-');
afterAll(t.cleanup);
const paths = pathsFor(t.dir);
mkdirSync(paths.confDir, { recursive: true });

const dupCases: [string, string][] = [
  ['a: 1\nb: 2\na: 3\n', 'a'],
  ['nodes:\n  n1:\n    comment: x\n  n2: {}\n  n1: {}\n', 'n1'],
  ['nodes:\n  n1:\n    tags: {a: 1, b: 2, a: 3}\n', 'a'],
  ['nodes:\n  n1:\n    tags:\n      a: 1\n      "a": 2\n', 'a'],
  ['nodes:\n  \'n 1\': {}\n  "n 1": {}\n', 'n 1'],
  ['l:\n- k: 1\n  k: 2\n', 'k'],
  ['l:\n  - k: 1\n  - k: 2\n    j: 1\n    j: 2\n', 'j'],
  ['n:\n  a:\n    s: |\n      a: 1\n      a: 1\n    a: 2\n    s: 3\n', 's'],
  ['n:\n  m: "multi\n    line"\n  m: 2\n', 'm'], // the scanner gives up: the full parser finds it
  ['n:\n  ? complex\n  : 1\n  complex: 2\n', 'complex'],
];
const cleanCases = [
  'a: 1\nb:\n  a: 1\n  b: {a: 1, b: [a, a]}\nc: [a, a]\n',
  'l:\n- k: 1\n- k: 2\nk: 3\n',
  'n:\n  a:\n    s: |\n      a: 1\n      a: 1\n    t: >-\n      a: 1\n      a: 1\n',
  'n:\n  a: plain\n    continued a\n    b\n  b: x\n',
  'x: "a: b"\ny: \'c: d\'\nz: http://h:80/p # a: comment\n',
  'n:\n  ip6: fe80::1\n  l: [::1, "a,b", {x: [1, 2]}]\n',
];

test('duplicate keys are found wherever the yaml library finds them', () => {
  for (const [text, key] of dupCases) {
    expect(() => parse(text)).toThrow('Map keys must be unique'); // the oracle agrees it is a duplicate
    expect(() => readYaml(text, 'f.yaml')).toThrow(new RegExp(`^f\\.yaml:\\d+: duplicate key "${key}"`));
  }
  for (const text of cleanCases) {
    expect(() => parse(text)).not.toThrow();
    expect(() => readYaml(text, 'f.yaml')).not.toThrow();
  }
});

test('the error names the line of the second key and of the first', () => {
  expect(() => readYaml('nodes:\n  n1: {}\n  n2: {}\n  n1: {}\n', 'nodes.conf')).toThrow(
    'nodes.conf:4: duplicate key "n1" in nodes (first at line 2)',
  );
  expect(() => readYaml('n:\n  m: "multi\n    line"\n  m: 2\n', 'x')).toThrow('x:4: duplicate key "m" in n (first at line 2)');
});

test('a syntax error names the line', () => {
  expect(() => readYaml('nodes:\n  n1:\n    comment: [a\n  n2: {}\n', 'nodes.conf')).toThrow(/^nodes\.conf:\d: YAML syntax error: /);
});

test('wulf.conf: a duplicate key is refused too', () => {
  expect(() => parseWulfConf('ipaddr: 10.0.0.1\nnetmask: 255.255.255.0\nipaddr: 10.0.0.2\n', 'wulf.conf')).toThrow(
    'wulf.conf:3: duplicate key "ipaddr"',
  );
});

test('the scanner locates entries: comments and blank lines between them belong to neither', () => {
  const text = 'nodes:\n  # rack 1\n  n1:\n    comment: x\n\n  # n2 below\n  n2: {}\n';
  const s = scanYaml(text).sections.get('nodes')!;
  expect(s.entries.map((e) => text.slice(e.from, e.to))).toEqual(['  n1:\n    comment: x\n', '  n2: {}\n']);
});

const base = `# site nodes
nodeprofiles:
  default:
    comment: base   # keep
nodes:
  # rack 1
  n1:
    profiles: [default]   # n1's profiles
    network devices:
      default:
        hwaddr: "52:54:00:00:00:01"
        ipaddr: 10.0.0.1

  # rack 2
  n2:
    comment: "two"
    tags: {rack: r2}
    resources:
      script: |
        echo hi
        # not a comment
  n3: {comment: flow}
# end
`;

test('one entry changes in place: every other byte of the file stays as it was', async () => {
  writeFileSync(paths.nodesConf, base);
  await updateNodesConf(paths, (c) => {
    c.nodes.n2!.comment = 'deux';
    c.nodes.n2!.tags = { rack: 'r2', row: '5' };
  });
  const text = readFileSync(paths.nodesConf, 'utf8');
  const n2 = (s: string) => [s.indexOf('  n2:'), s.indexOf('  n3:')] as const;
  const [a, b] = n2(base),
    [c, d] = n2(text);
  expect(text.slice(0, c)).toBe(base.slice(0, a));
  expect(text.slice(d)).toBe(base.slice(b));
  expect(text.slice(c, d)).toBe(
    '  n2:\n    comment: "deux"\n    tags: {rack: r2, row: "5"}\n    resources:\n      script: |\n        echo hi\n        # not a comment\n',
  );
  expect(readNodesConf(paths).nodes.n2!.resources).toEqual({ script: 'echo hi\n# not a comment\n' });
});

test('add, delete and a flow entry in place; an emptied section becomes {}', async () => {
  writeFileSync(paths.nodesConf, base);
  await updateNodesConf(paths, (c) => {
    c.nodes.n4 = { comment: 'new' };
    c.nodes.n3!.comment = 'flow2';
    delete c.nodes.n1;
  });
  let text = readFileSync(paths.nodesConf, 'utf8');
  expect(text).toContain('  # rack 1\n\n  # rack 2\n  n2:');
  expect(text).toContain('  n3: {comment: flow2}\n  n4:\n    comment: new\n# end\n');
  await updateNodesConf(paths, (c) => {
    for (const n of Object.keys(c.nodes)) delete c.nodes[n];
  });
  text = readFileSync(paths.nodesConf, 'utf8');
  expect(text).toStartWith('# site nodes\nnodeprofiles:\n  default:\n    comment: base   # keep\nnodes: {}\n');
  await updateNodesConf(paths, (c) => {
    c.nodes.n9 = { profiles: ['default'] };
  });
  expect(readFileSync(paths.nodesConf, 'utf8')).toContain('nodes:\n  n9:\n    profiles:\n      - default\n');
  expect(Object.keys(readNodesConf(paths).nodes)).toEqual(['n9']);
});

test('random edits, in place and through the whole document, read back as the model', async () => {
  let seed = 12;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.floor(seed / 65536) % n;
  };
  for (const withAlias of [false, true]) {
    const model: Record<string, Record<string, string>> = { n0: { comment: 'c0' }, n1: { comment: 'c1' } };
    writeFileSync(paths.nodesConf, `nodeprofiles: {}\nnodes:\n  n0: ${withAlias ? '&a ' : ''}{comment: c0}\n  n1:\n    comment: c1\n`);
    for (let i = 0; i < 60; i++) {
      const ys = Object.keys(model).filter((n) => n.startsWith('y')); // the copies made from aliases are edited too
      const name = ys.length && !rnd(4) ? ys[rnd(ys.length)]! : `n${rnd(8)}`,
        op = rnd(4);
      await updateNodesConf(paths, (c) => {
        if (op === 0) {
          delete c.nodes[name];
          delete model[name];
          return;
        }
        const node = (c.nodes[name] ??= {});
        model[name] ??= {};
        const [k, v] = [
          ['comment', `v${i}`],
          ['imageName', `img${i}`],
          ['init', `/sbin/i${i}`],
          ['comment', `# x: ${i}`],
        ][op]!;
        (node as Record<string, string>)[k!] = v!;
        model[name]![k!] = v!;
      });
      if (withAlias && i % 10 === 0) {
        // an anchor and an alias inside entries: those entries are expanded in place
        writeFileSync(paths.nodesConf, `${readFileSync(paths.nodesConf, 'utf8')}  x${i}: &x${i} {comment: shared}\n  y${i}: *x${i}\n`);
        model[`x${i}`] = { comment: 'shared' };
        model[`y${i}`] = { comment: 'shared' };
      }
      if (withAlias && i % 10 === 5) {
        // a merge key into the nodes map itself: the whole document is rewritten
        writeFileSync(paths.nodesConf, `${readFileSync(paths.nodesConf, 'utf8')}  <<: {y${i}: {comment: merged}}\n`);
        model[`y${i}`] = { comment: 'merged' };
      }
      expect(readNodesConf(paths).nodes).toEqual(model as never);
    }
  }
}, 60_000);
