// What TAB offers, computed by the binary itself (`wulf completion complete CWORD -- WORDS...`, which
// the bash and zsh scripts call): nouns, verbs and flags from the command tree, and the names of
// nodes, profiles, images, overlays, overlay files and the images' kernel versions read from the store — for positionals and for
// the flags that take them (--profile, --image, -O/-R, overlay show --render, image shell --node),
// comma lists included (`n1,n<TAB>`). Nothing here writes; any error gives no candidates.
import { readConfigured } from '../store/open.ts';
import { pathsFor, resolveRoot, type Paths } from '../config/paths.ts';
import { naturalCompare } from '../config/cascade.ts';
import { listImageNames, rootfsDir } from '../images/layout.ts';
import { listKernels } from '../images/kernels.ts';
import { listOverlayNames, readOverlay } from '../overlays/sources.ts';
import { findVerb, type NounEntry, nounIn, type Verb } from './command.ts';

type Kind = 'nodes' | 'profiles' | 'images' | 'overlays' | 'files' | 'kernels';

/** Names of one kind from the store (sorted); `overlay` names the overlay whose files are wanted. */
export async function storeNames(
  paths: Paths,
  kind: Kind,
  overlay?: string,
  env: Record<string, string | undefined> = {},
): Promise<string[]> {
  try {
    switch (kind) {
      case 'nodes':
        return Object.keys((await readConfigured(paths, env)).nodes).sort(naturalCompare);
      case 'profiles':
        return Object.keys((await readConfigured(paths, env)).profiles).sort(naturalCompare);
      case 'images':
        return listImageNames(paths);
      case 'overlays':
        return listOverlayNames(paths.siteOverlaysDir).map((o) => o.name);
      case 'kernels':
        return [...new Set(listImageNames(paths).flatMap((i) => listKernels(rootfsDir(paths, i)).map((k) => k.version)))].sort();
      case 'files':
        return overlay
          ? readOverlay(paths.siteOverlaysDir, overlay)
              .files.filter((f) => f.type !== 'dir')
              .map((f) => f.rel)
          : [];
    }
  } catch {
    return [];
  }
}

/** Flags whose value is a name (comma lists where the field is a list). */
const FLAG_KIND: Record<string, Kind> = {
  profile: 'profiles',
  image: 'images',
  container: 'images',
  'system-overlays': 'overlays',
  'runtime-overlays': 'overlays',
  kernelversion: 'kernels',
};

/** What the Nth positional of a verb names. */
function positionalKind(noun: string, verb: string, n: number): Kind | undefined {
  switch (noun) {
    case 'node':
      return verb === 'add' || verb === 'import' ? undefined : 'nodes';
    case 'profile':
      return verb === 'add' || verb === 'import' ? undefined : 'profiles';
    case 'image':
      return verb === 'import'
        ? undefined
        : ['copy', 'rename', 'shell', 'exec'].includes(verb)
          ? n === 0
            ? 'images'
            : undefined
          : 'images';
    case 'overlay':
      if (verb === 'build' || verb === 'diff') return 'nodes';
      if (verb === 'create') return undefined;
      return n === 0 ? 'overlays' : n === 1 && ['show', 'info', 'edit', 'delete', 'chmod', 'chown'].includes(verb) ? 'files' : undefined;
    case 'power':
      return 'nodes';
    case 'ssh':
      return n === 0 ? 'nodes' : undefined;
    default:
      return undefined;
  }
}

function flagNames(v: Verb): string[] {
  return Object.entries(v.flags ?? {})
    .filter(([, f]) => !f.hidden)
    .map(([k]) => `--${k}`)
    .sort();
}

/** Candidates for `cur`, keeping what comes before its last comma (lists of names). */
function matching(cands: string[], cur: string, comma: boolean): string[] {
  const cut = comma ? cur.lastIndexOf(',') + 1 : 0;
  const pre = cur.slice(0, cut),
    part = cur.slice(cut);
  return cands.filter((c) => c.startsWith(part)).map((c) => pre + c);
}

/** The candidates for word `cword` of `words` (words[0] is the program). */
export async function completeWords(
  nouns: NounEntry[],
  words: string[],
  cword: number,
  env: Record<string, string | undefined>,
): Promise<string[]> {
  let i = 1,
    root: string | undefined;
  for (; i < cword; i++) {
    const w = words[i]!;
    if (w === '--root' || w === '--log-format') {
      if (w === '--root') root = words[i + 1];
      i++;
      continue;
    }
    if (w.startsWith('--root=')) {
      root = w.slice(7);
      continue;
    }
    if (w.startsWith('--log-format=') || w === '--debug' || w === '-d') continue;
    break;
  }
  const cur = words[cword] ?? '';
  if (cword === i)
    return cur.startsWith('-')
      ? matching(['--root', '--debug', '--log-format', '--help'], cur, false)
      : matching(
          nouns.map((n) => n.name),
          cur,
          false,
        );
  const entry = nounIn(nouns, words[i]!);
  if (!entry) return [];
  const paths = pathsFor(resolveRoot(root, env, process.execPath), env.WULF_HOST_ROOT);
  const noun = await entry.load();
  if (entry.name === 'completion') return cword === i + 1 ? matching(['bash', 'zsh'], cur, false) : [];
  let verb: Verb | undefined, start: number;
  if (noun.direct) {
    verb = noun.direct;
    start = i + 1;
  } else {
    if (cword === i + 1)
      return matching(
        noun.verbs.map((v) => v.name),
        cur,
        false,
      );
    verb = findVerb(noun, words[i + 1]!);
    start = i + 2;
  }
  if (!verb) return [];
  const valueFlags = new Set(
    Object.entries(verb.flags ?? {}).flatMap(([k, f]) => (f.type === 'string' ? [`--${k}`, ...(f.short ? [`-${f.short}`] : [])] : [])),
  );
  const nameOf = (flag: string) =>
    Object.entries(verb!.flags ?? {}).find(([k, f]) => `--${k}` === flag || (f.short && `-${f.short}` === flag))?.[0];
  // the value of a flag: `--profile x`, bash's `--profile = x`, zsh's `--profile=x`
  const valueFor = async (flag: string, typed: string, prefix = ''): Promise<string[]> => {
    const name = nameOf(flag);
    const kind =
      name === undefined
        ? undefined
        : (FLAG_KIND[name] ??
          ((name === 'render' && entry.name === 'overlay') || (name === 'node' && entry.name === 'image') ? 'nodes' : undefined));
    return kind
      ? matching(await storeNames(paths, kind, undefined, env), typed, kind !== 'images' && kind !== 'kernels').map((c) => prefix + c)
      : [];
  };
  const prev = words[cword - 1] ?? '';
  if (prev === '=' && cword - 2 >= start) return valueFor(words[cword - 2]!, cur);
  if (cword - 1 >= start && valueFlags.has(prev)) return valueFor(prev, cur);
  const eq = /^(--[\w-]+)=(.*)$/.exec(cur);
  if (eq) return valueFor(eq[1]!, eq[2]!, `${eq[1]}=`);
  if (cur.startsWith('-')) return matching(flagNames(verb), cur, false);
  // which positional this is: flags and their values are skipped; after `--` comes a command
  let n = 0;
  const pos: string[] = [];
  for (let j = start; j < cword; j++) {
    const w = words[j]!;
    if (w === '--') return [];
    if (w === '=') {
      j++;
      continue;
    }
    if (w.startsWith('-')) {
      if (valueFlags.has(w)) j++;
      continue;
    }
    pos.push(w);
    n++;
  }
  const kind = positionalKind(entry.name, verb.name || entry.name, n);
  if (!kind) return [];
  return matching(await storeNames(paths, kind, kind === 'files' ? pos[0] : undefined, env), cur, kind === 'nodes' || kind === 'profiles');
}
