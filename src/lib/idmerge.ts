// The one merge of the controller's passwd/group with an image's, used by `wulf image syncuser` (which
// then re-owns the image's files) and by the syncuser overlay (which renders the same files for a node).
// Pure text in, text out.
//
// Rules (Warewulf's syncuser, plus a resolution where Warewulf stops with an error):
//  * every controller line is kept as it is, in its order: the controller wins;
//  * a name in both keeps the controller's id; the image's files of the old id move to it;
//  * an image-only name keeps its id unless a controller entry has that id: then it moves to a free id
//    (below 1000: the highest free one from 999 down, as `useradd -r`; otherwise one past the highest
//    regular id, as `useradd`), chosen from the ids used by neither file, so the same inputs always
//    give the same answer;
//  * an image-only user's primary group (passwd field 4) follows its group's move;
//  * extra lines (resources.localusers on a node) come last: new names only, moved like image-only
//    names when their id is taken by an earlier line.
// The result never gives one id two names unless one of the inputs already did (root/toor aliases).

export type DbKind = 'user' | 'group';
interface Entry {
  name: string;
  id: number;
  fields: string[];
}

/** A conflict found while merging: one line of report each. */
export interface IdConflict {
  kind: DbKind;
  name: string;
  /** the id the image gave the name */
  from: number;
  /** the id the name has after the merge */
  to: number;
  /** the controller name that holds `from` (an id clash), or undefined (same name, another id) */
  holder?: string;
}

export interface DbMerge {
  text: string;
  /** old image id → new id, for re-owning the image's files */
  remap: Map<number, number>;
  conflicts: IdConflict[];
}

const ID_FIELD = 2;

function parse(text: string): Entry[] {
  const out: Entry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    const name = fields[0] ?? '';
    // comments, blank lines and NIS compat lines (+user, -user) have no id to merge
    if (!name || name.startsWith('#') || name.startsWith('+') || name.startsWith('-')) continue;
    const raw = fields[ID_FIELD] ?? '';
    if (!/^\d+$/.test(raw)) continue;
    out.push({ name, id: Number(raw), fields });
  }
  return out;
}

const SYS_MAX = 999,
  SYS_MIN = 100,
  REG_MIN = 1000,
  REG_MAX = 59999;

/** A free id for a name that must move away from `old`; `used` gains it. */
function allocate(old: number, used: Set<number>, kind: DbKind, name: string): number {
  if (old <= SYS_MAX) {
    for (let id = SYS_MAX; id >= SYS_MIN; id--)
      if (!used.has(id)) {
        used.add(id);
        return id;
      }
  }
  let top = REG_MIN - 1;
  for (const id of used) if (id >= REG_MIN && id <= REG_MAX && id > top) top = id;
  if (top < REG_MAX) {
    used.add(top + 1);
    return top + 1;
  }
  for (let id = REG_MIN; id <= REG_MAX; id++)
    if (!used.has(id)) {
      used.add(id);
      return id;
    }
  throw new Error(`no free ${kind === 'user' ? 'uid' : 'gid'} for ${kind} ${name}`);
}

/**
 * Merge one database (passwd or group). `gidRemap` (passwd only) is the group merge's remap: image-only
 * users' primary groups follow it. `extra` lines are merged after the image's.
 */
export function mergeDb(
  kind: DbKind,
  controller: string,
  image: string,
  opts: { gidRemap?: Map<number, number>; extra?: string } = {},
): DbMerge {
  const ctl = parse(controller),
    img = parse(image);
  const ctlByName = new Map<string, Entry>(),
    ctlIdName = new Map<number, string>();
  for (const e of ctl) {
    if (!ctlByName.has(e.name)) ctlByName.set(e.name, e);
    if (!ctlIdName.has(e.id)) ctlIdName.set(e.id, e.name);
  }
  const used = new Set<number>([...ctl.map((e) => e.id), ...img.map((e) => e.id)]);
  const taken = new Set<number>(ctl.map((e) => e.id));
  const remap = new Map<number, number>();
  const moved = new Map<number, number>();
  const conflicts: IdConflict[] = [];
  const lines = controller.split('\n').filter((l) => l.trim());
  const seen = new Set<string>(ctlByName.keys());
  const added: Entry[] = [];

  // names in both first: their moves decide where the files of their old ids go
  const imgSeen = new Set<string>();
  const only: Entry[] = [];
  for (const e of img) {
    if (imgSeen.has(e.name)) continue; // the image names it twice: its first line wins
    imgSeen.add(e.name);
    const h = ctlByName.get(e.name);
    if (!h) {
      only.push(e);
      continue;
    }
    if (h.id !== e.id) {
      conflicts.push({ kind, name: e.name, from: e.id, to: h.id });
      if (!remap.has(e.id)) remap.set(e.id, h.id);
    }
  }
  for (const e of only) {
    seen.add(e.name);
    let id = e.id;
    if (taken.has(e.id)) {
      id = moved.get(e.id) ?? allocate(e.id, used, kind, e.name);
      moved.set(e.id, id);
      conflicts.push({ kind, name: e.name, from: e.id, to: id, holder: ctlIdName.get(e.id) });
      if (!remap.has(e.id)) remap.set(e.id, id);
    }
    added.push({ ...e, id });
  }
  // ids the image-only names kept are taken for the extra lines too
  for (const e of added) taken.add(e.id);
  for (const e of parse(opts.extra ?? '')) {
    if (seen.has(e.name)) continue;
    seen.add(e.name);
    const id = taken.has(e.id) ? allocate(e.id, used, kind, e.name) : e.id;
    used.add(id);
    taken.add(id);
    added.push({ ...e, id });
  }
  for (const e of added) {
    const f = [...e.fields];
    f[ID_FIELD] = String(e.id);
    if (kind === 'user' && opts.gidRemap && /^\d+$/.test(f[3] ?? '')) {
      const g = opts.gidRemap.get(Number(f[3]));
      if (g !== undefined) f[3] = String(g);
    }
    lines.push(f.join(':'));
  }
  return { text: lines.length ? lines.join('\n') + '\n' : '', remap, conflicts };
}

/** passwd and group merged together (the users' primary groups follow the groups' moves). */
export function mergeAccounts(
  c: { passwd: string; group: string },
  i: { passwd: string; group: string },
  extra: { passwd?: string; group?: string } = {},
): { passwd: DbMerge; group: DbMerge } {
  const group = mergeDb('group', c.group, i.group, { extra: extra.group });
  const passwd = mergeDb('user', c.passwd, i.passwd, { gidRemap: group.remap, extra: extra.passwd });
  return { passwd, group };
}

/** One line per conflict, e.g. `user sshd: uid 100 in the image is messagebus's on the controller: sshd moves to uid 999`. */
export function conflictLine(c: IdConflict): string {
  const id = c.kind === 'user' ? 'uid' : 'gid';
  return c.holder !== undefined
    ? `${c.kind} ${c.name}: ${id} ${c.from} in the image belongs to ${c.kind} ${c.holder} on the controller: ${c.name} moves to ${id} ${c.to}`
    : `${c.kind} ${c.name}: ${id} ${c.from} in the image, ${c.to} on the controller: takes the controller's ${id}`;
}
