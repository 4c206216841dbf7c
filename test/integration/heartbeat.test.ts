import { describe, expect, it } from 'vitest';
import { ErrorCodes, RelayError, type NodeInfo } from '../../src/index.js';
import { FrameType } from '../../src/protocol/index.js';
import { barrier, collect } from '../helpers/collector.js';
import { EventLog, codeOf, pollUntil, waitForEvent } from '../helpers/events.js';
import { connectClient, createClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { RawPeer, errorCodeOf, startFakeRelay, welcomeFrame } from '../helpers/raw-peer.js';

useRelayHarness();

const INTERVAL = 100;

describe('heartbeats', () => {
  it('an idle client stays connected over many intervals: the relay pings and the client answers', async () => {
    const { url, server } = await startServer({ heartbeatIntervalMs: INTERVAL });
    const client = await connectClient(url, 'idle');
    const disconnects = new EventLog(client, 'disconnect');
    const downs = new EventLog(server, 'node:down');
    const framesAtStart = server.stats().framesIn;
    // Every frame the relay receives from an idle node is a heartbeat (a pong or its own ping):
    // wait for enough of them to span several intervals.
    await pollUntil(() => server.stats().framesIn - framesAtStart >= 4, 3_000, 'four heartbeats from the idle node');
    expect(disconnects.count).toBe(0);
    expect(downs.count).toBe(0);
    expect(client.connected).toBe(true);
    expect(server.nodes().map((n) => n.nodeId)).toEqual(['idle']);
    collect(client);
    expect(await client.send({ idle: ['me'] }, 'still here')).toEqual({ delivered: ['idle'], offline: {} });
  });

  it('a half-open node (handshake done by hand, pings never answered) is closed with ERR_HEARTBEAT within about two intervals', async () => {
    const { port, server } = await startServer({ heartbeatIntervalMs: INTERVAL });
    const errors = new EventLog<[RelayError]>(server, 'error');
    const down = waitForEvent<[NodeInfo, RelayError | undefined]>(server, 'node:down');
    const peer = await RawPeer.connect(port);
    await peer.handshake('zombie');
    const quietSince = Date.now();
    const error = await peer.nextControlOfType(FrameType.ERROR, 3_000);
    const elapsed = Date.now() - quietSince;
    expect(errorCodeOf(error)).toBe(ErrorCodes.HEARTBEAT);
    // silent for more than the 2-interval timeout, caught by a sweep soon after
    expect(elapsed).toBeGreaterThanOrEqual(2 * INTERVAL);
    expect(elapsed).toBeLessThan(2 * INTERVAL + 150);
    // it was pinged first, and ignored the pings
    expect(peer.received.filter((f) => f[0] === FrameType.PING).length).toBeGreaterThanOrEqual(1);
    await peer.waitClosed();
    const [node, reason] = await down;
    expect(node.nodeId).toBe('zombie');
    expect(codeOf(reason)).toBe(ErrorCodes.HEARTBEAT);
    expect(errors.firsts.map((e) => e.code)).toEqual([ErrorCodes.HEARTBEAT]);
    expect(server.nodes()).toEqual([]);
  });

  it('a client whose consumer lags (a window of one delivery) keeps its connection alive', async () => {
    const { url, server } = await startServer({ heartbeatIntervalMs: INTERVAL, deliveryTimeoutMs: 10_000 });
    const sender = await connectClient(url, 'sender');
    const lagging = await connectClient(url, 'lagging', { deliveryHighWaterMark: 1 });
    const downs = new EventLog(server, 'node:down');
    const disconnects = new EventLog(lagging, 'disconnect');
    // Answered once the lagging node's loop takes them, below.
    const sends = [0, 1, 2, 3, 4].map((i) => sender.send({ lagging: ['u'] }, i));
    // The lagging node must keep proving it is alive while it does not read: its pings
    // arrive at the relay although nobody consumes. Wait for several intervals' worth.
    const framesAtStart = server.stats().framesIn;
    await pollUntil(() => server.stats().framesIn - framesAtStart >= 8, 3_000, 'heartbeats from both nodes');
    expect(downs.count).toBe(0);
    expect(disconnects.count).toBe(0);
    const inbox = collect(lagging);
    for (const s of sends) expect((await s).delivered).toEqual(['lagging']);
    await barrier(sender, { lagging: inbox });
    expect(inbox.messages).toEqual([0, 1, 2, 3, 4]);
  });

  it('a client whose relay stops answering detects it within about two intervals and reconnects', async () => {
    const welcomedAt: number[] = [];
    const fake = await startFakeRelay((peer) => {
      // WELCOME, then silence: reads everything, answers nothing.
      void peer.nextFrame().then(() => {
        peer.write(welcomeFrame(INTERVAL));
        welcomedAt.push(Date.now());
      });
    });
    const client = createClient(fake.url, 'n', { reconnect: { initialDelayMs: 10, maxDelayMs: 10, jitter: 0 } });
    const disconnect = waitForEvent<[RelayError | undefined]>(client, 'disconnect', 3_000);
    const reconnecting = waitForEvent<[{ attempt: number; reason: RelayError | undefined }]>(client, 'reconnecting', 3_000);
    await client.connect();
    const [reason] = await disconnect;
    const detectedAfter = Date.now() - welcomedAt[0]!;
    expect(reason).toBeInstanceOf(RelayError);
    expect(codeOf(reason)).toBe(ErrorCodes.HEARTBEAT);
    expect(detectedAfter).toBeGreaterThanOrEqual(2 * INTERVAL - 10);
    expect(detectedAfter).toBeLessThan(2 * INTERVAL + 150);
    const [info] = await reconnecting;
    expect(info.attempt).toBe(1);
    expect(codeOf(info.reason)).toBe(ErrorCodes.HEARTBEAT);
    // the client pinged the silent relay before giving up on it
    const first = await fake.connection(1);
    expect(first.received.filter((f) => f[0] === FrameType.PING).length).toBeGreaterThanOrEqual(1);
    // and it came back: a second connection, welcomed again
    await fake.connection(2);
    await waitForEvent(client, 'connect', 3_000);
  });
});
