// The first frame written before ink loads (ui/frame.ts) must be the frame ink draws on its first
// render, line for line and style for style: ink draws over it without clearing.
import { describe, expect, setSystemTime, test } from 'bun:test';
import { EventEmitter } from 'node:events';
import { createElement } from 'react';
import { render } from 'ink';
import chalk from 'chalk';
import { pathsFor } from '../../src/config/paths.ts';
import { ConfigSource } from '../../src/tui/data/config-source.ts';
import { StatusFeed } from '../../src/tui/data/status-feed.ts';
import { App } from '../../src/tui/app.tsx';
import { firstFrame } from '../../src/tui/ui/frame.ts';
import { tempRoot } from '../helpers/cli.ts';
import { nodeName, writeRoot } from './fixture.ts';

chalk.level = 1;

/** ink's first frame for App on a fake terminal of that size. */
async function inkFrame(props: Parameters<typeof App>[0], columns: number, rows: number): Promise<string> {
  let out = '';
  const stdout = Object.assign(new EventEmitter(), {
    columns,
    rows,
    isTTY: true,
    write(s: string) {
      out += s;
      return true;
    },
  });
  const stdin = Object.assign(new EventEmitter(), {
    isTTY: true,
    setRawMode() {
      return stdin;
    },
    setEncoding() {},
    read() {
      return null;
    },
    ref() {},
    unref() {},
    resume() {},
    pause() {},
  });
  const inst = render(createElement(App, props), {
    stdout: stdout as never,
    stdin: stdin as never,
    exitOnCtrlC: false,
    patchConsole: false,
    incrementalRendering: false,
    alternateScreen: false,
    interactive: true,
  });
  const first = out;
  inst.unmount();
  return first;
}
/** What a terminal shows of a frame: per line, runs of text with their attributes (bold, dim,
 *  inverse, foreground colour), however the escapes were spelled; trailing blanks ignored. */
function cells(s: string, rows: number): string[] {
  const body = s.replace(/\x1b\[\?[0-9;]*[a-zA-Z]/g, '').replace(/\x1b\[[0-9;]*[A-LN-Za-ln-z]/g, '');
  return body
    .split('\n')
    .slice(0, rows)
    .map((line) => {
      const st = { bold: false, dim: false, inv: false, fg: '' };
      const runs: [string, string][] = [];
      for (const part of line.split(/(\x1b\[[0-9;]*m)/)) {
        const m = /^\x1b\[([0-9;]*)m$/.exec(part);
        if (m) {
          for (const code of (m[1] || '0').split(';').map(Number)) {
            if (code === 0) Object.assign(st, { bold: false, dim: false, inv: false, fg: '' });
            else if (code === 1) st.bold = true;
            else if (code === 2) st.dim = true;
            else if (code === 22) {
              st.bold = false;
              st.dim = false;
            } else if (code === 7) st.inv = true;
            else if (code === 27) st.inv = false;
            else if (code === 39) st.fg = '';
            else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) st.fg = String(code);
          }
          continue;
        }
        for (const ch of part) {
          const k = `${st.bold ? 'b' : ''}${st.dim ? 'd' : ''}${st.inv ? 'i' : ''}${st.fg}`;
          const last = runs[runs.length - 1];
          if (last && last[0] === k) last[1] += ch;
          else runs.push([k, ch]);
        }
      }
      // trailing plain blanks are what an untouched line shows
      while (runs.length && !/[i]/.test(runs[runs.length - 1]![0]) && runs[runs.length - 1]![1].trimEnd() === '') runs.pop();
      if (runs.length && !runs[runs.length - 1]![0].includes('i')) runs[runs.length - 1]![1] = runs[runs.length - 1]![1].trimEnd();
      return runs.map(([k, t]) => (k ? `<${k}>${t}` : t)).join('');
    });
}

describe('first frame', () => {
  for (const [n, cols, rows, color, statuses] of [
    [2000, 80, 24, true, true],
    [2000, 120, 30, false, false],
    [5, 100, 20, true, true],
    [0, 80, 24, true, false],
  ] as const) {
    test(`${n} nodes, ${cols}×${rows}, ${color ? 'colour' : 'NO_COLOR'}${statuses ? ', some status' : ''}: the frame ink draws`, async () => {
      const { dir, cleanup } = tempRoot('wulf-tui-frame-');
      // one clock for both frames: a second ticking between them changed "0s" to "1s" on a loaded machine
      setSystemTime(new Date(Math.floor(Date.now() / 1000) * 1000 + 200));
      try {
        writeRoot(dir, n, 9, 60);
        const paths = pathsFor(dir);
        const config = new ConfigSource(paths);
        const feed = new StatusFeed({ url: 'http://127.0.0.1:9', paths });
        const now = Math.floor(Date.now() / 1000);
        if (statuses)
          feed.apply(
            {
              nodes: {
                [nodeName(1)]: { stage: 'IPXE', 'last seen': now, ipaddr: '10.0.1.2' },
                [nodeName(3)]: { stage: 'RUNTIME_OVERLAY', 'last seen': now - 500 },
                stray: { stage: 'KERNEL', 'last seen': now },
              },
            },
            false,
          );
        const theme = { color };
        const server = 'http://127.0.0.1:9';
        const lines = firstFrame({
          snap: config.snap,
          statuses: feed.statuses,
          mode: feed.mode,
          detail: feed.detail,
          server,
          columns: cols,
          rows,
          theme,
          now: Date.now() / 1000,
        })!;
        expect(lines).toBeDefined();
        expect(lines.length).toBe(rows);
        const ink = await inkFrame({ paths, config, feed, server, theme }, cols, rows);
        expect(cells(lines.join('\n'), rows)).toEqual(cells(ink, rows));
      } finally {
        setSystemTime();
        cleanup();
      }
    });
  }
  test('no first frame where ink must measure or the screen is not the table', () => {
    const { dir, cleanup } = tempRoot('wulf-tui-frame-');
    try {
      writeRoot(dir, 3, 9, 60);
      const paths = pathsFor(dir);
      const config = new ConfigSource(paths);
      const base = {
        snap: config.snap,
        statuses: new Map(),
        mode: 'connecting' as const,
        detail: '',
        server: 'http://x',
        theme: { color: true },
        now: 0,
      };
      expect(firstFrame({ ...base, columns: 50, rows: 24 })).toBeUndefined();
      expect(firstFrame({ ...base, columns: 80, rows: 10 })).toBeUndefined();
      expect(firstFrame({ ...base, server: 'http://名前', columns: 80, rows: 24 })).toBeUndefined();
      expect(firstFrame({ ...base, snap: { ...config.snap, error: 'bad' }, columns: 80, rows: 24 })).toBeUndefined();
    } finally {
      cleanup();
    }
  });
});
