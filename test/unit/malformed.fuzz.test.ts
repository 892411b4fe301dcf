import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateActorMail, validateReply, validateSysRequest } from '../../protocols/runtime.ts';
import { ActorSystem } from '../../src/runtime/actor-system.ts';
import { receive } from '../../src/runtime/behavior.ts';
import { SimulatedClock } from '../../src/runtime/simulated-clock.ts';
import { decode, encode } from '../../src/transport/codec.ts';
import { MemoryNetwork, type MemoryTransport } from '../../src/transport/memory-transport.ts';

/** Values shaped like envelopes, plus anything at all. */
const envelopeLike = fc.oneof(
  fc.anything(),
  fc.record({ op: fc.constantFrom('watch', 'unwatch', 'terminated', 'spawn', 'lookup', 'ping', 'nope'), target: fc.anything(), kind: fc.anything(), name: fc.anything() }, { requiredKeys: ['op'] }),
  fc.record({ m: fc.anything(), f: fc.anything(), x: fc.anything() }, { requiredKeys: [] }),
);

describe('malformed input', () => {
  it('validators never throw, whatever the value', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        for (const validate of [validateActorMail, validateSysRequest, validateReply]) {
          const r = validate(v);
          expect(typeof r.ok).toBe('boolean');
          if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  describe('on a running node', () => {
    const clock = new SimulatedClock({ start: 0 });
    const network = new MemoryNetwork({ clock });
    let node: ActorSystem;
    let raw: MemoryTransport;
    const replies = new Map<string, unknown[]>();

    beforeAll(async () => {
      let started: ActorSystem | undefined;
      void ActorSystem.start({ nodeId: 'target', transport: network.connect('target'), clock, logLevel: 'silent' }).then((s) => (started = s));
      await clock.runUntil(() => started !== undefined);
      node = started!;
      node.spawn('echo', receive((_c, m) => m));
      raw = network.connect('fuzzer');
      raw.subscribe('fuzz.>', (m) => {
        const list = replies.get(m.subject) ?? [];
        list.push(decode(m.data));
        replies.set(m.subject, list);
      });
    });
    afterAll(() => node.halt());

    it('answers every malformed request exactly once with a structured error and stays up', async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('shoal.shoal.actor.target.user.echo', 'shoal.shoal.sys.target'),
          fc.oneof(fc.uint8Array({ maxLength: 256 }), envelopeLike.map((v) => encode(v))),
          async (subject, bytes) => {
            const reply = `fuzz.${n++}`;
            raw.publish(subject, bytes, { reply });
            await clock.runUntil(() => replies.has(reply), { maxTimeMs: 1_000 });
            const got = replies.get(reply)!;
            expect(got).toHaveLength(1);
            const body = validateReply(got[0]);
            expect(body.ok).toBe(true);
            // Anything accepted must have been valid; anything else is a typed error.
            if (body.ok && 'err' in body.value) expect(body.value.err.type).toMatch(/^[a-z_]+$/);
          },
        ),
        { numRuns: 1_000 },
      );
      expect(node.isRunning).toBe(true);
      let answer: unknown;
      void node.ask(node.ref('/user/echo'), 'alive').then((v) => (answer = v));
      await clock.runUntil(() => answer !== undefined);
      expect(answer).toBe('alive');
      expect(node.actorPaths().filter((p) => p.startsWith('/user/'))).toEqual(['/user/echo']);
    });
  });
});
