import { Packr } from 'msgpackr';

/**
 * msgpack for internal traffic. Records (shared structures) are off: every message decodes on its
 * own, so a node that restarted or runs another version never needs structure state from a peer.
 */
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number' });

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Throws on malformed input; callers turn that into a `bad_message` error. */
export function decode(data: Uint8Array): unknown {
  return packr.unpack(data);
}
