// GET /system/<mac> and /runtime/<mac> (aliases /overlay-system/, /overlay-runtime/): the node's
// overlay archive, built on demand by the overlay service. Who may have it (own address, asset
// key, HTTPS and a privileged port for the runtime overlay in secure mode) the middleware decided.
import type { Context } from 'hono';
import { serveArtifact } from './artifact.ts';
import type { HttpEnv, Providers } from './context.ts';

export function overlayHandler(p: Providers) {
  return (c: Context<HttpEnv>): Promise<Response> => {
    const kind = c.var.stage === 'system' ? 'system' : 'runtime';
    return serveArtifact(c, p, (node) => p.overlay(node, kind));
  };
}
