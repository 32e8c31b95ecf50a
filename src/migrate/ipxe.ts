// Warewulf iPXE templates (Go syntax, their own data: .Hwaddr, .Authority, .KernelArgs...) → wulf's
// (Liquid over wulf's iPXE data: hwaddr, authority, kernelArgs...). The overlay converter knows the
// overlay data names only, so the iPXE-only fields go through it as placeholders and come out as
// wulf's iPXE names; a field wulf's iPXE data does not have is reported, never guessed.
import type { Convert } from './trees.ts';

/** Warewulf iPXE field → wulf iPXE template variable (src/http/app.ts). */
const IPXE_NAMES: Record<string, string> = {
  Hwaddr: 'hwaddr', Authority: 'authority', KernelArgs: 'kernelArgs', KernelVersion: 'kernelVersion', Cluster: 'cluster',
  ImageName: 'image', ContainerName: 'image', Ipaddr: 'ipaddr', Fqdn: 'id',
};
/** converted as they are: the converter's name is wulf's iPXE name too */
const SAME = new Set(['Id', 'Hostname']);
const PH = 'wulfipxe_';

export function convertIpxe(source: string, convert: Convert): ReturnType<Convert> {
  const problems: { line: number; message: string }[] = [];
  let pre = '';
  let last = 0;
  const re = /\{\{[\s\S]*?\}\}/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(source))) {
    const line = source.slice(0, m.index).split('\n').length;
    const action = m[0].replace(/(^|[^\w)\].$])(\$?)\.([A-Z][A-Za-z0-9]*)\b/g, (all, before: string, dollar: string, name: string) => {
      if (SAME.has(name)) return all;
      if (IPXE_NAMES[name]) return `${before}${dollar}.Tags.${PH}${name}`;
      problems.push({ line, message: `.${name} is not in wulf's iPXE template data (id, hostname, hwaddr, authority, image, kernelArgs, kernelVersion, cluster, ipaddr)` });
      return all;
    });
    pre += source.slice(last, m.index) + action;
    last = m.index + m[0].length;
  }
  pre += source.slice(last);
  if (problems.length) return { liquid: '', problems };
  const r = convert(pre);
  if (r.problems.length) return r;
  const liquid = r.liquid.replace(new RegExp(`\\btags\\.${PH}([A-Za-z0-9]+)\\b`, 'g'), (_a, name: string) => IPXE_NAMES[name]!);
  if (liquid.includes(PH)) return { liquid: '', problems: [{ line: 0, message: 'an iPXE field could not be converted' }] };
  return { liquid, problems: [] };
}
