// The check that finds Go text/template syntax (Warewulf's template language) in a text that should be
// Liquid (wulf's): overlay templates, iPXE scripts and BMC command templates are refused with one line
// rather than rendered into nonsense. Pure: strings in, a finding out. The converter is src/overlays/gotemplate/.

const GO_WORDS = /^(if|else|end|range|with|define|template|block|break|continue)\b/;
const RAW = /\{%-?\s*raw\s*-?%\}[\s\S]*?\{%-?\s*endraw\s*-?%\}/g;

/** first Go-template construct in a text that should be Liquid, or null */
export function findGoSyntax(source: string): { line: number; text: string } | null {
  // text inside {% raw %} is literal in Liquid: blank it out (keeping the line count)
  const src = source.replace(RAW, (m) => m.replace(/[^\n]/g, ' '));
  const re = /\{\{(-?)([\s\S]*?)(-?)\}\}/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(src))) {
    const body = m[2]!.trim();
    if (isGo(body, m[1] === '-' && /^[ \t\r\n]/.test(m[2]!))) {
      const line = src.slice(0, m.index).split('\n').length;
      return { line, text: m[0].length > 80 ? `${m[0].slice(0, 77)}...` : m[0] };
    }
  }
  return null;
}

function isGo(body: string, _spacedTrim: boolean): boolean {
  if (!body) return false;
  // .Field or . (Liquid expressions never start with a dot), $var, /* comment */, a keyword
  if (/^\.([A-Za-z_]|\s|$)/.test(body) || body.startsWith('$') || body.startsWith('/*')) return true;
  // a parenthesised pipeline; Liquid has only ranges in parentheses, (1..5)
  if (body.startsWith('(') && !/^\(\s*[\w.]+\s*\.\.\s*[\w.]+\s*\)/.test(body)) return true;
  const w = GO_WORDS.exec(body);
  if (w && (body === w[1] || /^\s/.test(body.slice(w[1]!.length)))) return true;
  // a function call: WORD ARG (Liquid output is WORD, WORD.path, WORD | filter or a comparison)
  const call = /^[A-Za-z_][A-Za-z0-9_]*\s+(["`$.(]|[A-Za-z_0-9-])/.exec(body);
  if (call && !/^[A-Za-z_][A-Za-z0-9_]*\s+(\||==|!=|<|>|and\b|or\b|contains\b)/.test(body)) return true;
  return false;
}

/** One line naming file and line when `source` (meant to be Liquid) holds Go template syntax, else undefined. */
export function goSyntaxError(file: string, source: string): string | undefined {
  const g = findGoSyntax(source);
  return g
    ? `${file}:${g.line}: Go template syntax (${g.text}); wulf templates are Liquid: convert it with wulf overlay convert ${file}`
    : undefined;
}
