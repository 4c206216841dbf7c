/**
 * A model test of effectively-once delivery: random streams of sends, with
 * the sender's and the receiver's connections cut at random points (the way
 * a network failure cuts them: no goodbye). Whatever the cuts, every send
 * settles exactly once with the true report (delivered: the receiver's
 * application took it), and the receiver's application takes every message
 * exactly once, in send order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SendReport } from '../../src/index.js';
import { collect } from '../helpers/collector.js';
import { settle, withTimeout, type Settled } from '../helpers/events.js';
import { cleanup, connectClient, dropConnection, startServer } from '../helpers/harness.js';

type Step = { kind: 'send'; count: number } | { kind: 'cut'; who: 'sender' | 'receiver' } | { kind: 'pause' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 40 }).map((count) => ({ kind: 'send' as const, count })) },
  { weight: 2, arbitrary: fc.constantFrom('sender' as const, 'receiver' as const).map((who) => ({ kind: 'cut' as const, who })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'pause' as const }) },
);

const OPTIONS = {
  reconnect: { initialDelayMs: 5, maxDelayMs: 30, jitter: 0 },
  writeRetry: { attempts: 200, intervalMs: 50 },
  reportTimeoutMs: 15_000,
};

async function run(steps: Step[]): Promise<void> {
  try {
    const { url } = await startServer({ presenceGraceMs: 5_000 });
    const sender = await connectClient<number>(url, 'sender', OPTIONS);
    const receiver = await connectClient<number>(url, 'receiver', OPTIONS);
    const inbox = collect(receiver);
    const sends: Array<Promise<Settled<SendReport>>> = [];
    let n = 0;
    for (const s of steps) {
      if (s.kind === 'send') {
        for (let i = 0; i < s.count; i++) sends.push(settle(sender.send({ receiver: ['u'] }, n++)));
        // Let part of the batch reach the wire before the next step.
        await new Promise((resolve) => setImmediate(resolve));
      } else if (s.kind === 'cut') {
        const client = s.who === 'sender' ? sender : receiver;
        if (client.connected) dropConnection(client);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    const outcomes = await withTimeout(Promise.all(sends), 20_000, 'every send');
    outcomes.forEach((o, i) => {
      expect(o.status, `send ${i}`).toBe('fulfilled');
      expect((o as { value: SendReport }).value, `send ${i}`).toEqual({ delivered: ['receiver'], offline: {} });
    });
    await inbox.until(() => inbox.count >= n, 10_000, `${n} deliveries`);
    expect(inbox.messages).toEqual(Array.from({ length: n }, (_, i) => i));
  } finally {
    await cleanup();
  }
}

describe('effectively-once delivery, as a model', () => {
  it('cuts at random points: every send settles once, delivered; every message taken once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => run(steps)),
      { numRuns: 25, endOnFailure: true },
    );
  }, 120_000);
});
