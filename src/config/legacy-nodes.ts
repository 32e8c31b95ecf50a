// Older Warewulf 4 nodes.conf spellings (4.3–4.5: `keys:`, `kernel args`, flat `ipmi …` keys,
// `tagsdel`, netdev `default`/`ipcidr`/`prefix`, comma-string overlays, `ipxe template: dracut`)
// upgraded to the 4.7 spelling, as `wwctl upgrade nodes` does. Pure: YAML-shaped objects in,
// YAML-shaped objects and notes out. Used in memory by every nodes.conf read, and by
// `wulf upgrade nodes` / `wulf import-warewulf` (with --add-defaults / --replace-overlays).

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export interface UpgradeOpts {
  /** a default profile with the stock values, nodes without profiles get `default`, netdevs get type/netmask */
  addDefaults?: boolean;
  /** `wwinit` and `generic` overlays become the overlays they were split into */
  replaceOverlays?: boolean;
}
/** One thing the upgrade dropped or changed on its own: the entry, the YAML key, why. */
export interface UpgradeNote {
  section: 'nodeprofiles' | 'nodes' | '';
  entry: string;
  key: string;
  why: string;
}

// the stock overlay lists `wwinit` and `generic` were split into (Warewulf 4.6)
export const WWINIT_SPLIT = [
  'wwinit',
  'wwclient',
  'fstab',
  'hostname',
  'ssh.host_keys',
  'issue',
  'resolv',
  'udev.netname',
  'systemd.netname',
  'ifcfg',
  'ifupdown',
  'NetworkManager',
  'wicked',
  'ignition',
];
export const GENERIC_SPLIT = ['hosts', 'ssh.authorized_keys', 'syncuser'];

const FLAT_IPMI = ['escapechar', 'gateway', 'interface', 'ipaddr', 'netmask', 'password', 'port', 'username', 'write'];
const ENTRY_LEGACY = new Set([
  'keys',
  'kernel args',
  'kernel version',
  'kernel override',
  'tagsdel',
  'disabled',
  ...FLAT_IPMI.map((k) => `ipmi ${k}`),
]);
const NETDEV_LEGACY = new Set(['default', 'ipcidr', 'prefix', 'tagsdel']);

/** Does this node/profile entry use a spelling older than 4.6? (cheap: a look at its keys) */
export function isLegacyEntry(e: unknown): boolean {
  if (!isObj(e)) return false;
  for (const k in e) {
    if (ENTRY_LEGACY.has(k)) return true;
    if ((k === 'system overlay' || k === 'runtime overlay') && typeof e[k] === 'string') return true;
    if (k === 'ipxe template' && e[k] === 'dracut') return true;
    if (k === 'kernel' && isObj(e[k]) && ('override' in (e[k] as Obj) || typeof (e[k] as Obj).args === 'string')) return true;
    if (k === 'ipmi' && isObj(e[k]) && 'tagsdel' in (e[k] as Obj)) return true;
    if (k === 'network devices' && isObj(e[k])) {
      for (const nd of Object.values(e[k] as Obj)) if (isObj(nd)) for (const nk in nd) if (NETDEV_LEGACY.has(nk)) return true;
    }
  }
  return false;
}

const truthy = (v: unknown) => /^(1|t|true|yes|y|on)$/i.test(str(v));
function mask(prefix: number): string {
  const m = prefix <= 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (m >>> s) & 255).join('.');
}
const overlayList = (v: unknown): string[] =>
  (typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v.map(str) : []).map((s) => s.trim()).filter(Boolean);

/** `wwinit` → its split list, minus names already present (the replaced name itself stays in the list). */
export function replaceOverlay(list: string[], name: string, split: string[]): string[] {
  const i = list.indexOf(name);
  if (i < 0) return list;
  const have = new Set(list);
  const add = split.filter((v) => !have.has(v) || v === name);
  return [...list.slice(0, i), ...add, ...list.slice(i + 1)];
}

function tagMap(...parts: unknown[]): Obj | undefined {
  const out: Obj = {};
  for (const p of parts) if (isObj(p)) for (const [k, v] of Object.entries(p)) if (v != null) out[k] = str(v);
  return Object.keys(out).length ? out : undefined;
}
function dropTags(tags: Obj | undefined, del: unknown): Obj | undefined {
  if (!tags) return tags;
  for (const k of Array.isArray(del) ? del.map(str) : []) delete tags[k];
  return Object.keys(tags).length ? tags : undefined;
}

function upgradeNetdev(nd: unknown, addDefaults: boolean, note: (key: string, why: string) => void): Obj {
  if (!isObj(nd)) return {};
  const out: Obj = {};
  for (const [k, v] of Object.entries(nd)) {
    if (v == null) continue;
    if (k === 'default' || k === 'primary' || k === 'tagsdel' || k === 'ipcidr' || k === 'prefix' || k === 'ipaddr6' || k === 'ip6addr')
      continue;
    out[k] = v;
  }
  const ip6 = nd.ip6addr ?? nd.ipaddr6;
  if (nd.ip6addr != null && nd.ipaddr6 != null && str(nd.ip6addr) !== str(nd.ipaddr6))
    note('ipaddr6', `ipaddr6 ${str(nd.ipaddr6)} and ip6addr ${str(nd.ip6addr)} differ: ip6addr kept`);
  if (ip6 != null && str(ip6) !== '') out.ip6addr = str(ip6);
  if (nd.ipcidr != null) {
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(str(nd.ipcidr));
    if (!m || Number(m[2]) > 32) note('ipcidr', `"${str(nd.ipcidr)}" is not an IPv4 CIDR address: dropped`);
    else {
      out.ipaddr ??= m[1];
      out.netmask ??= mask(Number(m[2]));
    }
  }
  if (nd.prefix != null) note('prefix', 'obsolete: dropped');
  if (nd.onboot != null) out.onboot = truthy(nd.onboot) ? 'true' : 'false';
  const tags = dropTags(tagMap(nd.tags), nd.tagsdel);
  if (tags) out.tags = tags;
  else delete out.tags;
  if (addDefaults) {
    out.type ??= 'ethernet';
    out.netmask ??= '255.255.255.0';
  }
  return out;
}

function upgradeKernel(e: Obj, note: (key: string, why: string) => void): Obj | undefined {
  const k = isObj(e.kernel) ? e.kernel : { args: e['kernel args'], version: e['kernel version'], override: e['kernel override'] };
  const out: Obj = {};
  const args = k.args;
  if (typeof args === 'string') {
    const a = args.split(/\s+/).filter(Boolean);
    if (a.length) out.args = a;
  } else if (Array.isArray(args)) {
    const a: string[] = [];
    for (const x of args) {
      if (x && typeof x === 'object') note('kernel.args', `non-scalar value ${JSON.stringify(x)}: dropped`);
      else if (x != null) a.push(str(x));
    }
    if (a.length) out.args = a;
  }
  if (k.version != null && str(k.version)) out.version = str(k.version);
  if (k.override != null && str(k.override)) {
    // Warewulf resolves an override against the kernels of the image; wulf's kernel.version takes a version prefix or a path
    if (out.version) note('kernel override', `"${str(k.override)}" dropped: kernel.version "${str(out.version)}" is set`);
    else {
      out.version = str(k.override);
      note('kernel override', `became kernel.version "${str(k.override)}" (a version prefix or a path inside the image)`);
    }
  }
  return Object.keys(out).length ? out : undefined;
}

function upgradeIpmi(e: Obj): Obj | undefined {
  const src = isObj(e.ipmi) ? e.ipmi : {};
  const out: Obj = {};
  for (const [k, v] of Object.entries(src)) if (v != null && k !== 'tagsdel' && k !== 'tags') out[k] = v;
  for (const k of FLAT_IPMI)
    if ((out[k] == null || out[k] === '') && e[`ipmi ${k}`] != null && str(e[`ipmi ${k}`]) !== '') out[k] = e[`ipmi ${k}`];
  if (out.write != null) out.write = truthy(out.write) ? 'true' : 'false';
  const tags = dropTags(tagMap(src.tags), src.tagsdel);
  if (tags) out.tags = tags;
  return Object.keys(out).length ? out : undefined;
}

const DONE = new Set([
  'keys',
  'tags',
  'tagsdel',
  'kernel',
  'kernel args',
  'kernel version',
  'kernel override',
  'ipmi',
  ...FLAT_IPMI.map((k) => `ipmi ${k}`),
  'network devices',
  'primary network',
  'system overlay',
  'runtime overlay',
  'ipxe template',
  'disabled',
  'container name',
  'image name',
  'filesystems',
  'disks',
]);

/** Upgrade one entry. `kind` decides what a profile may not hold (asset key). */
export function upgradeEntry(e: unknown, kind: 'node' | 'profile', opts: UpgradeOpts, note: (key: string, why: string) => void): Obj {
  if (!isObj(e)) return {};
  const out: Obj = {};
  for (const [k, v] of Object.entries(e)) if (!DONE.has(k) && v != null) out[k] = v;
  if (kind === 'profile' && out['asset key'] != null) {
    note('asset key', 'not valid on a profile: dropped');
    delete out['asset key'];
  }
  if (e.disabled != null) note('disabled', 'obsolete: dropped');
  const image = e['image name'] ?? e['container name'];
  if (image != null && str(image) !== '') out['image name'] = str(image);
  let tags = tagMap(e.keys, e.tags);
  tags = dropTags(tags, e.tagsdel);
  if (e.keys != null && isObj(e.keys)) note('keys', 'became tags');
  if (e['ipxe template'] != null) {
    if (str(e['ipxe template']) === 'dracut') {
      if (tags?.IPXEMenuEntry === undefined) {
        out['ipxe template'] = 'default';
        tags = { ...(tags ?? {}), IPXEMenuEntry: 'dracut' };
        note('ipxe template', "'dracut' became 'default' with the tag IPXEMenuEntry=dracut");
      } else {
        out['ipxe template'] = 'dracut';
        note('ipxe template', "'dracut' kept: the tag IPXEMenuEntry is already set");
      }
    } else out['ipxe template'] = e['ipxe template'];
  }
  if (tags) out.tags = tags;
  const kernel = upgradeKernel(e, note);
  if (kernel) out.kernel = kernel;
  const ipmi = upgradeIpmi(e);
  if (ipmi) out.ipmi = ipmi;
  let primary = e['primary network'] != null && str(e['primary network']) !== '' ? str(e['primary network']) : undefined;
  if (isObj(e['network devices'])) {
    const nets: Obj = {};
    for (const [name, nd] of Object.entries(e['network devices'])) {
      nets[name] = upgradeNetdev(nd, !!opts.addDefaults && kind === 'profile', (k, why) => note(`network devices.${name}.${k}`, why));
      if (!primary && isObj(nd) && (truthy(nd.primary) || truthy(nd.default))) primary = name;
    }
    out['network devices'] = nets;
  }
  if (primary) out['primary network'] = primary;
  for (const key of ['system overlay', 'runtime overlay'] as const) {
    if (e[key] == null) continue;
    let list = overlayList(e[key]);
    if (opts.replaceOverlays)
      list = key === 'system overlay' ? replaceOverlay(list, 'wwinit', WWINIT_SPLIT) : replaceOverlay(list, 'generic', GENERIC_SPLIT);
    out[key] = list;
  }
  if (isObj(e.disks)) {
    const disks: Obj = {};
    for (const [dn, d] of Object.entries(e.disks)) {
      if (!isObj(d)) {
        disks[dn] = d;
        continue;
      }
      const nd: Obj = { ...d };
      if (nd.wipe_table != null) nd.wipe_table = truthy(nd.wipe_table) ? 'true' : 'false';
      disks[dn] = nd;
    }
    out.disks = disks;
  }
  if (isObj(e.filesystems)) {
    const fss: Obj = {};
    for (const [fn, f] of Object.entries(e.filesystems)) {
      if (!isObj(f)) {
        fss[fn] = f;
        continue;
      }
      const nf: Obj = { ...f };
      if (Array.isArray(nf.mount_options)) nf.mount_options = nf.mount_options.map(str).join(' ');
      fss[fn] = nf;
    }
    out.filesystems = fss;
  }
  if (kind === 'node' && opts.addDefaults && !(Array.isArray(out.profiles) && out.profiles.length)) out.profiles = ['default'];
  if (kind === 'node' && opts.addDefaults && !(Array.isArray(out.profiles) && out.profiles.map(str).includes('default')))
    note('profiles', 'the node does not use the default profile: check its settings by hand');
  return out;
}

/** Stock values `--add-defaults` puts in the default profile where it has none (Warewulf's shipped profile). */
function addDefaultProfile(profiles: Obj): void {
  const d = (isObj(profiles.default) ? profiles.default : (profiles.default = {})) as Obj;
  if (!Array.isArray(d['system overlay']) || !d['system overlay'].length) d['system overlay'] = [...WWINIT_SPLIT];
  if (!Array.isArray(d['runtime overlay']) || !d['runtime overlay'].length) d['runtime overlay'] = [...GENERIC_SPLIT];
  const k = (isObj(d.kernel) ? d.kernel : (d.kernel = {})) as Obj;
  if (!Array.isArray(k.args) || !k.args.length) k.args = ['quiet', 'crashkernel=no', 'net.ifnames=1'];
  d.init ??= '/sbin/init';
  d.root ??= 'initramfs';
  d['ipxe template'] ??= 'default';
  const r = (isObj(d.resources) ? d.resources : (d.resources = {})) as Obj;
  r.fstab ??= [
    { spec: 'warewulf:/home', file: '/home', vfstype: 'nfs', mntops: 'defaults,nofail' },
    { spec: 'warewulf:/opt', file: '/opt', vfstype: 'nfs', mntops: 'defaults,noauto,nofail,ro' },
  ];
  const i = (isObj(d.ipmi) ? d.ipmi : (d.ipmi = {})) as Obj;
  i.template ??= 'ipmitool.tmpl';
}

/** NFS mounts an old warewulf.conf asked for (`nfs.exports`, `export paths[].mount: true`), as default-profile fstab entries. */
export function nfsMountsOf(wwconf: unknown): Obj[] {
  const nfs = isObj(wwconf) && isObj(wwconf.nfs) ? wwconf.nfs : undefined;
  if (!nfs) return [];
  const out: Obj[] = [];
  for (const p of Array.isArray(nfs.exports) ? nfs.exports : []) out.push({ spec: `warewulf:${str(p)}`, file: str(p), vfstype: 'nfs' });
  for (const e of Array.isArray(nfs['export paths']) ? nfs['export paths'] : []) {
    if (!isObj(e) || !truthy(e.mount)) continue;
    const m: Obj = { spec: `warewulf:${str(e.path)}`, file: str(e.path), vfstype: 'nfs' };
    if (e['mount options'] != null && str(e['mount options'])) m.mntops = str(e['mount options']);
    out.push(m);
  }
  return out;
}

export interface NodesUpgrade {
  nodeprofiles: Record<string, Obj>;
  nodes: Record<string, Obj>;
  notes: UpgradeNote[];
  changed: Set<string>;
}

/**
 * Upgrade a whole nodes.conf value. Entries already in the current spelling pass through untouched
 * unless an option changes them; `changed` holds `section/name` of every entry that differs.
 */
export function upgradeNodes(top: unknown, opts: UpgradeOpts = {}, wwconf?: unknown): NodesUpgrade {
  const t = isObj(top) ? top : {};
  const notes: UpgradeNote[] = [];
  const changed = new Set<string>();
  if (t.WW_INTERNAL != null) notes.push({ section: '', entry: '', key: 'WW_INTERNAL', why: 'obsolete: dropped' });
  const res: NodesUpgrade = { nodeprofiles: {}, nodes: {}, notes, changed };
  for (const [section, kind] of [
    ['nodeprofiles', 'profile'],
    ['nodes', 'node'],
  ] as const) {
    const src = isObj(t[section]) ? t[section] : {};
    for (const [name, e] of Object.entries(src)) {
      const needs = isLegacyEntry(e) || opts.addDefaults || opts.replaceOverlays;
      if (!needs) {
        res[section][name] = (e ?? {}) as Obj;
        continue;
      }
      const up = upgradeEntry(e, kind, opts, (key, why) => notes.push({ section, entry: name, key, why }));
      res[section][name] = up;
      if (JSON.stringify(up) !== JSON.stringify(e ?? {})) changed.add(`${section}/${name}`);
    }
  }
  const mounts = nfsMountsOf(wwconf);
  if (mounts.length) {
    const d = (res.nodeprofiles.default ??= {}) as Obj;
    const r = (isObj(d.resources) ? d.resources : (d.resources = {})) as Obj;
    if (r.fstab === undefined) r.fstab = mounts;
    else if (Array.isArray(r.fstab)) r.fstab = [...r.fstab, ...mounts];
    else
      notes.push({
        section: 'nodeprofiles',
        entry: 'default',
        key: 'resources.fstab',
        why: 'not a list: the NFS mounts of warewulf.conf were not added',
      });
    changed.add('nodeprofiles/default');
  }
  if (opts.addDefaults) {
    const before = JSON.stringify(res.nodeprofiles.default ?? null);
    addDefaultProfile(res.nodeprofiles);
    if (JSON.stringify(res.nodeprofiles.default) !== before) changed.add('nodeprofiles/default');
  }
  return res;
}

/** A note as one line; `line` when known. */
export function noteLine(file: string, n: UpgradeNote, line = 0): string {
  const who = n.section === 'nodes' ? `node ${n.entry}: ` : n.section === 'nodeprofiles' ? `profile ${n.entry}: ` : '';
  return `${file}${line ? `:${line}` : ''}: ${who}${n.key}: ${n.why}`;
}
