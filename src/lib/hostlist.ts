// Hostlist patterns as HPC tools spell them: `n[01-04,07]`, `rack[1-2]-n[1-3]`, comma lists.
// Zero padding follows the range's first bound. Expansion is bounded so a typo cannot eat memory.
import { fail } from './errors.ts';

const MAX_EXPAND = 1_000_000;

/** Split on commas that are not inside brackets. */
function splitTop(pattern: string): string[] {
  const out: string[] = [];
  let depth = 0,
    cur = '';
  for (const ch of pattern) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter(Boolean);
}

function expandRanges(body: string, pattern: string): string[] {
  const out: string[] = [];
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) fail(`hostlist "${pattern}": bad range "${part}"`, 'use forms like n[01-10,15]');
    const a = m[1]!,
      b = m[2] ?? m[1]!;
    const lo = parseInt(a, 10),
      hi = parseInt(b, 10);
    if (hi < lo) fail(`hostlist "${pattern}": range ${a}-${b} runs backwards`);
    if (hi - lo > MAX_EXPAND) fail(`hostlist "${pattern}": range is too large`);
    const width = a.length > 1 && a.startsWith('0') ? a.length : a.length === b.length ? a.length : 0;
    for (let i = lo; i <= hi; i++) out.push(width ? String(i).padStart(width, '0') : String(i));
  }
  return out;
}

function expandOne(item: string, pattern: string): string[] {
  const open = item.indexOf('[');
  if (open < 0) {
    if (item.includes(']')) fail(`hostlist "${pattern}": unbalanced "]"`);
    return [item];
  }
  const close = item.indexOf(']', open);
  if (close < 0) fail(`hostlist "${pattern}": missing "]"`);
  const prefix = item.slice(0, open);
  const values = expandRanges(item.slice(open + 1, close), pattern);
  const rests = expandOne(item.slice(close + 1), pattern);
  if (values.length * rests.length > MAX_EXPAND) fail(`hostlist "${pattern}": expands to too many names`);
  const out: string[] = [];
  for (const v of values) for (const r of rests) out.push(prefix + v + r);
  return out;
}

/** Expand a hostlist pattern into names, in order, without duplicates. */
export function expandHostlist(pattern: string): string[] {
  const seen = new Set<string>();
  for (const item of splitTop(pattern)) for (const n of expandOne(item, pattern)) seen.add(n);
  return [...seen];
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    '^' +
      glob
        .replace(/[.+^${}()|\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
}

/** Names from `names` matched by any pattern (hostlists and shell globs); all names when none given. */
export function matchNodes(patterns: string[], names: string[]): string[] {
  if (patterns.length === 0) return [...names];
  const wanted = new Set<string>();
  const globs: RegExp[] = [];
  for (const p of patterns) {
    if (/[*?]/.test(p)) globs.push(globToRegExp(p));
    else for (const n of expandHostlist(p)) wanted.add(n);
  }
  return names.filter((n) => wanted.has(n) || globs.some((g) => g.test(n)));
}

/** Compress names back into a short hostlist (n01,n02,n03 → n[01-03]). */
export function compressHostlist(names: string[]): string {
  const groups = new Map<string, { width: number; nums: number[] }[]>();
  const plain: string[] = [];
  for (const n of names) {
    const m = /^(.*?)(\d+)$/.exec(n);
    if (!m) {
      plain.push(n);
      continue;
    }
    const key = m[1]!;
    const list = groups.get(key) ?? [];
    const width = m[2]!.length;
    let g = list.find((x) => x.width === width);
    if (!g) {
      g = { width, nums: [] };
      list.push(g);
    }
    g.nums.push(parseInt(m[2]!, 10));
    groups.set(key, list);
  }
  const out = [...plain];
  for (const [prefix, list] of groups)
    for (const g of list) {
      const nums = [...new Set(g.nums)].sort((a, b) => a - b);
      if (nums.length === 1) {
        out.push(prefix + String(nums[0]).padStart(g.width, '0'));
        continue;
      }
      const parts: string[] = [];
      for (let i = 0; i < nums.length; ) {
        let j = i;
        while (j + 1 < nums.length && nums[j + 1] === nums[j]! + 1) j++;
        const f = (x: number) => String(x).padStart(g.width, '0');
        parts.push(i === j ? f(nums[i]!) : `${f(nums[i]!)}-${f(nums[j]!)}`);
        i = j + 1;
      }
      out.push(`${prefix}[${parts.join(',')}]`);
    }
  return out.join(',');
}
