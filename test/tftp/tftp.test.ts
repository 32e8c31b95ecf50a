// wulf's TFTP server against real clients (atftp, tftp-hpa, curl) and a scripted client for the
// edge cases: windowsize, rollover, the UEFI tsize probe, loss, path escapes, limits, fuzzing.
import { test, expect, beforeAll, afterAll, describe } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTftpServer, type TftpEvent } from '../../src/tftp/server.ts';
import { bufferProvider, chainProviders, rootProvider } from '../../src/tftp/providers.ts';
import { decodePacket, encodeError, encodeRequest, ErrorCode, Op } from '../../src/tftp/packet.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { tempRoot } from '../helpers/cli.ts';
import { fetchFile, RawClient, tftpMutator } from './client.ts';

const t = tempRoot('wulf-tftp-');
const root = join(t.dir, 'root');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const files: Record<string, Buffer> = {};
const events: TftpEvent[] = [];
const embedded = randomBytes(70_000);
const server = createTftpServer({
  port: 0,
  address: '127.0.0.1',
  log: silentLogger,
  onEvent: (e) => events.push(e),
  provider: chainProviders(bufferProvider({ 'undionly.kpxe': embedded }), rootProvider(root)),
});
let port = 0;

beforeAll(async () => {
  mkdirSync(join(root, 'sub'), { recursive: true });
  for (const [name, size] of [
    ['small.bin', 1000],
    ['exact.bin', 1024],
    ['empty.bin', 0],
    ['big.bin', 6 * 1048576],
    ['sub/huge.bin', 34 * 1048576],
  ] as const) {
    files[name] = randomBytes(size);
    writeFileSync(join(root, name), files[name]!);
  }
  writeFileSync(join(t.dir, 'secret'), 'outside the root');
  symlinkSync(join(t.dir, 'secret'), join(root, 'escape'));
  symlinkSync('small.bin', join(root, 'inside-link'));
  await server.start();
  port = server.stats().port;
});
afterAll(async () => {
  await server.stop();
  t.cleanup();
});

const out = (n: string) => join(t.dir, `out-${n}`);
/** Run a client without blocking the event loop (the server lives in this process). */
async function run(cmd: string[], timeoutMs: number): Promise<number> {
  const p = Bun.spawn(cmd, { stdout: 'ignore', stderr: 'pipe', timeout: timeoutMs, killSignal: 'SIGKILL' });
  return await p.exited;
}
function need(cmd: string) {
  if (spawnSync('which', [cmd]).status !== 0) throw new Error(`${cmd} is not installed (apt-get install atftp tftp-hpa curl)`);
}

describe('real clients', () => {
  test('atftp with blksize 1468, windowsize 8 and tsize', async () => {
    need('atftp');
    expect(
      await run(
        [
          'atftp',
          '-g',
          '-r',
          'big.bin',
          '-l',
          out('atftp'),
          '--option',
          'blksize 1468',
          '--option',
          'windowsize 8',
          '--option',
          'tsize',
          '127.0.0.1',
          String(port),
        ],
        60_000,
      ),
    ).toBe(0);
    expect(sha(readFileSync(out('atftp')))).toBe(sha(files['big.bin']!));
  }, 70_000);

  test('tftp-hpa without options, and block-number rollover past 65535 on a 34 MiB file', async () => {
    need('tftp');
    expect(await run(['tftp', '127.0.0.1', String(port), '-m', 'binary', '-c', 'get', 'sub/huge.bin', out('hpa')], 120_000)).toBe(0);
    expect(sha(readFileSync(out('hpa')))).toBe(sha(files['sub/huge.bin']!));
  }, 130_000);

  test('curl (tsize=0 blksize timeout) and an exact multiple of the block size; an empty file', async () => {
    need('curl');
    for (const name of ['exact.bin', 'small.bin']) {
      // (curl itself fails on empty files, tftpd-hpa too)
      expect(
        await run(['curl', '-sS', `tftp://127.0.0.1:${port}/${name}`, '-o', out(`curl-${name}`), '--tftp-blksize', '512'], 30_000),
      ).toBe(0);
      expect(sha(readFileSync(out(`curl-${name}`)))).toBe(sha(files[name]!));
    }
    expect(await run(['tftp', '127.0.0.1', String(port), '-m', 'binary', '-c', 'get', 'empty.bin', out('empty')], 10_000)).toBe(0);
    expect(readFileSync(out('empty')).length).toBe(0);
  });

  test('embedded buffer files and a leading slash as PXE ROMs send it', async () => {
    const r = await fetchFile(port, '/undionly.kpxe', { blksize: '1468' });
    expect(sha(r.data!)).toBe(sha(embedded));
  });
});

describe('protocol edges', () => {
  test('UEFI tsize probe then abort, then the real transfer with windowsize 4', async () => {
    const c = new RawClient();
    await c.bind();
    c.send(encodeRequest(Op.RRQ, 'big.bin', 'octet', { tsize: '0', blksize: '1468', windowsize: '4' }), port);
    const m = await c.next();
    expect(m?.p.op).toBe(Op.OACK);
    expect(m?.p.op === Op.OACK && m.p.options.tsize).toBe(String(files['big.bin']!.length));
    c.send(encodeError(ErrorCode.BadOption, 'tsize probe done'), m!.port);
    await Bun.sleep(50);
    c.close();
    const r = await fetchFile(port, 'big.bin', { blksize: '1468', windowsize: '4' });
    expect(sha(r.data!)).toBe(sha(files['big.bin']!));
    await Bun.sleep(50);
    const aborted = events.filter((e) => e.file === 'big.bin' && e.kind === 'abort');
    expect(aborted.map((e) => e.error)).toContain('tsize probe done');
  });

  test('a lost ACK is repaired by retransmission', async () => {
    const r = await fetchFile(port, 'small.bin', { timeout: '1' }, { dropFirstAck: true });
    expect(sha(r.data!)).toBe(sha(files['small.bin']!));
    expect(r.resent).toBeGreaterThanOrEqual(0);
  }, 15_000);

  test('any tsize value (atftp sends "enable") gets the real size', async () => {
    const r = await fetchFile(port, 'small.bin', { tsize: 'enable' });
    expect(r.oack?.tsize).toBe('1000');
  });

  test('paths never leave the root', async () => {
    for (const [name, code] of [
      ['../secret', ErrorCode.AccessViolation],
      ['sub/../../secret', ErrorCode.AccessViolation],
      ['escape', ErrorCode.AccessViolation],
      ['/etc/passwd', ErrorCode.NotFound],
      ['..\\secret', ErrorCode.AccessViolation],
      ['nope', ErrorCode.NotFound],
    ] as const) {
      const r = await fetchFile(port, name);
      expect(r.error?.op === Op.ERROR && r.error.code).toBe(code);
    }
    const ok = await fetchFile(port, 'inside-link');
    expect(sha(ok.data!)).toBe(sha(files['small.bin']!));
  });

  test('write requests are refused', async () => {
    const c = new RawClient();
    await c.bind();
    c.send(encodeRequest(Op.WRQ, 'x.bin'), port);
    const m = await c.next();
    expect(m?.p.op === Op.ERROR && m.p.code).toBe(ErrorCode.AccessViolation);
    c.close();
  });

  test('the transfer limit answers "busy" beyond it', async () => {
    const small = createTftpServer({ port: 0, address: '127.0.0.1', log: silentLogger, maxTransfers: 2, provider: rootProvider(root) });
    await small.start();
    const p = small.stats().port;
    const clients = await Promise.all(
      [1, 2, 3].map(async () => {
        const c = new RawClient();
        await c.bind();
        return c;
      }),
    );
    for (const c of clients.slice(0, 2)) {
      c.send(encodeRequest(Op.RRQ, 'big.bin'), p);
      await c.next();
    } // hold: never ACK
    clients[2]!.send(encodeRequest(Op.RRQ, 'big.bin'), p);
    const m = await clients[2]!.next();
    expect(m?.p.op === Op.ERROR && m.p.message).toContain('busy');
    clients.forEach((c) => c.close());
    await small.stop();
  });
});

test('fuzz: 100,000 mutated packets through the codec, thousands through the sockets, then a normal transfer', async () => {
  let seed = 42;
  const rnd = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const mutate = tftpMutator(rnd);
  let decodedOk = 0;
  for (let i = 0; i < 100_000; i++) {
    const d = decodePacket(mutate());
    if (d.ok) decodedOk++;
  }
  expect(decodedOk).toBeGreaterThan(0);
  const c = new RawClient();
  await c.bind();
  // an active transfer's TID gets garbage too
  c.send(encodeRequest(Op.RRQ, 'big.bin'), port);
  const first = await c.next();
  for (let i = 0; i < 3000; i++) {
    const pkt = mutate();
    if (pkt.length >= 2 && pkt[1] === Op.RRQ && rnd() < 0.9) continue; // do not start thousands of transfers
    c.send(pkt, i % 2 ? port : first!.port);
    if (i % 200 === 0) await Bun.sleep(1);
  }
  c.close();
  await Bun.sleep(200);
  const r = await fetchFile(port, 'small.bin', { blksize: '1468' });
  expect(sha(r.data!)).toBe(sha(files['small.bin']!));
}, 60_000);
