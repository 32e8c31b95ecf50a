// Boot storm (not a test): N simulated nodes (default 1,000) boot at once — DHCP via a relay, TFTP
// undionly.kpxe, DHCP again as iPXE, the iPXE script, kernel, image, system and runtime overlays —
// against the compiled `wulf serve`, then against dnsmasq (DHCP + TFTP) + nginx (static files of the
// same bytes), side by side on the loopback of a private network namespace. Prints p50/p99 time to
// booted, per-stage p50/p99, the error count (target 0) and the ratios.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bootMany, percentile, type BootResult, type SimOptions } from '../src/sim/sim.ts';

const bin = resolve(process.env.WULF_BIN ?? 'dist/wulf');
const N = Number(process.env.NODES ?? 1000);
const conc = Number(process.env.CONCURRENCY ?? 200);

// Everything runs on the loopback of a namespace of its own (dnsmasq's TFTP port is always 69).
if (!process.env.WULF_BOOTSTORM_NS) {
  const ns = `wbst-${process.pid}`;
  const run = (a: string[]) => {
    const r = spawnSync(a[0]!, a.slice(1), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${a.join(' ')}: ${r.stderr}`);
  };
  run(['ip', 'netns', 'add', ns]);
  try {
    run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, import.meta.path], {
      stdio: 'inherit',
      env: { ...process.env, WULF_BOOTSTORM_NS: ns },
    });
    process.exitCode = r.status ?? 1;
  } finally {
    spawnSync('sh', ['-c', `ip netns pids ${ns} | xargs -r kill -9; sleep 0.3; ip netns del ${ns}`]);
  }
} else {
  await main();
}

function summary(name: string, res: BootResult[], wall: number): { p50: number; p99: number; errors: number } {
  const ok = res.filter((r) => r.ok);
  const errs = res.filter((r) => !r.ok);
  const ms = ok.map((r) => r.ms);
  const stages = Object.keys(ok[0]?.stages ?? {});
  console.log(
    `${name.padEnd(16)} booted ${ok.length}, errors ${errs.length}${errs.length ? ` (first: ${errs[0]!.error})` : ''}; wall ${wall.toFixed(1)} s; ` +
      `time to booted p50 ${percentile(ms, 50)} ms, p99 ${percentile(ms, 99)} ms`,
  );
  console.log(
    `${''.padEnd(16)} stages p50/p99 ms: ${stages
      .map(
        (s) =>
          `${s} ${percentile(
            ok.map((r) => r.stages[s] ?? 0),
            50,
          )}/${percentile(
            ok.map((r) => r.stages[s] ?? 0),
            99,
          )}`,
      )
      .join(', ')}`,
  );
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), errors: errs.length };
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      /* starting */
    }
    await Bun.sleep(100);
  }
  throw new Error(`${url} did not answer`);
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'wulf-storm-'));
  chmodSync(root, 0o755);
  const env = { ...process.env, WULF_ROOT: root };
  const w = (...a: string[]) => {
    const r = spawnSync(bin, a, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`wulf ${a.join(' ')}: ${r.stderr}`);
  };
  const procs: ChildProcess[] = [];
  try {
    const fs = join(root, 'rootfs');
    mkdirSync(join(fs, 'bin'), { recursive: true });
    mkdirSync(join(fs, 'boot'), { recursive: true });
    copyFileSync('/bin/busybox', join(fs, 'bin/sh'));
    const k = existsSync('/boot') ? readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-')) : [];
    if (k.length) copyFileSync(join('/boot', k[0]!), join(fs, 'boot', k[0]!));
    else writeFileSync(join(fs, 'boot/vmlinuz-6.1.0-x'), Buffer.alloc(8 << 20));
    w('init', '--address', '127.0.0.1/8', '--interface', 'lo');
    w('image', 'import', fs, 'storm');
    w('image', 'build', 'storm');
    let y = '',
      hosts = '';
    const macs: string[] = [];
    for (let i = 0; i < N; i++) {
      const mac =
        `52:54:01:${((i >> 16) & 255).toString(16).padStart(2, '0')}:` +
        `${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
      macs.push(mac);
      y +=
        `s${String(i).padStart(4, '0')}:\n  profiles: [default]\n  image name: storm\n  network devices:\n    default:\n      hwaddr: "${mac}"\n` +
        `      ipaddr: 127.1.${i >> 8}.${i & 255}\n`;
      hosts += `${mac},127.1.${i >> 8}.${i & 255}\n`;
    }
    writeFileSync(join(root, 'nodes.yaml'), y);
    w('node', 'import', join(root, 'nodes.yaml'), '-y');

    // wulf serve: unprivileged ports; replies to the relay (127.0.0.2) go to relayPort
    const wp: SimOptions = {
      server: '127.0.0.1',
      httpPort: 30000 + Math.floor(Math.random() * 5000),
      dhcpPort: 0,
      tftpPort: 0,
      relayPort: 0,
      timeoutMs: 120_000,
    };
    wp.dhcpPort = wp.httpPort + 1;
    wp.tftpPort = wp.httpPort + 2;
    wp.relayPort = wp.httpPort + 3;
    const serve = spawn(
      bin,
      [
        'serve',
        '--address',
        '127.0.0.1',
        '--http-port',
        String(wp.httpPort),
        '--dhcp-port',
        String(wp.dhcpPort),
        '--tftp-port',
        String(wp.tftpPort),
        '--dhcp-relay-port',
        String(wp.relayPort),
      ],
      { env, stdio: 'ignore' },
    );
    procs.push(serve);
    await waitHttp(`http://127.0.0.1:${wp.httpPort}/status`);

    // the reference: dnsmasq for DHCP (static leases, the same MAC → IP table) and TFTP, nginx for
    // the iPXE script and the same kernel, image and overlay bytes wulf serves (one copy for all)
    const www = join(root, 'www');
    mkdirSync(www);
    const rp: SimOptions = {
      server: '127.0.0.1',
      httpPort: wp.httpPort + 10,
      dhcpPort: wp.httpPort + 11,
      tftpPort: 69,
      relayPort: wp.httpPort + 11,
      giaddr: '127.0.0.2',
      timeoutMs: 120_000,
    };
    for (const s of ['kernel', 'image', 'system', 'runtime']) {
      const r = await fetch(`http://127.0.0.1:${wp.httpPort}/${s}/${macs[0]}`);
      writeFileSync(join(www, s), new Uint8Array(await r.arrayBuffer()));
    }
    const u = `http://127.0.0.1:${rp.httpPort}`;
    writeFileSync(
      join(www, 'boot.ipxe'),
      `#!ipxe\nkernel --name kernel ${u}/kernel || goto failed\ninitrd --name image ${u}/image || goto failed\n` +
        `initrd --name system ${u}/system || goto failed\ninitrd --name runtime ${u}/runtime || goto failed\n` +
        `boot kernel initrd=image initrd=system initrd=runtime\n:failed\nreboot\n`,
    );
    for (const f of readdirSync(www)) chmodSync(join(www, f), 0o644);
    const tftp = join(root, 'tftp');
    mkdirSync(tftp);
    copyFileSync('/usr/lib/ipxe/undionly.kpxe', join(tftp, 'undionly.kpxe'));
    writeFileSync(join(root, 'hosts'), hosts);
    writeFileSync(
      join(root, 'dnsmasq.conf'),
      [
        'port=0',
        'interface=lo',
        'bind-dynamic',
        `dhcp-alternate-port=${rp.dhcpPort},${rp.dhcpPort + 1}`,
        'dhcp-range=127.0.0.0,static,255.0.0.0',
        `dhcp-hostsfile=${root}/hosts`,
        'dhcp-userclass=set:ipxe,iPXE',
        'dhcp-match=set:ipxe,175',
        'dhcp-boot=tag:!ipxe,undionly.kpxe',
        `dhcp-boot=tag:ipxe,${u}/boot.ipxe`,
        'enable-tftp',
        `tftp-root=${tftp}`,
        'tftp-max=1000',
        'no-ping',
        'quiet-dhcp',
        'quiet-tftp',
        `dhcp-leasefile=${root}/leases`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(root, 'nginx.conf'),
      `daemon off; worker_processes 2; pid ${root}/nginx.pid; error_log ${root}/nginx.err;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; default_type application/octet-stream; server { listen 127.0.0.1:${rp.httpPort}; root ${www}; } }\n`,
    );
    const have = (t: string) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;
    const reference = have('dnsmasq') && have('nginx') && existsSync('/usr/lib/ipxe/undionly.kpxe');
    if (reference) {
      procs.push(
        spawn('dnsmasq', ['-k', '-C', join(root, 'dnsmasq.conf'), '--user=root', `--pid-file=${root}/dnsmasq.pid`], { stdio: 'ignore' }),
      );
      procs.push(spawn('nginx', ['-c', join(root, 'nginx.conf'), '-p', root], { stdio: 'ignore' }));
      await waitHttp(`${u}/boot.ipxe`);
    } else {
      console.log('reference round skipped: needs dnsmasq, nginx and ipxe (apt-get install dnsmasq nginx ipxe)');
    }

    console.log(
      `boot storm: ${N} simulated nodes, ${conc} at once, loopback of a private netns; ` +
        `kernel ${(Bun.file(join(www, 'kernel')).size / 1048576).toFixed(1)} MiB, image ${(Bun.file(join(www, 'image')).size / 1048576).toFixed(1)} MiB`,
    );
    // UDP datagrams the kernel dropped for full receive buffers (this netns only): server or relay side
    const rcvbufErrors = () => {
      const l = readFileSync('/proc/net/snmp', 'utf8')
        .split('\n')
        .filter((x) => x.startsWith('Udp:'));
      const h = l[0]!.split(/\s+/),
        v = l[1]!.split(/\s+/);
      return Number(v[h.indexOf('RcvbufErrors')]);
    };
    const round = async (name: string, o: SimOptions) => {
      const t0 = performance.now(),
        d0 = rcvbufErrors();
      const r = await bootMany(o, macs, { concurrency: conc });
      const s = summary(name, r, (performance.now() - t0) / 1000);
      console.log(`${''.padEnd(16)} UDP datagrams dropped by full receive buffers: ${rcvbufErrors() - d0}`);
      return s;
    };
    // alternating order (w r r w), so neither side always meets a colder cache
    const w1 = await round('wulf serve', wp);
    const r1 = reference ? await round('dnsmasq + nginx', rp) : undefined;
    const r2 = reference ? await round('dnsmasq + nginx', rp) : undefined;
    const w2 = await round('wulf serve', wp);
    if (r1 && r2) {
      const ratio = (a: number, b: number) => (b ? (a / b).toFixed(2) : '–');
      console.log(
        `wulf / reference: p50 ${ratio(w1.p50 + w2.p50, r1.p50 + r2.p50)}×, p99 ${ratio(w1.p99 + w2.p99, r1.p99 + r2.p99)}× (lower is better); ` +
          `errors wulf ${w1.errors + w2.errors}, reference ${r1.errors + r2.errors}`,
      );
    }
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Bun.sleep(300);
    rmSync(root, { recursive: true, force: true });
  }
}
