// `wulf upgrade config|nodes`: older Warewulf 4 files → the current spelling, as `wwctl upgrade`
// does (same flags); the file is replaced atomically and the previous one kept as FILE-old.
import { existsSync, readFileSync } from 'node:fs';
import { WulfError } from '../lib/errors.ts';
import { acquireLock, writeFileAtomic } from '../lib/atomic.ts';
import { parseNodesConf } from '../config/store.ts';
import { validateConf } from '../config/validate.ts';
import { upgradeConfText, problemLine } from '../migrate/wwconf.ts';
import { upgradeNodesText } from '../migrate/nodes-text.ts';
import { parseYamlDoc } from '../migrate/yaml-safe.ts';
import type { Ctx, Noun } from './command.ts';
import { defineCommand } from './define.ts';

function readInput(path: string): string {
  if (!existsSync(path)) throw new WulfError(`${path} does not exist`, { hint: 'name the file with --input-path' });
  return readFileSync(path, 'utf8');
}

async function writeOut(ctx: Ctx, out: string, text: string, changed: boolean, lockPath?: string): Promise<void> {
  if (out === '-') {
    process.stdout.write(text);
    return;
  }
  if (!changed && existsSync(out) && readFileSync(out, 'utf8') === text) {
    ctx.out(`${out} is already in the current format: nothing written`);
    return;
  }
  const lock = lockPath ? await acquireLock(lockPath) : undefined;
  try {
    writeFileAtomic(out, text, { mode: 0o640, ...(existsSync(out) ? { backup: `${out}-old` } : {}) });
  } finally {
    lock?.release();
  }
  ctx.out(`wrote ${out}${existsSync(`${out}-old`) ? ` (the previous file is ${out}-old)` : ''}`);
}

const io = (what: string) => ({
  'input-path': { type: 'string' as const, short: 'i', help: `the ${what} to upgrade (default: wulf's own)`, arg: 'FILE' },
  'output-path': { type: 'string' as const, short: 'o', help: `where to write it (default: the input; - prints it)`, arg: 'FILE' },
});

const config = defineCommand({
  name: 'config',
  summary: 'upgrade an older warewulf.conf/wulf.conf to the current keys (the old file is kept as FILE-old)',
  flags: io('warewulf.conf'),
  async run(ctx, { flags }) {
    const input = flags['input-path'] ?? ctx.paths.wulfConf;
    const out = flags['output-path'] ?? input;
    const r = upgradeConfText(readInput(input), input);
    for (const p of r.problems) ctx.err(`wulf: note: ${problemLine(p)}`);
    await writeOut(ctx, out, r.text, r.changed);
    return 0;
  },
});

const nodes = defineCommand({
  name: 'nodes',
  summary: 'upgrade an older nodes.conf (keys:, kernel args, flat ipmi keys...) to the current format (the old file is kept as FILE-old)',
  flags: {
    'add-defaults': {
      type: 'boolean',
      help: "give the default profile Warewulf's stock values where it has none, and nodes without profiles the default profile",
    },
    'replace-overlays': { type: 'boolean', help: "replace the 'wwinit' and 'generic' overlays with the overlays they were split into" },
    ...io('nodes.conf'),
    'with-warewulfconf': {
      type: 'string',
      help: 'a warewulf.conf whose NFS mounts become fstab resources of the default profile (default: wulf.conf)',
      arg: 'FILE',
    },
  },
  async run(ctx, { flags }) {
    const input = flags['input-path'] ?? ctx.paths.nodesConf;
    const out = flags['output-path'] ?? input;
    const confPath = flags['with-warewulfconf'] ?? ctx.paths.wulfConf;
    const wwconf = existsSync(confPath) ? parseYamlDoc(readFileSync(confPath, 'utf8'), confPath).value : undefined;
    if (flags['with-warewulfconf'] !== undefined && wwconf === undefined) throw new WulfError(`${confPath} does not exist`);
    const r = upgradeNodesText(
      readInput(input),
      input,
      { addDefaults: flags['add-defaults'], replaceOverlays: flags['replace-overlays'] },
      wwconf,
    );
    validateConf(parseNodesConf(r.text, out === '-' ? input : out)); // what is written must be a valid configuration
    for (const p of r.problems) ctx.err(`wulf: note: ${problemLine(p)}`);
    await writeOut(ctx, out, r.text, r.changed, out === ctx.paths.nodesConf ? `${out}.lock` : undefined);
    return 0;
  },
});

export const noun: Noun = {
  verbs: [config, nodes],
};
