// Writing into an overlay: the site copy (a shipped overlay is cloned into the site overlay dir on
// first write, and shadows it from then on), and the checks that keep a write inside the overlay.
import { chmodSync, chownSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../lib/errors.ts';
import { checkOverlayName, cleanRel, locateOverlay, readOverlay } from './sources.ts';

/** Where an existing overlay is; fails naming the overlay when there is none. */
export function existingOverlay(siteDir: string, name: string) {
  const loc = locateOverlay(siteDir, checkOverlayName(name));
  if (!loc) fail(`overlay "${name}" does not exist`, "see 'wulf overlay list'");
  return loc;
}

/**
 * The site copy of an overlay (cloned from the distribution one, with its modes, on first write).
 * `cloned` says this call made the copy.
 */
export function siteRoot(siteDir: string, name: string): { root: string; cloned: boolean } {
  const loc = existingOverlay(siteDir, name);
  if (loc.site) return { root: loc.root, cloned: false };
  const src = readOverlay(siteDir, name);
  const root = join(siteDir, name, 'rootfs');
  mkdirSync(root, { recursive: true, mode: 0o755 });
  for (const f of src.files) {
    const p = join(root, f.rel);
    if (f.type === 'dir') mkdirSync(p, { recursive: true });
    else if (f.type === 'symlink') symlinkSync(f.target!, p);
    else writeFileSync(p, f.data!);
    if (f.type !== 'symlink') {
      chmodSync(p, f.mode);
      try {
        chownSync(p, f.uid, f.gid);
      } catch {
        /* not root */
      }
    }
  }
  return { root, cloned: true };
}

/**
 * A path inside an overlay whose directories are real directories: a symlink on the way would lead
 * the write onto the controller's own files (the overlay holds links meant for the node, e.g. to
 * /etc/passwd). The last part may itself be a link: see notLink.
 */
export function fileIn(root: string, file: string): string {
  const rel = cleanRel(file, 'file');
  if (!rel) fail('a file path inside the overlay is required');
  const parts = rel.split('/');
  let at = root;
  for (const part of parts.slice(0, -1)) {
    at = join(at, part);
    const st = lstatSync(at, { throwIfNoEntry: false });
    if (!st) break;
    if (st.isSymbolicLink())
      fail(
        `${file}: ${at.slice(root.length + 1)} is a symlink in the overlay; paths through links are refused`,
        'the link is for the node: change it with wulf overlay delete, then import or mkdir',
      );
    if (!st.isDirectory()) fail(`${file}: ${at.slice(root.length + 1)} is not a directory in the overlay`);
  }
  return join(root, rel);
}

/** Refuse to act through a link that is the file itself (chmod, edit…). */
export function notLink(p: string, file: string, what: string): string {
  if (lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink())
    fail(
      `${file} is a symlink in the overlay: cannot ${what} it (that would change the file it points to on this machine)`,
      'delete the link first to replace it',
    );
  return p;
}
