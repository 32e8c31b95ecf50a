// Records exactly what a template read: every property read, key listing and `in` test on the
// template data goes through a Proxy that notes (path → what was seen). Re-evaluating those paths
// on another node's data tells whether the earlier output is still right (memo/cache keys).
export const SEP = '\u0001';
const KEYS = '\u0002K';
const HAS = '\u0002H';
/** Suffix of a read whose value only decided a truth test (only "is it a string" matters). */
export const WEAK = '\u0002W';
/** Suffix of a read whose value only went straight to the output (a slot filled per node). */
export const SLOT = '\u0002S';
const SKIP = new Set(['toLiquid', 'liquidMethodMissing', 'then', 'constructor', 'valueOf', 'toString', 'toJSON', 'hasOwnProperty']);
/** Root keys whose values are the same for every node of one build (server, build, allNodes). */
export const GLOBAL_ROOTS = new Set(['server', 'build', 'allNodes']);
/** Extra keys the render tags add (controller files, image files): always global. */
export const FILE_PREFIX = '\u0002F';

// the build time is not part of any key: an archive keeps the time its content was first built
const VOLATILE_TIME = `build${SEP}time`,
  VOLATILE_UNIX = `build${SEP}unix`;

export interface Reads {
  local: Map<string, string>;
  global: Map<string, string>;
}
export const newReads = (): Reads => ({ local: new Map(), global: new Map() });

export function sigOf(v: unknown): string {
  if (v === undefined) return 'u';
  if (v === null) return 'n';
  switch (typeof v) {
    case 'string':
      return 's' + v;
    case 'number':
      return 'd' + v;
    case 'boolean':
      return v ? 'T' : 'F';
    case 'object':
      return Array.isArray(v) ? 'a' : 'o';
    default:
      return 'x' + typeof v;
  }
}

/** How a read value may be observed: truthiness only ('W') or output only when a non-blank string ('S'). */
export function weakSig(v: unknown): string {
  return typeof v === 'string' ? 'S' : sigOf(v);
}
export function slotSig(v: unknown): string {
  return typeof v === 'string' && v.trim() !== '' ? 'N' : 'x' + sigOf(v);
}

/** The last property read while an expression is evaluated, held back until its use is known. */
export interface Pending {
  path: string;
  key: string;
  value: unknown;
}
/** Capture switch shared by the tracking proxy and the render tags. */
export interface Capture {
  on: boolean;
  pending?: Pending;
}

export function isGlobalPath(path: string): boolean {
  const i = path.indexOf(SEP);
  return GLOBAL_ROOTS.has(i < 0 ? path : path.slice(0, i)) || path.startsWith(FILE_PREFIX);
}

/** Record a held-back read: in full, as a truth test, or as an output slot. */
export function settle(reads: Reads, p: Pending, how: 'full' | 'weak' | 'slot'): void {
  if (how === 'full' || isGlobalPath(p.path)) record(reads, p.path, sigOf(p.value));
  else if (how === 'weak') record(reads, p.path + WEAK, weakSig(p.value));
  else record(reads, p.path + SLOT, slotSig(p.value));
}

function record(reads: Reads, path: string, sig: string) {
  const top = path.indexOf(SEP) < 0 ? path : path.slice(0, path.indexOf(SEP));
  (GLOBAL_ROOTS.has(top) || path.startsWith(FILE_PREFIX) ? reads.global : reads.local).set(path, sig);
}

/** Wrap the template data so that reads are recorded into `reads`. */
export function tracked<T extends object>(root: T, reads: Reads, cap?: Capture): T {
  const cache = new WeakMap<object, Map<string, object>>();
  const wrap = (obj: object, path: string): object => {
    let m = cache.get(obj);
    if (!m) {
      m = new Map();
      cache.set(obj, m);
    }
    let p = m.get(path);
    if (!p) {
      p = new Proxy(obj, handler(path));
      m.set(path, p);
    }
    return p;
  };
  const handler = (path: string): ProxyHandler<object> => ({
    get(target, key) {
      const v = Reflect.get(target, key);
      if (typeof key === 'symbol' || SKIP.has(key)) return v;
      const p = path ? path + SEP + key : key;
      if (p !== VOLATILE_TIME && p !== VOLATILE_UNIX) {
        if (cap?.on) {
          if (cap.pending) settle(reads, cap.pending, 'full');
          cap.pending = { path: p, key, value: v };
        } else record(reads, p, sigOf(v));
      }
      return v !== null && typeof v === 'object' ? wrap(v, p) : v;
    },
    ownKeys(target) {
      const keys = Reflect.ownKeys(target);
      record(reads, path + KEYS, keys.filter((k) => typeof k === 'string').join('\u0003'));
      return keys;
    },
    has(target, key) {
      const r = Reflect.has(target, key);
      if (path && typeof key === 'string') record(reads, path + HAS + key, r ? '1' : '0');
      return r;
    },
    set() {
      return false;
    },
    deleteProperty() {
      return false;
    },
  });
  return wrap(root, '') as T;
}

export interface CompiledPath {
  path: string;
  file: boolean;
  segs: string[];
  suffix: '' | 'K' | 'H' | 'W' | 'S';
  arg: string;
}

/** Split a recorded path once, for repeated evaluation. */
export function compilePath(path: string): CompiledPath {
  if (path.startsWith(FILE_PREFIX)) return { path, file: true, segs: [], suffix: '', arg: '' };
  let suffix: CompiledPath['suffix'] = '',
    arg = '';
  let p = path;
  const k = p.indexOf(KEYS),
    h = p.indexOf(HAS);
  if (h >= 0) {
    suffix = 'H';
    arg = p.slice(h + 2);
    p = p.slice(0, h);
  } else if (k >= 0) {
    suffix = 'K';
    p = p.slice(0, k);
  } else if (p.endsWith(WEAK)) {
    suffix = 'W';
    p = p.slice(0, -2);
  } else if (p.endsWith(SLOT)) {
    suffix = 'S';
    p = p.slice(0, -2);
  }
  return { path, file: false, segs: p ? p.split(SEP) : [], suffix, arg };
}

/** The value at a compiled path (no suffix semantics). */
export function valueAt(root: unknown, c: CompiledPath): unknown {
  let cur: unknown = root;
  for (const seg of c.segs) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** What a recorded path shows on `root` now (same encoding as the recorder). */
export function sigAt(root: unknown, path: string | CompiledPath, files?: (key: string) => string): string {
  const c = typeof path === 'string' ? compilePath(path) : path;
  if (c.file) return files ? files(c.path) : '?';
  const { suffix, arg } = c;
  let cur: unknown = root;
  for (const seg of c.segs) {
    if (cur === null || cur === undefined || typeof cur !== 'object') {
      cur = undefined;
      break;
    }
    cur = (cur as Record<string, unknown>)[seg];
  }
  if (suffix === 'K')
    return cur && typeof cur === 'object'
      ? Reflect.ownKeys(cur)
          .filter((x) => typeof x === 'string')
          .join('\u0003')
      : '';
  if (suffix === 'H') return cur && typeof cur === 'object' && arg in cur ? '1' : '0';
  if (suffix === 'W') return weakSig(cur);
  if (suffix === 'S') return slotSig(cur);
  return sigOf(cur);
}
