// wulf's TFTP server on loopback against a scripted client (windows, loss, duplicate ACKs, rollover,
// the OVMF capture replayed, limits, live fuzzing) and real clients (curl, atftp, tftp-hpa netascii).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/lib/log.ts';
import { WulfError } from '../../src/lib/errors.ts';
import { readPcapUdp } from '../helpers/pcap.ts';
import { decodePacket, encodeAck, encodeError, encodeRequest, ErrorCode, Op, type Packet } from '../../src/tftp/packet.ts';
import { bufferProvider, chainProviders, rootProvider } from '../../src/tftp/providers.ts';
import { createTftpServer, type TftpEvent, type TftpServerOptions } from '../../src/tftp/server.ts';
import { RawClient } from './client.ts';

const dir = mkdtempSync(join(tmpdir(), 'wulf-tftp-'));
const root = join(dir, 'root');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const files: Record<string, Buffer> = {};
const servers: { stop(): Promise<void> }[] = [];
const OVMF_SIZE = 850528; // the size dnsmasq announced for ipxe.efi in the capture

async function serve(extra: Partial<TftpServerOptions> = {}) {
  const events: TftpEvent[] = [];
  const s = createTftpServer({
    port: 0,
    address: '127.0.0.1',
    log: silentLogger,
    provider: rootProvider(root),
    onEvent: (e) => events.push(e),
    ...extra,
  });
  await s.start();
  servers.push(s);
  return { s, port: s.stats().port, events };
}

const blocksOf = (ps: { p: Packet }[]) => ps.map(({ p }) => (p.op === Op.DATA ? p.block : -p.op));

/** Read a whole file the way EDK2 does with windowsize: ACK at the end of each window or on the short block. */
async function windowRead(c: RawClient, mainPort: number, rrq: Uint8Array, opt: { ackTwice?: boolean } = {}) {
  c.send(rrq, mainPort);
  const chunks: Uint8Array[] = [];
  let bs = 512,
    win = 1,
    since = 0,
    expect = 1,
    tid = 0,
    dups = 0,
    oack: Record<string, string> | undefined;
  for (;;) {
    const m = await c.next(5000);
    if (!m) throw new Error(`stalled at block ${expect}`);
    if (m.p.op === Op.ERROR) throw new Error(`server error ${m.p.code} ${m.p.message}`);
    tid = m.port;
    const ack = (b: number) => {
      c.send(encodeAck(b), tid);
      if (opt.ackTwice) c.send(encodeAck(b), tid);
    };
    if (m.p.op === Op.OACK) {
      oack = m.p.options;
      bs = Number(oack.blksize ?? 512);
      win = Number(oack.windowsize ?? 1);
      ack(0);
      continue;
    }
    if (m.p.op !== Op.DATA) continue;
    if (m.p.block !== (expect & 0xffff)) {
      dups++;
      continue;
    }
    chunks.push(new Uint8Array(m.p.data));
    expect++;
    const last = m.p.data.length < bs;
    if (++since === win || last) {
      since = 0;
      ack(m.p.block);
    }
    if (last) break;
  }
  const extra = await c.collect(150); // nothing may follow the end
  return { data: Buffer.concat(chunks), dups, oack, extra: extra.length };
}

function need(cmd: string) {
  if (spawnSync('which', [cmd]).status !== 0) throw new Error(`${cmd} is not installed: apt-get install -y atftp tftp-hpa curl`);
}
async function run(cmd: string[], timeoutMs: number) {
  const p = Bun.spawn(cmd, { stdout: 'ignore', stderr: 'pipe', timeout: timeoutMs, killSignal: 'SIGKILL' });
  const code = await p.exited;
  return { code, err: await new Response(p.stderr).text() };
}

let main: Awaited<ReturnType<typeof serve>>;
let loopOnly: Awaited<ReturnType<typeof serve>>;
beforeAll(async () => {
  mkdirSync(join(root, 'sub'), { recursive: true });
  const sizes: [string, number][] = [
    ['small.bin', 3000],
    ['block.bin', 512 * 100],
    ['ipxe.efi', OVMF_SIZE],
    ['mid.bin', randomInt(5, 31) << 20],
    ['win.bin', (randomInt(5, 31) << 20) + randomInt(0, 1468)],
    ['roll.bin', 8 * 70_000 + 3],
  ];
  for (const [name, size] of sizes) {
    files[name] = randomBytes(size);
    writeFileSync(join(root, name), files[name]!);
  }
  writeFileSync(join(dir, 'secret'), 'outside the root');
  writeFileSync(join(root, 'text.txt'), 'line one\nline two\r\nbare\rcr\n');
  symlinkSync(join(dir, 'secret'), join(root, 'escape'));
  symlinkSync('/etc', join(root, 'etcdir'));
  symlinkSync('small.bin', join(root, 'inside-link'));
  symlinkSync(join(root, 'sub'), join(root, 'abs-inside'));
  writeFileSync(join(root, 'sub', 'deep.bin'), files['small.bin']!);
  spawnSync('mkfifo', [join(root, 'fifo')]);
  main = await serve({ timeoutMs: 300 });
  loopOnly = await serve({ timeoutMs: 300, threads: 0 });
});
afterAll(async () => {
  // both paths really ran: the default server hands transfers to its threads, threads: 0 never does
  expect(main.s.stats().threaded).toBeGreaterThan(10);
  expect(loopOnly.s.stats()).toMatchObject({ threaded: 0 });
  expect(loopOnly.s.stats().served).toBeGreaterThan(3);
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Every protocol case runs twice: served by a transfer thread (the default) and by the event loop.
for (const [label, srv, threads] of [
  ['on a transfer thread', () => main, 2],
  ['on the event loop', () => loopOnly, 0],
] as const) {
  describe(`windows and loss (scripted client), ${label}`, () => {
    test('a window is sent whole, then nothing until its last block is ACKed; an early ACK resends from there; duplicates send nothing', async () => {
      const c = await RawClient.open();
      c.send(encodeRequest(Op.RRQ, 'mid.bin', 'octet', { blksize: '1468', windowsize: '4' }), srv().port);
      const o = await c.next();
      expect(o?.p).toEqual({ op: Op.OACK, options: { blksize: '1468', windowsize: '4' } });
      const tid = o!.port;
      c.send(encodeAck(0), tid);
      expect(blocksOf(await c.collect(120))).toEqual([1, 2, 3, 4]);
      c.send(encodeAck(2), tid); // blocks 3 and 4 "lost"
      expect(blocksOf(await c.collect(120))).toEqual([3, 4, 5, 6]);
      c.send(encodeAck(2), tid); // duplicate: ignored
      c.send(encodeAck(1), tid); // stale: ignored
      expect(blocksOf(await c.collect(120))).toEqual([]);
      c.send(encodeAck(6), tid);
      c.send(encodeAck(6), tid);
      expect(blocksOf(await c.collect(120))).toEqual([7, 8, 9, 10]);
      c.send(encodeError(0, 'enough'), tid);
      c.close();
    });

    test('a dropped first DATA is retransmitted after the timeout and the file arrives whole', async () => {
      const c = await RawClient.open();
      c.send(encodeRequest(Op.RRQ, 'small.bin'), srv().port);
      const first = await c.next();
      expect(first?.p.op === Op.DATA && first.p.block).toBe(1); // "lost": not ACKed
      const t0 = Date.now();
      const again = await c.next(3000);
      expect(again?.p.op === Op.DATA && again.p.block).toBe(1);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
      const parts = [again!.p.op === Op.DATA ? again!.p.data : new Uint8Array()];
      c.send(encodeAck(1), again!.port);
      for (;;) {
        const m = await c.next();
        if (m?.p.op !== Op.DATA) throw new Error('expected DATA');
        parts.push(m.p.data);
        c.send(encodeAck(m.p.block), m.port);
        if (m.p.data.length < 512) break;
      }
      expect(sha(Buffer.concat(parts))).toBe(sha(files['small.bin']!));
      c.close();
    });

    test("every ACK sent twice (Sorcerer's Apprentice) causes no duplicate DATA, lock-step and windowed", async () => {
      for (const opts of [{}, { windowsize: '8', blksize: '1024' }] as Record<string, string>[]) {
        const c = await RawClient.open();
        const r = await windowRead(c, srv().port, encodeRequest(Op.RRQ, 'block.bin', 'octet', opts), { ackTwice: true });
        expect(sha(r.data)).toBe(sha(files['block.bin']!));
        expect([r.dups, r.extra]).toEqual([0, 0]);
        c.close();
      }
    });

    test('block numbers roll over 65535 → 0: 70,001 blocks of 8 bytes, windowsize 64', async () => {
      const c = await RawClient.open();
      const r = await windowRead(c, srv().port, encodeRequest(Op.RRQ, 'roll.bin', 'octet', { blksize: '8', windowsize: '64' }));
      expect(r.oack).toEqual({ blksize: '8', windowsize: '64' });
      expect(sha(r.data)).toBe(sha(files['roll.bin']!));
      c.close();
    }, 30_000);

    test('an OACK never acknowledged is resent a bounded number of times, then the transfer ends', async () => {
      const { port, events, s } = await serve({ timeoutMs: 100, retries: 2, threads });
      const c = await RawClient.open();
      c.send(encodeRequest(Op.RRQ, 'small.bin', 'octet', { tsize: '0' }), port);
      const got = await c.collect(700);
      expect(got.map((m) => m.p.op)).toEqual([Op.OACK, Op.OACK, Op.OACK]);
      expect(events.map((e) => [e.kind, e.error])).toEqual([
        ['start', undefined],
        ['abort', 'timeout'],
      ]);
      expect(s.stats()).toMatchObject({ active: 0, aborted: 1, retransmits: 2 });
      c.close();
    });
  });

  test(`OVMF capture replayed: tsize probe, ERROR abort, then the real windowed transfer, ${label}`, async () => {
    const recs = readPcapUdp(readFileSync(join(import.meta.dir, '../fixtures/pcap/tftp-uefi-native-pxe-first60.pcap')));
    const fromClient = recs.filter((r) => r.dst === '10.99.0.1').map((r) => r.payload);
    const [probe, abort, real, ack0] = fromClient;
    expect(decodePacket(probe!)).toMatchObject({
      ok: true,
      packet: { op: Op.RRQ, options: { tsize: '0', blksize: '1468', windowsize: '4' } },
    });
    const before = srv().events.length;
    const c1 = await RawClient.open();
    c1.send(probe!, srv().port);
    const oack = await c1.next();
    expect(oack?.p).toEqual({ op: Op.OACK, options: { blksize: '1468', windowsize: '4', tsize: String(OVMF_SIZE) } });
    c1.send(abort!, oack!.port); // "User aborted the transfer"
    expect(await c1.collect(800)).toEqual([]); // no retransmitted OACK after the abort (timeout is 300 ms)
    c1.close();
    expect(
      srv()
        .events.slice(before)
        .map((e) => [e.kind, e.error]),
    ).toEqual([
      ['start', undefined],
      ['abort', 'User aborted the transfer'],
    ]);
    const c2 = await RawClient.open();
    c2.send(real!, srv().port);
    const o2 = await c2.next();
    expect(o2?.p).toEqual({ op: Op.OACK, options: { blksize: '1468', windowsize: '4' } });
    expect([...ack0!]).toEqual([0, 4, 0, 0]);
    c2.send(ack0!, o2!.port);
    const chunks: Uint8Array[] = [];
    for (let since = 0; ; ) {
      const m = await c2.next();
      if (m?.p.op !== Op.DATA) throw new Error('expected DATA');
      chunks.push(m.p.data);
      if (++since === 4 || m.p.data.length < 1468) {
        since = 0;
        c2.send(encodeAck(m.p.block), m.port);
      }
      if (m.p.data.length < 1468) break;
    }
    expect(sha(Buffer.concat(chunks))).toBe(sha(files['ipxe.efi']!));
    c2.close();
  });
}

describe('paths', () => {
  const p = rootProvider(root);
  const code = (name: string) => {
    const r = p(name);
    if ('file' in r) {
      r.file.close();
      return 'served';
    }
    return r.error.code;
  };
  test('nothing outside the root, ever', () => {
    expect(code('../secret')).toBe(ErrorCode.AccessViolation);
    expect(code('../etc/passwd')).toBe(ErrorCode.AccessViolation);
    expect(code('sub/../../secret')).toBe(ErrorCode.AccessViolation);
    expect(code('/etc/passwd')).toBe(ErrorCode.NotFound); // = <root>/etc/passwd
    expect(code('..%2f..%2fetc%2fpasswd')).toBe(ErrorCode.NotFound); // no URL decoding in TFTP
    expect(code('..\\secret')).toBe(ErrorCode.AccessViolation);
    expect(code('small.bin\0.txt')).toBe(ErrorCode.AccessViolation);
    expect(code('escape')).toBe(ErrorCode.AccessViolation); // symlink to a file outside
    expect(code('etcdir/passwd')).toBe(ErrorCode.AccessViolation); // symlinked folder outside
    expect(code('a/'.repeat(200) + 'b')).toBe(ErrorCode.AccessViolation);
    expect(code('')).toBe(ErrorCode.AccessViolation);
    expect(code('sub')).toBe(ErrorCode.NotFound); // folders are not files
  });
  test('inside: leading slash, symlinks that stay inside, and a FIFO does not hang', () => {
    expect(code('/small.bin')).toBe('served');
    expect(code('inside-link')).toBe('served');
    expect(code('abs-inside/deep.bin')).toBe('served');
    expect(code('./sub//deep.bin')).toBe('served');
    const t0 = performance.now();
    expect(code('fifo')).toBe(ErrorCode.NotFound);
    expect(performance.now() - t0).toBeLessThan(500);
  });
  test('over the wire: ERROR packets with the right codes; WRQ refused; chain: buffers first, refusals stop the chain', async () => {
    const c = await RawClient.open();
    for (const [name, want] of [
      ['../secret', ErrorCode.AccessViolation],
      ['/etc/passwd', ErrorCode.NotFound],
      ['escape', ErrorCode.AccessViolation],
    ] as const) {
      c.send(encodeRequest(Op.RRQ, name), main.port);
      const m = await c.next();
      expect(m?.p.op === Op.ERROR && m.p.code).toBe(want);
    }
    c.send(encodeRequest(Op.WRQ, 'up.bin'), main.port);
    const w = await c.next();
    expect(w?.p.op === Op.ERROR && w.p.code).toBe(ErrorCode.AccessViolation);
    c.close();
    const emb = randomBytes(5000);
    const chain = chainProviders(bufferProvider({ 'ipxe.efi': emb }), rootProvider(root));
    const r = chain('/ipxe.efi');
    expect('file' in r && r.file.size).toBe(5000);
    expect('error' in chain('../secret') && (chain('../secret') as { error: { code: number } }).error.code).toBe(ErrorCode.AccessViolation);
    expect('file' in chain('small.bin')).toBe(true);
    expect('file' in bufferProvider({ a: emb })('toString')).toBe(false);
  });
});

describe('limits and errors', () => {
  test('maxTransfers: the third request gets "busy"; a slot frees when a client aborts', async () => {
    const { port } = await serve({ maxTransfers: 2 });
    const cs = await Promise.all([0, 1, 2, 3].map(() => RawClient.open()));
    const held: number[] = [];
    for (const c of cs.slice(0, 2)) {
      c.send(encodeRequest(Op.RRQ, 'mid.bin'), port);
      held.push((await c.next())!.port);
    }
    cs[2]!.send(encodeRequest(Op.RRQ, 'small.bin'), port);
    const busy = await cs[2]!.next();
    expect(busy?.p.op === Op.ERROR && busy.p.message).toContain('busy');
    cs[0]!.send(encodeError(0, 'bye'), held[0]!);
    await Bun.sleep(50);
    cs[3]!.send(encodeRequest(Op.RRQ, 'small.bin'), port);
    expect((await cs[3]!.next())?.p.op).toBe(Op.DATA);
    cs.forEach((c) => c.close());
  });

  test('60 transfers at once (mixed lock-step and windowed) all arrive intact', async () => {
    const cs = await Promise.all(Array.from({ length: 60 }, () => RawClient.open()));
    const rs = await Promise.all(
      cs.map((c, i) =>
        windowRead(
          c,
          main.port,
          encodeRequest(
            Op.RRQ,
            i % 2 ? 'block.bin' : 'ipxe.efi',
            'octet',
            i % 3 ? { blksize: '1468', windowsize: String(1 + (i % 8)) } : {},
          ),
        ),
      ),
    );
    rs.forEach((r, i) => expect(sha(r.data)).toBe(sha(files[i % 2 ? 'block.bin' : 'ipxe.efi']!)));
    cs.forEach((c) => c.close());
  }, 30_000);

  test('a port in use gives a one-line WulfError', async () => {
    const s = createTftpServer({ port: main.port, address: '127.0.0.1', log: silentLogger, provider: rootProvider(root) });
    const e = await s.start().then(
      () => undefined,
      (x) => x,
    );
    expect(e).toBeInstanceOf(WulfError);
    expect((e as WulfError).message).toBe(`TFTP port ${main.port} on 127.0.0.1 is already in use`);
  });

  test('port 69 without the right to bind low ports gives a one-line WulfError (EACCES)', async () => {
    need('setpriv');
    const script = join(dir, 'eacces.ts');
    writeFileSync(
      script,
      `import { createTftpServer } from '${import.meta.dir}/../../src/tftp/server.ts';
import { rootProvider } from '${import.meta.dir}/../../src/tftp/providers.ts';
import { silentLogger } from '${import.meta.dir}/../../src/lib/log.ts';
try { await createTftpServer({ port: 69, address: '127.0.0.1', provider: rootProvider('/tmp'), log: silentLogger }).start(); console.log('bound'); }
catch (e) { console.log((e as Error).name + ': ' + (e as Error).message); }
process.exit(0);\n`,
      { mode: 0o644 },
    );
    // root without CAP_NET_BIND_SERVICE: EACCES on port 69, yet the repo and bun stay readable
    // wherever they are (another uid could not enter a 0700 checkout such as a mktemp -d clone)
    const p = Bun.spawn(['setpriv', '--bounding-set=-net_bind_service', '--inh-caps=-net_bind_service', process.execPath, script], {
      stdout: 'pipe',
      stderr: 'pipe',
      timeout: 20_000,
    });
    await p.exited;
    expect((await new Response(p.stdout).text()).trim()).toBe('WulfError: TFTP port 69 on 127.0.0.1 needs root');
  });
});

describe('real clients', () => {
  test('curl --tftp-blksize 1468 (it sends tsize=0 blksize timeout=6) on a random 5–30 MiB file', async () => {
    need('curl');
    const out = join(dir, 'out-curl');
    const r = await run(['curl', '-sS', `tftp://127.0.0.1:${main.port}/mid.bin`, '-o', out, '--tftp-blksize', '1468'], 60_000);
    expect(r).toEqual({ code: 0, err: '' });
    expect(sha(readFileSync(out))).toBe(sha(files['mid.bin']!));
  }, 70_000);

  test('atftp with blksize 1468, windowsize 8 and tsize (sent as "enable") on a random 5–30 MiB file', async () => {
    need('atftp');
    const out = join(dir, 'out-atftp');
    const before = main.s.stats().retransmits;
    const r = await run(
      [
        'atftp',
        '-g',
        '-r',
        'win.bin',
        '-l',
        out,
        '--option',
        'blksize 1468',
        '--option',
        'windowsize 8',
        '--option',
        'tsize',
        '127.0.0.1',
        String(main.port),
      ],
      60_000,
    );
    expect(r.code).toBe(0);
    expect(sha(readFileSync(out))).toBe(sha(files['win.bin']!));
    expect(main.s.stats().retransmits - before).toBeLessThan(20); // atftp ACKs once per window
  }, 70_000);

  test('tftp-hpa in its default netascii mode gets the text back unchanged', async () => {
    need('tftp');
    const out = join(dir, 'out-text');
    const r = await run(['tftp', '127.0.0.1', String(main.port), '-c', 'get', 'text.txt', out], 20_000);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('line one\nline two\r\nbare\rcr\n');
  });
});

test('live fuzz: 4,000 mutated packets at the well-known port and at a running transfer, then real clients still work', async () => {
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const seeds = [
    encodeRequest(Op.RRQ, 'mid.bin', 'octet', { blksize: '1468', tsize: '0', windowsize: '4' }),
    encodeRequest(Op.WRQ, 'a'),
    encodeAck(1),
    encodeAck(0),
    encodeError(8, 'x'),
    new Uint8Array([0, 3, 0, 1, 9, 9]),
  ];
  const mutate = () => {
    const b = new Uint8Array(seeds[Math.floor(rnd() * seeds.length)]!);
    const k = rnd();
    if (k < 0.3) {
      for (let i = 0; i < 1 + rnd() * 4; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      return b;
    }
    if (k < 0.5) return b.subarray(0, Math.floor(rnd() * b.length));
    if (k < 0.7) {
      const r = new Uint8Array(Math.floor(rnd() * 1500));
      for (let i = 0; i < r.length; i++) r[i] = Math.floor(rnd() * 256);
      return r;
    }
    if (k < 0.85) {
      const r = new Uint8Array(600 + Math.floor(rnd() * 800));
      r[1] = 1;
      r.fill(65, 2);
      return r;
    }
    return b.filter((x) => x !== 0 || rnd() < 0.5);
  };
  const { s, port } = await serve({ timeoutMs: 200, retries: 2, maxTransfers: 64 });
  const c = await RawClient.open();
  c.send(encodeRequest(Op.RRQ, 'mid.bin', 'octet', { blksize: '1468' }), port);
  const oack = await c.next();
  const tid = oack!.port;
  c.send(encodeAck(0), tid);
  for (let i = 0; i < 4000; i++) {
    const pkt = mutate();
    const startsTransfer = pkt.length >= 2 && pkt[0] === 0 && pkt[1] === Op.RRQ;
    c.send(pkt, i % 2 && !startsTransfer ? tid : port);
    if (i % 100 === 0) await Bun.sleep(1);
  }
  c.close();
  await Bun.sleep(1500); // everything the garbage started times out (200 ms × 3)
  expect(s.stats().active).toBe(0);
  need('curl');
  const out = join(dir, 'out-after-fuzz');
  expect((await run(['curl', '-sS', `tftp://127.0.0.1:${port}/small.bin`, '-o', out, '--tftp-blksize', '1468'], 20_000)).code).toBe(0);
  expect(sha(readFileSync(out))).toBe(sha(files['small.bin']!));
  const c2 = await RawClient.open();
  const r = await windowRead(c2, port, encodeRequest(Op.RRQ, 'block.bin', 'octet', { windowsize: '16', blksize: '1468' }));
  expect(sha(r.data)).toBe(sha(files['block.bin']!));
  c2.close();
}, 30_000);
