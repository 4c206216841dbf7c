import { describe, expect, it } from 'vitest';
import { ClosedError, ErrorCodes, RelayError, type SendReport } from '../../src/index.js';
import { FrameType } from '../../src/protocol/index.js';
import { barrier, collect } from '../helpers/collector.js';
import { EventLog, codeOf, pollUntil, settle, waitForEvent, withTimeout } from '../helpers/events.js';
import { connectClient, createClient, freePort, startServer, urlFor, useRelayHarness } from '../helpers/harness.js';
import { RawPeer, startFakeRelay, welcomeFrame } from '../helpers/raw-peer.js';

useRelayHarness();

describe('RelayClient.close()', () => {
  it('rejects queued sends and a pending connect() with ERR_CLOSED', async () => {
    const port = await freePort();
    const client = createClient(urlFor(port), 'c', { writeRetry: { attempts: 50, intervalMs: 100 } });
    const connecting = settle(client.connect());
    const sends = [1, 2, 3].map((i) => settle(client.send({ x: ['u'] }, i)));
    await withTimeout(client.close(), 1_000, 'close()');
    const c = await connecting;
    expect(c.status).toBe('rejected');
    expect((c as { reason: unknown }).reason).toBeInstanceOf(ClosedError);
    for (const s of await Promise.all(sends)) {
      expect(s.status).toBe('rejected');
      expect(codeOf((s as { reason: unknown }).reason)).toBe(ErrorCodes.CLOSED);
    }
  });

  it('sends already written resolve with their reports; what they delivered arrives exactly once', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'a');
    const target = collect(await connectClient(url, 'b'));
    const sends = Array.from({ length: 200 }, (_, i) => settle(sender.send({ b: ['u'], nobody: ['z'] }, i)));
    await withTimeout(sender.close(), 2_000, 'close()');
    const outcomes = await Promise.all(sends);
    const delivered: number[] = [];
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') {
        expect(o.value).toEqual({ delivered: ['b'], offline: { nobody: ['z'] }, reasons: { nobody: 'offline' } });
        delivered.push(i);
      } else {
        expect(codeOf(o.reason)).toBe(ErrorCodes.CLOSED);
      }
    });
    // Written before the goodbye, so the relay routed and reported every one of them.
    expect(delivered).toHaveLength(200);
    const probe = await connectClient(url, 'probe');
    await barrier(probe, { b: target });
    expect(target.messages).toEqual(delivered);
  });

  it('sends written whose report never comes reject with ERR_CLOSED after closeTimeoutMs', async () => {
    // A relay that welcomes, then reads everything and answers nothing, not even the goodbye.
    const fake = await startFakeRelay((peer) => {
      void peer.nextFrame().then(() => peer.write(welcomeFrame(60_000)));
    });
    const client = await connectClient(fake.url, 'c', { closeTimeoutMs: 150 });
    const peer = await fake.connection(1);
    const sent = [1, 2, 3].map((i) => settle(client.send({ x: ['u'] }, i)));
    // wait until the relay has them: they are written, and only a report could settle them
    await peer.until(() => peer.received.length >= 4, 2_000, 'three routes');
    const started = Date.now();
    await withTimeout(client.close(), 2_000, 'close()');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    for (const s of await Promise.all(sent)) {
      expect(s.status).toBe('rejected');
      expect(codeOf((s as { reason: unknown }).reason)).toBe(ErrorCodes.CLOSED);
    }
  });

  it('ends the for-await loop; what the loop had not taken is never handed out, and its sender hears offline', async () => {
    const { url, server } = await startServer();
    const sender = await connectClient(url, 'sender');
    const client = await connectClient(url, 'self');
    const sends = Array.from({ length: 20 }, (_, i) => sender.send({ self: ['me'] }, i));
    await pollUntil(() => server.stats().deliveries >= 20, 3_000, 'twenty deliveries written');
    await client.close();
    const seen: unknown[] = [];
    for await (const d of client) seen.push(d.message);
    expect(seen).toEqual([]);
    for (const report of await Promise.all(sends)) expect(report).toMatchObject({ delivered: [], offline: { self: ['me'] } });
  });

  it('ends a loop that is waiting for a delivery', async () => {
    const { url } = await startServer();
    const client = await connectClient(url, 'c');
    const loop = collect(client);
    await client.close();
    await loop.waitForEnd(1_000);
    expect(loop.ended).toBe(true);
    expect(loop.error).toBeUndefined();
  });

  it('is idempotent; connect() and send() after it reject with ERR_CLOSED', async () => {
    const { url, server } = await startServer();
    const client = await connectClient(url, 'c');
    const down = waitForEvent(server, 'node:down');
    const first = client.close();
    const second = client.close();
    expect(second).toBe(first);
    await first;
    await client.close();
    const [node, reason] = await down;
    expect(node.nodeId).toBe('c');
    expect(codeOf(reason)).toBe(ErrorCodes.CLOSED);
    expect(client.connected).toBe(false);
    await expect(client.connect()).rejects.toBeInstanceOf(ClosedError);
    await expect(client.send({ x: ['u'] }, 'late')).rejects.toBeInstanceOf(ClosedError);
  });

  it('closing while waiting to reconnect resolves at once and stops reconnecting', async () => {
    const port = await freePort();
    const client = createClient(urlFor(port), 'c', { retryStrategy: () => 60_000 });
    const connecting = settle(client.connect());
    await waitForEvent(client, 'reconnecting');
    await withTimeout(client.close(), 500, 'close()');
    expect((await connecting).status).toBe('rejected');
  });

  it('closing a client that never connected resolves', async () => {
    const client = createClient(urlFor(await freePort()), 'idle');
    await withTimeout(client.close(), 500, 'close()');
    await expect(client.send({ x: ['u'] }, 1)).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('one consumer at a time', () => {
  it('a second consumer while one is iterating throws ERR_CONSUMER_BUSY', async () => {
    const { url } = await startServer();
    const client = await connectClient(url, 'c');
    const loop = collect(client);
    for (const start of [() => client[Symbol.asyncIterator](), () => client.deliveries()]) {
      let thrown: unknown;
      try {
        start();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(RelayError);
      expect(codeOf(thrown)).toBe(ErrorCodes.CONSUMER_BUSY);
    }
    await expect(
      (async () => {
        for await (const _ of client) expect.unreachable();
      })(),
    ).rejects.toMatchObject({ code: ErrorCodes.CONSUMER_BUSY });
    await loop.stop();
  });

  it('breaking out of a loop frees the consumer; the next loop gets the rest, none twice', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'sender');
    const client = await connectClient(url, 'self');
    const sends = Array.from({ length: 6 }, (_, i) => sender.send({ self: ['me'] }, i));
    const firstLoop: unknown[] = [];
    for await (const d of client) {
      firstLoop.push(d.message);
      if (firstLoop.length === 2) break;
    }
    const second = collect(client);
    for (const report of await Promise.all(sends)) expect(report.delivered).toEqual(['self']);
    await barrier(sender, { self: second });
    expect(firstLoop).toEqual([0, 1]);
    expect(second.messages).toEqual([2, 3, 4, 5]);
  });
});

describe('RelayServer.close()', () => {
  it('resolves once every socket is closed; clients see disconnect (ERR_SHUTDOWN) and start reconnecting', async () => {
    const { url, server } = await startServer();
    const clients = await Promise.all(['a', 'b', 'c'].map((id) => connectClient(url, id)));
    const disconnects = clients.map((c) => waitForEvent<[RelayError | undefined]>(c, 'disconnect'));
    const reconnects = clients.map((c) => waitForEvent(c, 'reconnecting'));
    const downs = new EventLog(server, 'node:down');
    await withTimeout(server.close(), 1_000, 'server.close()');
    expect(server.stats().nodes).toBe(0);
    expect(server.nodes()).toEqual([]);
    expect(downs.count).toBe(3);
    for (const [reason] of await Promise.all(disconnects)) expect(codeOf(reason)).toBe(ErrorCodes.SHUTDOWN);
    await Promise.all(reconnects);
    for (const c of clients) expect(c.connected).toBe(false);
    // idempotent, and a closed server does not listen again
    await server.close();
    await expect(server.listen()).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  });

  it('cuts off, after closeTimeoutMs, a node that never hangs up, and a peer still in its hello', async () => {
    const { port, server } = await startServer({ closeTimeoutMs: 150 });
    const deaf = await RawPeer.connect(port);
    await deaf.handshake('deaf');
    deaf.stopReading();
    const silent = await RawPeer.connect(port);
    await pollUntil(() => server.stats().pendingConnections === 1, 1_000, 'the relay accepted the silent peer');
    const started = Date.now();
    await withTimeout(server.close(), 2_000, 'server.close()');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1_500);
    await silent.waitClosed();
    deaf.socket.resume();
    await deaf.waitClosed();
    // the deaf node was told why before it was cut off
    expect(deaf.received.some((f) => f[0] === FrameType.GOODBYE)).toBe(true);
  });

  it('sends made while the relay shuts down settle with a report or a coded error, and the nodes hanging up end the wait at once', async () => {
    const { url, server } = await startServer();
    const sender = await connectClient(url, 'a', { writeRetry: { attempts: 2, intervalMs: 50 } });
    await connectClient(url, 'b');
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < 100; i++) sends.push(settle(sender.send({ b: ['u'] }, i)));
    const started = Date.now();
    const closing = server.close();
    for (let i = 100; i < 200; i++) sends.push(settle(sender.send({ b: ['u'] }, i)));
    await closing;
    // The nodes hang up as soon as they read the goodbye, frames of theirs still
    // in flight notwithstanding: the relay must not wait out closeTimeoutMs (2 s).
    expect(Date.now() - started).toBeLessThan(1_000);
    const outcomes = (await withTimeout(Promise.all(sends), 3_000, 'every send')) as Array<
      { status: 'fulfilled'; value: SendReport } | { status: 'rejected'; reason: unknown }
    >;
    for (const o of outcomes) {
      if (o.status === 'rejected') expect([ErrorCodes.CONNECTION_LOST, ErrorCodes.SEND_FAILED]).toContain(codeOf(o.reason));
    }
  });
});
