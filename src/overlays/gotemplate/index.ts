// Go text/template (Warewulf's template language) → Liquid (wulf's), and (from src/lib/go-syntax.ts) the
// check that finds Go syntax in a text that should be Liquid. Pure: strings in, strings and problems out.
import { Converter, type ConvertProblem } from './convert.ts';
import { GoSyntaxError, parseGoTemplate } from './parse.ts';
import { findGoSyntax } from '../../lib/go-syntax.ts';

import type { TemplateKind } from './fields.ts';

export type { ConvertProblem, TemplateKind };
export { findGoSyntax, goSyntaxError } from '../../lib/go-syntax.ts';
export interface ConvertResult {
  liquid: string;
  problems: ConvertProblem[];
} // problems non-empty → do not use liquid

/**
 * Convert a Go template (Warewulf's data names) to Liquid over wulf's template data: an overlay
 * template (default), an iPXE script template or a BMC command template (opts.kind).
 */
export function convertGoTemplate(source: string, opts: { kind?: TemplateKind } = {}): ConvertResult {
  let tree;
  try {
    tree = parseGoTemplate(source);
  } catch (e) {
    if (e instanceof GoSyntaxError) return { liquid: '', problems: [{ line: e.line, message: `Go template syntax: ${e.message}` }] };
    throw e;
  }
  // a Liquid template given by mistake would convert into nonsense (its {{ id }} read as a call of "id")
  const tag = /\{%[\s\S]*?%\}|\{\{[\s\S]*?\}\}/;
  if (!findGoSyntax(source) && tag.test(source)) {
    const line = source.slice(0, source.search(tag)).split('\n').length;
    return { liquid: '', problems: [{ line, message: 'no Go template syntax here: the file looks like Liquid already' }] };
  }
  const c = new Converter(opts.kind);
  c.switchesFiles = /\{\{-?\s*file[\s(]/.test(source);
  const liquid = c.convert(tree);
  return { liquid, problems: c.problems.sort((a, b) => a.line - b.line) };
}
