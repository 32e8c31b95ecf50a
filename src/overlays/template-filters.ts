// The filters overlay templates use beyond Liquid's own and the Go-template ones: IP math, passwd-style
// merging, resolv.conf values, systemd and shell escaping. Pure: text in, text out.
import { posix } from 'node:path';
import { addIPv4, isNetmask, maskToPrefix, networkOf, prefixToMask } from '../lib/ip.ts';

/** Filters whose output depends only on their input string (and is non-blank for non-blank input). */
export const PURE_FILTERS: Record<string, (s: string) => string> = {
  shell_quote: (s) => `'${s.replaceAll("'", "'\\''")}'`,
  systemd_escape: (s) => systemdEscape(s, false),
  systemd_escape_path: (s) => systemdEscape(s, true),
};

const num = (x: unknown) => Number(x);
/** The Liquid filters wulf adds to the Go-template ones (registered after them: a name here wins). */
export const FILTERS: Record<string, (...a: any[]) => unknown> = {
  prefix: (mask: unknown) => (isNetmask(String(mask)) ? maskToPrefix(String(mask)) : null),
  netmask: (p: unknown) => prefixToMask(num(p)),
  ip_cidr: (ip: unknown, mask: unknown) => `${ip}/${/^\d+$/.test(String(mask)) ? mask : maskToPrefix(String(mask))}`,
  network: (ip: unknown, mask: unknown) => networkOf(String(ip), /^\d+$/.test(String(mask)) ? prefixToMask(num(mask)) : String(mask)),
  ip_add: (ip: unknown, n: unknown) => addIPv4(String(ip), num(n)),
  unique_field: (text: unknown, sep: unknown = ':', idx: unknown = 0) => uniqueField(String(text ?? ''), String(sep), num(idx)),
  // the lines before a marker line (all of them when there is none): an admin's own part of a
  // file that wulf also writes, as Warewulf's IncludeBlock keeps it
  before_marker: (text: unknown, marker: unknown) => {
    const lines = String(text ?? '').split('\n');
    const i = lines.findIndex((l) => l.trim() === String(marker).trim());
    const kept = (i < 0 ? lines : lines.slice(0, i)).join('\n');
    return kept && !kept.endsWith('\n') ? `${kept}\n` : kept;
  },
  systemd_escape: (s: unknown) => systemdEscape(String(s), false),
  systemd_escape_path: (s: unknown) => systemdEscape(String(s), true),
  basename: (s: unknown) => posix.basename(String(s)),
  dirname: (s: unknown) => posix.dirname(String(s)),
  // "a, b  c" → [a, b, c]: lists from tags and captured text
  words: (s: unknown) => (Array.isArray(s) ? s.map(String) : String(s ?? '').split(/[\s,]+/)).filter((x) => x),
  // the values of resolv.conf lines (nameserver: addresses, loopback ones left out; search/domain: domains)
  resolv_values: (text: unknown, key: unknown) => resolvValues(String(text ?? ''), String(key)),
  inc: (n: unknown) => num(n) + 1,
  dec: (n: unknown) => num(n) - 1,
  shell_quote: (s: unknown) => PURE_FILTERS.shell_quote!(String(s ?? '')),
};

/** Values of a resolv.conf key: nameserver addresses (loopback ones, such as systemd-resolved's 127.0.0.53 stub, left out: on a node
 *  they would be the node itself) or search domains. */
export function resolvValues(text: string, key: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line
      .replace(/[#;].*/, '')
      .trim()
      .split(/\s+/);
    if (f[0] !== key || f.length < 2) continue;
    for (const v of key === 'nameserver' ? [f[1]!] : f.slice(1)) {
      if (key === 'nameserver' && (/^127\./.test(v) || v === '::1' || v === '0.0.0.0')) continue;
      if (!out.includes(v)) out.push(v);
    }
  }
  return out;
}

/** Keep the first line for each value of field `idx` (lines split on `sep`); blank lines dropped. */
export function uniqueField(text: string, sep: string, idx: number): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const k = line.split(sep)[idx] ?? '';
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(line);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** systemd-escape(1) rules; `path` mode as in --path. */
export function systemdEscape(s: string, path: boolean): string {
  let t = s;
  if (path) {
    t = t
      .split('/')
      .filter((x) => x)
      .join('/');
    if (!t) return '-';
  }
  let out = '';
  for (let i = 0; i < t.length; i++) {
    const ch = t[i]!;
    if (ch === '/') out += '-';
    else if ((ch === '.' && i === 0) || !/[A-Za-z0-9:_.]/.test(ch)) {
      for (const b of new TextEncoder().encode(ch)) out += '\\x' + b.toString(16).padStart(2, '0');
    } else out += ch;
  }
  return out;
}
