// What `wulf import-warewulf` would write, worked out before anything is written: wulf.conf from
// warewulf.conf, the nodes and profiles of nodes.conf (upgraded as `wwctl upgrade nodes
// --add-defaults --replace-overlays` does), the site overlays and iPXE templates converted, the ssh
// keys and the files templates include, the image chroots — and every line that cannot be
// carried over. Reads only.
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Paths } from '../config/paths.ts';
import { nodeFromYaml } from '../config/node-yaml.ts';
import { readNodesConf } from '../config/store.ts';
import type { NodeData } from '../config/schema.ts';
import { validateConf } from '../config/validate.ts';
import { WulfError } from '../lib/errors.ts';
import { checkImageName } from '../images/layout.ts';
import { listOverlayNames } from '../overlays/sources.ts';
import { listChroots, scanChroot, type Chroot } from './chroots.ts';
import { upgradeNodesText } from './nodes-text.ts';
import type { Site } from './site.ts';
import { convertTemplate, overlayNames, readTree, type Convert, type TreeEntry } from './trees.ts';
import { upgradeConfText, type Problem } from './wwconf.ts';

export interface FileOut {
  dest: string;
  data: Buffer;
  mode: number;
  from: string;
}
export interface Plan {
  wulfConf: string;
  profiles: Record<string, NodeData>;
  nodes: Record<string, NodeData>;
  files: FileOut[]; // keys, iPXE templates, included files (dest: absolute)
  overlays: { name: string; entries: TreeEntry[] }[];
  images: Chroot[];
  problems: Problem[];
}

/** iPXE templates wulf has its own of; a site's copy of Warewulf's is not carried over. */
const STOCK_IPXE = new Set(['default', 'unconfigured', 'localdisk']);
const KEY_RE = /^ssh_host_[a-z0-9]+_key(\.pub)?$/;

function readText(file: string, what: string): string {
  if (!existsSync(file)) throw new WulfError(`${file} does not exist`, { hint: `the Warewulf ${what} (flags name another path)` });
  return readFileSync(file, 'utf8');
}

function regularFile(path: string, problems: Problem[]): Buffer | undefined {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (!st.isFile()) {
    problems.push({ file: path, line: 0, why: `${st.isSymbolicLink() ? 'a symlink' : 'not a regular file'}: left out` });
    return undefined;
  }
  return readFileSync(path);
}

/** The line of the first mention of an overlay name in a nodes.conf text (for reports). */
function mentionLine(text: string, name: string): number {
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`(^|[\\s,\\[-])${esc}\\s*(,|\\]|$)`);
  const i = text.split('\n').findIndex((l) => !l.trimStart().startsWith('#') && re.test(l));
  return i + 1;
}

export interface PlanOpts {
  /** import a site overlay even when wulf ships one of that name (it then shadows wulf's) */ replaceShipped?: boolean;
}

export function makePlan(site: Site, paths: Paths, convert: Convert, opts: PlanOpts = {}): Plan {
  const problems: Problem[] = [];
  const files: FileOut[] = [];
  // warewulf.conf → wulf.conf
  const wwText = readText(site.wwConf, 'warewulf.conf');
  const keep = existsSync(paths.wulfConf) ? readFileSync(paths.wulfConf, 'utf8') : undefined;
  const conf = upgradeConfText(wwText, site.wwConf, { forWulf: true, keep });
  problems.push(...conf.problems);
  // nodes.conf: the site's entries replace wulf's of the same name; wulf's others stay
  const nodesText = readText(site.nodesConf, 'nodes.conf');
  const originalConf = upgradeConfText(wwText, site.wwConf).value; // the NFS mounts it asks for (before they are left out)
  const up = upgradeNodesText(nodesText, site.nodesConf, { addDefaults: true, replaceOverlays: true }, originalConf);
  problems.push(...up.problems);
  const profiles: Record<string, NodeData> = {},
    nodes: Record<string, NodeData> = {};
  for (const [n, v] of Object.entries(up.profiles)) profiles[n] = nodeFromYaml(v, `${site.nodesConf}: profile ${n}`);
  for (const [n, v] of Object.entries(up.nodes)) nodes[n] = nodeFromYaml(v, `${site.nodesConf}: node ${n}`);
  const current = readNodesConf(paths);
  validateConf({ profiles: { ...current.profiles, ...profiles }, nodes: { ...current.nodes, ...nodes } });
  // ssh keys
  const keysDir = join(site.confDir, 'keys');
  for (const n of existsSync(keysDir) ? readdirSync(keysDir).sort() : []) {
    if (!KEY_RE.test(n)) {
      problems.push({ file: join(keysDir, n), line: 0, why: 'not an ssh host key: left out' });
      continue;
    }
    const data = regularFile(join(keysDir, n), problems);
    if (data) files.push({ dest: join(paths.keysDir, n), data, mode: n.endsWith('.pub') ? 0o644 : 0o600, from: join(keysDir, n) });
  }
  // site overlays (Go templates converted) and the files their templates include
  const includes = new Set<string>();
  const overlays: Plan['overlays'] = [];
  const shipped = new Set(
    listOverlayNames(paths.siteOverlaysDir)
      .filter((o) => o.dist)
      .map((o) => o.name),
  );
  for (const name of overlayNames(site.overlaysDir, problems)) {
    if (shipped.has(name) && !opts.replaceShipped) {
      // Warewulf ≤ 4.5 kept every overlay here (wwinit, hosts...): wulf's own do those jobs for wulf
      problems.push({
        file: join(site.overlaysDir, name),
        line: 0,
        why: `wulf ships its own "${name}" overlay: the site's is not imported (--replace-shipped imports it over wulf's)`,
      });
      continue;
    }
    const entries = readTree(join(site.overlaysDir, name), problems, { fn: convert, confDirName: site.confDirName, includes });
    if (entries) overlays.push({ name, entries });
  }
  // iPXE templates
  const ipxeDir = join(site.confDir, 'ipxe');
  for (const n of existsSync(ipxeDir) ? readdirSync(ipxeDir).sort() : []) {
    const file = join(ipxeDir, n);
    if (!n.endsWith('.ipxe')) continue;
    const name = n.slice(0, -5);
    if (STOCK_IPXE.has(name)) {
      problems.push({ file, line: 0, why: `wulf's own ${n} is used (a site change to Warewulf's needs porting by hand): left out` });
      continue;
    }
    if (!/^[A-Za-z0-9._-]+$/.test(name)) {
      problems.push({ file, line: 0, why: 'not a valid template name: left out' });
      continue;
    }
    const src = regularFile(file, problems);
    if (!src) continue;
    const liquid = convertTemplate(file, src.toString('utf8'), (x) => convert(x, { kind: 'ipxe' }), site.confDirName, includes, problems);
    if (liquid !== undefined) files.push({ dest: join(paths.confDir, 'ipxe', n), data: Buffer.from(liquid), mode: 0o644, from: file });
  }
  for (const rel of [...includes].sort()) {
    if (rel.startsWith('keys/')) continue; // the keys are copied above
    const src = join(site.confDir, rel);
    const data = regularFile(src, problems);
    if (data) files.push({ dest: join(paths.confDir, rel), data, mode: lstatSync(src).mode & 0o777, from: src });
    else if (!existsSync(src))
      problems.push({ file: src, line: 0, why: 'included by a template but missing: the template includes nothing there' });
  }
  // the rest of the config dir: said, not silently skipped
  const used = new Set(['warewulf.conf', 'nodes.conf', 'ipxe', 'keys', ...[...includes].map((r) => r.split('/')[0]!)]);
  const WHY: Record<string, string> = {
    'auth.conf': 'REST API users: wulf has no REST API',
    tls: "Warewulf's TLS keys: wulf makes its own CA and server certificate (wulf init, wulf serve)",
    grub: 'GRUB boot: wulf boots through iPXE only',
    examples: "Warewulf's example templates",
    'warewulf.conf-old': 'a wwctl upgrade backup',
    'nodes.conf-old': 'a wwctl upgrade backup',
  };
  for (const n of readdirSync(site.confDir).sort()) {
    if (used.has(n) || join(site.confDir, n) === site.wwConf || join(site.confDir, n) === site.nodesConf) continue;
    problems.push({ file: join(site.confDir, n), line: 0, why: `${WHY[n] ?? 'no template includes it'}: not carried over` });
  }
  // overlay names the nodes use that neither the site nor wulf has
  const have = new Set([...overlays.map((o) => o.name), ...listOverlayNames(paths.siteOverlaysDir).map((o) => o.name)]);
  const distWw = new Set(existsSync(site.distOverlaysDir) ? readdirSync(site.distOverlaysDir) : []);
  const named = new Set<string>();
  for (const d of [...Object.values(profiles), ...Object.values(nodes)])
    for (const o of [...(d.systemOverlay ?? []), ...(d.runtimeOverlay ?? [])]) named.add(o.replace(/^~/, ''));
  for (const o of [...named].sort()) {
    if (have.has(o)) continue;
    problems.push({
      file: site.nodesConf,
      line: mentionLine(nodesText, o),
      why:
        `overlay "${o}" ${distWw.has(o) ? 'is a Warewulf distribution overlay wulf does not have' : 'exists in neither the site nor wulf'}: ` +
        `kept in the node list (its nodes' overlays fail to build until it exists)`,
    });
  }
  // image chroots
  const images = listChroots(
    site.chrootsDir,
    (n) => {
      try {
        checkImageName(n);
        return true;
      } catch {
        return false;
      }
    },
    (file, why) => problems.push({ file, line: 0, why }),
  ).map((n) => scanChroot(n, join(site.chrootsDir, n, 'rootfs')));
  return { wulfConf: conf.text, profiles, nodes, files, overlays, images, problems };
}
