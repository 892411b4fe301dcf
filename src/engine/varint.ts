/**
 * Int arrays as zigzag-encoded deltas in LEB128 varints, for segment files: postings are mostly
 * ascending runs of small gaps (doc ids within a term, positions within a doc, offsets) and small
 * counts (freqs), so most values take one byte instead of four. Layout: the count as a varint,
 * then each value's difference from the one before (the first from 0), zigzagged so that the
 * drop at the start of the next term's run stays short too.
 */

/** Writes `v` (0 ≤ v < 2^53) as a varint at `at`; answers the position after it. */
function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[at++] = v;
  return at;
}

export function encodeDeltas(values: Int32Array): Uint8Array {
  // At most 5 bytes for the count and 5 per value (a zigzagged delta of two int32s is below 2^33).
  const out = new Uint8Array(5 + 5 * values.length);
  let at = writeVarint(out, 0, values.length);
  let prev = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const d = v - prev;
    prev = v;
    at = writeVarint(out, at, d >= 0 ? 2 * d : -2 * d - 1);
  }
  return out.slice(0, at);
}

/** The values back, or undefined when the bytes are not such an encoding (a count or value cut short, bytes left over, a value out of int32 range). */
export function decodeDeltas(bytes: Uint8Array): Int32Array | undefined {
  let at = 0;
  const n = bytes.length;
  const next = (): number => {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (at >= n || scale > 2 ** 35) return -1;
      const b = bytes[at++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
    }
  };
  const count = next();
  if (count < 0 || count > n) return undefined;
  const values = new Int32Array(count);
  let prev = 0;
  for (let i = 0; i < count; i++) {
    // One byte: the common case, without the general loop.
    let z: number;
    const b = at < n ? bytes[at]! : 0x80;
    if (b < 0x80) {
      z = b;
      at++;
    } else if ((z = next()) < 0) return undefined;
    const v = prev + (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
    if (v < -2147483648 || v > 2147483647) return undefined;
    values[i] = v;
    prev = v;
  }
  return at === n ? values : undefined;
}
