/**
 * Flow control that never blocks replies: a node whose application does not
 * take its deliveries keeps reading its socket (it grants the relay a window
 * instead), so its own sends are answered promptly and the relay does not
 * drop it for silence; what waits past the relay's bound is reported
 * `overflow` to its senders, and never reaches the application afterwards.
 */
import { describe, expect, it } from 'vitest';
import type { SendReport } from '../../src/index.js';
import { collect } from '../helpers/collector.js';
import { EventLog, settle, withTimeout } from '../helpers/events.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

describe('a node whose application lags', () => {
  it('keeps its connection and gets its own sends answered within a second; what it never took is overflow, never delivered later', async () => {
    const { url, server } = await startServer({ heartbeatIntervalMs: 200, heartbeatTimeoutMs: 500, deliveryTimeoutMs: 600 });
    const laggard = await connectClient<number>(url, 'laggard', { deliveryHighWaterMark: 16 });
    const other = await connectClient<number>(url, 'other');
    const otherInbox = collect(other);
    const downs = new EventLog(server, 'node:down');
    const disconnects = new EventLog(laggard, 'disconnect');

    // 200 messages for the laggard, whose loop has not started.
    const toLaggard = Array.from({ length: 200 }, (_, i) => settle(other.send({ laggard: ['l'] }, i)));

    // Meanwhile its own sends are answered promptly, for more than two heartbeat timeouts.
    const until = Date.now() + 1_500;
    let n = 0;
    while (Date.now() < until) {
      const started = Date.now();
      expect(await laggard.send({ other: ['o'] }, n++)).toEqual({ delivered: ['other'], offline: {} });
      expect(Date.now() - started).toBeLessThan(1_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(downs.count).toBe(0);
    expect(disconnects.count).toBe(0);
    expect(laggard.connected).toBe(true);
    await otherInbox.until(() => otherInbox.count >= n, 5_000, 'the laggard sends');

    // Every send to it settled, as overflow: none was taken.
    const outcomes = await withTimeout(Promise.all(toLaggard), 5_000, 'sends to the laggard');
    for (const o of outcomes) {
      expect(o.status).toBe('fulfilled');
      expect((o as { value: SendReport }).value).toMatchObject({ delivered: [], reasons: { laggard: 'overflow' } });
    }

    // The loop starts late: nothing reported overflow reaches it.
    const late = collect(laggard);
    expect((await other.send({ laggard: ['l'] }, 1_000)).delivered).toEqual(['laggard']);
    await late.until(() => late.count >= 1, 3_000, 'the next message');
    expect(late.messages).toEqual([1_000]);
  }, 20_000);
});
