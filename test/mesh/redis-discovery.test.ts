/**
 * RedisDiscovery against real redis-servers: nodes see each other, a join
 * and a stop are seen at once (through the changes channel, not a poll), a
 * node that dies without stop() expires within livenessMs, garbage written
 * into the registry is skipped, a Redis outage keeps the last map, and the
 * bounds of start() and stop() hold when Redis is unreachable or frozen.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, RelayError } from '../../src/errors.js';
import { RedisDiscovery, type RedisDiscoveryOptions } from '../../src/mesh/discovery/redis-discovery.js';
import { codeOf, settle, withTimeout } from '../helpers/events.js';
import { LOOPBACK, freePort, track, useRelayHarness } from '../helpers/harness.js';
import { redisCommand, startRedis, startRedisCluster, type RedisProcess } from '../helpers/redis.js';

useRelayHarness();

/** Long enough that no poll happens within a test: what is seen in time came through the channel. */
const NO_POLL_MS = 120_000;

let shared: RedisProcess;
beforeAll(async () => {
  shared = await startRedis();
});
afterAll(() => shared?.stop());

let prefixes = 0;
const newPrefix = (): string => `d${process.pid}-${++prefixes}:`;
const addressOf = (id: string): string => `tcp://${LOOPBACK}:${7400 + id.charCodeAt(id.length - 1)}`;

const watchers: Watcher[] = [];
afterEach(() => {
  const repeated = watchers.splice(0).filter((w) => w.repeats > 0);
  // Handed only on a change: two maps in a row are never alike.
  expect(repeated.map((w) => w.repeats)).toEqual([]);
});

/** The maps one node was handed, with a way to wait for one that passes a test. */
class Watcher {
  readonly maps: Array<Map<string, string>> = [];
  repeats = 0;
  readonly errors: RelayError[] = [];
  private waiters: Array<{ test: (m: Map<string, string>) => boolean; resolve: (m: Map<string, string>) => void }> = [];
  private errorWaiters: Array<() => void> = [];

  readonly onPeers = (peers: ReadonlyMap<string, string>): void => {
    const map = new Map(peers);
    const latest = this.latest;
    if (latest !== undefined && latest.size === map.size && [...map].every(([id, address]) => latest.get(id) === address)) this.repeats++;
    this.maps.push(map);
    this.waiters = this.waiters.filter((w) => !(w.test(map) && (w.resolve(map), true)));
  };

  readonly onError = (error: RelayError): void => {
    this.errors.push(error);
    for (const resolve of this.errorWaiters.splice(0)) resolve();
  };

  get latest(): Map<string, string> | undefined {
    return this.maps.at(-1);
  }

  until(test: (m: Map<string, string>) => boolean, label: string, timeoutMs = 3_000): Promise<Map<string, string>> {
    const latest = this.latest;
    if (latest !== undefined && test(latest)) return Promise.resolve(latest);
    return withTimeout(new Promise((resolve) => this.waiters.push({ test, resolve })), timeoutMs, label);
  }

  constructor() {
    watchers.push(this);
  }

  nextError(timeoutMs = 3_000): Promise<void> {
    return withTimeout(new Promise<void>((resolve) => this.errorWaiters.push(resolve)), timeoutMs, 'an onError report');
  }
}

interface Node {
  id: string;
  discovery: RedisDiscovery;
  watcher: Watcher;
}

async function join(
  target: string | Redis | Cluster,
  id: string,
  options: Partial<RedisDiscoveryOptions> & { prefix: string },
): Promise<Node> {
  const watcher = new Watcher();
  const discovery = new RedisDiscovery(target, { onError: watcher.onError, ...options });
  track(`discovery ${id}`, () => discovery.stop());
  await discovery.start(id, addressOf(id), watcher.onPeers);
  return { id, discovery, watcher };
}

const mapOf = (...ids: string[]): Map<string, string> => new Map(ids.map((id) => [id, addressOf(id)]));

async function handedIn(url: string): Promise<Redis> {
  const client = new Redis(url);
  track('handed-in client', () => client.disconnect());
  await new Promise<void>((resolve, reject) => client.once('ready', resolve).once('error', reject));
  return client;
}

async function ownRedis(): Promise<RedisProcess> {
  const redis = await startRedis();
  track(`redis-server ${redis.port}`, () => redis.stop());
  return redis;
}

describe('RedisDiscovery', () => {
  it('nodes see each other: every node is handed the same map, itself included, from start() on', async () => {
    const prefix = newPrefix();
    const a = await join(shared.url, 'a', { prefix });
    // Handed before start() resolves.
    expect(a.watcher.latest).toEqual(mapOf('a'));
    const b = await join(shared.url, 'b', { prefix });
    const c = await join(shared.url, 'c', { prefix });
    const all = mapOf('a', 'b', 'c');
    for (const node of [a, b, c]) expect(await node.watcher.until((m) => m.size === 3, `${node.id} sees 3`)).toEqual(all);
    expect([...a.watcher.latest!.keys()]).toEqual(['a', 'b', 'c']);
  });

  it('a join and a stop() are seen by the others at once, without a poll', async () => {
    const prefix = newPrefix();
    const a = await join(shared.url, 'a', { prefix, livenessMs: NO_POLL_MS });
    const b = await join(shared.url, 'b', { prefix, livenessMs: NO_POLL_MS });
    await a.watcher.until((m) => m.has('b'), 'a sees b', 1_000);

    const c = await join(shared.url, 'c', { prefix, livenessMs: NO_POLL_MS });
    for (const node of [a, b]) await node.watcher.until((m) => m.has('c'), `${node.id} sees c join`, 1_000);

    await c.discovery.stop();
    for (const node of [a, b])
      expect(await node.watcher.until((m) => !m.has('c'), `${node.id} sees c leave`, 1_000)).toEqual(mapOf('a', 'b'));
    // Nothing of c is left in Redis.
    expect(await redisCommand(shared.port, ['ZSCORE', `${prefix}{mesh}:members`, 'c'])).toBe('');
    expect(await redisCommand(shared.port, ['HEXISTS', `${prefix}{mesh}:addresses`, 'c'])).toBe('0');
    // A second stop() is the first one.
    await c.discovery.stop();
  });

  it('a node that dies without stop() disappears from every view within livenessMs, and keeps retrying meanwhile', async () => {
    const prefix = newPrefix();
    const livenessMs = 600;
    const a = await join(shared.url, 'a', { prefix, livenessMs });
    const b = await join(shared.url, 'b', { prefix, livenessMs });
    const client = await handedIn(shared.url);
    const c = await join(client, 'c', { prefix, livenessMs });
    for (const node of [a, b, c]) await node.watcher.until((m) => m.size === 3, `${node.id} sees 3`);
    const seenBefore = a.watcher.maps.length;

    // c can no longer refresh: to the others it is a crashed node.
    const diedAt = Date.now();
    client.disconnect();
    await Promise.all([a, b].map((node) => node.watcher.until((m) => !m.has('c'), `${node.id} sees c expire`, 3 * livenessMs)));
    const elapsed = Date.now() - diedAt;
    // Its last refresh was at most livenessMs / 3 before it died; readers wake when it expires.
    expect(elapsed).toBeGreaterThan(livenessMs / 2);
    expect(elapsed).toBeLessThan(livenessMs + 250);
    expect(a.watcher.latest).toEqual(mapOf('a', 'b'));
    // Polls in between changed nothing, so handed nothing.
    expect(a.watcher.maps.length).toBe(seenBefore + 1);

    // c told its owner, and was not told that everyone left.
    expect(c.watcher.errors.length).toBeGreaterThan(0);
    expect(c.watcher.errors.every((e) => e.code === ErrorCodes.ENGINE)).toBe(true);
    expect(c.watcher.latest).toEqual(mapOf('a', 'b', 'c'));
    const stopping = Date.now();
    await c.discovery.stop();
    expect(Date.now() - stopping).toBeLessThan(500);
  });

  it('garbage in the registry is skipped, never thrown, and a key of the wrong type is reported with the last map kept', async () => {
    const prefix = newPrefix();
    const members = `${prefix}{mesh}:members`;
    const addresses = `${prefix}{mesh}:addresses`;
    const changes = `${prefix}{mesh}:changes`;
    const a = await join(shared.url, 'a', { prefix, livenessMs: NO_POLL_MS });
    const far = String(Date.now() + 3_600_000);
    const garbage: Array<[string, string | undefined]> = [
      ['', 'tcp://127.0.0.1:1'],
      [' padded', 'tcp://127.0.0.1:1'],
      ['ctl\u0001id', 'tcp://127.0.0.1:1'],
      ['x'.repeat(300), 'tcp://127.0.0.1:1'],
      ['no-address', undefined],
      ['huge', `tcp://${'h'.repeat(1_000_000)}:1`],
      ['just-too-long', `tcp://${'h'.repeat(512 - 'tcp://:1'.length + 1)}:1`],
      ['http', 'http://127.0.0.1:1'],
      ['words', 'not a url at all'],
      ['no-host', 'tcp://'],
      ['ghost', 'tcp://127.0.0.1:9'],
    ];
    for (const [id, address] of garbage) {
      await redisCommand(shared.port, ['ZADD', members, far, id]);
      if (address !== undefined) await redisCommand(shared.port, ['HSET', addresses, id, address]);
    }
    // Expiring in infinity, but otherwise valid: the registry cannot tell it from a node.
    await redisCommand(shared.port, ['ZADD', members, '+inf', 'forever']);
    await redisCommand(shared.port, ['HSET', addresses, 'forever', 'tls://[::1]:7401']);
    await redisCommand(shared.port, ['PUBLISH', changes, '\u0000garbage'.repeat(1_000)]);

    const expected = new Map([...mapOf('a'), ['forever', 'tls://[::1]:7401'], ['ghost', 'tcp://127.0.0.1:9']]);
    expect(await a.watcher.until((m) => m.has('ghost'), 'a reads again')).toEqual(expected);
    const b = await join(shared.url, 'b', { prefix, livenessMs: NO_POLL_MS });
    expect(b.watcher.latest).toEqual(new Map([...expected, ['b', addressOf('b')]]));

    // A registry key of the wrong type: each read fails, is reported, and changes no map.
    await a.watcher.until((m) => m.has('b'), 'a sees b');
    const handed = a.watcher.maps.length;
    await redisCommand(shared.port, ['DEL', addresses]);
    await redisCommand(shared.port, ['SET', addresses, 'not a hash']);
    const reported = a.watcher.nextError();
    await redisCommand(shared.port, ['PUBLISH', changes, 'x']);
    await reported;
    expect(a.watcher.errors.at(-1)!.code).toBe(ErrorCodes.ENGINE);
    expect(a.watcher.errors.at(-1)!.message).toMatch(/WRONGTYPE/);
    expect(a.watcher.maps.length).toBe(handed);
  });

  it('a client handed in is left connected by stop(), with no listener of ours on it', async () => {
    const client = await handedIn(shared.url);
    const events = ['error', 'end', 'close', 'ready', 'message'];
    const before = events.map((event) => client.listenerCount(event));
    const a = await join(client, 'a', { prefix: newPrefix() });
    await a.discovery.stop();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    expect(events.map((event) => client.listenerCount(event))).toEqual(before);
  });

  it('a discovery made from a url closes both its connections on stop()', async () => {
    const redis = await ownRedis();
    const clients = async (): Promise<number> => (await redisCommand(redis.port, ['CLIENT', 'LIST'])).trim().split('\n').length - 1;
    expect(await clients()).toBe(0);
    const a = await join(redis.url, 'a', { prefix: newPrefix() });
    expect(await clients()).toBe(2);
    await a.discovery.stop();
    // The server counts a client until it has read the close.
    const deadline = Date.now() + 2_000;
    while ((await clients()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await clients()).toBe(0);
  });

  it('start() rejects with ERR_CONNECT within connectTimeoutMs when nothing answers, and leaves no connection behind', async () => {
    const refused = new RedisDiscovery(`redis://${LOOPBACK}:${await freePort()}`, { prefix: newPrefix(), connectTimeoutMs: 500 });
    const outcome = await settle(refused.start('a', addressOf('a'), () => {}));
    expect(outcome.status).toBe('rejected');
    expect(codeOf(outcome.status === 'rejected' ? outcome.reason : undefined)).toBe(ErrorCodes.CONNECT);

    // A server that accepts and never answers (it reads, so that it sees the client's close).
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.resume();
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, LOOPBACK, resolve));
    track('silent server', () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });
    const port = (silent.address() as { port: number }).port;
    const startedAt = Date.now();
    const mute = new RedisDiscovery(`redis://${LOOPBACK}:${port}`, { prefix: newPrefix(), connectTimeoutMs: 500 });
    const muted = await settle(mute.start('a', addressOf('a'), () => {}));
    expect(Date.now() - startedAt).toBeLessThan(1_500);
    expect(codeOf(muted.status === 'rejected' ? muted.reason : undefined)).toBe(ErrorCodes.CONNECT);
    const deadline = Date.now() + 2_000;
    while (sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sockets.size).toBe(0);
    await mute.stop();
  });

  it('stop() is bounded when Redis is frozen or gone', async () => {
    const redis = await ownRedis();
    const a = await join(redis.url, 'a', { prefix: newPrefix() });
    const b = await join(redis.url, 'b', { prefix: newPrefix() });
    // Every command waits, as on a stuck server (CLIENT UNPAUSE would wait too: the kill ends it).
    await redisCommand(redis.port, ['CLIENT', 'PAUSE', '3000', 'ALL']);
    let at = Date.now();
    await a.discovery.stop();
    expect(Date.now() - at).toBeLessThan(2_500);
    await redis.kill();
    at = Date.now();
    await b.discovery.stop();
    expect(Date.now() - at).toBeLessThan(500);
  });

  it('while Redis is gone each node keeps its last map and retries; a fresh Redis has every node back, and no one saw anyone leave', async () => {
    const redis = await ownRedis();
    const prefix = newPrefix();
    const livenessMs = 600;
    const a = await join(redis.url, 'a', { prefix, livenessMs });
    const b = await join(redis.url, 'b', { prefix, livenessMs });
    await a.watcher.until((m) => m.size === 2, 'a sees b');
    const maps = [a, b].map((node) => node.watcher.maps.length);

    await redis.kill();
    // A few failed rounds each: the last map stands meanwhile.
    for (let round = 0; round < 3; round++) await Promise.all([a.watcher.nextError(), b.watcher.nextError()]);
    await redis.restart();
    const deadline = Date.now() + 5_000;
    while ((await redisCommand(redis.port, ['ZCARD', `${prefix}{mesh}:members`])) !== '2' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await redisCommand(redis.port, ['HGET', `${prefix}{mesh}:addresses`, 'a'])).toBe(addressOf('a'));
    expect(await redisCommand(redis.port, ['HGET', `${prefix}{mesh}:addresses`, 'b'])).toBe(addressOf('b'));
    // An observation window past the grace: nobody is handed a map without the other.
    await new Promise((resolve) => setTimeout(resolve, 2 * livenessMs));
    expect([a, b].map((node) => node.watcher.maps.length)).toEqual(maps);
    expect(a.watcher.latest).toEqual(mapOf('a', 'b'));
    expect(a.watcher.errors.every((e) => e.code === ErrorCodes.ENGINE)).toBe(true);
  });

  it('refuses what it cannot use: a url of another scheme, an invalid node id or address, a second start()', async () => {
    expect(() => new RedisDiscovery('http://127.0.0.1:6379', { prefix: 'p:' })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
    expect(() => new RedisDiscovery(shared.url, { prefix: 'p:', livenessMs: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
    const d = new RedisDiscovery(shared.url, { prefix: newPrefix() });
    track('discovery', () => d.stop());
    await expect(d.start(' a', addressOf('a'), () => {})).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(d.start('a', 'http://127.0.0.1:1', () => {})).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await d.start('a', addressOf('a'), () => {});
    await expect(d.start('a', addressOf('a'), () => {})).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });

  it('an onPeers or onError that throws is contained: reported, and later changes still reach it', async () => {
    const prefix = newPrefix();
    const errors: RelayError[] = [];
    const calls: number[] = [];
    let sawThree: () => void = () => {};
    const three = new Promise<void>((resolve) => (sawThree = resolve));
    const thrower = new RedisDiscovery(shared.url, {
      prefix,
      livenessMs: NO_POLL_MS,
      onError: (e) => {
        errors.push(e);
        throw new Error('handler bug');
      },
    });
    track('thrower', () => thrower.stop());
    await thrower.start('a', addressOf('a'), (peers) => {
      calls.push(peers.size);
      if (peers.size === 3) sawThree();
      throw new Error('application bug');
    });
    expect(errors.map((e) => [e.code, e.message])).toEqual([[ErrorCodes.ENGINE, 'onPeers threw: application bug']]);
    await join(shared.url, 'b', { prefix, livenessMs: NO_POLL_MS });
    await join(shared.url, 'c', { prefix, livenessMs: NO_POLL_MS });
    await withTimeout(three, 1_000, 'a is handed both joins');
    // Each call threw, and each was reported.
    expect(errors.length).toBe(calls.length);
  });

  it('works on a Redis Cluster: the registry keys share one slot, and joins and leaves cross the shards', async () => {
    const cluster = await startRedisCluster();
    track('redis cluster', () => cluster.stop());
    const connect = async (): Promise<Cluster> => {
      const client = new Cluster(cluster.nodes);
      track('cluster client', () => client.disconnect());
      await new Promise<void>((resolve, reject) => client.once('ready', resolve).once('error', reject));
      return client;
    };
    const prefix = newPrefix();
    const a = await join(await connect(), 'a', { prefix, livenessMs: NO_POLL_MS });
    const b = await join(await connect(), 'b', { prefix, livenessMs: NO_POLL_MS });
    await a.watcher.until((m) => m.size === 2, 'a sees b', 1_000);
    expect(b.watcher.latest).toEqual(mapOf('a', 'b'));
    await b.discovery.stop();
    expect(await a.watcher.until((m) => m.size === 1, 'a sees b leave', 1_000)).toEqual(mapOf('a'));
  });
});
