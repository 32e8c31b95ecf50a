// Where a Warewulf site keeps its files: the config dir (warewulf.conf, nodes.conf, ipxe/, keys/),
// the state dir (overlays/, chroots/) and the distribution overlays; each from a flag, else from
// warewulf.conf's `paths`, else Warewulf's compiled-in defaults. `siteRoot` prefixes them all (a
// copy of a site's files, a test).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WulfError } from '../lib/errors.ts';
import { parseYamlDoc } from './yaml-safe.ts';

export interface Site {
  confDir: string; // /etc/warewulf
  wwConf: string; // warewulf.conf
  nodesConf: string; // nodes.conf
  overlaysDir: string; // site overlays (/var/lib/warewulf/overlays)
  chrootsDir: string; // image chroots (/var/lib/warewulf/chroots)
  distOverlaysDir: string; // distribution overlays (/usr/share/warewulf/overlays)
  /** the path templates name the config dir by (Include "/etc/warewulf/..."), without siteRoot */
  confDirName: string;
}

export interface SiteFlags {
  dir?: string;
  siteRoot?: string;
  stateDir?: string;
  overlays?: string;
  chroots?: string;
  distOverlays?: string;
  wwConf?: string;
  nodesConf?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

export function locateSite(f: SiteFlags): Site {
  const root = f.siteRoot ?? '';
  const at = (p: string) => (root && p.startsWith('/') ? join(root, p) : p);
  const confDir = f.dir ? at(f.dir) : at('/etc/warewulf');
  const wwConf = f.wwConf ?? join(confDir, 'warewulf.conf');
  if (!existsSync(confDir))
    throw new WulfError(`${confDir} does not exist`, { hint: 'name the Warewulf config dir: wulf import-warewulf DIR' });
  let paths: Obj = {};
  if (existsSync(wwConf)) {
    const v = parseYamlDoc(readFileSync(wwConf, 'utf8'), wwConf).value;
    if (isObj(v) && isObj(v.paths)) paths = v.paths;
  }
  const p = (k: string) => (typeof paths[k] === 'string' && (paths[k] as string).startsWith('/') ? (paths[k] as string) : undefined);
  const confDirName = join(p('sysconfdir') ?? '/etc', 'warewulf');
  const state = f.stateDir ?? at(join(p('localstatedir') ?? '/var/lib', 'warewulf'));
  return {
    confDir,
    wwConf,
    confDirName,
    nodesConf: f.nodesConf ?? join(confDir, 'nodes.conf'),
    overlaysDir:
      f.overlays ?? (f.stateDir ? join(state, 'overlays') : p('wwoverlaydir') ? at(p('wwoverlaydir')!) : join(state, 'overlays')),
    chrootsDir: f.chroots ?? (f.stateDir ? join(state, 'chroots') : p('wwchrootdir') ? at(p('wwchrootdir')!) : join(state, 'chroots')),
    distOverlaysDir: f.distOverlays ?? at(join(p('datadir') ?? '/usr/share', 'warewulf', 'overlays')),
  };
}
