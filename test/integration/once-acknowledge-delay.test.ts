/**
 * A node's acknowledgement (CONSUMED) that would go out alone waits up to
 * `acknowledgeDelayMs` for other output to carry it, against a fake relay
 * that speaks effectively-once delivery. What must not wait never does: the
 * first on a connection, the answer to an EXPIRE, one owed when the relay is
 * half way through the window, and the last one on close.
 */
import { describe, expect, it } from 'vitest';
import type { ConsumedFrame } from '../../src/protocol/index.js';
import { FrameType } from '../../src/protocol/index.js';
import { collect, type DeliveryCollector } from '../helpers/collector.js';
import { connectClient, useRelayHarness } from '../helpers/harness.js';
import { consumedFrames, expireFrame, incarnation, lastConsumed, startOnceRelay, stampedDeliver } from '../helpers/once-fake-relay.js';
import type { RawPeer } from '../helpers/raw-peer.js';
import type { Delivery, RelayClient } from '../../src/index.js';

useRelayHarness();

const A = incarnation(0xa1);
/** Far longer than any wait below: whatever arrives within them did not wait for the timer. */
const LONG = 60_000;

async function consumedUntil(peer: RawPeer, expected: ConsumedFrame, label: string): Promise<void> {
  await peer.until(() => JSON.stringify(lastConsumed(peer)) === JSON.stringify(expected), 2_000, label);
}

async function turns(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function onceNode(window: number, acknowledgeDelayMs: number): Promise<{ client: RelayClient<string>; peer: RawPeer }> {
  const relay = await startOnceRelay();
  const client = await connectClient<string>(relay.url, 'n', { deliveryHighWaterMark: window, acknowledgeDelayMs });
  const peer = await relay.connection(1);
  // The first goes at once, whatever the delay.
  await consumedUntil(peer, { taken: 0, settled: 0, window }, 'the first CONSUMED');
  return { client, peer };
}

/**
 * A node whose loop took deliveries 1 to `count`, with their acknowledgement
 * still held (the relay heard only the first CONSUMED).
 */
async function holdingAfterTaking(
  window: number,
  acknowledgeDelayMs: number,
  count: number,
): Promise<{ client: RelayClient<string>; peer: RawPeer; inbox: DeliveryCollector<string> }> {
  const { client, peer } = await onceNode(window, acknowledgeDelayMs);
  const inbox = collect(client);
  peer.write(deliveries(1, count));
  await inbox.waitFor(count);
  await turns();
  expect(lastConsumed(peer)).toEqual({ taken: 0, settled: 0, window });
  return { client, peer, inbox };
}

function deliveries(from: number, to: number): Buffer {
  const frames: Buffer[] = [];
  for (let n = from; n <= to; n++) frames.push(stampedDeliver('o', A, n, `m${n}`));
  return Buffer.concat(frames);
}

describe('acknowledgeDelayMs', () => {
  it('a node that only receives sends its acknowledgement alone once the delay is over, one for everything taken meanwhile', async () => {
    const delay = 300;
    const { client, peer } = await onceNode(64, delay);
    const inbox = collect(client);
    const started = performance.now();
    peer.write(deliveries(1, 3));
    await inbox.waitFor(3);
    await turns();
    expect(lastConsumed(peer)).toEqual({ taken: 0, settled: 0, window: 64 });
    peer.write(deliveries(4, 5));
    await inbox.waitFor(5);
    await consumedUntil(peer, { taken: 5, settled: 5, window: 64 }, 'the held acknowledgement');
    // Timers never fire early; a millisecond of slack for the clock's rounding.
    expect(performance.now() - started).toBeGreaterThanOrEqual(delay - 1);
    expect(consumedFrames(peer)).toHaveLength(2);
  });

  it('output written anyway carries the acknowledgement at once', async () => {
    const { client, peer } = await holdingAfterTaking(64, LONG, 3);
    // The fake relay never answers it; the harness's close rejects it.
    client.send({ other: ['x'] }, 'hello').catch(() => {});
    await consumedUntil(peer, { taken: 3, settled: 3, window: 64 }, 'the acknowledgement with the ROUTE');
    await peer.until(() => peer.received.some((f) => f[0] === FrameType.ROUTE), 2_000, 'the ROUTE');
  });

  it('never waits once the relay is half way through the window the last acknowledgement granted', async () => {
    const { peer, inbox } = await holdingAfterTaking(8, LONG, 3);
    peer.write(deliveries(4, 4));
    await consumedUntil(peer, { taken: 4, settled: 4, window: 8 }, 'half the window taken');
    // Counted again from what that one said.
    peer.write(deliveries(5, 7));
    await inbox.waitFor(7);
    await turns();
    expect(lastConsumed(peer)).toEqual({ taken: 4, settled: 4, window: 8 });
    peer.write(deliveries(8, 8));
    await consumedUntil(peer, { taken: 8, settled: 8, window: 8 }, 'half the window again');
  });

  it('the answer to an EXPIRE never waits', async () => {
    const { client, peer } = await onceNode(64, LONG);
    peer.write(deliveries(1, 3));
    const it = client.deliveries();
    expect(((await it.next()).value as Delivery<string>).message).toBe('m1');
    peer.write(expireFrame(3));
    await consumedUntil(peer, { taken: 1, settled: 3, window: 64 }, 'the answer to EXPIRE');
  });

  it('close sends the acknowledgement held, with what the application took', async () => {
    const { client, peer } = await holdingAfterTaking(64, LONG, 3);
    const closed = client.close();
    await consumedUntil(peer, { taken: 3, settled: 3, window: 64 }, 'the last acknowledgement');
    await closed;
  });
});
