// `wulf completion bash|zsh`: completion scripts generated from the command tree, so they list
// every noun, verb and flag the binary has.
import { WulfError } from '../lib/errors.ts';
import type { Noun } from './command.ts';
import { nouns } from './registry.ts';

async function tree(): Promise<{ noun: string; verbs: { name: string; flags: string[] }[] }[]> {
  const out = [];
  for (const n of nouns) {
    if (n.name === 'completion') { out.push({ noun: n.name, verbs: [{ name: 'bash', flags: [] }, { name: 'zsh', flags: [] }] }); continue; }
    const noun = await n.load();
    const flagsOf = (v: Noun['verbs'][number]) => Object.entries(v.flags ?? {}).filter(([, f]) => !f.hidden).map(([k]) => `--${k}`);
    out.push({ noun: n.name, verbs: noun.direct ? [{ name: '', flags: flagsOf(noun.direct) }] : noun.verbs.map((v) => ({ name: v.name, flags: flagsOf(v) })) });
  }
  return out;
}

function bash(t: Awaited<ReturnType<typeof tree>>): string {
  const cases = t.map((n) => {
    const verbCases = n.verbs.map((v) => `        ${v.name || '""'}) opts="${v.flags.join(' ')}" ;;`).join('\n');
    return `    ${n.noun})\n      case "$verb" in\n${verbCases}\n        *) opts="${n.verbs.map((v) => v.name).filter(Boolean).join(' ')}" ;;\n      esac ;;`;
  }).join('\n');
  return `# bash completion for wulf: source <(wulf completion bash)
_wulf() {
  local cur noun verb opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  noun="\${COMP_WORDS[1]}"; verb="\${COMP_WORDS[2]}"
  if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=( $(compgen -W "${t.map((n) => n.noun).join(' ')}" -- "$cur") ); return; fi
  if [ "$COMP_CWORD" -eq 2 ] && [[ "$cur" != -* ]]; then verb=""; fi
  case "$noun" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -F _wulf wulf
`;
}

function zsh(t: Awaited<ReturnType<typeof tree>>): string {
  return `#compdef wulf
# zsh completion for wulf: wulf completion zsh > "\${fpath[1]}/_wulf"
autoload -U bashcompinit && bashcompinit
${bash(t)}`;
}

export const noun: Noun = {
  name: 'completion', summary: 'print a bash or zsh completion script', verbs: [],
  direct: {
    name: '', summary: 'print a completion script: wulf completion bash|zsh', usage: 'bash|zsh',
    async run(ctx, _f, pos) {
      const shell = pos[0] ?? 'bash';
      if (shell !== 'bash' && shell !== 'zsh') throw new WulfError(`no completion for "${shell}"`, { hint: 'bash or zsh' });
      const t = await tree();
      ctx.out(shell === 'bash' ? bash(t) : zsh(t));
    },
  },
};
