// The sending side of one read request as a pure state machine (no sockets, no timers): which
// blocks to send next, what an ACK means (16-bit block numbers mapped onto the blocks in flight,
// across rollover), when to resend. Both socket edges drive it: the event-loop one in eventloop.ts
// and the blocking one in worker.ts.
import { Op } from './packet.ts';
import type { TftpFile } from './providers.ts';

export type Step =
  | { kind: 'oack' } // (re)send the OACK
  | { kind: 'send'; from: number; to: number } // send blocks from..to (absolute, inclusive)
  | { kind: 'wait' } // nothing to send until an ACK or a timeout
  | { kind: 'end'; result: 'done' | 'abort'; error?: string };

const WAIT: Step = { kind: 'wait' };

export class Transfer {
  readonly blocks: number; // the last block is short (maybe empty)
  acked = 0; // highest block acknowledged (absolute, no 16-bit wrap)
  sent = 0; // highest block sent (absolute)
  retransmits = 0;
  private rewindFloor = 0; // no second "resend from here" until the client has passed this block
  private tries = 0;
  private ended = false;

  constructor(
    readonly size: number,
    readonly blksize: number,
    readonly windowsize: number,
    private waitingOack: boolean,
    private readonly retries: number,
  ) {
    this.blocks = Math.floor(size / blksize) + 1;
  }

  begin(): Step {
    return this.waitingOack ? { kind: 'oack' } : this.window();
  }

  /** What the window allows beyond what is in flight; the edge reports what went out with sentThrough. */
  window(): Step {
    if (this.ended || this.waitingOack) return WAIT;
    const end = Math.min(this.blocks, this.acked + this.windowsize);
    return end > this.sent ? { kind: 'send', from: this.sent + 1, to: end } : WAIT;
  }

  sentThrough(block: number): void {
    if (block > this.sent) this.sent = block;
  }

  onAck(block16: number): Step {
    if (this.ended) return WAIT;
    if (this.waitingOack) {
      if (block16 !== 0) return WAIT;
      this.waitingOack = false;
      this.tries = 0;
      return this.window();
    }
    const ahead = (block16 - (this.acked & 0xffff) + 0x10000) & 0xffff;
    if (ahead === 0 || this.acked + ahead > this.sent) return WAIT; // duplicate or stale: never resend on it (Sorcerer's Apprentice)
    this.acked += ahead;
    this.tries = 0;
    if (this.acked >= this.blocks) return this.end('done');
    // RFC 7440: an ACK short of the window's end says the blocks after it were lost: resend from
    // there, once per window, so a client that ACKs more often cannot multiply the traffic.
    if (this.acked < this.sent && this.acked >= this.rewindFloor) {
      this.retransmits++;
      this.rewindFloor = this.sent;
      this.sent = this.acked;
    }
    return this.window();
  }

  /** The client sent an ERROR (e.g. UEFI firmware ending its tsize probe). */
  onPeerError(message: string): Step {
    return this.end('abort', message);
  }

  onTimeout(): Step {
    if (this.ended) return WAIT;
    if (++this.tries > this.retries) return this.end('abort', 'timeout');
    this.retransmits++;
    if (this.waitingOack) return { kind: 'oack' };
    this.sent = this.acked; // resend from the last acknowledged block
    return this.window();
  }

  end(result: 'done' | 'abort', error?: string): Step {
    this.ended = true;
    return { kind: 'end', result, error };
  }

  bytesAcked(): number {
    return Math.min(this.size, this.acked * this.blksize);
  }
}

/** A 4-byte ACK's block number, or -1 when the datagram is something else. */
export function ackBlock(msg: Uint8Array, length = msg.length): number {
  return length === 4 && msg[0] === 0 && msg[1] === Op.ACK ? (msg[2]! << 8) | msg[3]! : -1;
}

/** Write DATA block `b` of `file` at `at` in `buf` (header + payload); returns the packet length. */
export function fillData(buf: Uint8Array, at: number, b: number, file: TftpFile, blksize: number): number {
  const off = (b - 1) * blksize;
  const len = Math.max(0, Math.min(blksize, file.size - off));
  buf[at] = 0;
  buf[at + 1] = Op.DATA;
  buf[at + 2] = (b >> 8) & 255;
  buf[at + 3] = b & 255;
  file.readInto(buf, at + 4, off, len);
  return 4 + len;
}
