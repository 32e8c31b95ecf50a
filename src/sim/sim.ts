// Simulated nodes for the demo and the boot-storm benchmark: each does a DHCP exchange (as a
// relay agent on loopback, so any number of MACs work without raw sockets), fetches the iPXE
// binary over TFTP, asks DHCP again as iPXE, then follows the iPXE script it is served (kernel,
// image, overlays over HTTP), like a real boot.
// With several servers (two controllers on one segment) the relay forwards every request to each of
// them, as a relay agent with several helper addresses does; a node takes the first OFFER, names
// that server in its REQUEST (the other ignores it), fetches TFTP from the ACK's next-server and
// HTTP from the URLs it is given, as firmware does. With retries, a node whose boot fails (no DHCP
// answer, a TFTP transfer that stalls, a refused or cut HTTP connection) waits and boots again from
// DHCP: what the wulf iPXE script's `:failed` (sleep 15, reboot) and a PXE ROM's restart do.
import dgram from 'node:dgram';
import { checkInitramfs, InitramfsError } from '../lib/initramfs.ts';
import { decodePacket as decodeDhcp, encodePacket, macToChaddr, messageType, newPacket } from '../dhcp/packet.ts';
import { encodeSubOptions, MessageType, Option } from '../dhcp/options.ts';
import { decodePacket as decodeTftp, encodeAck, encodeRequest, Op } from '../tftp/packet.ts';

export interface SimOptions {
  server: string;
  /** every DHCP server the relay forwards to (default [server]); more than one implies follow */
  servers?: string[];
  /** TFTP from the ACK's next-server and HTTP to the URLs as the server names them (default: to server, ports as given) */
  follow?: boolean;
  /** boots again from DHCP after a failure, this many times (default 0) */
  retries?: number;
  /** the pause before booting again (default 1000 ms; the wulf iPXE script sleeps 15 s) */
  retryWaitMs?: number;
  httpPort: number;
  dhcpPort: number;
  tftpPort: number;
  relayPort: number;
  /** the relay agent's address (giaddr), where the server sends its replies; default 127.0.0.1 */
  giaddr?: string;
  timeoutMs?: number;
}
export interface BootResult {
  mac: string;
  ok: boolean;
  ms: number;
  error?: string;
  stages: Record<string, number>;
  ip?: string;
  /** the server whose ACK the node booted with (its server identifier) */
  server?: string;
  /** host:port the iPXE script came from, and every host:port its kernel/initrd/chain URLs name */
  scriptFrom?: string;
  scriptNames?: string[];
  /** boots tried (1 unless a failure made the node boot again), and why the earlier ones failed */
  attempts?: number;
  failures?: string[];
}

/** One relay socket shared by all simulated nodes; replies are matched by transaction id. */
export class Relay {
  private sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  private out = new Map<string, dgram.Socket>();
  private waiting = new Map<number, { accept: MessageType[]; done: (p: ReturnType<typeof decodeDhcp>) => void }>();
  constructor(private o: SimOptions) {}
  async open(): Promise<void> {
    this.sock.on('message', (m) => {
      const d = decodeDhcp(m);
      if (d.ok) {
        const w = this.waiting.get(d.packet.xid);
        // a late OFFER from a second server is not the answer to the REQUEST that followed
        if (w && w.accept.includes(messageType(d.packet) as MessageType)) {
          this.waiting.delete(d.packet.xid);
          w.done(d);
        }
      }
    });
    await new Promise<void>((res, rej) => {
      this.sock.once('error', rej);
      this.sock.bind(this.o.relayPort, this.o.giaddr ?? '127.0.0.1', () => res());
    });
    try {
      this.sock.setRecvBufferSize(4 << 20);
    } catch {
      /* the system limit stays */
    }
    // several servers: a socket of its own toward each. A dead server's ICMP "port unreachable" is
    // reported (Bun 1.4, Linux) as ECONNREFUSED by the next send on the socket that reached it,
    // whatever that send's destination: on one shared socket, requests to the live server were lost
    const servers = this.o.servers ?? [this.o.server];
    for (const server of servers.length > 1 ? servers : []) {
      const s = dgram.createSocket('udp4');
      s.on('error', () => {}); // a helper address that does not answer is not the relay's problem
      await new Promise<void>((res) => s.bind(0, this.o.giaddr ?? '127.0.0.1', () => res()));
      this.out.set(server, s);
    }
  }
  close() {
    for (const s of [this.sock, ...this.out.values()]) {
      try {
        s.close();
      } catch {
        /* closed */
      }
    }
  }
  async exchange(
    mac: string,
    type: MessageType,
    xid: number,
    extra: (o: ReturnType<typeof newPacket>['options']) => void,
  ): Promise<ReturnType<typeof newPacket>> {
    const p = newPacket({ xid, hops: 1, giaddr: this.o.giaddr ?? '127.0.0.1', chaddr: macToChaddr(mac) });
    p.options.setU8(Option.MessageType, type);
    p.options.setU16(Option.ClientArch, 0);
    p.options.setText(Option.VendorClassId, 'PXEClient:Arch:00000:UNDI:002001');
    extra(p.options);
    for (let attempt = 0; attempt < 4; attempt++) {
      const reply = new Promise<ReturnType<typeof decodeDhcp> | undefined>((res) => {
        const t = setTimeout(() => {
          this.waiting.delete(xid);
          res(undefined);
        }, 2000);
        const done = (d: ReturnType<typeof decodeDhcp>) => {
          clearTimeout(t);
          res(d);
        };
        this.waiting.set(xid, { accept: type === MessageType.Discover ? [MessageType.Offer] : [MessageType.Ack, MessageType.Nak], done });
      });
      const bytes = encodePacket(p);
      for (const server of this.o.servers ?? [this.o.server]) (this.out.get(server) ?? this.sock).send(bytes, this.o.dhcpPort, server);
      const d = await reply;
      if (d?.ok) return d.packet;
    }
    throw new Error(`no DHCP ${type === MessageType.Discover ? 'OFFER' : 'ACK'}`);
  }
}

/** A TFTP read from host (default o.server); with stallMs, a transfer silent that long fails (a PXE ROM gives up). */
export async function tftpGet(o: SimOptions, file: string, timeoutMs: number, host = o.server, stallMs = timeoutMs): Promise<number> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, o.giaddr ?? '127.0.0.1', () => r()));
  let bytes = 0;
  let stall: ReturnType<typeof setTimeout> | undefined, timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise<number>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('TFTP timeout')), timeoutMs);
      const quiet = () => {
        clearTimeout(stall);
        stall = setTimeout(() => reject(new Error(`TFTP: nothing from ${host} for ${stallMs} ms`)), stallMs);
      };
      quiet();
      let expect = 1,
        blksize = 512;
      sock.on('message', (m, r) => {
        const d = decodeTftp(m);
        if (!d.ok) return;
        quiet();
        const p = d.packet;
        if (p.op === Op.ERROR) {
          clearTimeout(timer);
          reject(new Error(`TFTP: ${p.message}`));
          return;
        }
        if (p.op === Op.OACK) {
          blksize = Number(p.options.blksize ?? 512);
          sock.send(encodeAck(0), r.port, r.address);
          return;
        }
        if (p.op !== Op.DATA) return;
        if (p.block === (expect & 0xffff)) {
          bytes += p.data.length;
          expect++;
        }
        sock.send(encodeAck(p.block), r.port, r.address);
        if (p.data.length < blksize && p.block === ((expect - 1) & 0xffff)) {
          clearTimeout(timer);
          resolve(bytes);
        }
      });
      sock.send(encodeRequest(Op.RRQ, file, 'octet', { blksize: '1468', tsize: '0' }), o.tftpPort, host);
    });
  } finally {
    clearTimeout(stall);
    clearTimeout(timer);
    sock.close();
  }
}

async function httpGet(url: string, timeoutMs: number, initrd = false): Promise<number> {
  const what = new URL(url).pathname.split('/')[1];
  let r: Response, body: Uint8Array;
  try {
    r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    body = new Uint8Array(await r.arrayBuffer());
  } catch (e) {
    throw new Error(`${what}: ${new URL(url).host}: ${(e as Error).message}`);
  }
  if (!r.ok) throw new Error(`${what}: HTTP ${r.status}`);
  if (initrd) checkOnce(what ?? url, body);
  return body.byteLength;
}

// Every initrd is checked the way the kernel unpacks it (each compressed stream a whole cpio
// archive), once per distinct content: a boot storm fetches the same image a thousand times.
const checked = new Map<string, string | undefined>();
function checkOnce(what: string, body: Uint8Array): void {
  const key = `${body.byteLength}:${Bun.hash(body)}`;
  if (!checked.has(key)) {
    let err: string | undefined;
    try {
      checkInitramfs(body);
    } catch (e) {
      err = (e as Error).message;
    }
    if (checked.size > 10_000) checked.clear();
    checked.set(key, err);
  }
  const err = checked.get(key);
  if (err) throw new InitramfsError(`${what}: the kernel would refuse this initramfs: ${err}`);
}

/** What a served iPXE script asks for: the chained script, or the kernel/initrd URLs in order. */
export interface IpxePlan {
  files: { name: string; url: string; required: boolean; initrd: boolean }[];
  chain?: string;
  message?: string;
}

/** Reads an iPXE script the way iPXE would for our templates: `set` variables, `kernel`/`initrd`
 *  URLs (required unless an `||` alternative other than `goto failed` follows), `chain URL`, and
 *  the first `echo` line (the reason, when the script does not boot). */
export function planIpxeScript(script: string, vars: Record<string, string> = {}): IpxePlan {
  const v: Record<string, string> = { asset: '', uuid: '', ...vars };
  const expand = (s: string) => s.replace(/\$\{([A-Za-z0-9_:]+)\}/g, (_, k: string) => v[k] ?? '');
  const plan: IpxePlan = { files: [] };
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(':')) continue;
    const [cmdPart, ...alts] = line.split('||');
    const words = cmdPart!.split('&&')[0]!.trim().split(/\s+/);
    const cmd = words[0];
    if (cmd === 'set' && words[1]) {
      v[words[1]] = expand(words.slice(2).join(' '));
      continue;
    }
    if (cmd === 'echo') {
      const m = expand(words.slice(1).join(' '));
      if (m && !plan.message) plan.message = m;
      continue;
    }
    if (cmd === 'chain') {
      const url = words.slice(1).find((w) => !w.startsWith('-'));
      if (url) {
        plan.chain = expand(url);
        return plan;
      }
      continue;
    }
    if (cmd === 'kernel' || cmd === 'initrd') {
      let name = '',
        url = '';
      for (let i = 1; i < words.length; i++) {
        const w = words[i]!;
        if (w === '--name' || w === '-n') name = words[++i] ?? '';
        else if (w.startsWith('--name=')) name = w.slice(7);
        else if (!w.startsWith('-')) {
          url = expand(w);
          break;
        }
      }
      if (url)
        plan.files.push({
          name: name || url.split('/').pop()!,
          url,
          required: alts.some((a) => /goto\s+failed|reboot|exit/.test(a)) || alts.length === 0,
          initrd: cmd === 'initrd',
        });
      continue;
    }
    if (cmd === 'boot') return plan;
  }
  return plan;
}

/** The second DHCP exchange, as iPXE does it after it has loaded: user class "iPXE", option 175. */
function asIpxe(o: ReturnType<typeof newPacket>['options']): void {
  o.setText(Option.UserClass, 'iPXE');
  o.set(Option.IpxeEncap, encodeSubOptions([[19, Uint8Array.of(1)]], false)); // a feature flag; any 175 marks iPXE
}

export async function dora(relay: Relay, o: SimOptions, mac: string, ipxe: boolean): Promise<ReturnType<typeof newPacket>> {
  const xid = (Math.random() * 2 ** 32) >>> 0;
  const offer = await relay.exchange(mac, MessageType.Discover, xid, (opt) => {
    if (ipxe) asIpxe(opt);
  });
  if (messageType(offer) !== MessageType.Offer) throw new Error('DHCP: no OFFER');
  const server = offer.options.ip(Option.ServerIdentifier) ?? o.server;
  const ack = await relay.exchange(mac, MessageType.Request, xid, (opt) => {
    if (ipxe) asIpxe(opt);
    opt.setIp(Option.RequestedIpAddress, offer.yiaddr);
    opt.setIp(Option.ServerIdentifier, server);
  });
  if (messageType(ack) !== MessageType.Ack) throw new Error(`DHCP: ${messageType(ack) === MessageType.Nak ? 'NAK' : 'no ACK'}`);
  if (ack.yiaddr !== offer.yiaddr) throw new Error(`DHCP: ACK ${ack.yiaddr} differs from OFFER ${offer.yiaddr}`);
  return ack;
}

/** One simulated boot, the way a PXE ROM and then iPXE do it: DORA → TFTP the iPXE binary →
 *  DORA again as iPXE (its boot file is the /ipxe/<mac> URL) → the iPXE script → every kernel and
 *  initrd the script names (kernel, image, system, runtime), in order. With o.retries, a failed boot
 *  waits o.retryWaitMs and starts again from DHCP (the script's `:failed` reboots the node). */
export async function bootNode(relay: Relay, o: SimOptions, mac: string): Promise<BootResult> {
  const t0 = performance.now();
  const failures: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const r = await bootOnce(relay, o, mac);
    const more = attempt <= (o.retries ?? 0);
    if (r.ok || !more) {
      const extra = o.retries ? { attempts: attempt, failures } : {};
      return { ...r, ...extra, ms: Math.round(performance.now() - t0) };
    }
    failures.push(r.error ?? 'failed');
    await Bun.sleep(o.retryWaitMs ?? 1000);
  }
}

async function bootOnce(relay: Relay, o: SimOptions, mac: string): Promise<BootResult> {
  const t0 = performance.now();
  const stages: Record<string, number> = {};
  const mark = (s: string, from: number) => {
    stages[s] = Math.round(performance.now() - from);
  };
  const timeout = o.timeoutMs ?? 30_000;
  const follow = o.follow ?? (o.servers?.length ?? 1) > 1;
  const base = `http://${o.server}:${o.httpPort}`;
  // following, a URL is used as the server wrote it; else (loopback with a port map) its path and query go to base
  const at = (u: URL) => (follow ? u.href : `${base}${u.pathname}${u.search}`);
  const res: Partial<BootResult> = {};
  try {
    let t = performance.now();
    const ack = await dora(relay, o, mac, false);
    mark('dhcp', t);
    res.server = ack.options.ip(Option.ServerIdentifier);
    t = performance.now();
    const next = ack.siaddr !== '0.0.0.0' ? ack.siaddr : (res.server ?? o.server);
    await tftpGet(o, ack.file || 'undionly.kpxe', timeout, follow ? next : o.server, follow && o.retries ? 4000 : timeout);
    mark('tftp', t);
    t = performance.now();
    const ack2 = await dora(relay, o, mac, true);
    if (ack2.yiaddr !== ack.yiaddr) throw new Error(`DHCP: iPXE got ${ack2.yiaddr}, the ROM got ${ack.yiaddr}`);
    res.server = ack2.options.ip(Option.ServerIdentifier);
    const file = ack2.file.replace(/\$\{[^}]*\}/g, ''); // iPXE expands ${asset} and ${uuid}; ours are empty
    if (!file.startsWith('http')) throw new Error(`DHCP: iPXE was offered "${ack2.file}", not an http:// script`);
    let url = at(new URL(file));
    res.scriptFrom = new URL(url).host;
    const named = new Set<string>();
    let plan: IpxePlan | undefined;
    for (let hops = 0; hops < 3; hops++) {
      const r = await fetch(url, { signal: AbortSignal.timeout(timeout) }).catch((e: Error) => {
        throw new Error(`ipxe: ${new URL(url).host}: ${e.message}`);
      });
      if (!r.ok) throw new Error(`ipxe: HTTP ${r.status}`);
      plan = planIpxeScript(await r.text());
      for (const f of plan.files) named.add(new URL(f.url).host);
      if (!plan.chain) break;
      if (!plan.files.length) throw new Error(`ipxe: ${plan.message ?? 'the script chains without booting'}`);
      named.add(new URL(plan.chain).host);
      url = at(new URL(plan.chain));
    }
    res.scriptNames = [...named];
    mark('ipxe', t);
    if (!plan?.files.length) throw new Error(`ipxe: ${plan?.message ?? 'the script names no kernel'}`);
    for (const f of plan.files) {
      t = performance.now();
      try {
        await httpGet(at(new URL(f.url)), timeout, f.initrd);
        mark(f.name, t);
      } catch (e) {
        if (f.required || e instanceof InitramfsError) throw e;
      }
    }
    return { mac, ok: true, ms: Math.round(performance.now() - t0), stages, ip: ack.yiaddr, ...res };
  } catch (e) {
    return { mac, ok: false, ms: Math.round(performance.now() - t0), stages, error: (e as Error).message, ...res };
  }
}

/** Boot many nodes with a concurrency limit (and an optional pause between starts). */
export async function bootMany(
  o: SimOptions,
  macs: string[],
  opts: { concurrency?: number; intervalMs?: number; onResult?: (r: BootResult) => void } = {},
): Promise<BootResult[]> {
  const relay = new Relay(o);
  await relay.open();
  const results: BootResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < macs.length) {
      const mac = macs[next++]!;
      const r = await bootNode(relay, o, mac);
      results.push(r);
      opts.onResult?.(r);
      if (opts.intervalMs) await Bun.sleep(opts.intervalMs);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 50, macs.length)) }, worker));
  } finally {
    relay.close();
  }
  return results;
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
