// GET /status (the board as Warewulf-shaped JSON) and GET /status/events (server-sent events through
// hono's streamSSE: the whole board first, then one event per node change, a comment every 20 s).
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { StatusBoard } from '../runtime/board.ts';
import type { HttpEnv } from './context.ts';

export function statusRoutes(app: Hono<HttpEnv>, status: StatusBoard): void {
  app.get('/status', (c) => c.json(status.json()));
  app.get('/status/events', (c) =>
    c.req.raw.method === 'HEAD'
      ? // headers only: hono answers HEAD through this GET handler and drops the body without aborting the
        // stream, so each HEAD would leave a subscription and a timer behind
        c.body(null, 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      : streamSSE(c, async (stream) => {
          // the snapshot and its retry line in one write, retry first (writeSSE puts it after the data);
          // it and the subscription happen before the first await, so no change falls between them
          void stream.write(`retry: 2000\ndata: ${JSON.stringify(status.json())}\n\n`);
          // a comment line every 20 s keeps quiet streams inside the server's idle timeout (writeSSE has no comments)
          const ping = setInterval(() => void stream.write(':\n\n'), 20_000);
          const unsub = status.subscribe(
            (s) => void stream.writeSSE({ data: JSON.stringify({ ...(status.json([s.node]).nodes[s.node] as object) }) }),
          );
          // until the client goes (or the server stops): streamSSE closes the stream when this returns
          await new Promise<void>((resolve) => stream.onAbort(resolve));
          clearInterval(ping);
          unsub();
        }),
  );
}
