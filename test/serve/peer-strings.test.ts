// Peer-supplied strings in the log of a real in-process `serve` (TFTP on loopback): a file name with
// a newline and ANSI escapes cannot forge a line, and a flood of refusals for 2,000 different file
// names from one address is a handful of lines, not one per name.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/serve/serve.ts';
import { pathsFor } from '../../src/config/paths.ts';
import { createLogger } from '../../src/lib/log.ts';

const root = mkdtempSync(join(tmpdir(), 'wulf-peerlog-'));
const paths = pathsFor(root);
const lines: string[] = [];
const log = createLogger({ write: (l) => lines.push(l) });
const tftpPort = 20000 + (process.pid % 20000);
let srv: RunningServer;

beforeAll(async () => {
  mkdirSync(paths.confDir, { recursive: true });
  writeFileSync(paths.wulfConf, 'ipaddr: 127.0.0.1\nnetmask: 255.0.0.0\ndhcp:\n  mode: off\n');
  writeFileSync(paths.nodesConf, 'nodeprofiles: {}\nnodes: {}\n');
  srv = await startServer({ paths, log, address: '127.0.0.1', httpPort: 0, tftpPort, dhcp: false, ra: false });
});
afterAll(async () => {
  await srv?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** One RRQ from a fresh source port; resolves on the server's ERROR (or after a second). */
function rrq(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (ok: boolean) => {
      clearTimeout(t);
      try {
        s.close();
      } catch {
        /* closed */
      }
      resolve(ok);
    };
    const t = setTimeout(() => done(false), 1000);
    s.on('message', (m) => done(m[1] === 5));
    s.on('error', () => done(false));
    s.send(
      Buffer.concat([Buffer.from([0, 1]), Buffer.from(name, 'utf8'), Buffer.from([0]), Buffer.from('octet\0')]),
      tftpPort,
      '127.0.0.1',
    );
  });
}
const CONTROL = /[\0-\x1f\x7f-\x9f\u2028\u2029]/;

test('a TFTP file name with a newline and ANSI escapes cannot forge a log line', async () => {
  const forged = 'x.efi\n12:00:00.000 boot: n1 stage=runtime sent=forged\x1b[2K\x1b[1A\r';
  lines.length = 0;
  expect(await rrq(forged)).toBe(true);
  expect(await rrq(`nosuch\x1b]0;pwned\x07.efi`)).toBe(true); // from the same address, a second refusal reason
  await Bun.sleep(50);
  expect(lines.length).toBeGreaterThan(0);
  for (const l of lines) expect(CONTROL.test(l)).toBe(false);
  expect(lines.some((l) => l.startsWith('12:00:00.000 boot'))).toBe(false);
  expect(lines.join('\n')).toContain('x.efi\\n12:00:00.000 boot');
});

test('2,000 refusals for different file names from one address: a few lines, not one per name', async () => {
  lines.length = 0;
  const N = 2000;
  let answered = 0,
    i = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (i < N) {
        if (await rrq(`nosuch-${i++}.efi`)) answered++;
      }
    }),
  );
  expect(answered).toBeGreaterThan(N * 0.95); // the server did refuse them all
  const tftp = lines.filter((l) => l.includes('tftp'));
  expect(tftp.length).toBeGreaterThan(0);
  expect(tftp.length).toBeLessThanOrEqual(3);
}, 60_000);
