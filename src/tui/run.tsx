// Starts the TUI on the terminal. The first frame is written straight from the files (nodes.conf,
// wulf.conf) before ink, react and yoga load; then ink mounts and draws the same frame over it, and
// the status stream, started before either, fills in. Makes sure the terminal is restored on exit,
// signal or crash.
import chalk from 'chalk';
import { errorLine } from '../lib/errors.ts';
import { ConfigSource, serverUrl } from './data/config-source.ts';
import { openStore } from '../store/open.ts';
import { StatusFeed } from './data/status-feed.ts';
import { firstFrame } from './ui/frame.ts';
import type { Mounted } from './mount.tsx';
import type { Paths } from '../config/paths.ts';

/** What the TUI needs from its caller (the CLI's Ctx has it): paths, the environment, an error line. */
export interface TuiCtx {
  paths: Paths;
  env: Record<string, string | undefined>;
  err: (text: string) => void;
}

export interface TuiOptions {
  server?: string;
}

/** Leave the alternate screen, show the cursor, reset colours: safe to write more than once. */
export const RESTORE = '\x1b[?1049l\x1b[?25h\x1b[0m';
const ENTER = '\x1b[?1049h';

export async function runTui(ctx: TuiCtx, opts: TuiOptions): Promise<number> {
  // nodes.conf, or the PostgreSQL store (WULF_STORE / "store:"): then it must answer before the screen is taken
  const store = openStore(ctx.paths, ctx.env);
  const config = new ConfigSource(ctx.paths, store.kind === 'postgres' ? store : undefined);
  try {
    await config.ready;
  } catch (e) {
    await store.close();
    throw e;
  }
  const server = serverUrl(opts.server, config.snap.wulf);
  const feed = new StatusFeed({ url: server, paths: ctx.paths });
  feed.start();
  const theme = { color: !ctx.env.NO_COLOR };
  // chalk (ink's styling) switches itself off when CI is set or TERM looks plain; on a terminal we
  // need at least basic SGR for the inverse cursor row — colours stay governed by NO_COLOR (theme).
  if (process.stdout.isTTY && chalk.level === 0) chalk.level = 1;
  const stdin = process.stdin,
    stdout = process.stdout;
  const restore = () => {
    try {
      if (stdin.isTTY) stdin.setRawMode(false);
    } catch {
      /* already closed */
    }
    try {
      stdout.write(RESTORE);
    } catch {
      /* closed */
    }
  };
  let inst: Mounted | undefined;
  let signal = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signal = sig === 'SIGINT' ? 130 : sig === 'SIGHUP' ? 129 : 143;
    inst?.unmount();
  };
  let crash: unknown;
  const onCrash = (e: unknown) => {
    crash = e;
    try {
      inst?.unmount();
    } catch {
      /* ignore */
    }
    restore();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  try {
    let painted = false;
    if (stdout.isTTY) {
      const lines = firstFrame({
        snap: config.snap,
        statuses: feed.statuses,
        mode: feed.mode,
        detail: feed.detail,
        server,
        columns: stdout.columns ?? 80,
        rows: stdout.rows ?? 24,
        theme,
        now: Date.now() / 1000,
      });
      if (lines) {
        // raw mode now, so keys typed before ink reads them are neither echoed nor lost
        try {
          if (stdin.isTTY) stdin.setRawMode(true);
        } catch {
          /* not a terminal after all */
        }
        stdout.write(`${ENTER}\x1b[?25l\x1b[2J${lines.map((l, i) => `\x1b[${i + 1};1H${l}`).join('')}\x1b[0m\x1b[H`);
        painted = true;
      }
    }
    const { mount } = await import('./mount.tsx');
    if (!signal && !crash) {
      // the alternate screen is already on: ink's own switch is dropped (some terminals clear on it).
      // ink's first frame is drawn over ours without clearing, and a line of ours can be longer than
      // ink's (the server answered in between: "connecting" became "live"), so every line of that
      // first frame is erased to its end.
      const write = stdout.write;
      const unwrap = () => {
        if (stdout.write !== write) stdout.write = write;
      };
      if (painted) {
        stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
          if (chunk === ENTER) return true;
          if (typeof chunk === 'string' && chunk.includes('\n')) {
            unwrap();
            chunk = `${chunk.replace(/\n/g, '\x1b[K\n')}\x1b[K`;
          }
          return (write as (...a: unknown[]) => boolean).call(stdout, chunk, ...rest);
        }) as typeof stdout.write;
        setTimeout(unwrap, 3000).unref();
      }
      try {
        inst = mount({ paths: ctx.paths, config, feed, server, theme }, { stdin, stdout });
      } catch (e) {
        unwrap();
        throw e;
      }
      await inst.waitUntilExit();
    }
  } catch (e) {
    crash ??= e;
  } finally {
    feed.stop();
    restore();
    await store.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('SIGINT', onSignal);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  }
  if (crash) {
    ctx.err(`wulf tui: crashed: ${errorLine(crash)} (terminal restored)`);
    return 1;
  }
  return signal;
}
