// The verbs nodes and profiles share (add, set, unset, list, delete, edit, export, import),
// written once over `kind`. Every read and change goes through the configured store (src/store/:
// nodes.conf or PostgreSQL; a change is revision-checked, validated whole and atomic on both).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WulfError } from '../lib/errors.ts';
import { compressHostlist, expandHostlist, matchNodes } from '../lib/hostlist.ts';
import { addIPv4 } from '../lib/ip.ts';
import { mergeData, mergeNode, naturalCompare, leavesOf, type MergedNode, type NodesConf } from '../config/cascade.ts';
import { withStore } from '../store/open.ts';
import type { ConfigStore } from '../store/store.ts';
import { nodeFromYaml } from '../config/node-yaml.ts';
import { readYaml } from '../config/yaml-read.ts';
import { checkName } from '../config/validate.ts';
import type { NodeData } from '../config/schema.ts';
import type { Ctx, FlagValues, Verb } from './command.ts';
import { outputFlags } from './command.ts';
import { applySetFlags, applyUnsetFlags, isUnsetWord, normalizeBoolArgs, setFlags, unsetFlags } from './field-flags.ts';
import { allView, dataMap, defaultView, ipmiView, longView, networkView, ownMap } from './node-views.ts';
import { table, toJsonText, toYamlText } from './table.ts';

type Kind = 'node' | 'profile';
const section = (k: Kind) => (k === 'node' ? 'nodes' : 'profiles') as 'nodes' | 'profiles';

function names(conf: NodesConf, kind: Kind): string[] {
  return Object.keys(conf[section(kind)]).sort(naturalCompare);
}

/** Resolve patterns to existing names; a pattern that matches nothing is an error. */
export function selectNames(conf: NodesConf, kind: Kind, patterns: string[], all = false): string[] {
  const have = names(conf, kind);
  if (all) return have;
  if (!patterns.length) throw new WulfError(`name the ${kind}s (a name or hostlist such as n[01-04])`, { hint: `or use --all` });
  const sel = matchNodes(patterns, have);
  if (!sel.length) throw new WulfError(`no ${kind} matches ${patterns.join(' ')}`, { hint: `see 'wulf ${kind} list'` });
  return sel;
}

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

async function confirmOrFail(ctx: Ctx, flags: FlagValues, question: string): Promise<void> {
  if (flags.yes) return;
  if (!process.stdin.isTTY) throw new WulfError(`${question.replace(/\?$/, '')}: refusing without --yes (no terminal to ask on)`);
  if (!(await ctx.confirm(question))) throw new WulfError('cancelled; nothing changed', { exitCode: 1 });
}

/** wwctl's -f/--force on set and unset: deprecated there, it never had an effect; accepted and ignored. */
const wwForce = { force: { type: 'boolean' as const, short: 'f', hidden: true, help: 'accepted for wwctl; no effect' } };

/** --all changes every node or profile: asked on a terminal, refused without one unless --yes. */
async function confirmAll(ctx: Ctx, s: ConfigStore, flags: FlagValues, kind: Kind, what: string): Promise<void> {
  if (!flags.all) return;
  if (flags.yes) return;
  const n = names(await s.read(), kind).length;
  await confirmOrFail(ctx, flags, `${what} every ${kind} (${n} ${kind}${n === 1 ? '' : 's'})?`);
}

export function entityVerbs(kind: Kind): Verb[] {
  const sec = section(kind);
  const add: Verb = {
    name: 'add',
    aliases: ['new', 'create'],
    summary:
      kind === 'node'
        ? 'add nodes (a hostlist such as n[01-64] adds many; --ipaddr/--ipmiaddr auto-increment)'
        : 'add profiles, each with the fields given (a node names them with --profile)',
    usage: 'NAME...',
    flags: setFlags(kind),
    preprocess: normalizeBoolArgs,
    run: (ctx, flags, pos) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        if (!pos.length) throw new WulfError(`name the ${kind}s to add`);
        // node names may be hostlists; a profile name is taken as written
        const toAdd = kind === 'node' ? pos.flatMap((p) => expandHostlist(p)) : pos;
        for (const n of toAdd) checkName(kind, n);
        const { result } = await s.update((conf) => {
          for (const [i, n] of toAdd.entries()) {
            if (conf[sec][n]) throw new WulfError(`${kind} ${n} already exists`, { hint: `use 'wulf ${kind} set'` });
            const data: NodeData = {};
            if (kind === 'node' && !flags.profile && conf.profiles.default) data.profiles = ['default'];
            const overrides: Record<string, string> = {};
            for (const k of ['ipaddr', 'ipmiaddr'] as const) {
              const base = flags[k] as string | undefined;
              if (base && i > 0 && !isUnsetWord(base)) {
                try {
                  overrides[k] = addIPv4(base, i);
                } catch (e) {
                  throw new WulfError(`${kind} ${n}: --${k}: ${(e as Error).message}`);
                }
              }
            }
            applySetFlags(data, flags, `${kind} ${n}`, overrides);
            conf[sec][n] = data;
          }
          return toAdd.length;
        });
        ctx.out(`added ${result} ${kind}${result === 1 ? '' : 's'}: ${compressHostlist(toAdd)}`);
      }),
  };
  const set: Verb = {
    name: 'set',
    aliases: ['modify'],
    summary: `change fields of ${kind}s (UNSET clears a field); prints a before/after diff`,
    usage: 'PATTERN...',
    preprocess: normalizeBoolArgs,
    flags: {
      ...setFlags(kind),
      all: { type: 'boolean', short: 'a', help: `every ${kind}` },
      yes: { type: 'boolean', short: 'y', help: 'do not ask before changing every one (--all)' },
      ...wwForce,
    },
    run: (ctx, flags, pos) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        await confirmAll(ctx, s, flags, kind, 'change');
        let diff: string[] = [];
        const res = await s.update((conf) => {
          const sel = selectNames(conf, kind, pos, !!flags.all);
          const before = new Map(sel.map((n) => [n, flatValues(conf[sec][n]!)]));
          for (const n of sel) applySetFlags(conf[sec][n]!, flags, `${kind} ${n}`);
          diff = diffLines(before, new Map(sel.map((n) => [n, flatValues(conf[sec][n]!)])));
          return sel;
        });
        if (!res.changed) ctx.out(`no change (${res.result.length} ${kind}${res.result.length === 1 ? '' : 's'} matched)`);
        else ctx.out(diff.join('\n'));
      }),
  };
  const unset: Verb = {
    name: 'unset',
    summary: `clear fields of ${kind}s (e.g. --image --kernelargs; --netname alone deletes that network)`,
    usage: 'PATTERN...',
    flags: {
      ...unsetFlags(kind),
      all: { type: 'boolean', short: 'a', help: `every ${kind}` },
      yes: { type: 'boolean', short: 'y', help: 'do not ask before clearing every one (--all)' },
      ...wwForce,
    },
    run: (ctx, flags, pos) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        await confirmAll(ctx, s, flags, kind, 'clear fields of');
        let diff: string[] = [];
        const res = await s.update((conf) => {
          const sel = selectNames(conf, kind, pos, !!flags.all);
          const before = new Map(sel.map((n) => [n, flatValues(conf[sec][n]!)]));
          let count = 0;
          for (const n of sel) count += applyUnsetFlags(conf[sec][n]!, flags, `${kind} ${n}`);
          diff = diffLines(before, new Map(sel.map((n) => [n, flatValues(conf[sec][n]!)])));
          return count;
        });
        ctx.out(res.changed ? diff.join('\n') : 'no change');
      }),
  };
  const list: Verb = {
    name: 'list',
    aliases: ['ls'],
    summary: `list ${kind}s`,
    usage: '[PATTERN...]',
    flags: {
      ...(kind === 'node'
        ? {
            net: { type: 'boolean' as const, short: 'n', help: 'network view' },
            ipmi: { type: 'boolean' as const, short: 'i', help: 'IPMI view' },
            long: { type: 'boolean' as const, short: 'l', help: 'kernel, image and overlays' },
          }
        : {}),
      all: { type: 'boolean', short: 'a', help: 'every set field with the profile it came from' },
      ...outputFlags,
    },
    run: (ctx, flags, pos) =>
      withStore(ctx.paths, ctx.env, async (s) => {
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
      }),
  };
  const del: Verb = {
    name: 'delete',
    aliases: ['rm', 'del', 'remove'],
    summary: `delete ${kind}s`,
    usage: 'PATTERN...',
    flags: { yes: { type: 'boolean', short: 'y', help: 'do not ask for confirmation' } },
    run: (ctx, flags, pos) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        const conf0 = await s.read();
        const sel0 = selectNames(conf0, kind, pos);
        if (kind === 'profile') {
          const users = Object.entries(conf0.nodes)
            .filter(([, d]) => d.profiles?.some((p) => sel0.includes(p.replace(/^~/, ''))))
            .map(([n]) => n);
          const profUsers = Object.entries(conf0.profiles)
            .filter(([n, d]) => !sel0.includes(n) && d.profiles?.some((p) => sel0.includes(p.replace(/^~/, ''))))
            .map(([n]) => n);
          if (users.length || profUsers.length)
            throw new WulfError(
              `profile ${compressHostlist(sel0)} is still used by ${[...users, ...profUsers].slice(0, 5).join(', ')}${users.length + profUsers.length > 5 ? ', ...' : ''}`,
              { hint: 'remove it from those first' },
            );
        }
        await confirmOrFail(ctx, flags, `delete ${sel0.length} ${kind}${sel0.length === 1 ? '' : 's'} (${compressHostlist(sel0)})?`);
        const { result } = await s.update((conf) => {
          const sel = selectNames(conf, kind, pos);
          for (const n of sel) delete conf[sec][n];
          return sel;
        });
        ctx.out(`deleted ${result.length} ${kind}${result.length === 1 ? '' : 's'}: ${compressHostlist(result)}`);
      }),
  };
  const exp: Verb = {
    name: 'export',
    summary: `print ${kind}s as YAML (their own fields, as in nodes.conf)`,
    usage: '[PATTERN...]',
    flags: { json: outputFlags.json! },
    run: (ctx, flags, pos) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        const conf = await s.read();
        const sel = pos.length ? selectNames(conf, kind, pos) : names(conf, kind);
        const m = ownMap(sel.map((n) => [n, conf[sec][n]!]));
        ctx.out(flags.json ? toJsonText(m) : toYamlText(m));
      }),
  };
  const imp: Verb = {
    name: 'import',
    summary: `add or replace ${kind}s from a YAML file of name: fields (- for stdin)`,
    usage: 'FILE',
    flags: { yes: { type: 'boolean', short: 'y', help: 'do not ask before replacing existing entries' } },
    run: (ctx, flags, pos) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        if (pos.length !== 1) throw new WulfError('name one file to import (or - for stdin)');
        const text = pos[0] === '-' ? readFileSync(0, 'utf8') : readFileSync(pos[0]!, 'utf8');
        let raw: unknown;
        raw = readYaml(text, pos[0] === '-' ? 'stdin' : pos[0]!).value; // the same reader as nodes.conf: duplicate keys refused
        if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new WulfError(`${pos[0]}: expected a map of ${kind} names`);
        const incoming = Object.entries(raw as Record<string, unknown>).map(
          ([n, v]) => [n, nodeFromYaml(v, `${pos[0]}: ${kind} ${n}`)] as const,
        );
        const existing = (await s.read())[sec];
        const replacing = incoming.filter(([n]) => existing[n]).map(([n]) => n);
        if (replacing.length)
          await confirmOrFail(
            ctx,
            flags,
            `replace ${replacing.length} existing ${kind}${replacing.length === 1 ? '' : 's'} (${compressHostlist(replacing)})?`,
          );
        await s.update((conf) => {
          for (const [n, d] of incoming) {
            checkName(kind, n);
            conf[sec][n] = d;
          }
        });
        ctx.out(`imported ${incoming.length} ${kind}${incoming.length === 1 ? '' : 's'}`);
      }),
  };
  const edit: Verb = {
    name: 'edit',
    summary: `edit ${kind}s as YAML in $EDITOR (validated; a concurrent change is detected)`,
    usage: 'PATTERN...',
    flags: { noheader: { type: 'boolean', help: 'no explanatory comment at the top of the file' } },
    run: (ctx, flags, pos) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        const conf = await s.read();
        const sel = selectNames(conf, kind, pos);
        const dir = mkdtempSync(join(tmpdir(), 'wulf-edit-'));
        const file = join(dir, `${kind}s.yaml`);
        const header = flags.noheader ? '' : `# Edit the ${kind}s below; save and quit to apply. Delete an entry to leave it unchanged.\n`;
        writeFileSync(file, header + toYamlText(ownMap(sel.map((n) => [n, conf[sec][n]!]))));
        const editor = ctx.env.VISUAL || ctx.env.EDITOR || 'vi';
        const r = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit' });
        if (r.status !== 0) throw new WulfError(`editor "${editor}" failed; nothing changed (your text is in ${file})`);
        const text = readFileSync(file, 'utf8');
        let raw: unknown;
        try {
          raw = readYaml(text, file).value ?? {};
        } catch (e) {
          throw new WulfError(`${(e as Error).message}; nothing changed (your text is in ${file})`);
        }
        const edited = Object.entries(raw as Record<string, unknown>).map(([n, v]) => [n, nodeFromYaml(v, `${kind} ${n}`)] as const);
        try {
          await s.update(
            (c) => {
              for (const [n, d] of edited) {
                checkName(kind, n);
                c[sec][n] = d;
              }
            },
            { expectedRevision: conf.revision },
          );
        } catch (e) {
          if (e instanceof WulfError) throw new WulfError(`${e.message}; your text is in ${file}`, { hint: e.hint });
          throw e;
        }
        rmSync(dir, { recursive: true, force: true });
        ctx.out(`updated ${edited.length} ${kind}${edited.length === 1 ? '' : 's'}`);
      }),
  };
  return [add, set, unset, list, del, edit, exp, imp];
}
