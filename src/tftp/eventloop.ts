// A TFTP transfer served on the event loop: a connected Bun UDP socket of its own (a fresh TID),
// packets sent as the state machine in transfer.ts asks, ACKs taken as they arrive, one lazy timer
// for retransmission. server.ts uses it when no worker thread is idle (and for IPv6 or in-memory
// files); worker.ts is the other driver of transfer.ts, a blocking loop on a thread.
import { decodePacket, encodeOack, Op, type Negotiated } from './packet.ts';
import type { TftpFile } from './providers.ts';
import { ackBlock, fillData, Transfer, type Step } from './transfer.ts';

/** The connected socket of one transfer (Bun's connected UDP socket). */
export type TidSocket = { send(d: Uint8Array): boolean; sendMany(p: readonly Uint8Array[]): number; close(): void };

export interface LoopResult {
  result: 'done' | 'abort';
  error?: string;
  bytes: number;
  retransmits: number;
}

export interface LoopTransfer {
  /** Send the OACK or the first window; call once. */
  start(): void;
  /** A datagram from the client. */
  data(msg: Buffer): void;
  /** The socket can take more after it was full. */
  drain(): void;
  /** End the transfer now ('server stopping'). */
  abort(): void;
}

/**
 * Drive one transfer of `file` over `tid` with the negotiated options. When it ends the socket and
 * the file are closed and `done` is called once; `bad` hears of datagrams that do not decode.
 */
export function loopTransfer(
  tid: TidSocket,
  file: TftpFile,
  n: Negotiated,
  retries: number,
  done: (r: LoopResult) => void,
  bad: (reason: string) => void,
): LoopTransfer {
  const t = new Transfer(file.size, n.blksize, n.windowsize, Object.keys(n.oack).length > 0, retries);
  // One slot per block in flight (block b lives in slot b % slots): packets are built in place,
  // never allocated per block. Bun copies a datagram into the kernel on send.
  const slot = 4 + n.blksize,
    slots = Math.min(n.windowsize, t.blocks);
  const ring = Buffer.allocUnsafe(slot * slots);
  const packet = (b: number) => {
    const at = (b % slots) * slot;
    return ring.subarray(at, at + fillData(ring, at, b, file, n.blksize));
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finished = false;
  const finish = (result: LoopResult['result'], error?: string) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    file.close();
    try {
      tid.close();
    } catch {
      /* already */
    }
    done({ result, error, bytes: t.bytesAcked(), retransmits: t.retransmits });
  };
  // One lazy timer per transfer: progress only moves the deadline (no timer churn per block).
  let deadline = 0;
  const tick = () => {
    const left = deadline - performance.now();
    if (left > 1) {
      timer = setTimeout(tick, left);
      return;
    }
    timer = undefined;
    apply(t.onTimeout());
  };
  const arm = () => {
    deadline = performance.now() + n.timeoutMs;
    if (!timer) timer = setTimeout(tick, n.timeoutMs);
  };
  // With a full socket buffer Bun drops the rest and calls drain(); sentThrough counts what went out.
  const apply = (step: Step): void => {
    if (step.kind === 'end') return finish(step.result, step.error);
    if (step.kind === 'oack') {
      tid.send(encodeOack(n.oack));
      return arm();
    }
    if (step.kind !== 'send') return;
    if (step.from === step.to) {
      if (tid.send(packet(step.from))) t.sentThrough(step.from);
    } else {
      const pk: Uint8Array[] = [];
      for (let b = step.from; b <= step.to; b++) pk.push(packet(b));
      const k = tid.sendMany(pk);
      if (k > 0) t.sentThrough(step.from + k - 1);
    }
    arm();
  };
  return {
    start: () => apply(t.begin()),
    data(msg) {
      if (finished) return;
      const block = ackBlock(msg); // the hot path
      if (block < 0) {
        const d = decodePacket(msg);
        if (!d.ok) {
          bad(d.reason);
          return;
        }
        if (d.packet.op === Op.ERROR) apply(t.onPeerError(d.packet.message || `client error ${d.packet.code}`)); // e.g. the UEFI tsize probe
        return;
      }
      const before = t.acked;
      apply(t.onAck(block));
      if (t.acked !== before && !finished) arm();
    },
    drain() {
      if (!finished) apply(t.window());
    },
    abort: () => apply(t.end('abort', 'server stopping')),
  };
}
