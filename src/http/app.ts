// The provisioning routes (hono). Everything node-specific is identified by the MAC in the path;
// providers are handed in, so tests run the app with app.request() and fakes. This file composes:
// the middleware (middleware.ts) resolves and checks a request, one handler per artifact answers it.
import { Hono, type Context } from 'hono';
import { statSync } from 'node:fs';
import { bytesResponse, fileResponse } from './files.ts';
import type { Artifact, HttpEnv, Providers } from './context.ts';
import { pathGuard, peer, resolveNode, recordStatus, ownAddress, assetKey, runtimeTransport } from './middleware.ts';
import { ipxeHandler, unknownIpxe } from './ipxe.ts';
import { bootFileHandler } from './boot-files.ts';
import { overlayHandler } from './overlays.ts';
import { statusRoutes } from './status.ts';

export {
  canonicalIp,
  isPending,
  type Artifact,
  type Pending,
  type Served,
  type Bindings,
  type Peer,
  type PeerSource,
  type Providers,
  type Settings,
} from './context.ts';
export { saneRequestPath } from './middleware.ts';

export function createApp(p: Providers) {
  const app = new Hono<HttpEnv>();
  app.use('*', pathGuard(p.log));
  statusRoutes(app, p.status);

  app.on(['GET', 'HEAD'], '/tftp/:file', (c) => {
    const name = c.req.param('file');
    if (!/^[A-Za-z0-9._-]+$/.test(name)) return c.text('bad file name\n', 400);
    const data = p.ipxeBinary(name);
    return data ? bytesResponse(c.req.raw, data, `${name}-${data.length}`) : c.text('not found\n', 404);
  });

  // peers fetch built artifacts by digest (src/serve/artifacts.ts): the digest is the whole name, never a path
  app.on(['GET', 'HEAD'], '/artifacts/sha256/:digest', async (c) => {
    const digest = c.req.param('digest');
    if (!/^[0-9a-f]{64}$/.test(digest)) return c.text('bad digest\n', 400);
    const a = await p.artifactByDigest?.(digest);
    return a ? fileResponse(c.req.raw, a.path, a.size, a.etag) : c.text('not found\n', 404);
  });

  // one handler per artifact, chosen by the stage resolveNode set
  const bootFile = bootFileHandler(p),
    overlay = overlayHandler(p);
  const handlers = new Map([
    ['ipxe', ipxeHandler(p)],
    ['kernel', bootFile],
    ['image', bootFile],
    ['system', overlay],
    ['runtime', overlay],
  ]);
  const provisioning = (stageOf: (c: Context<HttpEnv>) => string | undefined) =>
    [
      peer,
      resolveNode(p, stageOf, unknownIpxe),
      recordStatus(p),
      ownAddress(p),
      assetKey(p),
      runtimeTransport(p),
      (c: Context<HttpEnv>) => handlers.get(c.var.stage)!(c),
    ] as const;
  app.on(['GET', 'HEAD'], '/provision/:mac', ...provisioning((c) => c.req.query('stage')));
  app.on(['GET', 'HEAD'], '/:stage/:mac', ...provisioning((c) => c.req.param('stage')));
  app.all('*', (c) => c.text('not found\n', 404));
  return app;
}

export function statArtifact(path: string): Artifact | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? { path, size: st.size, etag: `${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}` } : undefined;
  } catch {
    return undefined;
  }
}
