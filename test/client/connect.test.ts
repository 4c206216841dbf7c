/**
 * Connection set-up always answers: the first connect() settles within
 * connectTimeoutMs with a coded error naming the cause, refusals that no
 * retry can fix settle at once, and sends waiting for a connection hurry the
 * reconnect so that a short relay restart costs no queued send.
 */
import { inspect } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AuthError,
  ConnectError,
  DependencyError,
  ErrorCodes,
  InvalidArgumentError,
  NotConnectedError,
  RelayClient,
  type RelayError,
} from '../../src/index.js';
import { barrier, collect } from '../helpers/collector.js';
import { EventLog, Tracked, settle, waitForEvent } from '../helpers/events.js';
import { connectClient, createClient, freePort, startServer, track, urlFor, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

/** What a promise rejected with. */
async function rejection(promise: Promise<unknown>): Promise<RelayError> {
  const outcome = await settle(promise);
  if (outcome.status === 'fulfilled') throw new Error('expected a rejection');
  return outcome.reason as RelayError;
}

describe('the first connect()', () => {
  it('with nothing listening: rejects with ERR_CONNECT within connectTimeoutMs, the OS error as cause; the client is idle and can try again', async () => {
    const port = await freePort();
    const client = createClient(urlFor(port), 'early', { connectTimeoutMs: 600 });
    const started = Date.now();
    const err = await rejection(client.connect());
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.code).toBe(ErrorCodes.CONNECT);
    expect(err.cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain('ECONNREFUSED');
    // It retried meanwhile (the relay might have come up), and stopped at the deadline.
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(600 + 500);
    expect(client.state).toBe('idle');
    await expect(client.send({ other: ['u'] }, 'x')).rejects.toBeInstanceOf(NotConnectedError);

    await startServer({ port });
    await client.connect();
    expect(client.connected).toBe(true);
  });

  it('an unresolvable host: ERR_CONNECT with the resolver error as cause', async () => {
    const client = createClient('tcp://relay.invalid:8333', 'early', { connectTimeoutMs: 400 });
    const err = await rejection(client.connect());
    expect(err).toBeInstanceOf(ConnectError);
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain((err.cause as NodeJS.ErrnoException).code);
  });

  it('a wrong secret: rejects at once with ERR_AUTH, without a retry', async () => {
    const { url } = await startServer({ secret: 'right' });
    const client = createClient(url, 'im-1', { secret: 'wrong', connectTimeoutMs: 5_000 });
    const reconnecting = new EventLog(client, 'reconnecting');
    const started = Date.now();
    const err = await rejection(client.connect());
    expect(err).toBeInstanceOf(AuthError);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(reconnecting.count).toBe(0);
  });

  it('a missing optional dependency (ioredis): rejects at once with ERR_DEPENDENCY', async () => {
    vi.resetModules();
    vi.doMock('ioredis', () => {
      throw new Error("Cannot find package 'ioredis'");
    });
    const { RelayClient: Fresh } = await import('../../src/index.js');
    const client = new Fresh({ url: 'redis://127.0.0.1:6379', nodeId: 'im-1', connectTimeoutMs: 5_000 });
    track('client without ioredis', () => client.close());
    client.on('error', () => {});
    const started = Date.now();
    const err = await rejection(client.connect());
    expect(err).toBeInstanceOf(DependencyError);
    expect(err.message).toContain('npm install ioredis');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

afterEach(() => {
  vi.doUnmock('ioredis');
  vi.useRealTimers();
});

describe('sends and the connection', () => {
  it('a send before connect() is ever called rejects at once with ERR_NOT_CONNECTED, saying to call connect()', async () => {
    const client = createClient(urlFor(await freePort()), 'never');
    const err = await rejection(client.send({ other: ['u'] }, 'x'));
    expect(err).toBeInstanceOf(NotConnectedError);
    expect(err.message).toContain('connect()');
    await expect(client.locate(['u'])).rejects.toBeInstanceOf(NotConnectedError);
  });

  it('a relay restart of about 3 s with the default options costs no queued send', async () => {
    const { url, port, server } = await startServer();
    // The defaults under test: no FAST_CLIENT reconnect or write-retry overrides.
    // The node sends to itself, so the report does not depend on when another node is back.
    const client = new RelayClient({ url, nodeId: 'self' });
    client.on('error', () => {});
    track('RelayClient(self)', () => client.close());
    await client.connect();
    const inbox = collect(client);

    const down = waitForEvent(client, 'disconnect', 3_000);
    await server.close();
    await down;
    const queued = [0, 1, 2].map((i) => new Tracked(client.send({ self: ['me'] }, i)));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    for (const t of queued) expect(t.state).toBe('pending');
    const restartedAt = Date.now();
    await startServer({ port });
    for (const t of queued) {
      const outcome = await t.done;
      expect(outcome).toEqual({ status: 'fulfilled', value: { delivered: ['self'], offline: {} } });
    }
    // Waiting sends hurry the reconnect: one write-retry interval (500 ms), not the backoff's seconds.
    expect(Date.now() - restartedAt).toBeLessThan(1_500);
    await barrier(client, { self: inbox });
    expect(inbox.messages).toEqual([0, 1, 2]);
  }, 15_000);

  it('a waiting send cuts a long backoff short', async () => {
    const { url, port, server } = await startServer();
    const client = await connectClient(url, 'self', {
      reconnect: { initialDelayMs: 30_000, maxDelayMs: 30_000, jitter: 0 },
      writeRetry: { attempts: 40, intervalMs: 100 },
    });
    const reconnecting = new EventLog<[{ delayMs: number }]>(client, 'reconnecting');
    await server.close();
    await waitForEvent(client, 'reconnecting', 3_000);
    expect(reconnecting.firsts[0]!.delayMs).toBe(30_000);
    await startServer({ port });
    // "Delivered" means the application took it: someone has to be reading.
    collect(client);
    const started = Date.now();
    expect((await client.send({ self: ['me'] }, 'x')).delivered).toEqual(['self']);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});

describe('presence calls during and after close()', () => {
  it('online() and offline() are no-ops once close() was called, as a socket close handler may call them', async () => {
    const { url } = await startServer();
    const client = await connectClient(url, 'closing');
    client.online(['a', 'b']);
    const closing = client.close();
    expect(() => client.offline(['a'])).not.toThrow();
    expect(() => client.online(['c'])).not.toThrow();
    await closing;
    expect(() => client.offline(['b'])).not.toThrow();
    expect(() => client.online(['d'])).not.toThrow();
  });
});

describe('options a newcomer gets wrong', () => {
  it('a url without a scheme is refused with a hint of the expected form', () => {
    let err: unknown;
    try {
      new RelayClient({ url: '127.0.0.1:8333', nodeId: 'n' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(String((err as Error).message)).toContain('tcp://host:port');
  });

  it.each([' ', '', ' im-1', 'im\n1'])('node id %j is refused', (nodeId) => {
    expect(() => new RelayClient({ url: 'tcp://127.0.0.1:8333', nodeId })).toThrow(InvalidArgumentError);
  });

  it('ids over 255 bytes: locate, send, sendToUsers and online answer ERR_INVALID_ARGUMENT, never a bare RangeError', async () => {
    const { url } = await startServer();
    const client = await connectClient(url, 'im-1');
    const long = 'u'.repeat(300);
    for (const attempt of [
      client.locate([long]),
      client.send({ other: [long] }, 'x'),
      client.send({ [long]: ['u'] }, 'x'),
      client.sendToUsers([long], 'x'),
    ]) {
      const err = await rejection(attempt);
      expect(err).toBeInstanceOf(InvalidArgumentError);
    }
    expect(() => client.online([long])).toThrow(InvalidArgumentError);
    // The client is still fine (and its loop takes what it sends itself).
    collect(client);
    expect((await client.send({ 'im-1': ['me'] }, 'ok')).delivered).toEqual(['im-1']);
  });

  it('secrets never show in inspect, JSON or string output', async () => {
    const secret = 's3cret-value-123';
    const { server } = await startServer({ secret });
    const client = createClient('tcp://127.0.0.1:1', 'im-1', { secret });
    for (const shown of [
      inspect(server, { depth: 10 }),
      inspect(server.options, { depth: 10 }),
      JSON.stringify(server.options),
      inspect(client, { depth: 10 }),
      inspect(client.options, { depth: 10 }),
      JSON.stringify(client.options),
      String(client.options.secret),
    ]) {
      expect(shown).not.toContain(secret);
      expect(shown).not.toContain(Buffer.from(secret).toString('hex').slice(0, 16));
      expect(shown).not.toMatch(/73 33 63 72/); // the bytes as util.inspect prints a Buffer
    }
  });
});
