// The verbs nodes and profiles share (add, set, unset, list, delete, edit, export, import),
// written once over `kind`. Every read and change goes through the configured store (src/store/:
// nodes.conf or PostgreSQL; a change is revision-checked, validated whole and atomic on both).
// The field flags come from the schema (field-flags.ts) and reach a verb as `fields`.
import { WulfError } from '../lib/errors.ts';
import { compressHostlist, expandHostlist, matchNodes } from '../lib/hostlist.ts';
import { addIPv4 } from '../lib/ip.ts';
import { mergeData, mergeNode, leavesOf, type MergedNode, type NodesConf } from '../config/cascade.ts';
import { withStore } from '../store/open.ts';
import type { ConfigStore } from '../store/store.ts';
import { checkName } from '../config/validate.ts';
import type { NodeData } from '../config/schema.ts';
import type { Ctx, Flags, Verb } from './command.ts';
import { outputFlags } from './command.ts';
import { defineCommand, type FlagsOf } from './define.ts';
import { confirmOrFail, type Kind, names, plural, section, selectNames } from './entity-common.ts';
import { editVerb, exportVerb, importVerb } from './entity-yaml.ts';
import { applySetFlags, applyUnsetFlags, isUnsetWord, normalizeBoolArgs, setFlags, unsetFlags } from './field-flags.ts';
import { allView, dataMap, defaultView, ipmiView, longView, networkView } from './node-views.ts';
import { table, toJsonText, toYamlText } from './table.ts';

export { selectNames };

function mergedFor(conf: NodesConf, kind: Kind, id: string): MergedNode {
  return kind === 'node' ? mergeNode(conf, id) : mergeData(conf.profiles, id, conf.profiles[id]!);
}

/** Per-field before/after lines, grouping names that get the same change. */
function diffLines(before: Map<string, Map<string, string>>, after: Map<string, Map<string, string>>): string[] {
  const groups = new Map<string, string[]>();
  for (const [name, b] of before) {
    const a = after.get(name) ?? new Map();
    const lines: string[] = [];
    for (const k of new Set([...b.keys(), ...a.keys()])) {
      const x = b.get(k),
        y = a.get(k);
      if (x !== y) lines.push(`  ${k}: ${x ?? '--'} -> ${y ?? '--'}`);
    }
    const key = lines.join('\n');
    if (!key) continue;
    groups.set(key, [...(groups.get(key) ?? []), name]);
  }
  return [...groups].map(([lines, ns]) => `${compressHostlist(ns)}:\n${lines}`);
}

function flatValues(d: NodeData): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of leavesOf(d))
    m.set(
      l.title,
      l.title.endsWith('Password')
        ? '********'
        : Array.isArray(l.value)
          ? l.value.join(',')
          : typeof l.value === 'object'
            ? JSON.stringify(l.value)
            : String(l.value),
    );
  return m;
}

/** wwctl's -f/--force on set and unset: deprecated there, it never had an effect; accepted and ignored. */
const wwForce = { force: { type: 'boolean', short: 'f', hidden: true, help: 'accepted for wwctl; no effect' } } as const satisfies Flags;

/** --all changes every node or profile: asked on a terminal, refused without one unless --yes. */
async function confirmAll(ctx: Ctx, s: ConfigStore, flags: { all: boolean; yes: boolean }, kind: Kind, what: string): Promise<void> {
  if (!flags.all) return;
  if (flags.yes) return;
  const n = names(await s.read(), kind).length;
  await confirmOrFail(ctx, flags.yes, `${what} every ${kind} (${plural(n, kind)})?`);
}

function addVerb(kind: Kind) {
  const sec = section(kind);
  return defineCommand({
    name: 'add',
    aliases: ['new', 'create'],
    summary:
      kind === 'node'
        ? 'add nodes (a hostlist such as n[01-64] adds many; --ipaddr/--ipmiaddr auto-increment)'
        : 'add profiles, each with the fields given (a node names them with --profile)',
    positionals: [{ name: 'name', variadic: true, required: true }],
    fieldFlags: setFlags(kind),
    preprocess: normalizeBoolArgs,
    run: (ctx, { fields, pos }) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        // node names may be hostlists; a profile name is taken as written
        const toAdd = kind === 'node' ? pos.name.flatMap((p) => expandHostlist(p)) : pos.name;
        for (const n of toAdd) checkName(kind, n);
        const { result } = await s.update((conf) => {
          for (const [i, n] of toAdd.entries()) {
            if (conf[sec][n]) throw new WulfError(`${kind} ${n} already exists`, { hint: `use 'wulf ${kind} set'` });
            const data: NodeData = {};
            if (kind === 'node' && !fields.profile && conf.profiles.default) data.profiles = ['default'];
            applySetFlags(data, fields, `${kind} ${n}`, incremented(fields, i, `${kind} ${n}`));
            conf[sec][n] = data;
          }
          return toAdd.length;
        });
        ctx.out(`added ${plural(result, kind)}: ${compressHostlist(toAdd)}`);
      }),
  });
}

/** --ipaddr and --ipmiaddr for the i-th name of a hostlist: the address given plus i. */
function incremented(fields: Record<string, unknown>, i: number, who: string): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const k of ['ipaddr', 'ipmiaddr'] as const) {
    const base = fields[k];
    if (typeof base === 'string' && base && i > 0 && !isUnsetWord(base)) {
      try {
        overrides[k] = addIPv4(base, i);
      } catch (e) {
        throw new WulfError(`${who}: --${k}: ${(e as Error).message}`);
      }
    }
  }
  return overrides;
}

function setVerb(kind: Kind) {
  const sec = section(kind);
  return defineCommand({
    name: 'set',
    aliases: ['modify'],
    summary: `change fields of ${kind}s (UNSET clears a field); prints a before/after diff`,
    usage: 'PATTERN...',
    positionals: [{ name: 'pattern', variadic: true }],
    preprocess: normalizeBoolArgs,
    fieldFlags: setFlags(kind),
    flags: {
      all: { type: 'boolean', short: 'a', help: `every ${kind}` },
      yes: { type: 'boolean', short: 'y', help: 'do not ask before changing every one (--all)' },
      ...wwForce,
    },
    run: (ctx, { flags, fields, pos }) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        await confirmAll(ctx, s, flags, kind, 'change');
        let diff: string[] = [];
        const res = await s.update((conf) => {
          const sel = selectNames(conf, kind, pos.pattern, flags.all);
          const before = new Map(sel.map((n) => [n, flatValues(conf[sec][n]!)]));
          for (const n of sel) applySetFlags(conf[sec][n]!, fields, `${kind} ${n}`);
          diff = diffLines(before, new Map(sel.map((n) => [n, flatValues(conf[sec][n]!)])));
          return sel;
        });
        if (!res.changed) ctx.out(`no change (${plural(res.result.length, kind)} matched)`);
        else ctx.out(diff.join('\n'));
      }),
  });
}

function unsetVerb(kind: Kind) {
  const sec = section(kind);
  return defineCommand({
    name: 'unset',
    summary: `clear fields of ${kind}s (e.g. --image --kernelargs; --netname alone deletes that network)`,
    usage: 'PATTERN...',
    positionals: [{ name: 'pattern', variadic: true }],
    fieldFlags: unsetFlags(kind),
    flags: {
      all: { type: 'boolean', short: 'a', help: `every ${kind}` },
      yes: { type: 'boolean', short: 'y', help: 'do not ask before clearing every one (--all)' },
      ...wwForce,
    },
    run: (ctx, { flags, fields, pos }) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        await confirmAll(ctx, s, flags, kind, 'clear fields of');
        let diff: string[] = [];
        const res = await s.update((conf) => {
          const sel = selectNames(conf, kind, pos.pattern, flags.all);
          const before = new Map(sel.map((n) => [n, flatValues(conf[sec][n]!)]));
          let count = 0;
          for (const n of sel) count += applyUnsetFlags(conf[sec][n]!, fields, `${kind} ${n}`);
          diff = diffLines(before, new Map(sel.map((n) => [n, flatValues(conf[sec][n]!)])));
          return count;
        });
        ctx.out(res.changed ? diff.join('\n') : 'no change');
      }),
  });
}

/** node list only: the views wwctl has */
const nodeViewFlags = {
  net: { type: 'boolean', short: 'n', help: 'network view' },
  ipmi: { type: 'boolean', short: 'i', help: 'IPMI view' },
  long: { type: 'boolean', short: 'l', help: 'kernel, image and overlays' },
} as const satisfies Flags;
const listFlags = {
  all: { type: 'boolean', short: 'a', help: 'every set field with the profile it came from' },
  ...outputFlags,
} as const satisfies Flags;
type ListFlags = FlagsOf<typeof listFlags> & Partial<FlagsOf<typeof nodeViewFlags>>;

function runList(ctx: Ctx, kind: Kind, flags: ListFlags, pos: string[]) {
  return withStore(ctx.paths, ctx.env, async (s) => {
    const conf = await s.read();
    const sel = pos.length ? matchNodes(pos, names(conf, kind)) : names(conf, kind);
    if (pos.length && !sel.length) throw new WulfError(`no ${kind} matches ${pos.join(' ')}`);
    const merged = sel.map((n) => mergedFor(conf, kind, n));
    if (flags.json) return void ctx.out(toJsonText(dataMap(merged)));
    if (flags.yaml) return void ctx.out(sel.length ? toYamlText(dataMap(merged)) : '{}');
    if (flags.all) return void ctx.out(allView(merged, kind === 'node' ? 'NODE' : 'PROFILE'));
    if (kind === 'profile') {
      return void ctx.out(
        table(
          ['PROFILE NAME', 'COMMENT/DESCRIPTION'],
          merged.map((m) => [m.id, conf.profiles[m.id]?.comment ?? '--']),
        ),
      );
    }
    if (flags.net) return void ctx.out(networkView(merged));
    if (flags.ipmi) return void ctx.out(ipmiView(merged));
    if (flags.long) return void ctx.out(longView(merged));
    ctx.out(defaultView(merged));
  });
}

function listVerb(kind: Kind) {
  const common = {
    name: 'list',
    aliases: ['ls'],
    summary: `list ${kind}s`,
    positionals: [{ name: 'pattern', variadic: true }],
  } as const;
  return kind === 'node'
    ? defineCommand({
        ...common,
        flags: { ...nodeViewFlags, ...listFlags },
        run: (ctx, { flags, pos }) => runList(ctx, kind, flags, pos.pattern),
      })
    : defineCommand({ ...common, flags: listFlags, run: (ctx, { flags, pos }) => runList(ctx, kind, flags, pos.pattern) });
}

/** The names of nodes and profiles that still use one of the profiles `sel`. */
function profileUsers(conf: NodesConf, sel: string[]): string[] {
  const uses = (d: NodeData) => d.profiles?.some((p) => sel.includes(p.replace(/^~/, '')));
  const users = Object.entries(conf.nodes)
    .filter(([, d]) => uses(d))
    .map(([n]) => n);
  const profUsers = Object.entries(conf.profiles)
    .filter(([n, d]) => !sel.includes(n) && uses(d))
    .map(([n]) => n);
  return [...users, ...profUsers];
}

function deleteVerb(kind: Kind) {
  const sec = section(kind);
  return defineCommand({
    name: 'delete',
    aliases: ['rm', 'del', 'remove'],
    summary: `delete ${kind}s`,
    usage: 'PATTERN...',
    positionals: [{ name: 'pattern', variadic: true }],
    flags: { yes: { type: 'boolean', short: 'y', help: 'do not ask for confirmation' } },
    run: (ctx, { flags, pos: { pattern } }) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        const conf0 = await s.read();
        const sel0 = selectNames(conf0, kind, pattern);
        const users = kind === 'profile' ? profileUsers(conf0, sel0) : [];
        if (users.length)
          throw new WulfError(
            `profile ${compressHostlist(sel0)} is still used by ${users.slice(0, 5).join(', ')}${users.length > 5 ? ', ...' : ''}`,
            { hint: 'remove it from those first' },
          );
        await confirmOrFail(ctx, flags.yes, `delete ${plural(sel0.length, kind)} (${compressHostlist(sel0)})?`);
        const { result } = await s.update((conf) => {
          const sel = selectNames(conf, kind, pattern);
          for (const n of sel) delete conf[sec][n];
          return sel;
        });
        ctx.out(`deleted ${plural(result.length, kind)}: ${compressHostlist(result)}`);
      }),
  });
}

export function entityVerbs(kind: Kind): Verb[] {
  return [
    addVerb(kind),
    setVerb(kind),
    unsetVerb(kind),
    listVerb(kind),
    deleteVerb(kind),
    editVerb(kind),
    exportVerb(kind),
    importVerb(kind),
  ];
}
