import { describe, expect, it } from 'vitest';
import { BufferFullError, ErrorCodes, NotConnectedError, SendFailedError, type SendReport } from '../../src/index.js';
import { barrier, collect } from '../helpers/collector.js';
import { Tracked, codeOf, settle } from '../helpers/events.js';
import { connectClient, createClient, freePort, startServer, urlFor, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

/** Long enough that no queued send expires during a test. */
const PATIENT = { writeRetry: { attempts: 50, intervalMs: 100 } };

/** Lets pending promise callbacks run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('bounded send buffer', () => {
  it('while disconnected, the send after maxBufferedMessages rejects at once with ERR_BUFFER_FULL; the rest go out once the relay is up', async () => {
    const port = await freePort();
    const client = createClient(urlFor(port), 'self', { ...PATIENT, maxBufferedMessages: 3 });
    const connecting = new Tracked(client.connect());
    const inbox = collect(client);

    const accepted = [0, 1, 2].map((i) => new Tracked(client.send({ self: ['me'] }, i)));
    const fourth = new Tracked(client.send({ self: ['me'] }, 3));
    await turn();
    expect(fourth.state).toBe('rejected');
    expect(fourth.reason).toBeInstanceOf(BufferFullError);
    expect(codeOf(fourth.reason)).toBe(ErrorCodes.BUFFER_FULL);
    expect(accepted.map((t) => t.state)).toEqual(['pending', 'pending', 'pending']);

    // Still full: another send is refused too, and a refused send did not take a slot.
    await expect(client.send({ self: ['me'] }, 4)).rejects.toBeInstanceOf(BufferFullError);

    await startServer({ port });
    await connecting.done;
    expect(connecting.state).toBe('fulfilled');
    for (const t of accepted) expect(await t.done).toEqual({ status: 'fulfilled', value: { delivered: ['self'], offline: {} } });
    await barrier(client, { self: inbox });
    expect(inbox.messages).toEqual([0, 1, 2]);
  });

  it('a send before connect() is ever called rejects at once with ERR_NOT_CONNECTED and is never written', async () => {
    const { url } = await startServer();
    const client = createClient(url, 'early');
    const inbox = collect(client);
    const early = new Tracked(client.send({ early: ['u'] }, 'a'));
    const toUsers = new Tracked(client.sendToUsers(['u'], 'b'));
    await turn();
    for (const t of [early, toUsers]) {
      expect(t.state).toBe('rejected');
      expect(t.reason).toBeInstanceOf(NotConnectedError);
      expect(String((t.reason as Error).message)).toContain('connect()');
    }
    await client.connect();
    expect((await client.send({ early: ['u'] }, 'c')).delivered).toEqual(['early']);
    await barrier(client, { early: inbox });
    expect(inbox.messages).toEqual(['c']);
  });

  it('while disconnected, maxBufferedBytes bounds the bytes held: a send that would pass it is refused, a smaller one still fits', async () => {
    const port = await freePort();
    const client = createClient(urlFor(port), 'self', { ...PATIENT, maxBufferedBytes: 1_000 });
    void settle(client.connect());
    const big = 'x'.repeat(400);
    const first = settle(client.send({ self: ['me'] }, big));
    const second = settle(client.send({ self: ['me'] }, big));
    await expect(client.send({ self: ['me'] }, big)).rejects.toMatchObject({ code: ErrorCodes.BUFFER_FULL });
    const small = settle(client.send({ self: ['me'] }, 'y'.repeat(50)));
    await expect(client.send({ self: ['me'] }, 'z'.repeat(200))).rejects.toBeInstanceOf(BufferFullError);

    const inbox = collect(client);
    await startServer({ port });
    for (const s of [first, second, small]) expect((await s).status).toBe('fulfilled');
    await barrier(client, { self: inbox });
    expect(inbox.messages).toEqual([big, big, 'y'.repeat(50)]);
  });

  it('while connected, maxBufferedMessages does not bound a burst: every send in one tick is accepted and delivered', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'a', { maxBufferedMessages: 3 });
    const target = collect(await connectClient(url, 'b'));
    // Bounded by the bytes waiting, not by a count per turn (maxBufferedMessages bounds sends waiting for a connection).
    const outcomes = await Promise.all([0, 1, 2, 3, 4].map((i) => settle(sender.send({ b: ['u'] }, i))));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    await barrier(sender, { b: target });
    expect(target.messages).toEqual([0, 1, 2, 3, 4]);
  });

  it('while connected, maxBufferedBytes bounds the bytes written in one tick', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'a', { maxBufferedBytes: 10_000 });
    const target = collect(await connectClient(url, 'b'));
    const chunk = Buffer.alloc(4_000, 1);
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => settle(sender.send({ b: ['u'] }, chunk))));
    const ok = outcomes.filter((o) => o.status === 'fulfilled').length;
    const full = outcomes.filter((o) => o.status === 'rejected' && codeOf(o.reason) === ErrorCodes.BUFFER_FULL).length;
    expect(ok + full).toBe(10);
    expect(ok).toBeGreaterThanOrEqual(2);
    expect(ok).toBeLessThanOrEqual(3);
    // accepted sends come first; once refused, every later send in that tick is refused too
    expect(outcomes.map((o) => o.status)).toEqual([...Array(ok).fill('fulfilled'), ...Array(full).fill('rejected')]);
    await barrier(sender, { b: target });
    expect(target.count).toBe(ok);
  });

  it('when the write retries run out, a waiting send rejects with ERR_SEND_FAILED (and only then)', async () => {
    const port = await freePort();
    const client = createClient(urlFor(port), 'lonely', { writeRetry: { attempts: 3, intervalMs: 50 } });
    void settle(client.connect());
    const started = Date.now();
    const outcome = await settle(client.send({ other: ['u'] }, 'never written'));
    const elapsed = Date.now() - started;
    expect(outcome.status).toBe('rejected');
    const err = (outcome as { reason: unknown }).reason;
    expect(err).toBeInstanceOf(SendFailedError);
    expect(codeOf(err)).toBe(ErrorCodes.SEND_FAILED);
    // (attempts - 1) * intervalMs = 100 ms window, checked a few times per interval
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(1_000);
    // The buffer slot was freed: the client still accepts sends.
    const again = new Tracked(client.send({ other: ['u'] }, 'again'));
    await turn();
    expect(again.state).toBe('pending');
  });

  it('an expired send is never written later; a send made after it goes out once the relay is up, exactly once', async () => {
    const port = await freePort();
    const client = createClient(urlFor(port), 'self', { writeRetry: { attempts: 3, intervalMs: 100 } });
    void settle(client.connect());
    const inbox = collect(client);
    const early = settle(client.send({ self: ['u'] }, 'early'));
    const expired = await early;
    expect(codeOf((expired as { reason: unknown }).reason)).toBe(ErrorCodes.SEND_FAILED);
    const late = settle(client.send({ self: ['u'] }, 'late'));
    await startServer({ port });
    const outcome = await late;
    expect(outcome.status).toBe('fulfilled');
    expect((outcome as { value: SendReport }).value.delivered).toEqual(['self']);
    await barrier(client, { self: inbox });
    expect(inbox.messages).toEqual(['late']);
  });
});
