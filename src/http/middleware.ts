// The provisioning requests' middleware, in the order app.ts runs it: the path guard (every request),
// then for /<stage>/<mac> and /provision/<mac>: the peer, the stage, MAC and node, status recording,
// and the access checks (own address, asset key, runtime transport). Each sets typed context
// variables (context.ts) or answers the request itself; the artifact handlers come after.
import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { getConnInfo } from 'hono/bun';
import { normalizeMac } from '../lib/ip.ts';
import type { Logger } from '../lib/log.ts';
import type { Stage } from '../runtime/board.ts';
import { canonicalIp, type HttpEnv, type Peer, type Providers } from './context.ts';

/** Refuse paths with `..` or encoded slashes before routing. */
export function saneRequestPath(url: string): boolean {
  const path = url.replace(/^[a-z]+:\/\/[^/]+/i, '').split('?')[0]!;
  return !/%2f|%5c|%2e%2e/i.test(path) && !path.split('/').some((seg) => seg === '..' || seg === '.');
}

export const pathGuard = (log: Logger): MiddlewareHandler<HttpEnv> =>
  createMiddleware<HttpEnv>(async (c, next) => {
    if (!saneRequestPath(c.req.url)) {
      log.limited('http-badpath', 'warn', 'http', `refused path ${new URL(c.req.url).pathname.slice(0, 80)}`);
      // Content-Length spelled out: hono answers HEAD with the GET response's headers and no body,
      // and Bun would count that body as 0 (a guard in front of the app had the length 9 for HEAD too)
      return new Response('bad path\n', { status: 400, headers: { 'Content-Length': '9' } });
    }
    await next();
  });

/** The peer: handed in by the caller (app.request() in tests), else hono's getConnInfo on the Bun server. */
export const peer = createMiddleware<HttpEnv>(async (c, next) => {
  let who: Peer | undefined = c.env?.peer;
  if (!who && c.env?.server) {
    const { remote } = getConnInfo(c);
    who = remote.address !== undefined ? { address: remote.address, port: remote.port! } : undefined;
  }
  c.set('peer', who);
  c.set('ip', who?.address?.replace(/^::ffff:/, '') ?? '');
  await next();
});

// A Map, not a plain object: a peer's word (a stage in the path) must never find Object.prototype
// members (`constructor`, `__proto__`, `toString`…).
const STAGE_ROUTES = new Map<string, Stage>([
  ['ipxe', 'ipxe'],
  ['kernel', 'kernel'],
  ['image', 'image'],
  ['container', 'image'],
  ['system', 'system'],
  ['overlay-system', 'system'],
  ['runtime', 'runtime'],
  ['overlay-runtime', 'runtime'],
]);

/**
 * The stage (from the path or the query), the MAC and the node it belongs to: 400 for a stage or MAC
 * that is none, 404 for an unknown MAC (iPXE gets `unknownIpxe`'s script), both before any lookup.
 */
export const resolveNode = (
  p: Providers,
  stageOf: (c: Context<HttpEnv>) => string | undefined,
  unknownIpxe: (c: Context<HttpEnv>) => Promise<Response>,
) =>
  createMiddleware<HttpEnv>(async (c, next) => {
    const stage = STAGE_ROUTES.get(stageOf(c) ?? '');
    const mac = normalizeMac(c.req.param('mac') ?? '');
    const ip = c.var.ip;
    if (!stage || !mac) return new Response('bad request\n', { status: 400 });
    c.set('stage', stage);
    c.set('mac', mac);
    const node = await p.nodeByMac(mac);
    c.set('settings', p.settings());
    if (!node) {
      p.log.limited(`http-unknown-${ip}`, 'info', 'http', `unknown MAC asked for ${stage}`, { mac, ip });
      p.status.seenUnknown(mac, ip, `http ${stage}`);
      return stage === 'ipxe' ? unknownIpxe(c) : new Response('unknown node\n', { status: 404 });
    }
    c.set('node', node);
    c.set('agent', stage === 'runtime' && c.req.query('agent') !== undefined);
    await next();
  });

/** Puts what a check or handler set as `sent` on the status board, once the response is made. */
export const recordStatus = (p: Providers) =>
  createMiddleware<HttpEnv>(async (c, next) => {
    await next();
    const s = c.var.sent;
    if (s) p.status.record(c.var.node.id, c.var.stage, s.sent, c.var.ip, s.opts);
  });

/**
 * A node's overlays go to that node only (secure address mode): checked before the asset key, so
 * another machine learns nothing about the key either. (Warewulf trusts the MAC in the URL.)
 */
export const ownAddress = (p: Providers) =>
  createMiddleware<HttpEnv>(async (c, next) => {
    const { stage, node, ip } = c.var;
    if ((stage === 'system' || stage === 'runtime') && c.var.settings.secureAddress) {
      const mine = new Set((p.nodeAddresses?.(node) ?? []).map(canonicalIp));
      if (!ip || !mine.has(canonicalIp(ip))) {
        c.set('sent', { sent: 'WRONG_ADDRESS', opts: { refused: true } });
        p.log.limited(
          `http-addr-${node.id}`,
          'warn',
          'http',
          `${stage} overlay of ${node.id} refused: the request came from an address the node does not hold`,
          { node: node.id, ip },
        );
        return new Response(`the ${stage} overlay of ${node.id} is served only to the node's own address\n`, { status: 403 });
      }
    }
    await next();
  });

export const assetKey = (p: Providers) =>
  createMiddleware<HttpEnv>(async (c, next) => {
    const { node, ip } = c.var;
    const want = node.data.assetKey;
    if (want && c.req.query('assetkey') !== want) {
      c.set('sent', { sent: 'BAD_ASSET', opts: { agent: c.var.agent } });
      p.log.limited(`http-asset-${node.id}`, 'warn', 'http', 'wrong asset key', { node: node.id, ip });
      return new Response('wrong asset key\n', { status: 401 });
    }
    await next();
  });

/** Secure mode: the runtime overlay over HTTPS only when TLS is on, and to a privileged source port only. */
export const runtimeTransport = (p: Providers) =>
  createMiddleware<HttpEnv>(async (c, next) => {
    const { stage, node, ip, peer: from, settings: s } = c.var;
    if (stage === 'runtime' && s.secure && s.tls && !c.env?.tls) {
      c.set('sent', { sent: 'HTTPS_ONLY', opts: { refused: true } });
      p.log.limited(
        `http-plain-${node.id}`,
        'warn',
        'http',
        `runtime overlay of ${node.id} refused over plain HTTP (secure mode serves it over HTTPS only)`,
        { node: node.id, ip },
      );
      return new Response(`runtime overlay over HTTPS only (port ${s.tlsPort ?? ''})\n`, { status: 403 });
    }
    if (stage === 'runtime' && s.secure && !(from && from.port < 1024)) {
      p.log.limited(`http-secure-${node.id}`, 'warn', 'http', 'runtime overlay refused: source port is not privileged', {
        node: node.id,
        ip,
        port: from?.port,
      });
      return new Response('runtime overlay needs a privileged source port\n', { status: 403 });
    }
    await next();
  });
