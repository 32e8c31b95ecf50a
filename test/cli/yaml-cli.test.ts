// One YAML semantics for every command (issue #12 item 6): a duplicate key is a one-line error
// naming the file and line whether the command reads or writes; an anchor shared by two nodes is
// expanded before a write, so changing one node never changes another.
import { test, expect, describe, beforeAll, afterAll } from 'bun:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modes, requireCompiled, runWulf, tempRoot } from '../helpers/cli.ts';

const DUP_NODE = `nodeprofiles:
  default:
    comment: base
nodes:
  n1:
    comment: first
  n2:
    comment: other
  n1:
    comment: second
`;
const DUP_FIELD = `nodeprofiles:
  default: {}
nodes:
  n1:
    comment: first
    network devices:
      default:
        ipaddr: 10.0.0.1
        ipaddr: 10.0.0.2
`;
const ANCHORS = `# site file
nodeprofiles:
  default:
    comment: base
nodes:
  n1: &base
    comment: first   # n1's own note
    ipmi:
      username: admin
  n2: *base
  n3:
    <<: *base
    comment: third
`;

const READS: string[][] = [
  ['node', 'list'],
  ['node', 'list', '-a'],
  ['node', 'list', '-j'],
  ['profile', 'list'],
  ['node', 'export'],
];
const WRITES: string[][] = [
  ['node', 'set', 'n1', '--comment', 'x'],
  ['node', 'set', 'n2', '--comment', 'x'],
  ['node', 'add', 'n9'],
  ['node', 'delete', '-y', 'n2'],
  ['profile', 'set', 'default', '--comment', 'y'],
];

for (const mode of modes) {
  describe(`nodes.conf YAML semantics (${mode.name})`, () => {
    const t = tempRoot(`wulf-yaml-${mode.name}-`);
    const file = join(t.dir, 'etc/wulf/nodes.conf');
    const w = (...args: string[]) => runWulf(mode, t.dir, args);
    beforeAll(() => {
      if (mode.name === 'compiled') requireCompiled();
      mkdirSync(join(t.dir, 'etc/wulf'), { recursive: true });
    });
    afterAll(t.cleanup);

    for (const [what, text, msg] of [
      ['node', DUP_NODE, `${file}:9: duplicate key "n1" in nodes (first at line 5)`],
      ['field', DUP_FIELD, `${file}:9: duplicate key "ipaddr" in nodes.n1.network devices.default (first at line 8)`],
    ] as const) {
      test(`a duplicate ${what} key: every command, read or write, fails with one line naming file and line`, () => {
        writeFileSync(file, text);
        for (const args of [...READS, ...WRITES]) {
          const r = w(...args);
          expect({ args, code: r.code }).toEqual({ args, code: 1 });
          expect(r.err.split('\n')[0]).toBe(`wulf: ${msg}`);
          expect(r.err).not.toContain('internal error');
          expect(r.err).not.toContain('    at ');
        }
        expect(readFileSync(file, 'utf8')).toBe(text);
      }, 60_000);
    }

    test('node import reads with the same rules: a duplicate key names the file and line', () => {
      writeFileSync(file, 'nodeprofiles:\n  default: {}\nnodes: {}\n');
      const imp = join(t.dir, 'import.yaml');
      writeFileSync(imp, 'n5:\n  comment: a\nn6:\n  comment: b\nn5:\n  comment: c\n');
      const r = w('node', 'import', imp);
      expect(r.code).toBe(1);
      expect(r.err.split('\n')[0]).toBe(`wulf: ${imp}:5: duplicate key "n5" (first at line 1)`);
      writeFileSync(imp, 'n5: &x\n  comment: a\nn6: *x\n');
      expect(w('node', 'import', imp).code).toBe(0);
      expect(readFileSync(file, 'utf8')).not.toContain('*x');
    }, 30_000);

    test('an anchor shared by nodes is expanded on write: setting n1 leaves n2 and n3 as they were', () => {
      writeFileSync(file, ANCHORS);
      const before = JSON.parse(w('node', 'list', '-j').out);
      expect(before.n2.ipmi.username).toBe('admin'); // reads resolve aliases and merge keys
      expect(before.n3.comment).toBe('third');
      const r = w('node', 'set', 'n1', '--comment', 'changed', '--ipmiuser', 'root');
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const after = JSON.parse(w('node', 'list', '-j').out);
      expect(after.n1.comment).toBe('changed');
      expect(after.n1.ipmi.username).toBe('root');
      expect(after.n2).toEqual(before.n2);
      expect(after.n3).toEqual(before.n3);
      const text = readFileSync(file, 'utf8');
      expect(text).not.toMatch(/[&*]base|<</); // no anchors, aliases or merge keys left
      expect(text).toContain('# site file');
      expect(w('node', 'set', 'n2', '--comment', 'two').code).toBe(0);
      const last = JSON.parse(w('node', 'list', '-j').out);
      expect([last.n1.comment, last.n2.comment, last.n3.comment]).toEqual(['changed', 'two', 'third']);
    }, 30_000);
  });
}
