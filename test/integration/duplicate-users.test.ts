/**
 * A user named twice in one send (42, '42' and 42n are the same user) gets
 * the message once: the app writes to that user's socket once.
 */
import { describe, expect, it } from 'vitest';
import { barrier, collect } from '../helpers/collector.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

describe('duplicate user ids', () => {
  it('send(): each user appears once in the delivery, in first-seen order', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'a');
    const inbox = collect(await connectClient(url, 'b'));
    const report = await sender.send({ b: [42, '42', 42n, 'x', 'x', 7] }, 'once');
    expect(report).toEqual({ delivered: ['b'], offline: {} });
    await barrier(sender, { b: inbox });
    expect(inbox.items.map((d) => d.users)).toEqual([['42', 'x', '7']]);
  });

  it('sendToUsers(): each user appears once in the delivery', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'a');
    const receiver = await connectClient(url, 'b');
    const inbox = collect(receiver);
    receiver.online(['42', 'x']);
    await receiver.locate([]);
    const report = await sender.sendToUsers([42, '42', 42n, 'x', 'x'], 'once');
    expect(report).toEqual({ delivered: ['b'], offline: [], undelivered: {} });
    await barrier(sender, { b: inbox });
    expect(inbox.items.map((d) => d.users)).toEqual([['42', 'x']]);
  });
});
