// defineCommand: a verb names its flags and positionals once; `run` gets them typed from that
// definition (citty's ParsedArgs<T> is the model). A boolean flag is a boolean, a string flag a
// string (or undefined when it has no default), a `multiple` one a string[]; a required positional
// a string, an optional one string | undefined, a variadic one string[]. A missing or extra
// positional is the same one-line usage error for every verb. Flags generated from the schema
// (field-flags.ts) are dynamic: they are parsed like the others and reach `run` as `fields`.
import { WulfError } from '../lib/errors.ts';
import type { Ctx, FlagSpec, Flags, FlagValues, Verb } from './command.ts';

export interface PositionalSpec {
  /** the key in `pos`; in capitals in the usage line */
  name: string;
  required?: boolean;
  /** takes every remaining word (the last positional only) */
  variadic?: boolean;
  help?: string;
}

type FlagValue<F extends FlagSpec> = F['type'] extends 'boolean'
  ? boolean
  : F extends { multiple: true }
    ? string[]
    : F extends { default: string }
      ? string
      : string | undefined;

/** The parsed values of a flag table, typed from it. */
export type FlagsOf<F extends Flags> = { -readonly [K in keyof F]: FlagValue<F[K]> };

type PositionalValue<P extends PositionalSpec> = P extends { variadic: true }
  ? string[]
  : P extends { required: true }
    ? string
    : string | undefined;

/** The positionals of a verb by name, typed from their specs. */
export type PositionalsOf<P extends readonly PositionalSpec[]> = { [E in P[number] as E['name']]: PositionalValue<E> };

export interface Args<F extends Flags, P extends readonly PositionalSpec[]> {
  flags: FlagsOf<F>;
  pos: PositionalsOf<P>;
  /** every parsed flag by name, typed loosely: the escape hatch for the flags generated from the schema */
  fields: FlagValues;
}

export interface CommandDef<F extends Flags, P extends readonly PositionalSpec[]> {
  name: string;
  aliases?: readonly string[];
  summary: string;
  /** the positional part of the usage line when it is more than the positionals say (e.g. 'IMAGE...|-a') */
  usage?: string;
  flags?: F;
  /** flags made at run time (the schema's field flags): parsed, shown in help before `flags`, read from `fields` */
  fieldFlags?: Flags;
  positionals?: P;
  /** the usage error's hint and exit code (default: none, 1) */
  usageHint?: string;
  usageExit?: number;
  /** allow `--` and anything after it as raw positionals */
  passthrough?: boolean;
  /** rewrite argv before parsing (e.g. bare boolean field flags) */
  preprocess?: (argv: string[]) => string[];
  run(ctx: Ctx, args: Args<F, P>): Promise<number | void> | number | void;
}

/** The usage line's positional part, names in capitals: NAME, [NAME], NAME... or [NAME...]. */
export function positionalUsage(list: readonly PositionalSpec[]): string {
  return list
    .map((p) => {
      const word = p.variadic ? `${p.name.toUpperCase()}...` : p.name.toUpperCase();
      return p.required ? word : `[${word}]`;
    })
    .join(' ');
}

/** Map words onto the positionals; a missing required one or a word too many is a usage error. */
function positionalsFrom(
  list: readonly PositionalSpec[],
  words: string[],
  usage: () => WulfError,
): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  let i = 0;
  for (const p of list) {
    if (p.variadic) {
      out[p.name] = words.slice(i);
      if (p.required && i >= words.length) throw usage();
      i = words.length;
      continue;
    }
    if (p.required && i >= words.length) throw usage();
    out[p.name] = words[i++];
  }
  if (i < words.length) throw usage();
  return out;
}

/** Typed flag values: booleans are true or false, defaults filled in. */
function flagsFrom(specs: Flags, raw: FlagValues): Record<string, string | boolean | string[] | undefined> {
  const out: Record<string, string | boolean | string[] | undefined> = {};
  for (const [name, f] of Object.entries(specs)) {
    const v = raw[name] ?? f.default;
    out[name] = f.type === 'boolean' && !f.multiple ? !!v : v;
  }
  return out;
}

export function defineCommand<const F extends Flags = Record<never, FlagSpec>, const P extends readonly PositionalSpec[] = []>(
  def: CommandDef<F, P>,
): Verb {
  const positionals = def.positionals ?? ([] as unknown as P);
  const usage = def.usage ?? (positionals.length ? positionalUsage(positionals) : undefined);
  const flags = def.fieldFlags || def.flags ? { ...def.fieldFlags, ...def.flags } : undefined;
  return {
    name: def.name,
    ...(def.aliases ? { aliases: [...def.aliases] } : {}),
    summary: def.summary,
    ...(usage ? { usage } : {}),
    ...(flags ? { flags } : {}),
    ...(def.passthrough ? { passthrough: true } : {}),
    ...(def.preprocess ? { preprocess: def.preprocess } : {}),
    run(ctx, raw, words, command = def.name) {
      const usageError = () =>
        new WulfError(`usage: wulf ${command}${usage ? ` ${usage}` : ''}`, {
          ...(def.usageHint ? { hint: def.usageHint } : {}),
          exitCode: def.usageExit ?? 1,
        });
      const pos = positionalsFrom(positionals, words, usageError) as PositionalsOf<P>;
      return def.run(ctx, { flags: flagsFrom(def.flags ?? {}, raw) as FlagsOf<F>, pos, fields: raw });
    },
  };
}
