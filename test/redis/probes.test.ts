/**
 * Each node probes its own path through Redis: a probe published to its own
 * channel (through the shard that owns it, on a cluster) must come back.
 * When the path goes silent the link closes with ERR_HEARTBEAT, the client
 * reconnects and subscribes again, and messages flow again within the bound
 * (3 probe intervals to notice, then a reconnect).
 *
 * Here Redis loses the subscription in every way we can make it: the
 * subscriber connection killed (CLIENT KILL TYPE pubsub), the subscription
 * dropped behind the link's back while the connection stays up, the server
 * frozen (SIGSTOP) and restarted, and on a cluster with replicas, a
 * failover of the shard that owns the node's channel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ErrorCodes, RelayClient, type RelayError } from '../../src/index.js';
import { channelOf } from '../../src/transport/redis/options.js';
import type { RedisClientLike } from '../../src/transport/redis/redis-client-like.js';
import type { RedisLink } from '../../src/transport/redis/redis-link.js';
import { clusterNode as clusterRelayNode } from '../helpers/cluster-node.js';
import { collect } from '../helpers/collector.js';
import { flowsAgain } from '../helpers/flows-again.js';
import { EventLog, pollUntil, waitForEvent } from '../helpers/events.js';
import { createClient, track, useRelayHarness } from '../helpers/harness.js';
import { redisCommand, startRedis, startRedisCluster, type RedisClusterProcess, type RedisProcess } from '../helpers/redis.js';

useRelayHarness();

const PROBE_MS = 100;
/** Noticed within 3 intervals (4 with timer slack), then reconnected: the bound a test holds the transport to. */
const RECOVERY_BOUND_MS = 4 * PROBE_MS + 1_000;
/** The presence heartbeat is the other watchdog: slow here, so that what a test sees is the probe's doing. */
const LIVENESS_MS = 60_000;

let prefixes = 0;
const newPrefix = (): string => `p${process.pid}-${++prefixes}:`;

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

function linkOf(client: RelayClient): RedisLink {
  return (client as unknown as { supervisor: { link: RedisLink } }).supervisor.link;
}

function optionsFor(prefix: string): Parameters<typeof createClient>[2] {
  return {
    reconnect: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0 },
    connectTimeoutMs: 1_000,
    redisOptions: { prefix, probeIntervalMs: PROBE_MS, livenessMs: LIVENESS_MS },
  };
}

describe('on one server', () => {
  it('probes come back while the path is healthy, and nothing else happens', async () => {
    const prefix = newPrefix();
    const a = createClient(redis.url, 'a', optionsFor(prefix));
    await a.connect();
    const disconnects = new EventLog(a, 'disconnect');
    const link = linkOf(a);
    await pollUntil(() => link.stats.probesReturned >= 7, 20 * PROBE_MS, 'seven probes back');
    const { probesSent, probesReturned, batchesReceived } = link.stats;
    expect(probesSent - probesReturned).toBeLessThanOrEqual(1);
    expect(batchesReceived).toBe(probesReturned);
    expect(disconnects.count).toBe(0);
  });

  it('the subscriber connection killed (CLIENT KILL TYPE pubsub): reconnected and receiving within the bound', async () => {
    const prefix = newPrefix();
    const a = createClient(redis.url, 'a', optionsFor(prefix));
    const b = createClient(redis.url, 'b', optionsFor(prefix));
    await Promise.all([a.connect(), b.connect()]);
    const inbox = collect(b);
    const down = waitForEvent<[RelayError | undefined]>(b, 'disconnect', 3_000);
    const killedAt = Date.now();
    await redisCommand(redis.port, ['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    const [reason] = await down;
    expect(reason?.code).toBe(ErrorCodes.DISCONNECTED);
    expect(await flowsAgain(a, 'b', inbox, killedAt)).toBeLessThan(RECOVERY_BOUND_MS);
  });

  it('the subscription gone while the connection stays up: the probe finds no subscriber, ERR_HEARTBEAT, resubscribed within the bound', async () => {
    const prefix = newPrefix();
    const a = createClient(redis.url, 'a', optionsFor(prefix));
    const b = createClient(redis.url, 'b', optionsFor(prefix));
    await Promise.all([a.connect(), b.connect()]);
    const inbox = collect(b);
    const down = waitForEvent<[RelayError | undefined]>(b, 'disconnect', 3_000);
    // What a failover or a proxy can do: the subscription vanishes, the connection does not.
    const sub = (linkOf(b) as unknown as { sub: RedisClientLike }).sub;
    const droppedAt = Date.now();
    await sub.unsubscribe(channelOf(prefix, 'b'));
    // Meanwhile a send to b is truthfully reported offline: Redis has no subscriber for it.
    const [reason] = await down;
    expect(reason?.code).toBe(ErrorCodes.HEARTBEAT);
    expect(reason?.message).toMatch(/no subscriber/);
    expect(await flowsAgain(a, 'b', inbox, droppedAt)).toBeLessThan(RECOVERY_BOUND_MS);
  });

  it('redis frozen (SIGSTOP): ERR_HEARTBEAT from the probe within 3 to 4 intervals; flowing again soon after SIGCONT', async () => {
    const frozen = await startRedis();
    track('frozen redis', () => frozen.stop());
    const pid = Number(/process_id:(\d+)/.exec(await redisCommand(frozen.port, ['INFO', 'server']))?.[1]);
    const thaw = (): void => {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    };
    track('SIGCONT redis-server', thaw);
    const prefix = newPrefix();
    const a = createClient(frozen.url, 'a', optionsFor(prefix));
    const b = createClient(frozen.url, 'b', optionsFor(prefix));
    await Promise.all([a.connect(), b.connect()]);
    const inbox = collect(b);
    const down = Promise.all([a, b].map((c) => waitForEvent<[RelayError | undefined]>(c, 'disconnect', 3_000)));
    process.kill(pid, 'SIGSTOP');
    const frozenAt = Date.now();
    const reasons = await down;
    const noticedAfter = Date.now() - frozenAt;
    for (const [reason] of reasons) {
      expect(reason?.code).toBe(ErrorCodes.HEARTBEAT);
      expect(reason?.message).toMatch(/no probe came back/);
    }
    expect(noticedAfter).toBeGreaterThanOrEqual(2 * PROBE_MS);
    expect(noticedAfter).toBeLessThan(5 * PROBE_MS + 200);
    const thawedAt = Date.now();
    thaw();
    expect(await flowsAgain(a, 'b', inbox, thawedAt)).toBeLessThan(RECOVERY_BOUND_MS);
  });

  it('redis restarted: reconnected, resubscribed and probing again within the bound', async () => {
    const restarted = await startRedis();
    track('restarted redis', () => restarted.stop());
    const prefix = newPrefix();
    const a = createClient(restarted.url, 'a', optionsFor(prefix));
    const b = createClient(restarted.url, 'b', optionsFor(prefix));
    await Promise.all([a.connect(), b.connect()]);
    const inbox = collect(b);
    const up = Promise.all([a, b].map((c) => waitForEvent(c, 'connect', 5_000)));
    await restarted.restart();
    const restartedAt = Date.now();
    await up;
    expect(await flowsAgain(a, 'b', inbox, restartedAt)).toBeLessThan(RECOVERY_BOUND_MS);
    const probes = linkOf(b).stats.probesReturned;
    await pollUntil(() => linkOf(b).stats.probesReturned > probes, 3 * PROBE_MS, 'a probe back after the restart');
  });
});

describe('on a Redis Cluster with a replica per master', () => {
  let cluster: RedisClusterProcess;
  beforeAll(async () => {
    cluster = await startRedisCluster({ replicas: 1 });
  }, 30_000);
  afterAll(() => cluster?.stop());

  const clusterNode = (nodeId: string, prefix: string): RelayClient => clusterRelayNode(cluster.nodes, nodeId, optionsFor(prefix));

  it("a failover of the shard that owns a node's channel: messages flow again within the bound", async () => {
    const prefix = newPrefix();
    const a = clusterNode('a', prefix);
    const b = clusterNode('b', prefix);
    await Promise.all([a.connect(), b.connect()]);
    const inbox = collect(b);
    expect(await a.send({ b: ['u'] }, 'before')).toEqual({ delivered: ['b'], offline: {} });

    const slot = Number(await redisCommand(cluster.nodes[0]!.port, ['CLUSTER', 'KEYSLOT', channelOf(prefix, 'b')]));
    const owner = await cluster.ownerOf(slot);
    const promoted = await cluster.failover(owner);
    const promotedAt = Date.now();
    expect(await cluster.ownerOf(slot)).toBe(promoted);
    // The old master, now a replica, answers SPUBLISH with 0 and no MOVED: the sender's map is refreshed
    // (at most once a second) and b's probe finds its subscription gone; then b resubscribes on the new master.
    expect(await flowsAgain(a, 'b', inbox, promotedAt)).toBeLessThan(RECOVERY_BOUND_MS + 1_000);
    // Settled: b is subscribed on the promoted master, and nowhere else in the shard. A replica
    // serves sharded subscribers too (SPUBLISH reaches them through replication), but the new
    // master counts none of them, so b must not stay on the old one: its link checks with each
    // probe that the node it subscribed on is still a master.
    const shard = [promoted, owner].map((port) => {
      const conn = new Redis(port, '127.0.0.1');
      track(`connection to shard node ${port}`, () => conn.disconnect());
      return conn;
    });
    const subscribers = async (): Promise<number[]> =>
      Promise.all(shard.map(async (conn) => ((await conn.call('PUBSUB', 'SHARDNUMSUB', channelOf(prefix, 'b'))) as [string, number])[1]));
    let counts = await subscribers();
    for (
      const deadline = Date.now() + RECOVERY_BOUND_MS;
      (counts[0] !== 1 || counts[1] !== 0) && Date.now() < deadline;
      counts = await subscribers()
    ) {
      await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
    }
    expect(counts, 'subscribers of b on [promoted, old master]').toEqual([1, 0]);
    expect(await flowsAgain(a, 'b', inbox, Date.now())).toBeLessThan(RECOVERY_BOUND_MS);
  }, 20_000);
});
