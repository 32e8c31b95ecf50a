// Import progress: a redrawn bar (bytes, rate, ETA) on a terminal, plain lines otherwise.
import type { ImportProgress } from './import.ts';

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export function progressFor(write: (s: string) => void, tty: boolean, now = () => performance.now()): ImportProgress {
  let start = 0,
    lastDraw = 0,
    lastLabel = '',
    active = false,
    lastDone = 0,
    lastTotal: number | undefined;
  const draw = (label: string, done: number, total?: number) => {
    const secs = Math.max(0.001, (now() - start) / 1000);
    const rate = done / secs;
    if (tty) {
      const frac = total ? Math.min(1, done / total) : 0;
      const w = 24,
        fill = Math.round(frac * w);
      const eta = total && rate > 0 ? Math.max(0, (total - done) / rate) : undefined;
      write(
        `\r\x1b[2K${label} [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${mib(done)}${total ? '/' + mib(total) : ''} ` +
          `${mib(rate)}/s${eta !== undefined ? ` ETA ${Math.ceil(eta)}s` : ''}`,
      );
    }
  };
  return {
    line(msg) {
      if (active && tty) write('\n');
      active = false;
      write(msg + '\n');
    },
    bytes(label, done, total) {
      if (!active || label !== lastLabel) {
        start = now();
        active = true;
        lastLabel = label;
      }
      lastDone = done;
      lastTotal = total;
      const t = now();
      if (tty && (t - lastDraw > 100 || (total !== undefined && done >= total))) {
        lastDraw = t;
        draw(label, done, total);
      }
    },
    endBytes() {
      if (!active) return;
      if (tty) {
        draw(lastLabel, lastDone, lastTotal);
        write('\n');
      } else write(`${lastLabel}: ${mib(lastDone)} in ${((now() - start) / 1000).toFixed(1)} s\n`);
      active = false;
    },
  };
}
