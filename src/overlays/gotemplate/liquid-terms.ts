// The terms the Go-template converter builds Liquid from: a value (Val), a condition (Cond), an
// and/or argument with its temporaries (Part), the error of what has no Liquid equivalent, and
// Liquid paths and string literals. values.ts compiles them; functions.ts and convert.ts use them.
import type { Ty } from './fields.ts';

export interface ConvertProblem {
  line: number;
  message: string;
}

/** A Liquid value: an expression (a path or literal, maybe with filters) and its Go type. */
export interface Val {
  liq: string;
  ty: Ty;
  simple: boolean;
  lit?: string;
}
/** An argument of and/or: its value or condition, and the Liquid that must run before it (temporaries). */
export interface Part {
  pre: string;
  x: Val | Cond;
}
/**
 * A condition: comparison atoms joined by and/or (every part evaluated, as a Liquid condition does:
 * only when no part after the first can fail or needs temporaries; `args`: the function's
 * arguments, for a use as a value), or Go's short-circuit and/or (`lazy`: a later part is evaluated
 * only when the ones before it have not decided, in nested ifs written where it is used).
 */
export type Cond =
  | { k: 'atom'; l: string; op?: string; r?: string }
  | { k: 'and' | 'or'; xs: Cond[]; args?: (Val | Cond)[] }
  | { k: 'lazy'; op: 'and' | 'or'; parts: Part[]; line: number };

/** A construct with no Liquid equivalent: its line and why. */
export class Unconvertible extends Error {
  constructor(
    readonly line: number,
    msg: string,
  ) {
    super(msg);
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const NEG: Record<string, string> = { '==': '!=', '!=': '==', '<': '>=', '>=': '<', '>': '<=', '<=': '>' };
export const CMP: Record<string, string> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

/** A Liquid string literal for s, or undefined when none can hold it (Liquid reads backslash escapes in literals). */
export function quote(s: string): string | undefined {
  if (s.includes('\\')) return undefined;
  if (!s.includes('"')) return `"${s}"`;
  if (!s.includes("'")) return `'${s}'`;
  return undefined;
}

/** A Liquid path: base + key (a field-table key: '=' absolute, '' the base itself; odd names in brackets). */
export function join(base: string, key: string): string {
  if (key.startsWith('=')) return key.slice(1);
  if (!key) return base;
  const k = IDENT.test(key) ? key : `[${quote(key) ?? JSON.stringify(key)}]`;
  return !base ? k : k.startsWith('[') ? base + k : `${base}.${k}`;
}
