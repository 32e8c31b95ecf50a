// What the kernel, image and overlay handlers share: one artifact from a provider, served as a file
// (Range, ETag, HEAD) and recorded with its bytes, or a 500 when building it failed, a 404 when none,
// a 503 with Retry-After while it is being fetched from a peer.
import type { Context } from 'hono';
import type { MergedNode } from '../config/cascade.ts';
import { fileResponse } from './files.ts';
import { isPending, type HttpEnv, type Providers, type Served } from './context.ts';

export async function serveArtifact(
  c: Context<HttpEnv>,
  p: Providers,
  find: (node: MergedNode) => Served | Promise<Served>,
  missing = '',
): Promise<Response> {
  const { node, stage, agent } = c.var;
  let art: Served;
  try {
    art = await find(node);
  } catch (e) {
    p.log.limited(`http-build-${node.id}-${stage}`, 'error', 'http', `${stage} for ${node.id} failed: ${(e as Error).message}`);
    c.set('sent', { sent: 'ERROR', opts: { agent } });
    return new Response(`${stage} not available: ${(e as Error).message.split('\n')[0]}\n`, { status: 500 });
  }
  if (!art) {
    c.set('sent', { sent: 'NOT_FOUND', opts: { agent } });
    return new Response(`no ${stage} for ${node.id}${missing}\n`, { status: 404 });
  }
  if (isPending(art)) {
    // not here yet (fetched from a peer by digest): iPXE retries after Retry-After; never other bytes
    c.set('sent', { sent: 'FETCHING', opts: { refused: true, agent } });
    return new Response(`${stage} for ${node.id} is being fetched (${art.reason}); retry in ${art.retryAfter} s\n`, {
      status: 503,
      headers: { 'Retry-After': String(art.retryAfter) },
    });
  }
  const res = fileResponse(c.req.raw, art.path, art.size, art.etag);
  if (c.req.raw.method === 'GET' && res.status < 300)
    c.set('sent', { sent: art.path.split('/').pop() ?? stage, opts: { bytes: Number(res.headers.get('content-length') ?? 0), agent } });
  return res;
}
