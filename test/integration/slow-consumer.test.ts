import { describe, expect, it } from 'vitest';
import type { RelayServer, SendReport } from '../../src/index.js';
import { barrier, collect } from '../helpers/collector.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

const MAX_OUTBOUND = 64 * 1024;

/**
 * Bytes the relay holds for one node right now: its coalescing buffer plus
 * the socket's own. Not part of the public stats, so read from the session.
 */
function heldFor(server: RelayServer, nodeId: string): number {
  const hub = (server as unknown as { hub: { registry: Map<string, { outboundBytes: number }> } }).hub;
  return hub.registry.get(Buffer.from(nodeId).toString('latin1'))?.outboundBytes ?? 0;
}

describe('a slow consumer', () => {
  it('is bounded on the relay, reported as overflow, and gets exactly the deliveries that were reported', async () => {
    // A message waits at most 300 ms for the slow node's application before it is given up.
    const { url, server } = await startServer({ maxOutboundBytes: MAX_OUTBOUND, deliveryTimeoutMs: 300 });
    const sender = await connectClient(url, 'fast');
    const slow = await connectClient(url, 'slow', { deliveryHighWaterMark: 4 });
    const fine = collect(await connectClient(url, 'fine'));

    const payload = Buffer.alloc(4 * 1024, 0x5a);
    // one DELIVER to the slow node: length prefix, type and flags, origin, user list, payload
    const frameBytes = 4 + 2 + (1 + 'fast'.length) + (4 + 1 + 's'.length) + payload.length;
    const reports: SendReport[] = [];
    let peak = 0;
    let i = 0;
    // Push until the relay has been refusing the slow node for a while (bounded by a send budget).
    let overflowStreak = 0;
    // What the relay holds for the slow node, sampled while it is pushed.
    const sampler = setInterval(() => (peak = Math.max(peak, heldFor(server, 'slow'))), 2);
    while (overflowStreak < 200 && i < 20_000) {
      const batch: Array<Promise<SendReport>> = [];
      // 10 x 4 KiB per turn: a node that keeps up is never over the 64 KiB limit
      for (let k = 0; k < 10; k++) {
        payload.writeUInt32LE(i++, 0);
        batch.push(sender.send({ slow: ['s'], fine: ['f'] }, Buffer.from(payload)));
      }
      for (const r of await Promise.all(batch)) {
        reports.push(r);
        overflowStreak = r.reasons?.slow === 'overflow' ? overflowStreak + 1 : 0;
      }
    }
    clearInterval(sampler);
    const sent = reports.length;
    expect(overflowStreak).toBeGreaterThanOrEqual(200);

    const deliveredTo = reports.filter((r) => r.delivered.includes('slow')).length;
    const overflowed = reports.filter((r) => r.reasons?.slow === 'overflow').length;
    // every send accounts for the slow node one way or the other, never both
    expect(deliveredTo + overflowed).toBe(sent);
    for (const r of reports) {
      if (r.reasons?.slow === 'overflow') expect(r.offline.slow).toEqual(['s']);
      if (r.delivered.includes('fine')) expect(r.offline.fine).toBeUndefined();
      else expect(r.reasons?.fine).toBe('overflow');
    }
    const fineDelivered = reports.filter((r) => r.delivered.includes('fine')).length;
    const fineOverflowed = sent - fineDelivered;
    expect(server.stats().overflows).toBe(overflowed + fineOverflowed);
    // bounded: the relay held at most its limit plus one frame for the slow node
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(MAX_OUTBOUND + frameBytes);

    // the node that keeps up was not held back by the slow one
    expect(fineOverflowed).toBe(0);
    await barrier(sender, { fine }, 10_000);
    expect(fine.count).toBe(fineDelivered);

    // Now the consumer catches up: it receives exactly what the reports said it was handed, in order.
    const expected = reports.flatMap((r, n) => (r.delivered.includes('slow') ? [n] : []));
    const slowInbox = collect(slow);
    await slowInbox.waitFor(deliveredTo, 10_000);
    // the barrier proves nothing more (no duplicate, no refused one) was on its way
    await barrier(sender, { slow: slowInbox }, 10_000);
    const got = slowInbox.messages.map((m) => (m as Buffer).readUInt32LE(0));
    expect(got.length).toBe(deliveredTo);
    expect(got).toEqual(expected);
    // and once it caught up, the relay delivers to it again
    expect((await sender.send({ slow: ['s'] }, 'caught up')).delivered).toEqual(['slow']);
  });

  it('{ report: false } overflow arrives as offline notices, one per refused send', async () => {
    const { url } = await startServer({ maxOutboundBytes: MAX_OUTBOUND });
    const sender = await connectClient(url, 'fast');
    const slow = await connectClient(url, 'slow', { deliveryHighWaterMark: 2 });
    let notices = 0;
    sender.on('offline', (n) => {
      expect(n).toEqual({ offline: { slow: ['s'] }, reasons: { slow: 'overflow' } });
      notices++;
    });
    const payload = Buffer.alloc(8 * 1024, 1);
    const total = 3_000;
    for (let i = 0; i < total; i++) {
      payload.writeUInt32LE(i, 0);
      await sender.send({ slow: ['s'] }, Buffer.from(payload), { report: false });
    }
    // a reported send after them: its report comes after every earlier notice
    const last = await sender.send({ slow: ['s'] }, 'marker');
    expect(notices).toBeGreaterThan(0);
    const inbox = collect(slow);
    const markerDelivered = last.delivered.includes('slow');
    const expectedCount = total - notices + (markerDelivered ? 1 : 0);
    await inbox.waitFor(expectedCount, 10_000);
    await barrier(sender, { slow: inbox }, 10_000);
    expect(inbox.count).toBe(expectedCount);
    const ids = inbox.messages.filter((m) => Buffer.isBuffer(m)).map((m) => (m as Buffer).readUInt32LE(0));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
  });
});
