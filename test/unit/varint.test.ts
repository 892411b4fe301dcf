import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeDeltas, encodeDeltas } from '../../src/engine/varint.ts';

describe('zigzag-delta varints (segment file postings)', () => {
  it('round-trips any int32 array, extremes included', () => {
    const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
    fc.assert(
      fc.property(fc.array(fc.oneof(int32, fc.integer({ min: 0, max: 300 })), { maxLength: 200 }), (xs) => {
        const a = Int32Array.from(xs);
        expect(decodeDeltas(encodeDeltas(a))).toEqual(a);
      }),
      { numRuns: 500 },
    );
    const extremes = Int32Array.from([2147483647, -2147483648, 2147483647, 0, -1]);
    expect(decodeDeltas(encodeDeltas(extremes))).toEqual(extremes);
  });

  it('small ascending gaps take one byte each', () => {
    const postings = Int32Array.from({ length: 1000 }, (_, i) => i * 3);
    expect(encodeDeltas(postings).length).toBe(2 + 1000);
  });

  it('refuses what is not such an encoding', () => {
    const bytes = encodeDeltas(Int32Array.from([1, 500, 70_000]));
    expect(decodeDeltas(bytes.subarray(0, bytes.length - 1))).toBeUndefined(); // a value cut short
    expect(decodeDeltas(Uint8Array.from([...bytes, 0]))).toBeUndefined(); // a byte left over
    expect(decodeDeltas(Uint8Array.from([5, 1, 2]))).toBeUndefined(); // fewer values than the count
    expect(decodeDeltas(Uint8Array.from([1, 0xfe, 0xff, 0xff, 0xff, 0x1f]))).toBeUndefined(); // out of int32 range
    expect(decodeDeltas(Uint8Array.from([0x80]))).toBeUndefined(); // the count cut short
    expect(decodeDeltas(Uint8Array.from([0]))).toEqual(new Int32Array(0));
  });
});
