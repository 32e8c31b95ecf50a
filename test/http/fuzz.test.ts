// The HTTP routes of a real in-process `serve` (real overlay service, state file, discovery) in
// secure mode, fuzzed over raw TCP from unprivileged ports: prototype names as stages, odd
// encodings, odd MAC forms. No response may carry the runtime overlay's secret, nothing may crash,
// the state file must stay writable, the overlay cache must hold only system/runtime archives, and
// the discoverable node must stay unbound.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startServer, type RunningServer } from '../../src/serve/serve.ts';
import { pathsFor } from '../../src/config/paths.ts';
import { readNodesConf } from '../../src/config/store.ts';
import { createLogger } from '../../src/lib/log.ts';
import { readState } from '../../src/runtime/state-file.ts';
import { STAGES } from '../../src/runtime/board.ts';
import { createOverlayService } from '../../src/overlays/service.ts';
import { readWulfConf } from '../../src/config/wulfconf.ts';

const SECRET = `SECRET-RUNTIME-${process.pid}-${Date.now()}`;
const MAC = '52:54:00:aa:00:01',
  UNKNOWN = '52:54:00:aa:00:77';
const root = mkdtempSync(join(tmpdir(), 'wulf-httpfuzz-'));
const paths = pathsFor(root);
const lines: string[] = [];
const log = createLogger({ write: (l) => lines.push(l) });
let srv: RunningServer;
let port = 0;

beforeAll(async () => {
  mkdirSync(paths.confDir, { recursive: true });
  // plain HTTP carries the runtime overlay here (tls: false); n1 holds 127.0.0.1, where the fuzz comes from
  writeFileSync(
    paths.wulfConf,
    'ipaddr: 127.0.0.1\nnetmask: 255.0.0.0\nwarewulf:\n  secure: true\n  tls: false\ndhcp:\n  mode: off\ntftp:\n  enabled: false\n',
  );
  writeFileSync(
    paths.nodesConf,
    [
      'nodeprofiles:',
      '  default:',
      '    runtime overlay: [secret]',
      '    system overlay: [public]',
      'nodes:',
      '  n1:',
      '    profiles: [default]',
      '    network devices:',
      '      default:',
      `        hwaddr: ${MAC}`,
      '        ipaddr: 127.0.0.1',
      '  n9:',
      '    profiles: [default]',
      '    discoverable: "true"',
      '',
    ].join('\n'),
  );
  for (const [name, file, text] of [
    ['secret', 'etc/secret', SECRET],
    ['public', 'etc/public', 'public bytes'],
  ] as const) {
    mkdirSync(join(paths.siteOverlaysDir, name, 'rootfs', 'etc'), { recursive: true });
    writeFileSync(join(paths.siteOverlaysDir, name, 'rootfs', file), `${text}\n`);
  }
  srv = await startServer({ paths, log, address: '127.0.0.1', httpPort: 0, dhcp: false, tftp: false, ra: false });
  port = srv.httpPort;
});
afterAll(async () => {
  await srv?.stop();
  rmSync(root, { recursive: true, force: true });
});

interface Raw {
  status: number;
  body: Uint8Array;
}
/** One request over a fresh TCP connection, the path sent byte for byte (fetch would normalise it). */
function raw(path: string, method = 'GET', localPort?: number): Promise<Raw> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port, ...(localPort ? { localPort } : {}) });
    const t = setTimeout(() => {
      s.destroy();
      resolve({ status: 0, body: new Uint8Array() });
    }, 10_000);
    s.on('connect', () =>
      s.write(
        Buffer.concat([
          Buffer.from(`${method} `),
          Buffer.from(path, 'utf8'),
          Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        ]),
      ),
    );
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(t);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, end < 0 ? all.length : end).toString('latin1');
      let body: Uint8Array = end < 0 ? new Uint8Array() : all.subarray(end + 4);
      if (/\r\ntransfer-encoding: *chunked/i.test(head)) body = unchunk(body);
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), body });
    });
  });
}
function unchunk(b: Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  let i = 0;
  const txt = Buffer.from(b);
  while (i < txt.length) {
    const eol = txt.indexOf('\r\n', i);
    if (eol < 0) break;
    const n = parseInt(txt.subarray(i, eol).toString('latin1'), 16);
    if (!n) break;
    out.push(txt.subarray(eol + 2, eol + 2 + n));
    i = eol + 4 + n;
  }
  return Buffer.concat(out);
}
const text = (b: Uint8Array) => {
  if (b[0] === 0x1f && b[1] === 0x8b) {
    try {
      return Buffer.from(gunzipSync(b)).toString('latin1');
    } catch {
      /* not whole */
    }
  }
  return Buffer.from(b).toString('latin1');
};

const PROTO = [
  'constructor',
  '__proto__',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'prototype',
  'length',
  'then',
  'toJSON',
];
const STAGE_WORDS = [
  'ipxe',
  'kernel',
  'image',
  'container',
  'system',
  'overlay-system',
  'runtime',
  'overlay-runtime',
  'provision',
  'tftp',
  'status',
];
const ODD_STAGES = [
  'RUNTIME',
  'Runtime',
  'runtime%20',
  '%72untime',
  '%2572untime',
  'run%00time',
  'runtime%00',
  '%00',
  'runtime%2f',
  '%2e%2e',
  '%252e%252e',
  '..',
  '.',
  '',
  'ｒｕｎｔｉｍｅ',
  'runtim\u0435',
  'r%C3%BCntime',
  '%C0%AE%C0%AE',
  '%uFEFFruntime',
  'constructor%00',
  '%5f_proto__',
  'x'.repeat(5000),
  ...PROTO.map((p) => p.toUpperCase()),
];
const MACS = [
  MAC,
  encodeURIComponent(MAC),
  '52%253A54%253A00%253Aaa%253A00%253A01',
  '52-54-00-AA-00-01',
  '5254.00AA.0001',
  '525400aa0001',
  '01-52-54-00-aa-00-01',
  `${MAC}%00`,
  '%00',
  'garbage',
  'zz:zz:zz:zz:zz:zz',
  '５２:５４:００:ａａ:００:０１',
  '__proto__',
  'constructor',
  'a'.repeat(3000),
  `${MAC}/x`,
  '..%2f..%2fetc%2fpasswd',
  '%2e%2e',
  '',
  '%20',
  `${MAC}?assetkey=%00`,
];

function paths_(): string[] {
  const out: string[] = [];
  for (const st of [...STAGE_WORDS, ...PROTO, ...ODD_STAGES]) {
    for (const m of MACS) {
      out.push(`/${st}/${m}`);
      if (m === MAC) out.push(`/${st}/${m}/`, `//${st}/${m}`, `/./${st}/${m}`, `/x/../${st}/${m}`);
    }
    out.push(`/provision/${MAC}?stage=${st}`, `/provision/${encodeURIComponent(MAC)}?stage=${st}&assetkey=`);
  }
  out.push(
    `/provision/${MAC}?stage=runtime&stage=constructor`,
    `/provision/${MAC}?stage=constructor&stage=runtime`,
    `/provision/${MAC}?stage[]=runtime`,
    `/provision/${MAC}?__proto__[stage]=runtime`,
    `/provision/${MAC}?stage=%72untime`,
    `/provision/${MAC}`,
    `/provision/${MAC}?stage`,
    `/${'a/'.repeat(2000)}`,
    `/status?${'x'.repeat(20000)}`,
    '/',
    '*',
    `/runtime/${MAC}#x`,
    `http://127.0.0.1/constructor/${MAC}`,
    // raw control bytes and escapes a log forger would send
    '/ipxe/\x1b[2J\x1b[H',
    `/..%2f\x1b]0;t\x07/${MAC}`,
    `/%2e%2e/%0a12:00:00.000%20boot:%20n1%20stage=runtime`,
    `/ipxe/\u2028${MAC}`,
    '/\x9b31m/x',
  );
  return out;
}

describe('secure mode under prototype names, odd encodings and odd MAC forms', () => {
  test('the reported requests: 400, not the runtime overlay', async () => {
    for (const p of [
      `/constructor/${MAC}`,
      `/__proto__/${MAC}`,
      `/toString/${MAC}`,
      `/valueOf/${MAC}`,
      `/hasOwnProperty/${MAC}`,
      `/provision/${MAC}?stage=constructor`,
      `/provision/${MAC}?stage=__proto__`,
      `/constructor/${UNKNOWN}`,
    ]) {
      const r = await raw(p);
      expect([p, r.status]).toEqual([p, 400]);
      expect(text(r.body)).not.toContain(SECRET);
    }
    expect(readNodesConf(paths).nodes.n9!.discoverable).toBe('true'); // a bogus stage binds nothing
  });

  test('the secret is served to a privileged source port only (the detector works)', async () => {
    expect((await raw(`/runtime/${MAC}`)).status).toBe(403);
    let got: Raw | undefined;
    for (let lp = 1000; lp < 1020 && !got; lp++) {
      const r = await raw(`/runtime/${MAC}`, 'GET', lp);
      if (r.status) got = r;
    }
    expect(got?.status).toBe(200);
    expect(text(got!.body)).toContain(SECRET);
  });

  test(`every route × stage × MAC form (GET and HEAD): never the secret, never a 5xx or a hang`, async () => {
    const all = paths_();
    expect(all.length).toBeGreaterThan(900);
    const bad: string[] = [];
    let i = 0;
    const worker = async () => {
      for (let p = all[i++]; p !== undefined; p = all[i++]) {
        for (const method of ['GET', 'HEAD']) {
          const r = await raw(p, method);
          // Bun's own parser answers a request line holding raw control bytes with 505 before wulf sees it
          const parserRefusal = r.status === 505 && /[\0-\x1f\x7f]/.test(p);
          if (r.status === 0 || (r.status >= 500 && !parserRefusal)) bad.push(`${method} ${p.slice(0, 80)} -> ${r.status}`);
          if (r.status < 300 && text(r.body).includes(SECRET)) bad.push(`${method} ${p.slice(0, 80)} -> ${r.status} WITH THE SECRET`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(bad).toEqual([]);
    expect(lines.filter((l) => /[\0-\x1f\x7f-\x9f\u2028\u2029]/.test(l))).toEqual([]); // no peer string reached the log raw
    expect((await fetch(`http://127.0.0.1:${port}/status`)).status).toBe(200);
  }, 120_000);

  test('afterwards: state file writable, only known stages recorded, no stray cache files, n9 unbound', async () => {
    const before = statSync(paths.stateFile, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    expect((await raw(`/system/${MAC}`)).status).toBe(200);
    for (let k = 0; k < 40 && (statSync(paths.stateFile, { throwIfNoEntry: false })?.mtimeMs ?? 0) === before; k++) await Bun.sleep(100);
    expect(lines.filter((l) => /cannot write|Unknown type/.test(l))).toEqual([]);
    const st = readState(paths.stateFile);
    const n1 = st.status.n1 as { stage: string; timeline: { stage: string }[] };
    expect(n1.stage).toBe('system');
    for (const s of Object.values(st.status) as { stage: unknown; sent: unknown; timeline: { stage: unknown }[] }[]) {
      expect(STAGES as readonly unknown[]).toContain(s.stage);
      expect(typeof s.sent).toBe('string');
      for (const t of s.timeline) expect(STAGES as readonly unknown[]).toContain(t.stage);
    }
    const cache = join(paths.cacheDir, 'overlays');
    expect(readdirSync(cache)).toEqual(['n1']);
    for (const f of readdirSync(join(cache, 'n1'))) expect(f).toMatch(/^(system|runtime)(-[0-9a-f]+\.img\.gz|\.served)$/);
    expect(readNodesConf(paths).nodes.n9!.discoverable).toBe('true');
    expect(lines.filter((l) => l.includes('discovery'))).toEqual([]);
  });

  test('the overlay service refuses any kind but system and runtime at its door', async () => {
    const svc = createOverlayService({
      paths,
      getConf: () => readNodesConf(paths),
      getWulfConf: () => readWulfConf(paths),
      log,
      recheckMs: 0,
    });
    for (const k of ['constructor', '__proto__', 'toString', 'RUNTIME', '', Object, undefined] as unknown[]) {
      const e = await svc.archive('n1', k as never).then(
        () => undefined,
        (x: Error) => x,
      );
      expect(e?.message).toMatch(/overlay kind/);
      expect(() => svc.entries('n1', k as never)).toThrow(/overlay kind/);
      expect(svc.buildMany(['n1'], [k as never])).rejects.toThrow(/overlay kind/);
    }
    expect((await svc.archive('n1', 'runtime')).size).toBeGreaterThan(0);
  });
});
