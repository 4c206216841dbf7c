/**
 * close() on an effectively-once link: the sender says goodbye only once the
 * sends it wrote are answered (the relay answers as receivers take them);
 * the receiver tells the relay what its application took, and drops unseen
 * what it had not handed to the loop.
 */
import { describe, expect, it } from 'vitest';
import type { Delivery } from '../../src/index.js';
import { collect } from '../helpers/collector.js';
import { withTimeout } from '../helpers/events.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { incarnation, lastConsumed, startOnceRelay, stampedDeliver } from '../helpers/once-fake-relay.js';

useRelayHarness();

describe('close() with effectively-once delivery', () => {
  it('waits for the answers of the sends written, then says goodbye: each resolves with its true report', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'a', { closeTimeoutMs: 5_000 });
    const target = collect(await connectClient<number>(url, 'b'));
    const sends = Array.from({ length: 200 }, (_, i) => sender.send({ b: ['u'] }, i));
    await withTimeout(sender.close(), 5_000, 'close()');
    const reports = await Promise.all(sends);
    for (const r of reports) expect(r).toEqual({ delivered: ['b'], offline: {} });
    await target.waitFor(200);
    expect(target.messages).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('the receiver acknowledges what its loop took (the held one included) and drops the rest unseen', async () => {
    const relay = await startOnceRelay();
    const client = await connectClient<string>(relay.url, 'n', { deliveryHighWaterMark: 16 });
    const peer = await relay.connection(1);
    peer.write(Buffer.concat([1, 2, 3, 4].map((n) => stampedDeliver('o', incarnation(1), n, `m${n}`))));
    const it = client.deliveries();
    expect(((await it.next()).value as Delivery<string>).message).toBe('m1');
    expect(((await it.next()).value as Delivery<string>).message).toBe('m2');
    const closing = client.close();
    // m1 taken, m2 held (the application has it), m3 and m4 not handed out: dropped.
    await peer.until(() => lastConsumed(peer)?.taken === 2, 2_000, 'the last CONSUMED');
    expect(lastConsumed(peer)).toEqual({ taken: 2, settled: 2, window: 16 });
    // Anything still arriving is dropped too: no CONSUMED could follow it.
    peer.write(stampedDeliver('o', incarnation(1), 5, 'm5'));
    peer.destroy();
    await closing;
    expect((await it.next()).done).toBe(true);
  });
});
