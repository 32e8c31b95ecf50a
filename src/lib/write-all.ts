// The write-all-bytes loop, once: writeSync may write fewer bytes than asked (a signal, a full
// disk's last blocks, a pipe), so a write of a whole buffer loops until every byte is out.
import { writeSync } from 'node:fs';

/** Write all of `buf` to `fd`: at `position` in the file when given, else at the descriptor's offset. */
export function writeAll(fd: number, buf: Uint8Array, position?: number): void {
  let off = 0;
  if (position === undefined) while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
  else while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, position + off);
}
