// Drives a program in a detached tmux session (own socket, so nothing else is touched): start it
// at a size, send keys, read the screen, wait for text.
import { spawnSync } from 'node:child_process';

const SOCKET = 'wtui-test';
export function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
  if (r.error) throw new Error(`tmux is missing (apt-get install tmux): ${r.error.message}`);
  return r.stdout;
}

export class Pane {
  constructor(readonly name: string) {}
  static start(name: string, cmd: string, opts: { cols?: number; rows?: number; env?: Record<string, string> } = {}): Pane {
    tmux('kill-session', '-t', name);
    const env = Object.entries(opts.env ?? {})
      .map(([k, v]) => `${k}='${v.replace(/'/g, "'\\''")}'`)
      .join(' ');
    tmux(
      'new-session',
      '-d',
      '-s',
      name,
      '-x',
      String(opts.cols ?? 80),
      '-y',
      String(opts.rows ?? 24),
      `env ${env} ${cmd}; echo "EXIT=$?"; sleep 600`,
    );
    return new Pane(name);
  }
  keys(...k: string[]): void {
    tmux('send-keys', '-t', this.name, ...k);
  }
  type(text: string): void {
    tmux('send-keys', '-t', this.name, '-l', text);
  }
  screen(escapes = false): string {
    return tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', this.name);
  }
  info(fmt: string): string {
    return tmux('display-message', '-p', '-t', this.name, fmt).trim();
  }
  async waitFor(pred: string | RegExp | ((s: string) => boolean), ms = 8000): Promise<string> {
    const t0 = Date.now();
    let s = '';
    const ok = typeof pred === 'function' ? pred : (x: string) => (typeof pred === 'string' ? x.includes(pred) : pred.test(x));
    while (Date.now() - t0 < ms) {
      s = this.screen();
      if (ok(s)) return s;
      await Bun.sleep(40);
    }
    throw new Error(`timed out waiting for ${String(pred)}; screen:\n${s}`);
  }
  kill(): void {
    tmux('kill-session', '-t', this.name);
  }
}
