// `wulf overlay`: list, show/render, document, edit and build overlays. Writing to a shipped
// (distribution) overlay first clones it into the site overlay dir, which then shadows it.
import { chmodSync, cpSync, existsSync, lchownSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Ctx, Noun } from './command.ts';
import { defineCommand } from './define.ts';
import { fail } from '../lib/errors.ts';
import { readdirSync, rmdirSync } from 'node:fs';
import { compiled } from '../lib/assets.ts';
import { matchNodes } from '../lib/hostlist.ts';
import type { NodesConf } from '../config/cascade.ts';
import { readConfigured } from '../store/open.ts';
import { readTemplateConf } from '../store/settings-pg.ts';
import { createOverlayService } from '../overlays/service.ts';
import { KINDS } from '../overlays/build.ts';
import { checkOverlayName, listOverlayNames, locateOverlay, readOverlay } from '../overlays/sources.ts';
import { buildHostOverlay, hostTarget } from '../overlays/host.ts';
import { existingOverlay, fileIn, notLink, siteRoot as siteCopy } from '../overlays/site.ts';
import { diffLines, diffSinceServed, serverConf, showFile, shownLines } from '../overlays/preview.ts';
import { templateVariables } from '../overlays/vars.ts';
import { table } from './table.ts';
import { convertGoTemplate, goSyntaxError } from '../overlays/gotemplate/index.ts';
import { writeFileAtomic } from '../lib/atomic.ts';

const service = async (ctx: Ctx, conf: NodesConf) => {
  const wulf = await serverConf(ctx.paths, ctx.env);
  return createOverlayService({ paths: ctx.paths, getConf: () => conf, getWulfConf: () => wulf, log: ctx.log });
};

/** The site copy of an overlay to write into; says so when a shipped overlay was cloned for it. */
function siteRoot(ctx: Ctx, name: string): string {
  const { root, cloned } = siteCopy(ctx.paths.siteOverlaysDir, name);
  if (cloned) ctx.err(`cloned distribution overlay ${name} to ${dirname(root)}`);
  return root;
}

/** Where an overlay's files are: its site directory, the source tree's, or the binary for shipped ones. */
function overlayPath(ctx: Ctx, name: string): string {
  const loc = locateOverlay(ctx.paths.siteOverlaysDir, name);
  if (!loc) return '--';
  return !loc.site && compiled ? '(in the wulf binary)' : loc.dir;
}

const list = defineCommand({
  name: 'list',
  aliases: ['ls'],
  summary: 'list overlays (-a: their files, -l: with mode and owner)',
  positionals: [{ name: 'overlay', variadic: true }],
  flags: {
    all: { type: 'boolean', short: 'a', help: 'list files' },
    long: { type: 'boolean', short: 'l', help: 'list files with mode, uid, gid' },
    path: { type: 'boolean', short: 'p', help: "a PATH column: the overlay's directory (shipped ones: inside the wulf binary)" },
  },
  run(ctx, { flags, pos: { overlay: pos } }) {
    const all = listOverlayNames(ctx.paths.siteOverlaysDir);
    const missing = pos.filter((p) => !all.some((o) => o.name === p));
    if (missing.length) fail(`no overlay named ${missing.join(', ')}`, "see 'wulf overlay list'");
    const names = all.filter((o) => !pos.length || pos.includes(o.name));
    const where = (o: (typeof names)[number]) =>
      flags.path
        ? overlayPath(ctx, o.name)
        : o.alias
          ? `alias of ${o.alias} (Warewulf's name)`
          : o.site
            ? o.dist
              ? 'site (shadows shipped)'
              : 'site'
            : 'shipped';
    if (!flags.all && !flags.long) {
      const rows = names.map((o) => [
        o.alias ? `${o.name} → ${o.alias}` : o.name,
        String(readOverlay(ctx.paths.siteOverlaysDir, o.name).files.length),
        where(o),
      ]);
      const w = Math.max(12, ...rows.map((r) => r[0]!.length)) + 2;
      ctx.out(
        [
          `${'OVERLAY NAME'.padEnd(w)}FILES/DIRS  ${flags.path ? 'PATH' : 'SOURCE'}`,
          ...rows.map((r) => `${r[0]!.padEnd(w)}${r[1]!.padEnd(12)}${r[2]}`),
        ].join('\n'),
      );
      return 0;
    }
    const rows: string[][] = [];
    for (const o of names) {
      for (const f of readOverlay(ctx.paths.siteOverlaysDir, o.name).files) {
        const path = '/' + f.rel + (f.type === 'dir' ? '/' : '') + (f.target ? ` -> ${f.target}` : '');
        const loc = flags.path ? [where(o)] : [];
        rows.push(
          flags.long ? [f.mode.toString(8).padStart(4, '0'), String(f.uid), String(f.gid), o.name, path, ...loc] : [o.name, path, ...loc],
        );
      }
    }
    ctx.out(
      table(
        [...(flags.long ? ['PERM MODE', 'UID', 'GID', 'OVERLAY', 'FILE PATH'] : ['OVERLAY', 'FILE PATH']), ...(flags.path ? ['PATH'] : [])],
        rows,
      ),
    );
    return 0;
  },
});

const show = defineCommand({
  name: 'show',
  aliases: ['cat'],
  summary: 'print an overlay file, or render it for a node',
  positionals: [
    { name: 'overlay', required: true },
    { name: 'file', required: true },
  ],
  flags: {
    render: { type: 'string', short: 'r', arg: 'NODE', help: 'render the template for this node' },
    quiet: { type: 'boolean', short: 'q', help: 'only the rendered text: no "# ----" line naming each file, link or abort' },
  },
  async run(ctx, { flags, pos: { overlay, file } }) {
    const shown = await showFile(ctx.paths, ctx.env, overlay, file, flags.render || undefined);
    for (const t of shownLines(shown, flags.quiet)) ctx.out(t);
    return 0;
  },
});

const info = defineCommand({
  name: 'info',
  aliases: ['vars', 'variables'],
  summary: 'list the variables a template uses, with help',
  positionals: [
    { name: 'overlay', required: true },
    { name: 'file', required: true },
  ],
  run(ctx, { pos: { overlay, file } }) {
    ctx.out(
      templateVariables(ctx.paths.siteOverlaysDir, overlay, file)
        .map((v) => `${v.name.padEnd(28)} ${v.help}`)
        .join('\n'),
    );
    return 0;
  },
});

const create = defineCommand({
  name: 'create',
  aliases: ['new', 'add', 'mk'],
  summary: 'create an empty site overlay',
  positionals: [{ name: 'name', required: true }],
  run(ctx, { pos: { name } }) {
    checkOverlayName(name);
    if (locateOverlay(ctx.paths.siteOverlaysDir, name)) fail(`overlay "${name}" already exists`);
    mkdirSync(join(ctx.paths.siteOverlaysDir, name, 'rootfs'), { recursive: true, mode: 0o755 });
    return 0;
  },
});

const del = defineCommand({
  name: 'delete',
  aliases: ['rm', 'remove', 'del'],
  summary: 'delete a site overlay, or files in it',
  positionals: [
    { name: 'name', required: true },
    { name: 'file', variadic: true },
  ],
  flags: {
    force: { type: 'boolean', short: 'f', help: 'delete a non-empty overlay or directory' },
    parents: { type: 'boolean', short: 'p', help: 'also remove the directories left empty above each deleted file' },
  },
  run(ctx, { flags, pos: { name, file: files } }) {
    const loc = existingOverlay(ctx.paths.siteOverlaysDir, name);
    if (!files.length) {
      if (!loc.site) fail(`overlay "${name}" is shipped with wulf and cannot be deleted`);
      if (readOverlay(ctx.paths.siteOverlaysDir, name).files.length && !flags.force) fail(`overlay "${name}" is not empty`, 'use --force');
      rmSync(loc.dir, { recursive: true, force: true });
      return 0;
    }
    const root = siteRoot(ctx, name);
    for (const f of files) {
      const p = fileIn(root, f);
      if (!existsSync(p) && !lstatSync(p, { throwIfNoEntry: false })) fail(`overlay ${name} has no file ${f}`);
      rmSync(p, { recursive: flags.force });
      if (flags.parents) for (let d = dirname(p); d.length > root.length && readdirSync(d).length === 0; d = dirname(d)) rmdirSync(d);
    }
    return 0;
  },
});

const mkdirVerb = defineCommand({
  name: 'mkdir',
  summary: 'make a directory in an overlay',
  positionals: [
    { name: 'overlay', required: true },
    { name: 'dir', required: true },
  ],
  flags: { mode: { type: 'string', short: 'm', arg: 'MODE', help: 'permission bits (octal)', default: '755' } },
  run(ctx, { flags, pos: { overlay, dir } }) {
    const p = notLink(fileIn(siteRoot(ctx, overlay), dir), dir, 'mkdir');
    mkdirSync(p, { recursive: true });
    chmodSync(p, parseInt(flags.mode, 8));
    return 0;
  },
});

const chmodVerb = defineCommand({
  name: 'chmod',
  summary: 'set the mode of an overlay file',
  positionals: [
    { name: 'overlay', required: true },
    { name: 'file', required: true },
    { name: 'mode', required: true },
  ],
  run(ctx, { pos: { overlay, file, mode } }) {
    if (!/^[0-7]{3,4}$/.test(mode)) fail('usage: wulf overlay chmod OVERLAY FILE MODE (octal)');
    chmodSync(notLink(fileIn(siteRoot(ctx, overlay), file), file, 'chmod'), parseInt(mode, 8));
    return 0;
  },
});

const chownVerb = defineCommand({
  name: 'chown',
  summary: 'set the owner of an overlay file',
  usage: 'OVERLAY FILE UID[:GID]',
  positionals: [
    { name: 'overlay', required: true },
    { name: 'file', required: true },
    { name: 'owner', required: true },
  ],
  run(ctx, { pos: { overlay, file, owner } }) {
    const m = /^(\d+)(?::(\d+))?$/.exec(owner);
    if (!m) fail('usage: wulf overlay chown OVERLAY FILE UID[:GID] (numeric)');
    lchownSync(fileIn(siteRoot(ctx, overlay), file), Number(m[1]), Number(m[2] ?? 0)); // a link is re-owned itself, never its target
    return 0;
  },
});

const importVerb = defineCommand({
  name: 'import',
  aliases: ['cp'],
  summary: 'copy a host file into an overlay',
  positionals: [{ name: 'overlay', required: true }, { name: 'src', required: true }, { name: 'dest' }],
  flags: {
    overwrite: { type: 'boolean', short: 'o', help: 'replace an existing file' },
    parents: { type: 'boolean', short: 'p', help: 'create missing directories' },
  },
  run(ctx, { flags, pos: { overlay: name, src, dest } }) {
    const p = fileIn(siteRoot(ctx, name), dest ?? src);
    const had = lstatSync(p, { throwIfNoEntry: false });
    if (had && !flags.overwrite) fail(`${dest ?? src} exists in overlay ${name}`, 'use --overwrite');
    if (had?.isSymbolicLink()) rmSync(p); // replace the link, never write through it
    if (!existsSync(dirname(p))) {
      if (!flags.parents) fail(`the directory of ${dest ?? src} does not exist in overlay ${name}`, 'use --parents');
      mkdirSync(dirname(p), { recursive: true });
    }
    // a Warewulf template copied in as it is would fail every build: refused here, with the way out
    if (p.endsWith('.ww') && statSync(src).isFile()) {
      const go = goSyntaxError(src, readFileSync(src, 'utf8'));
      if (go) fail(go);
    }
    cpSync(src, p, { preserveTimestamps: true });
    return 0;
  },
});

const edit = defineCommand({
  name: 'edit',
  aliases: ['modify'],
  summary: 'edit an overlay file with $EDITOR',
  positionals: [
    { name: 'overlay', required: true },
    { name: 'file', required: true },
  ],
  flags: {
    parents: { type: 'boolean', short: 'p', help: 'create missing directories' },
    mode: { type: 'string', short: 'm', arg: 'MODE', help: 'mode of a new file', default: '644' },
  },
  async run(ctx, { flags, pos: { overlay, file } }) {
    const p = notLink(fileIn(siteRoot(ctx, overlay), file), file, 'edit');
    if (!existsSync(dirname(p))) {
      if (!flags.parents) fail(`the directory of ${file} does not exist`, 'use --parents');
      mkdirSync(dirname(p), { recursive: true });
    }
    if (!existsSync(p)) {
      writeFileSync(p, '');
      chmodSync(p, parseInt(flags.mode, 8));
    }
    const editor = ctx.env.EDITOR || ctx.env.VISUAL || 'vi';
    const r = Bun.spawnSync(['sh', '-c', `${editor} "$1"`, 'sh', p], { stdio: ['inherit', 'inherit', 'inherit'] });
    return r.exitCode ?? 1;
  },
});

const convert = defineCommand({
  name: 'convert',
  summary: "convert a Warewulf (Go text/template) template to wulf's Liquid",
  positionals: [{ name: 'file', required: true }],
  flags: {
    output: { type: 'string', short: 'o', arg: 'OUT', help: 'write the Liquid to OUT instead of stdout' },
    write: { type: 'boolean', short: 'w', help: 'convert FILE in place; the Go original is kept as FILE.go-orig' },
    force: { type: 'boolean', short: 'f', help: 'with -o: replace an existing OUT' },
    kind: {
      type: 'string',
      arg: 'KIND',
      help: "the template's data: overlay, ipxe or bmc (default: ipxe for *.ipxe, bmc for *.tmpl, else overlay)",
    },
  },
  run(ctx, { flags, pos: { file } }) {
    if (flags.output && flags.write) fail('-o and --write exclude each other');
    let src: string;
    try {
      src = readFileSync(file, 'utf8');
    } catch (e) {
      fail(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    const kind = flags.kind ?? (file.endsWith('.ipxe') ? 'ipxe' : file.endsWith('.tmpl') ? 'bmc' : 'overlay');
    if (kind !== 'overlay' && kind !== 'ipxe' && kind !== 'bmc') fail(`--kind "${kind}" is not one of overlay, ipxe, bmc`);
    const r = convertGoTemplate(src, { kind });
    if (r.problems.length) {
      // nothing is written or printed: a half-converted template would render something else than the original
      for (const p of r.problems) ctx.err(`${file}:${p.line}: ${p.message}`);
      ctx.err(`${file}: ${r.problems.length} construct${r.problems.length === 1 ? '' : 's'} not converted; nothing written`);
      return 1;
    }
    const mode = statSync(file).mode & 0o7777;
    if (flags.write) {
      const orig = `${file}.go-orig`;
      if (existsSync(orig)) fail(`${orig} exists (an earlier conversion's original): move it away first`);
      writeFileAtomic(orig, src, { mode });
      writeFileAtomic(file, r.liquid, { mode });
      const shipped = /\.ww$/.test(file) ? ' (move it out of the overlay, or it is shipped to the nodes)' : '';
      ctx.err(`${file}: converted; the Go original is ${orig}${shipped}`);
      return 0;
    }
    if (flags.output) {
      const out = flags.output;
      if (existsSync(out) && !flags.force) fail(`${out} exists`, 'use --force to replace it');
      writeFileAtomic(out, r.liquid, { mode });
      return 0;
    }
    process.stdout.write(r.liquid);
    return 0;
  },
});

const build = defineCommand({
  name: 'build',
  summary: "build the nodes' system and runtime archives, and write the host overlay into the controller's root",
  positionals: [{ name: 'nodes', variadic: true }],
  flags: {
    workers: { type: 'string', arg: 'N', help: 'parallel workers (default: CPU count)' },
    host: {
      type: 'boolean',
      short: 'H',
      help: "only write the host overlay (/etc/hosts, /etc/exports) into the controller's root (with no NODES both are done)",
    },
  },
  async run(ctx, { flags, pos: { nodes: pos } }) {
    const conf = await readConfigured(ctx.paths, ctx.env);
    let code = 0;
    if (!flags.host) {
      const names = Object.keys(conf.nodes);
      const ids = pos.length ? matchNodes(pos, names) : names;
      if (pos.length && !ids.length) fail(`no node matches ${pos.join(' ')}`);
      const r = await (await service(ctx, conf)).buildMany(ids, KINDS, flags.workers ? Number(flags.workers) : undefined);
      for (const f of r.failed) ctx.err(`${f.node} ${f.kind}: ${f.error}`);
      const failed = r.failed.length ? `, ${r.failed.length} failed` : '';
      ctx.out(`built ${r.built} archives for ${ids.length} nodes in ${(r.ms / 1000).toFixed(1)} s${failed}`);
      if (r.failed.length) code = 1;
    } else if (pos.length) fail('--host takes no NODES', 'wulf overlay build --host');
    const wulf = flags.host || !pos.length ? await readTemplateConf(ctx.paths, ctx.env) : undefined;
    if (wulf && !wulf.warewulf.hostOverlay && !flags.host)
      ctx.out('host overlay: not written (warewulf.host overlay: false in wulf.conf; --host writes it anyway)');
    else if (wulf) {
      // every template is rendered before any file is written: an error leaves the controller's files as they were
      const res = buildHostOverlay(ctx.paths, conf, wulf);
      const files = res.filter((x) => x.type !== 'dir');
      for (const x of files)
        if (x.action !== 'unchanged') ctx.out(`${x.action} ${x.path}${x.backup ? ` (previous kept as ${x.backup})` : ''}`);
      ctx.out(
        `host overlay: ${files.filter((x) => x.action !== 'unchanged').length} of ${files.length} files written to ${hostTarget(ctx.paths)}`,
      );
    }
    return code;
  },
});

const diff = defineCommand({
  name: 'diff',
  summary: 'what would change for a node against what it was last served',
  positionals: [{ name: 'node', required: true }],
  async run(ctx, { pos: { node } }) {
    for (const line of diffLines(node, await diffSinceServed(ctx.paths, ctx.env, ctx.log, node))) ctx.out(line);
    return 0;
  },
});

export const noun: Noun = {
  verbs: [list, show, info, edit, create, del, importVerb, mkdirVerb, chmodVerb, chownVerb, build, diff, convert],
};
