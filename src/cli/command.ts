// Commands are data: a noun holds verbs; each verb names its flags once (define.ts), and parsing,
// --help and the completion scripts come from that. Verbs get a Ctx and return an exit code or
// throw a WulfError; dispatch.ts finds and runs them, and only main.ts touches process.argv / exit.
import { parseArgs } from 'node:util';
import { WulfError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Paths } from '../config/paths.ts';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  help: string;
  default?: string | boolean;
  hidden?: boolean;
  /** placeholder in help, e.g. IPADDR */
  arg?: string;
}
export type Flags = Record<string, FlagSpec>;
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface Ctx {
  paths: Paths;
  log: Logger;
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
  debug: boolean;
  logFormat: 'human' | 'json';
  /** Ask a yes/no question on the terminal; false when there is no terminal. */
  confirm: (question: string) => Promise<boolean>;
}

export interface Verb {
  name: string;
  aliases?: string[];
  summary: string;
  usage?: string; // positional part, e.g. 'PATTERN'
  flags?: Flags;
  /** allow `--` and anything after it as raw positionals */
  passthrough?: boolean;
  /** rewrite argv before parsing (e.g. bare boolean field flags) */
  preprocess?: (argv: string[]) => string[];
  /** `command` names the verb in a usage error ('image show'); made by defineCommand (define.ts) */
  run(ctx: Ctx, flags: FlagValues, positionals: string[], command?: string): Promise<number | void> | number | void;
}

/** A noun's verbs; its name, aliases and summary are in the registry (registry.ts), once. */
export interface Noun {
  verbs: Verb[];
  /** a noun that is itself a verb (e.g. `wulf serve`) */
  direct?: Verb;
}

/** A registry entry: the noun's name, aliases and summary (top-level and noun help), loaded lazily. */
export interface NounEntry {
  name: string;
  aliases?: string[];
  summary: string;
  load: () => Promise<Noun>;
}

/** The noun called `name` (or one of its aliases) in a command tree. */
export function nounIn(nouns: NounEntry[], name: string): NounEntry | undefined {
  return nouns.find((n) => n.name === name || n.aliases?.includes(name));
}

export function findVerb(noun: Noun, name: string): Verb | undefined {
  return noun.verbs.find((v) => v.name === name || v.aliases?.includes(name));
}

/** Parse argv for one verb; unknown flags are a one-line error that names the flag. */
export function parseVerbArgs(verb: Verb, argv: string[], command = verb.name): { flags: FlagValues; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, f] of Object.entries(verb.flags ?? {})) {
    options[name] = { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) };
  }
  options.help = { type: 'boolean', short: 'h' };
  try {
    const r = parseArgs({
      args: verb.preprocess ? verb.preprocess(argv) : argv,
      options,
      allowPositionals: true,
      strict: true,
      tokens: false,
    });
    const flags: FlagValues = { ...(r.values as FlagValues) };
    for (const [name, f] of Object.entries(verb.flags ?? {})) {
      if (flags[name] === undefined && f.default !== undefined) flags[name] = f.default;
    }
    return { flags, positionals: r.positionals };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!.replace(/^Unknown option '([^']*)'.*$/, "unknown flag '$1'");
    throw new WulfError(`${msg}`, { hint: `see 'wulf ${command} --help'`, code: 'EARG', exitCode: 2 });
  }
}

export function renderVerbHelp(prefix: string, verb: Verb): string {
  const command = [prefix, verb.name].filter(Boolean).join(' ');
  const lines = [`Usage: wulf ${command}${verb.flags ? ' [flags]' : ''}${verb.usage ? ' ' + verb.usage : ''}`, '', verb.summary];
  if (verb.aliases?.length) lines.push(`Aliases: ${verb.aliases.join(', ')}`);
  const rows = Object.entries(verb.flags ?? {})
    .filter(([, f]) => !f.hidden)
    .map(([name, f]) => {
      const left = `${f.short ? `-${f.short}, ` : '    '}--${name}${f.type === 'string' ? ' ' + (f.arg ?? 'VALUE') : ''}`;
      return [left, f.help + (f.default !== undefined && f.default !== false ? ` (default ${f.default})` : '')] as const;
    });
  if (rows.length) {
    const w = Math.min(36, Math.max(...rows.map((r) => r[0].length)) + 2);
    lines.push('', 'Flags:', ...rows.map(([l, r]) => `  ${l.padEnd(w)}${r}`));
  }
  return lines.join('\n');
}

export function renderNounHelp(entry: NounEntry, noun: Noun): string {
  const w = Math.max(...noun.verbs.map((v) => v.name.length)) + 3;
  return [
    `Usage: wulf ${entry.name} <command> [flags]`,
    '',
    entry.summary,
    '',
    'Commands:',
    ...noun.verbs.map((v) => `  ${v.name.padEnd(w)}${v.summary}`),
  ].join('\n');
}

/** Flags shared by list verbs. */
export const outputFlags = {
  json: { type: 'boolean', short: 'j', help: 'JSON output' },
  yaml: { type: 'boolean', short: 'y', help: 'YAML output' },
} as const satisfies Flags;
export const yesFlag = { yes: { type: 'boolean', short: 'y', help: 'do not ask for confirmation' } } as const satisfies Flags;
