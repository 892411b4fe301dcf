/** Subjects of the raw NATS.js baseline served by bench/runtime-peer.ts. */
export const RAW_SUBJECTS = {
  /** request/reply: the peer responds with the request's bytes */
  echo: 'bench.raw.echo',
  /** publish: the peer counts messages */
  tell: 'bench.raw.tell',
  /** request: the peer responds with its count (msgpack number) */
  count: 'bench.raw.count',
  /** request: the peer zeroes its count and responds with the old one */
  reset: 'bench.raw.reset',
} as const;

/** What the peer prints (after `READY `) once it is subscribed and flushed. */
export interface PeerReady {
  pid: number;
  node: string;
  /** ref ids of the echo and sink actors */
  echo: string;
  sink: string;
  raw: typeof RAW_SUBJECTS;
}
