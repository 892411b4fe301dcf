/**
 * Which shard a document lives in: murmur3 (x86, 32-bit) of the routing key (the id unless a
 * routing value is given) modulo the number of shards, as Elasticsearch routes. Every node
 * computes the same shard for the same key.
 */
export function shardFor(routingKey: string, numberOfShards: number): number {
  const h = murmur3(routingKey);
  return ((h % numberOfShards) + numberOfShards) % numberOfShards;
}

/** murmur3_x86_32 over the UTF-16 code units of `s` (two bytes each, little endian), seed 0. */
export function murmur3(s: string): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = 0;
  const len = s.length * 2;
  let i = 0;
  // Two UTF-16 units make one 4-byte block.
  for (; i + 1 < s.length; i += 2) {
    let k = (s.charCodeAt(i) & 0xffff) | ((s.charCodeAt(i + 1) & 0xffff) << 16);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < s.length) {
    let k = s.charCodeAt(i) & 0xffff;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
