// Plain text tables and the machine-readable outputs shared by list commands.
import { stringify } from 'yaml';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function toYamlText(v: unknown): string {
  return stringify(v, { lineWidth: 0, flowCollectionPadding: false });
}

export function toJsonText(v: unknown): string {
  return JSON.stringify(v, null, 2);
}
