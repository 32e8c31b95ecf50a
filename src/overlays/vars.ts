// The variables an overlay template reads (`wulf overlay info`), each with a line of help taken from
// the node field schema, or from the names the build adds (netdevs, allNodes, server, build…).
import { analyzeSync, Liquid } from 'liquidjs';
import { fields } from '../config/schema.ts';
import { fail } from '../lib/errors.ts';
import { checkOverlayName, cleanRel, readOverlay } from './sources.ts';

const EXTRA: Record<string, string> = {
  id: 'the node name',
  hostname: 'the node name',
  netdevs:
    'the network devices (list; each has primary, prefix, ipCIDR, network, networkCIDR, ipCIDR6, ifname, label, uuid, physical, usable, ' +
    'vlanId, parent, parentIfname, parentUuid, master, masterIfname)',
  ifname: 'the interface name: device; bondN / parent.id / vlanID for bonds and VLANs without one; else null (match by hwaddr)',
  label: 'ifname, else wulf-<netdev>',
  uuid: 'a stable UUID for node and netdev',
  netdev: 'network devices by name',
  primary: 'the primary network device',
  allNodes: 'every node (read lazily)',
  server: 'the wulf server (wulf.conf)',
  build: 'build facts: host, time, unix, source, overlay',
  ipCIDR: 'address/prefix',
  prefix: 'prefix length',
  networkCIDR: 'network/prefix',
  argsString: 'kernel arguments joined',
};

/** Help for one variable path (e.g. netdevs.ifname, ipmi.ipaddr, server.port); '' when none is known. */
export function variableHelp(v: string): string {
  const segs = v.split('.');
  const last = segs[segs.length - 1]!;
  if (segs[0] === 'server' && segs[1] === 'syncuser')
    return `image syncuser's merge of the ${segs[2]} texts that follow (controller, image…)`;
  if (segs[0] === 'server') return 'wulf.conf: ' + segs.slice(1).join('.');
  const scoped = segs[0] === 'ipmi' || segs.length < 2 ? fields : [...fields.filter((x) => x.scope === 'netdev'), ...fields];
  const fld =
    fields.find((x) => x.scope === 'node' && x.path.join('.') === segs.join('.')) ?? scoped.find((x) => x.path[x.path.length - 1] === last);
  return EXTRA[last] ?? EXTRA[segs[0]!] ?? (fld ? `${fld.help}${fld.flag ? ` (--${fld.flag})` : ''}` : '');
}

/** The variables a template (FILE or FILE.ww) reads, sorted, its own locals left out, each with help. */
export function templateVariables(siteDir: string, overlay: string, file: string): { name: string; help: string }[] {
  const src = readOverlay(siteDir, checkOverlayName(overlay));
  const rel = cleanRel(file);
  const f = src.files.find((x) => x.rel === rel) ?? src.files.find((x) => x.rel === rel + '.ww');
  if (!f || !f.rel.endsWith('.ww')) fail(`overlay ${overlay} has no template ${rel}`);
  const liquid = new Liquid();
  for (const t of ['file', 'softlink', 'abort', 'nobackup', 'include_file', 'include_image'])
    liquid.registerTag(t, {
      parse() {},
      render() {
        return '';
      },
    });
  const a = analyzeSync(liquid.parse(new TextDecoder().decode(f.data)));
  const locals = new Set(Object.keys(a.locals));
  const vars = [
    ...new Set(
      Object.values(a.variables)
        .flat()
        .map((v) => v.toString().replace(/\[["']?([^\]"']+)["']?\]/g, '.$1')),
    ),
  ]
    .filter((v) => !locals.has(v))
    .sort();
  return vars.map((name) => ({ name, help: variableHelp(name) }));
}
