// A TFTP transfer served on a worker thread: a libc UDP socket of its own (a fresh TID) and a
// blocking loop — recv the ACK, send the next block — with no event loop between the two. This is
// what makes lock-step transfers (what every PXE ROM does) as fast as tftpd-hpa's process per
// transfer. The protocol itself is the shared state machine in transfer.ts.
//
// It sleeps in recv for every ACK, as tftpd-hpa does, and never spins. A run of non-blocking reads
// before sleeping saves a wake-up per block only when the client answers within microseconds (a
// veth peer or a VM on the same host) and a CPU is idle for it; beside a VM or other busy work the
// spinning thread holds the CPU the client needs. Over veth on a busy machine a fixed spin measured
// 0.54–1.40× tftpd-hpa, a spin kept only while it paid off 0.95–1.45×, plain sleeping 1.04–1.89×
// (ahead of that spin in 9 of 12 paired runs). What helps there is the short time slice the thread
// asks for (sched-libc.ts): woken by an ACK it runs at once rather than after the slice of whatever
// holds the CPU, and its share of the CPU stays the same.
import { ptr, type Pointer } from 'bun:ffi';
import { requestShortSlice } from '../lib/sched-libc.ts';
import { connectUdp4 } from '../lib/udp-libc.ts';
import { Op } from './packet.ts';
import { bufferFile, fdFile } from './providers.ts';
import { ackBlock, fillData, Transfer, type Step } from './transfer.ts';

export interface OffloadJob {
  id: number;
  local: string;
  peer: string;
  peerPort: number;
  source: { fd: number } | { bytes: Uint8Array };
  size: number;
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  retries: number;
  oack: Uint8Array | null;
  abort: Int32Array; // shared: non-zero asks the transfer to stop
}
export interface OffloadResult {
  id: number;
  result: 'done' | 'abort' | 'failed';
  error?: string;
  bytes: number;
  retransmits: number;
  ignored: number; // ignored: datagrams that were neither ACK nor ERROR
}

const SLICE_MS = 100; // a blocking recv wakes this often to look at the abort flag and the deadline

export function serveTransfer(job: OffloadJob): OffloadResult {
  const base = { id: job.id, bytes: 0, retransmits: 0, ignored: 0 };
  let sock;
  try {
    sock = connectUdp4(job.local, job.peer, job.peerPort, SLICE_MS);
  } catch (e) {
    return { ...base, result: 'failed', error: (e as Error).message };
  }
  const file = 'fd' in job.source ? fdFile(job.source.fd, job.size, false) : bufferFile(job.source.bytes);
  const t = new Transfer(job.size, job.blksize, job.windowsize, job.oack !== null, job.retries);
  const slot = 4 + job.blksize;
  const slots = Math.min(job.windowsize, t.blocks);
  const ring = new Uint8Array(slot * slots);
  const ringAt = ptr(ring);
  const rx = new Uint8Array(2048);
  const rxAt = ptr(rx);
  const oackAt = job.oack ? ptr(job.oack) : 0;
  let ignored = 0;
  let deadline = performance.now() + job.timeoutMs;
  let step: Step = t.begin();
  try {
    for (;;) {
      if (step.kind === 'end')
        return { ...base, result: step.result, error: step.error, bytes: t.bytesAcked(), retransmits: t.retransmits, ignored };
      if (step.kind === 'oack') {
        sock.send(oackAt as Pointer, job.oack!.length);
        deadline = performance.now() + job.timeoutMs;
      } else if (step.kind === 'send') {
        for (let b = step.from; b <= step.to; b++) {
          const at = (b % slots) * slot;
          const len = fillData(ring, at, b, file, job.blksize);
          if (sock.send((ringAt + at) as Pointer, len) < 0) break; // full buffer: the timeout resends
          t.sentThrough(b);
        }
        deadline = performance.now() + job.timeoutMs;
      }
      if (Atomics.load(job.abort, 0) !== 0) {
        step = t.end('abort', 'server stopping');
        continue;
      }
      const n = sock.recv(rxAt, rx.length); // sleeps until a datagram comes or a slice passes
      if (n < 0) {
        // nothing within a slice (or an ICMP error): time out at the deadline
        step = performance.now() >= deadline ? t.onTimeout() : { kind: 'wait' };
        continue;
      }
      const block = ackBlock(rx, n);
      if (block >= 0) {
        const before = t.acked;
        step = t.onAck(block);
        if (t.acked !== before) deadline = performance.now() + job.timeoutMs;
      } else if (n >= 4 && rx[0] === 0 && rx[1] === Op.ERROR) {
        step = t.onPeerError(new TextDecoder().decode(rx.subarray(4, Math.max(4, n - 1))) || `client error ${(rx[2]! << 8) | rx[3]!}`);
      } else {
        ignored++;
        step = { kind: 'wait' };
      }
    }
  } finally {
    sock.close();
    file.close();
  }
}

declare const self: Worker;
if (!Bun.isMainThread) {
  // offload.ts starts this file as a worker; imported elsewhere it only exports
  requestShortSlice(100); // best effort: Linux 6.12+ (EEVDF custom slices), ignored elsewhere
  self.onmessage = (ev: MessageEvent<OffloadJob>) => {
    let r: OffloadResult;
    try {
      r = serveTransfer(ev.data);
    } catch (e) {
      r = { id: ev.data.id, result: 'abort', error: (e as Error).message, bytes: 0, retransmits: 0, ignored: 0 };
    }
    self.postMessage(r);
  };
}
