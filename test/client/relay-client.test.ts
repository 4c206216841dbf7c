import { describe, expect, it } from 'vitest';
import { ErrorCodes, RelayClient, RelayError, TimeoutError, type Serializer } from '../../src/index.js';
import { barrier, collect, collectN } from '../helpers/collector.js';
import { EventLog, codeOf, settle } from '../helpers/events.js';
import { connectClient, createClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { startFakeRelay, welcomeFrame } from '../helpers/raw-peer.js';

useRelayHarness();

function constructionError(options: ConstructorParameters<typeof RelayClient>[0]): string | undefined {
  try {
    new RelayClient(options);
    return undefined;
  } catch (err) {
    return codeOf(err);
  }
}

describe('RelayClient options', () => {
  it('rejects bad options with ERR_INVALID_ARGUMENT', () => {
    const url = 'tcp://127.0.0.1:1';
    expect(constructionError({ url, nodeId: '' })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(constructionError({ url, nodeId: 'x'.repeat(256) })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(constructionError({ url: 'http://127.0.0.1:1', nodeId: 'n' })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(constructionError({ url: 'not a url', nodeId: 'n' })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(constructionError({ url, nodeId: 'n', writeRetry: { attempts: 0 } })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(constructionError({ url, nodeId: 'n', maxBufferedMessages: 0 })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(constructionError({ url, nodeId: 'n', deliveryHighWaterMark: -1 })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(constructionError({ url, nodeId: 'n', acknowledgeDelayMs: -1 })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(constructionError({ url, nodeId: 'n', acknowledgeDelayMs: Number.NaN })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(constructionError({ url, nodeId: 'n', acknowledgeDelayMs: 0 })).toBeUndefined();
    expect(constructionError({ url, nodeId: 'ü'.repeat(127) })).toBeUndefined();
  });

  it('parses tcp urls, IPv6 in brackets, and the default port', () => {
    expect(new RelayClient({ url: 'tcp://relay.internal', nodeId: 'n' }).options.transport).toMatchObject({
      kind: 'tcp',
      endpoint: { host: 'relay.internal', port: 8333 },
    });
    expect(new RelayClient({ url: 'tcp://[::1]:9000', nodeId: 'n' }).options.transport).toMatchObject({
      kind: 'tcp',
      endpoint: { host: '::1', port: 9000 },
    });
  });
});

describe('RelayClient', () => {
  it('connect() is idempotent and connected / nodeId reflect the state', async () => {
    const { url } = await startServer();
    const client = createClient(url, 'n1');
    const connects = new EventLog(client, 'connect');
    expect(client.connected).toBe(false);
    expect(client.nodeId).toBe('n1');
    await Promise.all([client.connect(), client.connect()]);
    await client.connect();
    expect(client.connected).toBe(true);
    expect(connects.count).toBe(1);
  });

  it('rejects messages that cannot be encoded, and bad route tables, without touching the connection', async () => {
    const { url } = await startServer();
    const client = await connectClient(url, 'n');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(client.send({ n: ['u'] }, circular)).rejects.toMatchObject({ code: ErrorCodes.MESSAGE });
    await expect(client.send({ n: ['u'] }, undefined)).rejects.toMatchObject({ code: ErrorCodes.MESSAGE });
    await expect(client.send({ n: [1.5] }, 'x')).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(client.send(null as never, 'x')).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    expect(client.connected).toBe(true);
    // "Delivered" means the application took it: someone has to be reading.
    collect(client);
    expect(await client.send({ n: ['u'] }, 'fine')).toEqual({ delivered: ['n'], offline: {} });
  });

  it('a custom serializer encodes and decodes on both ends', async () => {
    const { url } = await startServer();
    const serializer: Serializer = {
      encode: (m) => Buffer.from(`<${String((m as { v: string }).v)}>`),
      decode: (p) => ({ v: p.toString().slice(1, -1) }),
    };
    const a = await connectClient(url, 'a', { serializer });
    const b = await connectClient(url, 'b', { serializer });
    // A send is answered once b's application took it: the loop runs first.
    const taking = collectN(b, 2);
    await a.send({ b: ['u'] }, { v: 'custom' });
    await a.send({ b: ['u'] }, { v: 'second' });
    const got = await taking;
    expect(got).toEqual([
      { from: 'a', users: ['u'], message: { v: 'custom' } },
      { from: 'a', users: ['u'], message: { v: 'second' } },
    ]);
  });

  it('a message the receiver cannot decode raises ERR_MESSAGE there, and later messages still arrive', async () => {
    const { url } = await startServer();
    const a = await connectClient(url, 'a', { serializer: { encode: () => 'opaque', decode: () => null } });
    const plain = await connectClient(url, 'plain');
    const receiver = await connectClient(url, 'b');
    const errors = new EventLog<[RelayError]>(receiver, 'error');
    const b = collect(receiver);
    await a.send({ b: ['u'] }, 'custom-encoded');
    await plain.send({ b: ['u'] }, 'plain');
    await barrier(plain, { b });
    expect(b.messages).toEqual(['plain']);
    expect(errors.firsts.map((e) => e.code)).toEqual([ErrorCodes.MESSAGE]);
  });

  it('a report that never comes rejects the send with ERR_TIMEOUT after reportTimeoutMs', async () => {
    const fake = await startFakeRelay((peer) => {
      void peer.nextFrame().then(() => peer.write(welcomeFrame(60_000)));
    });
    const client = await connectClient(fake.url, 'n', { reportTimeoutMs: 100 });
    const started = Date.now();
    const outcome = await settle(client.send({ x: ['u'] }, 'into the void'));
    expect(outcome.status).toBe('rejected');
    expect((outcome as { reason: unknown }).reason).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(client.connected).toBe(true);
  });
});
