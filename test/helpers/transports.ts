/**
 * The same test cases against every transport a RelayClient runs over: the
 * built-in TCP relay, a standalone redis-server (a `redis://` url, so the
 * client owns its connections) and a Redis Cluster of three masters (a ready
 * ioredis `Cluster` handed in as `redis:`).
 *
 * ```ts
 * useTransportHarness();
 * describe.each(TRANSPORTS)('$name', (transport) => {
 *   it('…', async () => {
 *     const t = await transport.start();
 *     const a = await t.connect('a');
 *   });
 * });
 * ```
 *
 * Redis servers are shared by the tests of a file (started on first use,
 * stopped after the file); each `start()` gets a key prefix of its own, so
 * tests never see each other's channels or presence. Every client and every
 * Cluster client made here is closed after the test.
 */
import { afterAll, afterEach } from 'vitest';
import type { Cluster, ClusterOptions } from 'ioredis';
import { RelayClient, type ClientCommonOptions } from '../../src/index.js';
import { FAST_CLIENT, cleanup, createClient, startServer, track, urlFor } from './harness.js';
import { redisCommand, startRedis, startRedisCluster, type RedisClusterProcess, type RedisProcess } from './redis.js';

export type ClientOptions = Partial<ClientCommonOptions>;

/** One started transport: nodes to connect, and the server behind them. */
export interface TransportInstance {
  readonly name: string;
  /** A tracked client for `nodeId`, connected. */
  connect<M = unknown>(nodeId: string, options?: ClientOptions): Promise<RelayClient<M>>;
  /** A tracked client for `nodeId`, not connected yet. */
  create<M = unknown>(nodeId: string, options?: ClientOptions): RelayClient<M>;
  /** Releases what this instance holds (a shared Redis server stays up for the next test). */
  stop(): Promise<void>;
  /** Takes the server down: every client loses its connection and keeps trying. */
  kill?(): Promise<void>;
  /** Brings the server back on the same address (empty: no presence, no subscriptions). */
  restart?(): Promise<void>;
  /** The key and channel prefix of this instance (Redis transports). */
  readonly prefix?: string;
  /** The masters' ports (Redis transports). */
  readonly redisPorts?: number[];
}

export interface Transport {
  readonly name: 'tcp relay' | 'redis' | 'redis cluster';
  /** Whether instances have `kill()` and `restart()`. */
  readonly restartable: boolean;
  start(): Promise<TransportInstance>;
}

let prefixes = 0;
/** A key prefix no other test of this run uses (no braces: the presence store puts hash tags after it). */
function uniquePrefix(): string {
  return `t${process.pid}-${Date.now().toString(36)}-${++prefixes}:`;
}

// ---------------------------------------------------------------------------
// tcp relay

const tcpRelay: Transport = {
  name: 'tcp relay',
  restartable: true,
  async start() {
    let started = await startServer();
    const port = started.port;
    const url = urlFor(port);
    return {
      name: 'tcp relay',
      create: <M>(nodeId: string, options: ClientOptions = {}) => createClient<M>(url, nodeId, options),
      connect: <M>(nodeId: string, options: ClientOptions = {}) => connected(createClient<M>(url, nodeId, options)),
      stop: () => started.server.close(),
      kill: () => started.server.close(),
      async restart() {
        await started.server.close();
        started = await startServer({ port });
      },
    };
  },
};

// ---------------------------------------------------------------------------
// standalone redis

let sharedRedis: RedisProcess | undefined;

async function liveRedis(): Promise<RedisProcess> {
  sharedRedis ??= await startRedis();
  // A test that failed mid-outage may have left it down.
  const alive = await redisCommand(sharedRedis.port, ['PING']).then(
    (reply) => reply === 'PONG',
    () => false,
  );
  if (!alive) await sharedRedis.restart();
  return sharedRedis;
}

const redisStandalone: Transport = {
  name: 'redis',
  restartable: true,
  async start() {
    const redis = await liveRedis();
    const prefix = uniquePrefix();
    const options = (extra: ClientOptions): ClientOptions => ({
      ...extra,
      redisOptions: { prefix, ...extra.redisOptions },
    });
    return {
      name: 'redis',
      prefix,
      redisPorts: [redis.port],
      create: <M>(nodeId: string, extra: ClientOptions = {}) => createClient<M>(redis.url, nodeId, options(extra)),
      connect: <M>(nodeId: string, extra: ClientOptions = {}) => connected(createClient<M>(redis.url, nodeId, options(extra))),
      stop: () => Promise.resolve(),
      kill: () => redis.kill(),
      restart: () => redis.restart(),
    };
  },
};

// ---------------------------------------------------------------------------
// redis cluster

let sharedCluster: Promise<RedisClusterProcess> | undefined;

/** What a node would hand its Cluster client: auto-pipelining, so that per-shard batches are one write. */
const CLUSTER_OPTIONS: ClusterOptions = { enableAutoPipelining: true };

const redisCluster: Transport = {
  name: 'redis cluster',
  restartable: false,
  async start() {
    sharedCluster ??= startRedisCluster();
    const cluster = await sharedCluster;
    const { Cluster: ClusterClient } = await import('ioredis');
    const prefix = uniquePrefix();
    const make = <M>(nodeId: string, extra: ClientOptions): RelayClient<M> => {
      // One Cluster client per node, as each IM node would have its own.
      const redis: Cluster = new ClusterClient(cluster.nodes, CLUSTER_OPTIONS);
      redis.on('error', () => {});
      // Tracked before the RelayClient, so closed after it (cleanup runs newest first).
      track(`Cluster client of ${nodeId}`, () => redis.disconnect());
      const client = new RelayClient<M>({
        ...FAST_CLIENT,
        ...extra,
        redis,
        nodeId,
        redisOptions: { prefix, ...extra.redisOptions },
      });
      client.on('error', () => {});
      track(`RelayClient(${nodeId}) over the cluster`, () => client.close());
      return client;
    };
    return {
      name: 'redis cluster',
      prefix,
      redisPorts: cluster.nodes.map((n) => n.port),
      create: <M>(nodeId: string, extra: ClientOptions = {}) => make<M>(nodeId, extra),
      connect: <M>(nodeId: string, extra: ClientOptions = {}) => connected(make<M>(nodeId, extra)),
      stop: () => Promise.resolve(),
    };
  },
};

async function connected<M>(client: RelayClient<M>): Promise<RelayClient<M>> {
  await client.connect();
  return client;
}

/** Every transport, for `describe.each`. */
export const TRANSPORTS: Transport[] = [tcpRelay, redisStandalone, redisCluster];

/** The Redis transports only. */
export const REDIS_TRANSPORTS: Transport[] = [redisStandalone, redisCluster];

/**
 * Installs, in the calling test file, the cleanup after each test (clients,
 * Cluster clients, relays) and, after the file, the shared Redis servers' stop.
 */
export function useTransportHarness(): void {
  afterEach(cleanup);
  afterAll(async () => {
    const redis = sharedRedis;
    const cluster = sharedCluster;
    sharedRedis = undefined;
    sharedCluster = undefined;
    await Promise.all([
      redis?.stop(),
      cluster?.then(
        (c) => c.stop(),
        () => {},
      ),
    ]);
  });
}
