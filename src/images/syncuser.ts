// syncuser: merge the server's passwd and group into an image (server entries win, image-only
// names are appended), re-own files whose uid/gid changed, and report id conflicts.
import { chmodSync, lchownSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Row { name: string; id: number; line: string }
const parse = (text: string, idField: number): Row[] => text.split('\n').filter((l) => l && !l.startsWith('#')).map((line) => {
  const f = line.split(':');
  return { name: f[0]!, id: Number(f[idField]), line };
}).filter((r) => r.name && Number.isInteger(r.id));

export interface SyncResult { added: string[]; changed: string[]; conflicts: string[]; chowned: number; written: boolean }

function merge(host: Row[], img: Row[], what: string, res: SyncResult): { text: string; map: Map<number, number> } {
  const hostByName = new Map(host.map((r) => [r.name, r]));
  const hostById = new Map(host.map((r) => [r.id, r]));
  const map = new Map<number, number>();
  const extra: string[] = [];
  for (const r of img) {
    const h = hostByName.get(r.name);
    if (h) { if (h.id !== r.id) { map.set(r.id, h.id); res.changed.push(`${what} ${r.name}: ${r.id} → ${h.id}`); } continue; }
    const clash = hostById.get(r.id);
    if (clash) res.conflicts.push(`${what} ${r.name} (${r.id}) in the image has the id of server ${what} ${clash.name}`);
    extra.push(r.line);
    res.added.push(`${what} ${r.name}`);
  }
  return { text: [...host.map((r) => r.line), ...extra].join('\n') + '\n', map };
}

export function syncUsers(root: string, o: { write: boolean; hostEtc?: string }): SyncResult {
  const hostEtc = o.hostEtc ?? '/etc';
  const res: SyncResult = { added: [], changed: [], conflicts: [], chowned: 0, written: false };
  const read = (p: string) => { try { return readFileSync(p, 'utf8'); } catch { return ''; } };
  const pw = merge(parse(read(join(hostEtc, 'passwd')), 2), parse(read(join(root, 'etc/passwd')), 2), 'user', res);
  const gr = merge(parse(read(join(hostEtc, 'group')), 2), parse(read(join(root, 'etc/group')), 2), 'group', res);
  // image-only users were not counted as "added" to the server side: they are kept, not new
  res.added = [];
  if (!o.write || res.conflicts.length) return res;
  for (const [f, t] of [['etc/passwd', pw.text], ['etc/group', gr.text]] as const) {
    const p = join(root, f);
    let mode = 0o644;
    try { mode = statSync(p).mode & 0o7777; } catch { /* new */ }
    writeFileSync(p, t, { mode });
  }
  if (pw.map.size || gr.map.size) {
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        const st = lstatSync(p);
        const u = pw.map.get(st.uid), g = gr.map.get(st.gid);
        if (u !== undefined || g !== undefined) {
          const mode = st.mode & 0o7777;
          lchownSync(p, u ?? st.uid, g ?? st.gid);
          if (!st.isSymbolicLink() && mode & 0o6000) chmodSync(p, mode);
          res.chowned++;
        }
        if (st.isDirectory()) walk(p);
      }
    };
    walk(root);
  }
  res.written = true;
  return res;
}
