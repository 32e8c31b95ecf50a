// GET /kernel/<mac> and /image/<mac> (alias /container/<mac>): the kernel and the image of the node's
// image, as files; a 404 names the image, since an image not built yet is the usual reason.
import type { Context } from 'hono';
import { serveArtifact } from './artifact.ts';
import type { HttpEnv, Providers } from './context.ts';

export function bootFileHandler(p: Providers) {
  return (c: Context<HttpEnv>): Promise<Response> => {
    const { stage, node } = c.var;
    const missing = ` (image "${node.data.imageName ?? ''}" built?)`;
    return serveArtifact(c, p, (node) => (stage === 'kernel' ? p.kernel(node) : p.image(node)), missing);
  };
}
