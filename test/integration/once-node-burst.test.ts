/**
 * Bursts bounded by bytes, over the real relay: sends while connected are
 * bounded by the bytes waiting (batch, socket, kept for writing again), not
 * by a count per turn, and a large batch is flushed early.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, type SendReport } from '../../src/index.js';
import { EARLY_FLUSH_BYTES } from '../../src/client/send-ledger.js';
import { collect } from '../helpers/collector.js';
import { codeOf, settle, withTimeout } from '../helpers/events.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

describe('a burst of sends while connected', () => {
  it('50,000 sends of ~100 B in one synchronous loop: all accepted, all delivered exactly once, in order', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'burst');
    const receiver = collect(await connectClient<string>(url, 'sink'));
    const total = 50_000;
    const pad = 'x'.repeat(90);
    const sends: Array<Promise<SendReport>> = [];
    const socket = (sender as unknown as { supervisor: { link: { socket: { writableLength: number } } } }).supervisor.link.socket;
    let peakSocket = 0;
    for (let i = 0; i < total; i++) {
      sends.push(sender.send({ sink: ['u'] }, `${i}:${pad}`));
      peakSocket = Math.max(peakSocket, socket.writableLength);
    }
    // Flushed early, in the loop: the socket held bytes before the turn ended.
    expect(peakSocket).toBeGreaterThan(0);
    const reports = await withTimeout(Promise.all(sends), 30_000, 'every report');
    expect(reports.every((r) => r.delivered.length === 1 && r.delivered[0] === 'sink')).toBe(true);
    await receiver.waitFor(total, 30_000);
    const got = receiver.messages.map((m) => Number((m as string).split(':')[0]));
    expect(got).toHaveLength(total);
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i));
  }, 60_000);

  it('maxBufferedBytes still bounds it: past the bytes waiting, sends reject with ERR_BUFFER_FULL at once, the ones before are delivered', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'burst', { maxBufferedBytes: 2 * EARLY_FLUSH_BYTES });
    const receiver = collect(await connectClient<Buffer>(url, 'sink'));
    const chunk = Buffer.alloc(4 * 1024, 1);
    const outcomes = await Promise.all(Array.from({ length: 400 }, () => settle(sender.send({ sink: ['u'] }, chunk))));
    const ok = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThan(400);
    // Accepted first; once refused, every later send in the burst is refused too.
    expect(outcomes.map((o) => o.status)).toEqual([...Array(ok).fill('fulfilled'), ...Array(400 - ok).fill('rejected')]);
    for (const o of outcomes.slice(ok)) expect(codeOf((o as { reason: unknown }).reason)).toBe(ErrorCodes.BUFFER_FULL);
    await receiver.waitFor(ok);
  });
});
