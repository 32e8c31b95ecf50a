// Every path wulf reads or writes, derived from one root. Default: /etc/wulf (config) and
// /var/lib/wulf (state). --root DIR, WULF_ROOT, or a wulf-data/ folder beside the binary
// relocate all of it to DIR/etc/wulf and DIR/var/lib/wulf (tests, demo, USB stick).
// The controller's own files that overlays carry to nodes (/etc/passwd, /etc/group, root's ssh
// keys, /etc/resolv.conf, the time zone) are read from the real host even then: relocating wulf's
// state does not make a different controller. WULF_HOST_ROOT=DIR reads them from DIR instead (and
// the host overlay then writes /etc/hosts and /etc/exports there): tests point it at their temp root.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface Paths {
  root: string; // '' for the system default, else the relocation root
  hostRoot: string; // '' = the real /; else where the controller's own files are read (WULF_HOST_ROOT)
  confDir: string; // wulf.conf, nodes.conf, keys/, ipxe/
  wulfConf: string;
  nodesConf: string;
  stateDir: string; // state.cbor, images/, overlays/, cache/, tftp/
  stateFile: string;
  imagesDir: string; // images/<name>/rootfs, images/<name>/build/<digest>.img.gz
  siteOverlaysDir: string;
  cacheDir: string; // blob cache, overlay archive cache
  tftpRoot: string;
  keysDir: string;
  runDir: string; // pid/lock files of the running server
}

export function pathsFor(root: string, hostRoot = ''): Paths {
  const r = root ? resolve(root) : '';
  const h = hostRoot && resolve(hostRoot) !== '/' ? resolve(hostRoot) : '';
  const confDir = r ? join(r, 'etc', 'wulf') : '/etc/wulf';
  const stateDir = r ? join(r, 'var', 'lib', 'wulf') : '/var/lib/wulf';
  return {
    root: r,
    hostRoot: h,
    confDir,
    wulfConf: join(confDir, 'wulf.conf'),
    nodesConf: join(confDir, 'nodes.conf'),
    stateDir,
    stateFile: join(stateDir, 'state.cbor'),
    imagesDir: join(stateDir, 'images'),
    siteOverlaysDir: join(stateDir, 'overlays'),
    cacheDir: join(stateDir, 'cache'),
    tftpRoot: join(stateDir, 'tftp'),
    keysDir: join(confDir, 'keys'),
    runDir: join(stateDir, 'run'),
  };
}

/** --root beats WULF_ROOT beats a wulf-data/ folder beside the binary beats the system paths. */
export function resolveRoot(flag: string | undefined, env: Record<string, string | undefined>, execPath: string): string {
  if (flag) return flag;
  if (env.WULF_ROOT) return env.WULF_ROOT;
  const beside = join(dirname(execPath), 'wulf-data');
  if (!execPath.endsWith('/bun') && existsSync(beside)) return beside;
  return '';
}
