// The node and profile verbs that speak YAML: export (own fields, as in nodes.conf), import (a file
// of name: fields) and edit (in $EDITOR, revision-checked against a concurrent change).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WulfError } from '../lib/errors.ts';
import { compressHostlist } from '../lib/hostlist.ts';
import { withStore } from '../store/open.ts';
import { nodeFromYaml } from '../config/node-yaml.ts';
import { readYaml } from '../config/yaml-read.ts';
import { checkName } from '../config/validate.ts';
import { outputFlags } from './command.ts';
import { defineCommand } from './define.ts';
import { confirmOrFail, type Kind, names, plural, section, selectNames } from './entity-common.ts';
import { ownMap } from './node-views.ts';
import { toJsonText, toYamlText } from './table.ts';

export function exportVerb(kind: Kind) {
  const sec = section(kind);
  return defineCommand({
    name: 'export',
    summary: `print ${kind}s as YAML (their own fields, as in nodes.conf)`,
    positionals: [{ name: 'pattern', variadic: true }],
    flags: { json: outputFlags.json },
    run: (ctx, { flags, pos: { pattern } }) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        const conf = await s.read();
        const sel = pattern.length ? selectNames(conf, kind, pattern) : names(conf, kind);
        const m = ownMap(sel.map((n) => [n, conf[sec][n]!]));
        ctx.out(flags.json ? toJsonText(m) : toYamlText(m));
      }),
  });
}

export function importVerb(kind: Kind) {
  const sec = section(kind);
  return defineCommand({
    name: 'import',
    summary: `add or replace ${kind}s from a YAML file of name: fields (- for stdin)`,
    positionals: [{ name: 'file', required: true }],
    flags: { yes: { type: 'boolean', short: 'y', help: 'do not ask before replacing existing entries' } },
    run: (ctx, { flags, pos: { file } }) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
        let raw: unknown;
        raw = readYaml(text, file === '-' ? 'stdin' : file).value; // the same reader as nodes.conf: duplicate keys refused
        if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new WulfError(`${file}: expected a map of ${kind} names`);
        const incoming = Object.entries(raw as Record<string, unknown>).map(
          ([n, v]) => [n, nodeFromYaml(v, `${file}: ${kind} ${n}`)] as const,
        );
        const existing = (await s.read())[sec];
        const replacing = incoming.filter(([n]) => existing[n]).map(([n]) => n);
        const n = replacing.length;
        if (n) await confirmOrFail(ctx, flags.yes, `replace ${n} existing ${kind}${n === 1 ? '' : 's'} (${compressHostlist(replacing)})?`);
        await s.update((conf) => {
          for (const [n, d] of incoming) {
            checkName(kind, n);
            conf[sec][n] = d;
          }
        });
        ctx.out(`imported ${plural(incoming.length, kind)}`);
      }),
  });
}

export function editVerb(kind: Kind) {
  const sec = section(kind);
  return defineCommand({
    name: 'edit',
    summary: `edit ${kind}s as YAML in $EDITOR (validated; a concurrent change is detected)`,
    usage: 'PATTERN...',
    positionals: [{ name: 'pattern', variadic: true }],
    flags: { noheader: { type: 'boolean', help: 'no explanatory comment at the top of the file' } },
    run: (ctx, { flags, pos: { pattern } }) =>
      withStore(ctx.paths, ctx.env, async (s) => {
        const conf = await s.read();
        const sel = selectNames(conf, kind, pattern);
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
        ctx.out(`updated ${plural(edited.length, kind)}`);
      }),
  });
}
