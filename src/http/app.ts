// The provisioning routes (hono). Everything node-specific is identified by the MAC in the path;
// providers are handed in, so tests run the app with app.request() and fakes.
import { Hono } from 'hono';
import { Liquid } from 'liquidjs';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeMac } from '../lib/ip.ts';
import type { Logger } from '../lib/log.ts';
import type { MergedNode } from '../config/cascade.ts';
import type { StatusBoard, Stage } from '../status/board.ts';
import { bytesResponse, fileResponse } from './files.ts';
import { goSyntaxError } from '../overlays/gotemplate/index.ts';
import { GO_FILTERS } from '../overlays/gotemplate/filters.ts';
import defaultIpxe from './ipxe/default.ipxe' with { type: 'text' };
import unconfiguredIpxe from './ipxe/unconfigured.ipxe' with { type: 'text' };
import localdiskIpxe from './ipxe/localdisk.ipxe' with { type: 'text' };

// Maps, not plain objects: a peer's word (a stage in the path) or a template name must never find
// Object.prototype members (`constructor`, `__proto__`, `toString`…).
const BUILTIN = new Map<string, string>([['default', defaultIpxe], ['unconfigured', unconfiguredIpxe], ['localdisk', localdiskIpxe]]);

export interface Artifact { path: string; size: number; etag: string }
export interface Peer { address: string; port: number }
export interface Providers {
  log: Logger;
  status: StatusBoard;
  /** node id for a MAC, discovering a `discoverable` node for an unknown one */
  nodeByMac(mac: string): Promise<MergedNode | undefined>;
  kernel(node: MergedNode): Artifact | undefined;
  image(node: MergedNode): Artifact | undefined;
  overlay(node: MergedNode, kind: 'system' | 'runtime'): Promise<Artifact | undefined>;
  ipxeBinary(name: string): Uint8Array | undefined;
  /** the addresses a node holds: its nodes.conf addresses and its MACs' current DHCP leases */
  nodeAddresses?(node: MergedNode): string[];
  settings(): Settings;
}
export interface Settings {
  authority: string; secure: boolean; confDir: string;
  /** system and runtime overlays only to an address the node holds (nodeAddresses) */
  secureAddress?: boolean;
  /** an HTTPS listener runs on tlsPort: in secure mode the runtime overlay is served there only */
  tls?: boolean; tlsPort?: number;
}
/** What the listener tells the app about a request. */
export interface Bindings { peer?: Peer; tls?: boolean }

/** An address in one spelling: no IPv4-mapped prefix, IPv6 compressed and lower case. */
export function canonicalIp(a: string): string {
  const v = a.trim().toLowerCase().replace(/^::ffff:(?=\d+\.)/, '').replace(/^\[|\]$/g, '');
  if (!v.includes(':')) return v;
  try { return new URL(`http://[${v}]/`).hostname.slice(1, -1); } catch { return v; }
}

const liquid = new Liquid({ strictVariables: false });
// the filters templates converted from Go use (wulf overlay convert)
for (const [k, f] of Object.entries(GO_FILTERS)) liquid.registerFilter(k, f);
const STAGE_ROUTES = new Map<string, Stage>([
  ['ipxe', 'ipxe'], ['kernel', 'kernel'], ['image', 'image'], ['container', 'image'], ['system', 'system'], ['overlay-system', 'system'], ['runtime', 'runtime'], ['overlay-runtime', 'runtime'],
]);

export function createApp(p: Providers) {
  const app = new Hono<{ Bindings: Bindings }>();
  /** site iPXE template path → its last text without Go syntax */
  const lastGoodIpxe = new Map<string, string>();

  app.get('/status', (c) => c.json(p.status.json()));
  app.get('/status/events', (c) => {
    const enc = new TextEncoder();
    let off = () => {};
    const stream = new ReadableStream({
      start(ctl) {
        ctl.enqueue(enc.encode(`retry: 2000\ndata: ${JSON.stringify(p.status.json())}\n\n`));
        // a comment line every 20 s keeps quiet streams inside the server's idle timeout
        const ping = setInterval(() => { try { ctl.enqueue(enc.encode(':\n\n')); } catch { off(); } }, 20_000);
        const unsub = p.status.subscribe((s) => {
          try { ctl.enqueue(enc.encode(`data: ${JSON.stringify({ ...(p.status.json([s.node]).nodes[s.node] as object) })}\n\n`)); } catch { off(); }
        });
        off = () => { clearInterval(ping); unsub(); };
      },
      cancel() { off(); },
    });
    return new Response(stream, { headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' } });
  });

  app.on(['GET', 'HEAD'], '/tftp/:file', (c) => {
    const name = c.req.param('file');
    if (!/^[A-Za-z0-9._-]+$/.test(name)) return c.text('bad file name\n', 400);
    const data = p.ipxeBinary(name);
    return data ? bytesResponse(c.req.raw, data, `${name}-${data.length}`) : c.text('not found\n', 404);
  });

  const serveStage = async (c: { req: { raw: Request; query(k: string): string | undefined }; env: Bindings | undefined }, routeStage: string, rawMac: string): Promise<Response> => {
    const stage = STAGE_ROUTES.get(routeStage);
    const mac = normalizeMac(rawMac);
    const peer = c.env?.peer;
    const ip = peer?.address?.replace(/^::ffff:/, '') ?? '';
    if (!stage || !mac) return new Response('bad request\n', { status: 400 });
    const node = await p.nodeByMac(mac);
    const s = p.settings();
    if (!node) {
      p.log.limited(`http-unknown-${ip}`, 'info', 'http', `unknown MAC asked for ${stage}`, { mac, ip });
      p.status.seenUnknown(mac, ip, `http ${stage}`);
      if (stage !== 'ipxe') return new Response('unknown node\n', { status: 404 });
      return bytesResponse(c.req.raw, new TextEncoder().encode(await liquid.parseAndRender(unconfiguredIpxe, { hwaddr: mac, authority: s.authority })), `unconfigured-${mac}`, 'text/plain');
    }
    // the agent marks its periodic runtime fetches (?agent=…): they tell a live node from a dead one
    const agent = stage === 'runtime' && c.req.query('agent') !== undefined;
    // A node's overlays go to that node only: checked before the asset key, so another machine learns
    // nothing about the key either. (Warewulf trusts the MAC in the URL.)
    if ((stage === 'system' || stage === 'runtime') && s.secureAddress) {
      const mine = new Set((p.nodeAddresses?.(node) ?? []).map(canonicalIp));
      if (!ip || !mine.has(canonicalIp(ip))) {
        p.status.record(node.id, stage, 'WRONG_ADDRESS', ip, { refused: true });
        p.log.limited(`http-addr-${node.id}`, 'warn', 'http', `${stage} overlay of ${node.id} refused: the request came from an address the node does not hold`, { node: node.id, ip });
        return new Response(`the ${stage} overlay of ${node.id} is served only to the node's own address\n`, { status: 403 });
      }
    }
    const want = node.data.assetKey;
    if (want && c.req.query('assetkey') !== want) {
      p.status.record(node.id, stage, 'BAD_ASSET', ip, { agent });
      p.log.limited(`http-asset-${node.id}`, 'warn', 'http', 'wrong asset key', { node: node.id, ip });
      return new Response('wrong asset key\n', { status: 401 });
    }
    if (stage === 'runtime' && s.secure && s.tls && !c.env?.tls) {
      p.status.record(node.id, stage, 'HTTPS_ONLY', ip, { refused: true });
      p.log.limited(`http-plain-${node.id}`, 'warn', 'http', `runtime overlay of ${node.id} refused over plain HTTP (secure mode serves it over HTTPS only)`, { node: node.id, ip });
      return new Response(`runtime overlay over HTTPS only (port ${s.tlsPort ?? ''})\n`, { status: 403 });
    }
    if (stage === 'runtime' && s.secure && !(peer && peer.port < 1024)) {
      p.log.limited(`http-secure-${node.id}`, 'warn', 'http', 'runtime overlay refused: source port is not privileged', { node: node.id, ip, port: peer?.port });
      return new Response('runtime overlay needs a privileged source port\n', { status: 403 });
    }
    if (stage === 'ipxe') {
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
            p.status.record(node.id, 'ipxe', 'ERROR', ip);
            return new Response(`${go}\n`, { status: 500 });
          }
          tpl = good;
        } else { lastGoodIpxe.set(site, text); tpl = text; }
      }
      const text = await liquid.parseAndRender(tpl, {
        id: node.id, hostname: node.id, hwaddr: mac, authority: s.authority, secure: s.secure, image: node.data.imageName ?? '',
        kernelArgs: (node.data.kernel?.args ?? []).join(' '), kernelVersion: node.data.kernel?.version ?? '', cluster: node.data.clusterName ?? '',
        ipaddr: node.primary ? node.data.networkDevices?.[node.primary]?.ipaddr ?? '' : '',
        // what Warewulf's iPXE templates also read (.Tags, .Root, .TLS, .Port), for templates converted from them
        tags: node.data.tags ?? {}, root: node.data.root || 'initramfs', tls: !!s.tls, port: s.authority.slice(s.authority.lastIndexOf(':') + 1),
      });
      p.status.record(node.id, 'ipxe', `${name}.ipxe`, ip);
      return bytesResponse(c.req.raw, new TextEncoder().encode(text), `${node.id}-${Bun.hash(text).toString(16)}`, 'text/plain');
    }
    let art: Artifact | undefined;
    try {
      art = stage === 'kernel' ? p.kernel(node) : stage === 'image' ? p.image(node) : stage === 'system' || stage === 'runtime' ? await p.overlay(node, stage) : undefined;
    } catch (e) {
      p.log.limited(`http-build-${node.id}-${stage}`, 'error', 'http', `${stage} for ${node.id} failed: ${(e as Error).message}`);
      p.status.record(node.id, stage, 'ERROR', ip, { agent });
      return new Response(`${stage} not available: ${(e as Error).message.split('\n')[0]}\n`, { status: 500 });
    }
    if (!art) {
      p.status.record(node.id, stage, 'NOT_FOUND', ip, { agent });
      return new Response(`no ${stage} for ${node.id}${stage === 'image' || stage === 'kernel' ? ` (image "${node.data.imageName ?? ''}" built?)` : ''}\n`, { status: 404 });
    }
    const res = fileResponse(c.req.raw, art.path, art.size, art.etag);
    if (c.req.raw.method === 'GET' && res.status < 300) p.status.record(node.id, stage, art.path.split('/').pop() ?? stage, ip, { bytes: Number(res.headers.get('content-length') ?? 0), agent });
    return res;
  };

  app.on(['GET', 'HEAD'], '/provision/:mac', (c) => serveStage(c, c.req.query('stage') ?? '', c.req.param('mac')));
  app.on(['GET', 'HEAD'], '/:stage/:mac', (c) => serveStage(c, c.req.param('stage'), c.req.param('mac')));
  app.all('*', (c) => c.text('not found\n', 404));
  return app;
}

/** Refuse paths with `..` or encoded slashes before routing. */
export function saneRequestPath(url: string): boolean {
  const path = url.replace(/^[a-z]+:\/\/[^/]+/i, '').split('?')[0]!;
  return !/%2f|%5c|%2e%2e/i.test(path) && !path.split('/').some((seg) => seg === '..' || seg === '.');
}

export function statArtifact(path: string): Artifact | undefined {
  try { const st = statSync(path); return st.isFile() ? { path, size: st.size, etag: `${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}` } : undefined; } catch { return undefined; }
}
