// CRC-32 (the gzip polynomial) of a concatenation from the CRCs of its parts, without the bytes:
// the linear-algebra method over GF(2) that zlib documents for crc32_combine. Lets an archive made
// of cached, separately compressed parts carry one correct gzip trailer.

const times = (mat: Uint32Array, vec: number): number => {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i]!;
  return sum >>> 0;
};
const square = (out: Uint32Array, mat: Uint32Array) => {
  for (let n = 0; n < 32; n++) out[n] = times(mat, mat[n]!);
};

/** crc32(A ‖ B) from crc32(A), crc32(B) and B's length in bytes. */
export function crc32Combine(crcA: number, crcB: number, lenB: number): number {
  if (lenB <= 0) return crcA >>> 0;
  const odd = new Uint32Array(32),
    even = new Uint32Array(32);
  odd[0] = 0xedb88320; // the operator for one zero bit
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  square(even, odd); // two zero bits
  square(odd, even); // four
  let crc = crcA >>> 0;
  // apply len zero bytes to crcA: squares give 1, 2, 4, … bytes
  for (;;) {
    square(even, odd);
    if (lenB % 2) crc = times(even, crc);
    lenB = Math.floor(lenB / 2);
    if (!lenB) break;
    square(odd, even);
    if (lenB % 2) crc = times(odd, crc);
    lenB = Math.floor(lenB / 2);
    if (!lenB) break;
  }
  return (crc ^ crcB) >>> 0;
}
