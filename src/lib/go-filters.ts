// Liquid filters that converted Go templates use (Warewulf's and Sprig's functions, same results).
// Pure functions; overlay templates (src/overlays/liquid-engine.ts), iPXE scripts (src/http/ipxe.ts) and BMC
// command templates (src/power/ipmitool-template.ts) register them.

/** A map's entries sorted by key as Go's range visits them; a list's items with their index. */
export function entries(v: unknown): { key: unknown; value: unknown }[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map((value, key) => ({ key, value }));
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.keys(o)
      .sort()
      .map((key) => ({ key, value: o[key] }));
  }
  return [];
}

/** Warewulf's UniqueField: the first line for each value of field `idx`; lines without that field (blank ones too) kept; newlines as they were. */
export function dedupeField(text: string, sep: string, idx: number): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(sep);
    if (f.length > idx && f[idx] !== '') {
      if (seen.has(f[idx]!)) continue;
      seen.add(f[idx]!);
    }
    out.push(line);
  }
  return out.join('\n');
}

/** Warewulf's IncludeBlock body: each line (newline-terminated) up to the first one containing `mark`. */
export function linesBeforeMatch(text: string, mark: string): string {
  if (!text) return '';
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let out = '';
  for (const l of lines) {
    if (l.includes(mark)) break;
    out += l + '\n';
  }
  return out;
}

const regexCache = new Map<string, RegExp>();
function regex(re: string, flags = ''): RegExp {
  const k = flags + '\u0000' + re;
  let r = regexCache.get(k);
  if (!r) {
    try {
      r = new RegExp(re, flags);
    } catch (e) {
      throw new Error(`bad regular expression ${JSON.stringify(re)}: ${(e as Error).message}`);
    }
    if (regexCache.size > 500) regexCache.clear();
    regexCache.set(k, r);
  }
  return r;
}

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

export const GO_FILTERS: Record<string, (...a: any[]) => unknown> = {
  entries,
  dedupe_field: (text: unknown, sep: unknown, idx: unknown) => dedupeField(str(text), str(sep), Number(idx)),
  lines_before_match: (text: unknown, mark: unknown, suffix: unknown = '') => linesBeforeMatch(str(text), str(mark)) + str(suffix),
  trim_prefix: (s: unknown, p: unknown) => {
    const t = str(s),
      q = str(p);
    return q && t.startsWith(q) ? t.slice(q.length) : t;
  },
  trim_suffix: (s: unknown, p: unknown) => {
    const t = str(s),
      q = str(p);
    return q && t.endsWith(q) ? t.slice(0, -q.length) : t;
  },
  has_prefix: (s: unknown, p: unknown) => str(s).startsWith(str(p)),
  has_suffix: (s: unknown, p: unknown) => str(s).endsWith(str(p)),
  regex_match: (s: unknown, re: unknown) => regex(str(re)).test(str(s)),
  // Go's strings.Split: every field, empty ones too (Sprig's splitList)
  split_exact: (s: unknown, sep: unknown) => str(s).split(str(sep)),
  // Sprig's split: a map _0, _1… of the fields
  split_map: (s: unknown, sep: unknown) =>
    Object.fromEntries(
      str(s)
        .split(str(sep))
        .map((x, i) => [`_${i}`, x]),
    ),
  // Sprig's without: the list less every item equal to one of the values
  without: (l: unknown, ...xs: unknown[]) => (Array.isArray(l) ? l : []).filter((x) => !xs.some((y) => y === x)),
  // Sprig's regexSplit: n < 0 all parts, else at most n (the last one holding the rest)
  regex_split: (s: unknown, re: unknown, n: unknown) => regexSplit(str(s), str(re), Number(n)),
  // Go's $1 / ${1} expansion matches JavaScript's for the common forms
  regex_replace: (s: unknown, re: unknown, rep: unknown) => str(s).replace(regex(str(re), 'g'), str(rep).replace(/\$\{(\w+)\}/g, '$$$1')),
};

/** Go's Regexp.Split: n < 0 every part; n == 0 none; n > 0 at most n parts, the last the unsplit rest. */
export function regexSplit(s: string, re: string, n: number): string[] {
  if (n === 0) return [];
  const r = regex(re, 'g');
  const out: string[] = [];
  let last = 0;
  for (const m of s.matchAll(r)) {
    if (n > 0 && out.length === n - 1) break;
    if (m[0] === '' && (m.index === 0 || m.index === s.length)) continue;
    out.push(s.slice(last, m.index));
    last = m.index! + m[0].length;
  }
  out.push(s.slice(last));
  return out;
}
