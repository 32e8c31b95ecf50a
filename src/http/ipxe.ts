// GET /ipxe/<mac>: the node's iPXE script, rendered from its template (a site one in
// <confDir>/ipxe/<name>.ipxe, else a built-in); an unknown MAC gets a script that waits and retries.
import type { Context } from 'hono';
import { Liquid } from 'liquidjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesResponse } from './files.ts';
import type { HttpEnv, Providers } from './context.ts';
import { goSyntaxError } from '../lib/go-syntax.ts';
import { GO_FILTERS } from '../lib/go-filters.ts';
import defaultIpxe from './ipxe/default.ipxe' with { type: 'text' };
import unconfiguredIpxe from './ipxe/unconfigured.ipxe' with { type: 'text' };
import localdiskIpxe from './ipxe/localdisk.ipxe' with { type: 'text' };

// A Map, not a plain object: a template name must never find Object.prototype members.
const BUILTIN = new Map<string, string>([
  ['default', defaultIpxe],
  ['unconfigured', unconfiguredIpxe],
  ['localdisk', localdiskIpxe],
]);

const liquid = new Liquid({ strictVariables: false });
// the filters templates converted from Go use (wulf overlay convert)
for (const [k, f] of Object.entries(GO_FILTERS)) liquid.registerFilter(k, f);

/** The script for a MAC no node has: it prints the MAC, sleeps and asks again. */
export async function unknownIpxe(c: Context<HttpEnv>): Promise<Response> {
  const { mac, settings: s } = c.var;
  return bytesResponse(
    c.req.raw,
    new TextEncoder().encode(await liquid.parseAndRender(unconfiguredIpxe, { hwaddr: mac, authority: s.authority })),
    `unconfigured-${mac}`,
    'text/plain',
  );
}

export function ipxeHandler(p: Providers) {
  /** site iPXE template path → its last text without Go syntax */
  const lastGoodIpxe = new Map<string, string>();
  return async (c: Context<HttpEnv>): Promise<Response> => {
    const { node, mac, settings: s } = c.var;
    const name = node.data.ipxeTemplate || 'default';
    const site = join(s.confDir, 'ipxe', `${name}.ipxe`);
    let tpl = BUILTIN.get(name) ?? defaultIpxe;
    if (/^[A-Za-z0-9._-]+$/.test(name) && existsSync(site)) {
      const text = readFileSync(site, 'utf8');
      // a Warewulf (Go syntax) template would render into a broken script served with 200: refused,
      // and the last good version of that file keeps serving (none yet: an error, never a guess)
      const go = goSyntaxError(site, text);
      if (go) {
        p.log.limited(`http-ipxe-go-${site}`, 'error', 'http', go, { node: node.id });
        const good = lastGoodIpxe.get(site);
        if (good === undefined) {
          c.set('sent', { sent: 'ERROR' });
          return new Response(`${go}\n`, { status: 500 });
        }
        tpl = good;
      } else {
        lastGoodIpxe.set(site, text);
        tpl = text;
      }
    }
    const text = await liquid.parseAndRender(tpl, {
      id: node.id,
      hostname: node.id,
      hwaddr: mac,
      authority: s.authority,
      secure: s.secure,
      image: node.data.imageName ?? '',
      kernelArgs: (node.data.kernel?.args ?? []).join(' '),
      kernelVersion: node.data.kernel?.version ?? '',
      cluster: node.data.clusterName ?? '',
      ipaddr: node.primary ? (node.data.networkDevices?.[node.primary]?.ipaddr ?? '') : '',
      // what Warewulf's iPXE templates also read (.Tags, .Root, .TLS, .Port), for templates converted from them
      tags: node.data.tags ?? {},
      root: node.data.root || 'initramfs',
      tls: !!s.tls,
      port: s.authority.slice(s.authority.lastIndexOf(':') + 1),
    });
    c.set('sent', { sent: `${name}.ipxe` });
    return bytesResponse(c.req.raw, new TextEncoder().encode(text), `${node.id}-${Bun.hash(text).toString(16)}`, 'text/plain');
  };
}
