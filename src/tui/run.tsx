// Starts the TUI on the terminal: loads ink (lazily — only this verb pays for it), wires the
// config and status sources, and makes sure the terminal is restored on exit, signal or crash.
import chalk from 'chalk';
import { render } from 'ink';
import type { Ctx } from '../cli/command.ts';
import { errorLine } from '../lib/errors.ts';
import { App } from './app.tsx';
import { ConfigSource, serverUrl } from './data/config-source.ts';
import { StatusFeed } from './data/status-feed.ts';

export interface TuiOptions { server?: string }

/** Leave the alternate screen, show the cursor, reset colours: safe to write more than once. */
export const RESTORE = '\x1b[?1049l\x1b[?25h\x1b[0m';

export async function runTui(ctx: Ctx, opts: TuiOptions): Promise<number> {
  const config = new ConfigSource(ctx.paths);
  const server = serverUrl(opts.server, config.snap.wulf);
  const feed = new StatusFeed({ url: server, paths: ctx.paths });
  feed.start();
  const theme = { color: !ctx.env.NO_COLOR };
  // chalk (ink's styling) switches itself off when CI is set or TERM looks plain; on a terminal we
  // need at least basic SGR for the inverse cursor row — colours stay governed by NO_COLOR (theme).
  if (process.stdout.isTTY && chalk.level === 0) chalk.level = 1;
  const stdin = process.stdin, stdout = process.stdout;
  const restore = () => {
    try { if (stdin.isTTY) stdin.setRawMode(false); } catch { /* already closed */ }
    try { stdout.write(RESTORE); } catch { /* closed */ }
  };
  const inst = render(<App paths={ctx.paths} config={config} feed={feed} server={server} theme={theme} />, {
    stdout, stdin, exitOnCtrlC: false, patchConsole: true, maxFps: 10, incrementalRendering: true, alternateScreen: true, interactive: true,
  });
  let signal = 0;
  const onSignal = (sig: NodeJS.Signals) => { signal = sig === 'SIGINT' ? 130 : sig === 'SIGHUP' ? 129 : 143; inst.unmount(); };
  let crash: unknown;
  const onCrash = (e: unknown) => { crash = e; try { inst.unmount(); } catch { /* ignore */ } restore(); };
  process.on('SIGTERM', onSignal); process.on('SIGHUP', onSignal); process.on('SIGINT', onSignal);
  process.on('uncaughtException', onCrash); process.on('unhandledRejection', onCrash);
  try {
    await inst.waitUntilExit();
  } catch (e) {
    crash ??= e;
  } finally {
    feed.stop();
    restore();
    process.off('SIGTERM', onSignal); process.off('SIGHUP', onSignal); process.off('SIGINT', onSignal);
    process.off('uncaughtException', onCrash); process.off('unhandledRejection', onCrash);
  }
  if (crash) { ctx.err(`wulf tui: crashed: ${errorLine(crash)} (terminal restored)`); return 1; }
  return signal;
}
