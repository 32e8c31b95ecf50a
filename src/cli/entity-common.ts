// What the node and profile verbs share: the section a kind lives in, its sorted names, patterns
// resolved to names, and asking before a change that touches many.
import { WulfError } from '../lib/errors.ts';
import { matchNodes } from '../lib/hostlist.ts';
import { naturalCompare, type NodesConf } from '../config/cascade.ts';
import type { Ctx } from './command.ts';

export type Kind = 'node' | 'profile';
export const section = (k: Kind) => (k === 'node' ? 'nodes' : 'profiles') as 'nodes' | 'profiles';
export const plural = (n: number, kind: Kind) => `${n} ${kind}${n === 1 ? '' : 's'}`;

export function names(conf: NodesConf, kind: Kind): string[] {
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

/** Ask on a terminal (--yes: do not); refused without one. */
export async function confirmOrFail(ctx: Ctx, yes: boolean, question: string): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) throw new WulfError(`${question.replace(/\?$/, '')}: refusing without --yes (no terminal to ask on)`);
  if (!(await ctx.confirm(question))) throw new WulfError('cancelled; nothing changed', { exitCode: 1 });
}
