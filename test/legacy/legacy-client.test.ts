/**
 * `RelayClient` with `dialect: 'legacy'`: against a fake Go `transmit` hub
 * (test/helpers/legacy.ts) and against our own RelayServer.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, RelayClient, type OfflineNotice, type ClientCommonOptions } from '../../src/index.js';
import { encodeTransmitMap, type TransmitMessage } from '../../src/legacy/index.js';
import { collect } from '../helpers/collector.js';
import { EventLog, pollUntil, waitForEvent } from '../helpers/events.js';
import { FAST_CLIENT, connectClient, startServer, track, useRelayHarness } from '../helpers/harness.js';
import { LegacyPeer, U64_MAX, legacyFrame, startGoHub, waitRegistered } from '../helpers/legacy.js';

useRelayHarness();

/** A tracked legacy-dialect client that has not connected yet. */
function legacyClient(url: string, options: Partial<ClientCommonOptions> = {}): RelayClient {
  const client = new RelayClient({ ...FAST_CLIENT, ...options, url, dialect: 'legacy' });
  client.on('error', () => {});
  track('RelayClient(legacy)', () => client.close());
  return client;
}

async function connectedLegacyClient(url: string, options: Partial<ClientCommonOptions> = {}): Promise<RelayClient> {
  const client = legacyClient(url, options);
  await client.connect();
  return client;
}

const message = {
  id: 'm1',
  from: BigInt(U64_MAX),
  to: 77,
  type: 2,
  contentType: 1,
  time: '2024-05-01 10:00:00',
  content: 'hi <all> & 你好',
};
const received: TransmitMessage = { ...message, from: U64_MAX, to: '77' };

describe('legacy client against a Go transmit hub', () => {
  it('needs no handshake: nodeId is the local ip:port, which is the address the hub keys it by', async () => {
    const hub = await startGoHub();
    const client = legacyClient(hub.url);
    expect(client.nodeId).toBe('');
    await client.connect();
    expect(client.connected).toBe(true);
    expect(client.nodeId).toMatch(/^127\.0\.0\.1:\d+$/);
    await pollUntil(() => hub.nodes.has(client.nodeId), 2_000, 'the hub to register the client');
    expect([...hub.nodes.keys()]).toEqual([client.nodeId]);
    // Nothing was written on connect.
    expect(hub.received).toEqual([]);
  });

  it('a send is one Go-canonical frame; it arrives at another legacy client as a delivery', async () => {
    const hub = await startGoHub();
    const a = await connectedLegacyClient(hub.url);
    const b = await connectedLegacyClient(hub.url);
    await pollUntil(() => hub.nodes.has(a.nodeId) && hub.nodes.has(b.nodeId), 2_000, 'registration');
    const inbox = collect(b);

    const report = await a.send({ [b.nodeId]: [3, BigInt(U64_MAX), '5'] }, message);
    expect(report).toEqual({ delivered: [], offline: {}, unconfirmed: true });

    const [d] = await inbox.waitFor(1);
    expect(d).toEqual({ from: '', users: ['3', U64_MAX, '5'], message: received });
    // What the client wrote: a signed little-endian length and the document Go's encoder would write.
    await pollUntil(() => hub.received.length === 1);
    const expected = legacyFrame(encodeTransmitMap({ users: new Map([[b.nodeId, ['3', U64_MAX, '5']]]), message: received }));
    expect(hub.received[0]!.frame.equals(expected)).toBe(true);
    expect(hub.received[0]!.payload.toString()).toBe(
      `{"users":{"${b.nodeId}":[3,${U64_MAX},5]},"id":"m1","from":${U64_MAX},"to":77,"type":2,"contentType":1,"time":"2024-05-01 10:00:00","content":"hi \\u003call\\u003e \\u0026 你好"}`,
    );
  });

  it('a group send to several hosts and back the other way', async () => {
    const hub = await startGoHub();
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => connectedLegacyClient(hub.url)));
    await pollUntil(() => [a!, b!, c!].every((x) => hub.nodes.has(x.nodeId)), 2_000, 'registration');
    const inB = collect(b!);
    const inC = collect(c!);
    const inA = collect(a!);
    await a!.send({ [b!.nodeId]: [1, 2], [c!.nodeId]: ['3'] }, { id: 'g', type: 2, content: 'all' });
    await c!.send({ [a!.nodeId]: [9] }, { id: 'back', type: 1 });
    await Promise.all([inB.waitFor(1), inC.waitFor(1), inA.waitFor(1)]);
    expect(inB.items[0]).toMatchObject({ users: ['1', '2'], message: { id: 'g', content: 'all' } });
    expect(inC.items[0]).toMatchObject({ users: ['3'], message: { id: 'g', content: 'all' } });
    expect(inA.items[0]).toMatchObject({ users: ['9'], message: { id: 'back' } });
  });

  it("the hub's bare notice for a missing host surfaces as an offline event with empty maps", async () => {
    const hub = await startGoHub();
    const a = await connectedLegacyClient(hub.url);
    const offline = new EventLog<[OfflineNotice]>(a, 'offline');
    await a.send({ '127.0.0.1:1': [1], '127.0.0.1:2': [2] }, { id: 'nobody', type: 1 });
    await pollUntil(() => offline.count === 2, 2_000, 'two notices');
    expect(offline.firsts).toEqual([
      { offline: {}, reasons: {} },
      { offline: {}, reasons: {} },
    ]);
  });

  it('heartbeat documents from the hub are not deliveries', async () => {
    const hub = await startGoHub();
    const a = await connectedLegacyClient(hub.url);
    const inbox = collect(a);
    await pollUntil(() => hub.nodes.has(a.nodeId));
    const socket = hub.nodes.get(a.nodeId)!;
    socket.write(legacyFrame('{"id":"","from":0,"to":0,"type":0,"contentType":0,"time":"","content":""}'));
    socket.write(
      legacyFrame(`{"users":{"${a.nodeId}":[4]},"id":"after-beat","from":0,"to":0,"type":1,"contentType":0,"time":"","content":""}`),
    );
    const [d] = await inbox.waitFor(1);
    expect(d!.message).toMatchObject({ id: 'after-beat' });
    expect(inbox.count).toBe(1);
  });

  it('rejects a message or user ids the legacy format cannot carry, without writing anything', async () => {
    const hub = await startGoHub();
    const a = await connectedLegacyClient(hub.url);
    await expect(a.send({ h: ['alice'] }, { id: 'x' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(a.send({ h: [1] }, 'text')).rejects.toMatchObject({ code: ErrorCodes.MESSAGE });
    await expect(a.send({ h: [1] }, { from: -1 })).rejects.toMatchObject({ code: ErrorCodes.MESSAGE });
    // Not a TransmitMap: refused naming the key, rather than sent as an all-zero document.
    await expect(a.send({ 'im-3': [5] }, { text: 'x' })).rejects.toMatchObject({
      code: ErrorCodes.MESSAGE,
      message: expect.stringContaining('"text"'),
    });
    await expect(a.send({ h: [1] }, {})).rejects.toMatchObject({ code: ErrorCodes.MESSAGE });
    expect(await a.send({ h: [] }, { id: 'x' })).toEqual({ delivered: [], offline: {} });
    await a.send({ '127.0.0.1:1': [1] }, { id: 'ok' });
    await pollUntil(() => hub.received.length === 1);
    expect(hub.received[0]!.payload.toString()).toContain('"id":"ok"');
  });

  it('write retry: 21 attempts 500 ms apart (10 s) by default; a send while the hub is down rejects with ERR_SEND_FAILED', async () => {
    const defaults = new RelayClient({ url: 'tcp://127.0.0.1:1', dialect: 'legacy' });
    expect(defaults.options.writeRetryWindowMs).toBe(10_000);
    expect(defaults.options.writeRetryIntervalMs).toBe(500);
    await defaults.close();

    const hub = await startGoHub();
    const client = await connectedLegacyClient(hub.url, { writeRetry: { attempts: 3, intervalMs: 40 } });
    expect(client.options.writeRetryWindowMs).toBe(80);
    const disconnected = waitForEvent(client, 'disconnect', 2_000);
    await hub.stop();
    await disconnected;
    const started = Date.now();
    await expect(client.send({ '127.0.0.1:1': [1] }, { id: 'lost' })).rejects.toMatchObject({ code: ErrorCodes.SEND_FAILED });
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(70);
    expect(waited).toBeLessThan(1_000);
  });

  it('a send made while the hub is down goes out once it is back within the write-retry window', async () => {
    const hub = await startGoHub();
    const client = await connectedLegacyClient(hub.url, { writeRetry: { attempts: 3, intervalMs: 1_000 } });
    const firstId = client.nodeId;
    const disconnected = waitForEvent(client, 'disconnect', 2_000);
    await hub.stop();
    await disconnected;
    const sending = client.send({ '127.0.0.1:1': [1] }, { id: 'late' });
    const again = await startGoHub({ port: hub.port });
    expect(await sending).toEqual({ delivered: [], offline: {}, unconfirmed: true });
    await pollUntil(() => again.received.length === 1, 2_000, 'the frame at the restarted hub');
    expect(again.received[0]!.payload.toString()).toContain('"id":"late"');
    // A new connection is a new ip:port, which is what the hub now keys it by.
    expect(client.nodeId).not.toBe(firstId);
    expect(again.received[0]!.from).toBe(client.nodeId);
  });

  it('presence calls are unsupported in the legacy dialect', async () => {
    const hub = await startGoHub();
    const client = await connectedLegacyClient(hub.url);
    expect(() => client.online([1])).toThrow(expect.objectContaining({ code: ErrorCodes.UNSUPPORTED }));
    expect(() => client.offline([1])).toThrow(expect.objectContaining({ code: ErrorCodes.UNSUPPORTED }));
    await expect(client.sendToUsers([1], { id: 'x' })).rejects.toMatchObject({ code: ErrorCodes.UNSUPPORTED });
    await expect(client.locate([1])).rejects.toMatchObject({ code: ErrorCodes.UNSUPPORTED });
    // Nothing was written, and the connection is fine.
    expect(hub.received).toEqual([]);
    expect(client.connected).toBe(true);
  });
});

describe('legacy client against the RelayServer', () => {
  it('is registered under its nodeId (its ip:port) and exchanges messages with binary and raw legacy nodes', async () => {
    const { server, port, url } = await startServer();
    const client = await connectedLegacyClient(url);
    await waitRegistered(server, client.nodeId);
    expect(server.nodes().find((n) => n.nodeId === client.nodeId)).toMatchObject({ dialect: 'legacy' });
    const bin = await connectClient(url, 'bin');
    const raw = await LegacyPeer.connect(port, server);
    const inClient = collect(client);
    const inBin = collect(bin);

    await client.send({ bin: [BigInt(U64_MAX)], [raw.address]: [U64_MAX] }, message);
    const [d] = await inBin.waitFor(1);
    expect(d).toEqual({ from: client.nodeId, users: [U64_MAX], message: received });
    expect((await raw.nextDoc()).text).toBe(
      `{"users":{"${raw.address}":[${U64_MAX}]},"id":"m1","from":${U64_MAX},"to":77,"type":2,"contentType":1,"time":"2024-05-01 10:00:00","content":"hi \\u003call\\u003e \\u0026 你好"}`,
    );

    expect(await bin.send({ [client.nodeId]: [1] }, { id: 'from-bin', from: '2', to: U64_MAX, type: 1 })).toEqual({
      delivered: [client.nodeId],
      offline: {},
    });
    raw.sendDoc({ users: { [client.nodeId]: [3] }, id: 'from-raw', from: 3, to: 1, type: 1 });
    await inClient.waitFor(2);
    expect(inClient.items).toEqual([
      { from: '', users: ['1'], message: { id: 'from-bin', from: '2', to: U64_MAX, type: 1, contentType: 0, time: '', content: '' } },
      { from: '', users: ['3'], message: { id: 'from-raw', from: '3', to: '1', type: 1, contentType: 0, time: '', content: '' } },
    ]);
  });

  it("the relay's notices name the host, its users, the reason and the message id", async () => {
    const { server, url } = await startServer();
    const client = await connectedLegacyClient(url);
    await waitRegistered(server, client.nodeId);
    const offline = new EventLog<[OfflineNotice]>(client, 'offline');
    await client.send({ '127.0.0.1:1': [9, BigInt(U64_MAX)], 'gone-node': ['7'] }, { ...message, id: 'lost-1' });
    await pollUntil(() => offline.count === 2, 2_000, 'two notices');
    expect(offline.firsts).toEqual([
      { offline: { '127.0.0.1:1': ['9', U64_MAX] }, reasons: { '127.0.0.1:1': 'offline' }, messageId: 'lost-1' },
      { offline: { 'gone-node': ['7'] }, reasons: { 'gone-node': 'offline' }, messageId: 'lost-1' },
    ]);
  });
});
