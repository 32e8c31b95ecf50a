// `wulf completion bash|zsh`: completion scripts. Both are thin: at each TAB they ask the binary that
// is being completed (`wulf completion complete CWORD -- WORDS...`, completion-words.ts), which knows
// every noun, verb and flag, and reads node, profile, image and overlay names from the store.
import { WulfError } from '../lib/errors.ts';
import type { Noun, NounEntry } from './command.ts';
import { defineCommand } from './define.ts';
import { completeWords } from './completion-words.ts';

function bash(): string {
  return `# bash completion for wulf: source <(wulf completion bash)
_wulf() {
  local IFS=$'\\n'
  COMPREPLY=( $("\${COMP_WORDS[0]}" completion complete "$COMP_CWORD" -- "\${COMP_WORDS[@]}" 2>/dev/null) )
}
complete -o default -F _wulf wulf
`;
}

function zsh(): string {
  return `#compdef wulf
# zsh completion for wulf: wulf completion zsh > "\${fpath[1]}/_wulf" (or: source <(wulf completion zsh) after compinit)
_wulf() {
  local -a reply
  reply=( \${(f)"$(\${words[1]} completion complete $((CURRENT - 1)) -- "\${words[@]}" 2>/dev/null)"} )
  if (( \${#reply} )); then compadd -Q -- "\${reply[@]}"; else _files; fi
}
if [[ "\${funcstack[1]}" == _wulf ]]; then _wulf "$@"; else compdef _wulf wulf; fi
`;
}

/** The completion noun over the command tree it completes (given by the registry: no import cycle). */
export function completionNoun(nouns: NounEntry[]): Noun {
  const direct = defineCommand({
    name: '',
    summary: 'print a completion script: wulf completion bash|zsh (it completes node, profile, image and overlay names from the store)',
    usage: 'bash|zsh',
    // `complete CWORD WORDS...` is the scripts' call
    positionals: [{ name: 'words', variadic: true }],
    async run(ctx, { pos: { words } }) {
      if (words[0] === 'complete') {
        // called by the scripts: complete CWORD WORDS... (the words after `--`)
        const cword = Number(words[1]);
        if (!Number.isInteger(cword) || cword < 1) return 0;
        for (const c of await completeWords(nouns, words.slice(2), cword, ctx.env)) ctx.out(c);
        return 0;
      }
      const shell = words[0] ?? 'bash';
      if (shell !== 'bash' && shell !== 'zsh') throw new WulfError(`no completion for "${shell}"`, { hint: 'bash or zsh' });
      ctx.out(shell === 'bash' ? bash() : zsh());
    },
  });
  return { verbs: [], direct };
}
