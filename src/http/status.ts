// GET /status (the board as Warewulf-shaped JSON) and GET /status/events (server-sent events: the
// whole board first, then one event per node change, a comment every 20 s to keep the stream open).
import type { Hono } from 'hono';
import type { StatusBoard } from '../status/board.ts';
import type { HttpEnv } from './context.ts';

export function statusRoutes(app: Hono<HttpEnv>, status: StatusBoard): void {
  app.get('/status', (c) => c.json(status.json()));
  app.get('/status/events', () => {
    const enc = new TextEncoder();
    let off = () => {};
    const stream = new ReadableStream({
      start(ctl) {
        ctl.enqueue(enc.encode(`retry: 2000\ndata: ${JSON.stringify(status.json())}\n\n`));
        // a comment line every 20 s keeps quiet streams inside the server's idle timeout
        const ping = setInterval(() => { try { ctl.enqueue(enc.encode(':\n\n')); } catch { off(); } }, 20_000);
        const unsub = status.subscribe((s) => {
          try { ctl.enqueue(enc.encode(`data: ${JSON.stringify({ ...(status.json([s.node]).nodes[s.node] as object) })}\n\n`)); } catch { off(); }
        });
        off = () => { clearInterval(ping); unsub(); };
      },
      cancel() { off(); },
    });
    return new Response(stream, { headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' } });
  });
}
