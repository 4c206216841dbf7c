/**
 * On a cluster a node listens on its channel with one plain connection to
 * the master that owns the channel's slot. When that slot is resharded to
 * another master, Redis unsubscribes the connection itself (an unsolicited
 * SUNSUBSCRIBE): the link ends saying so, the next one subscribes on the new
 * owner, and no send reported delivered meanwhile is lost. When that master
 * is demoted without unsubscribing it, the link learns it from the node's
 * ROLE, asked with each probe, and leaves too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { ErrorCodes, RelayClient, type RelayError, type SendReport } from '../../src/index.js';
import { keySlot } from '../../src/transport/redis/key-slot.js';
import { channelOf } from '../../src/transport/redis/options.js';
import { clusterNode as clusterRelayNode } from '../helpers/cluster-node.js';
import { collect } from '../helpers/collector.js';
import { waitForEvent } from '../helpers/events.js';
import { flowsAgain } from '../helpers/flows-again.js';
import { useRelayHarness } from '../helpers/harness.js';
import { redisCommand, startRedisCluster, type RedisClusterProcess } from '../helpers/redis.js';

useRelayHarness();

const PROBE_MS = 100;
/** Told at once, then reconnected: the same bound the probe tests hold a silent path to. */
const RECOVERY_BOUND_MS = 4 * PROBE_MS + 1_000;

let cluster: RedisClusterProcess;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 30_000);
afterAll(() => cluster?.stop());

let prefixes = 0;
const newPrefix = (): string => `s${process.pid}-${++prefixes}:`;

function clusterNode(nodeId: string, prefix: string, client?: Cluster): RelayClient {
  return clusterRelayNode(
    cluster.nodes,
    nodeId,
    {
      reconnect: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0 },
      connectTimeoutMs: 1_000,
      redisOptions: { prefix, probeIntervalMs: PROBE_MS, livenessMs: 60_000 },
    },
    client,
  );
}

/** Subscribed connections on each master, by port. */
async function pubsubClients(): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const { port } of cluster.nodes) {
    const list = await redisCommand(port, ['CLIENT', 'LIST', 'TYPE', 'pubsub']);
    counts.set(port, list.split('\n').filter((line) => line.trim() !== '').length);
  }
  return counts;
}

async function shardSubscribers(port: number, channel: string): Promise<number> {
  // The reply is the channel, then its count.
  const [, count] = (await redisCommand(port, ['PUBSUB', 'SHARDNUMSUB', channel])).split('\n');
  return Number(count);
}

describe('the subscriber of a node on a cluster', () => {
  it('is one connection, to the master that owns the channel', async () => {
    const prefix = newPrefix();
    const before = await pubsubClients();
    const b = clusterNode('b', prefix);
    await b.connect();
    const owner = await cluster.ownerOf(keySlot(channelOf(prefix, 'b')));
    const after = await pubsubClients();
    for (const { port } of cluster.nodes) {
      expect(after.get(port)! - before.get(port)!, `subscribed connections on ${port}`).toBe(port === owner ? 1 : 0);
    }
  });

  it('follows its channel when the slot is resharded: told at once, subscribed on the new owner, nothing reported delivered is lost', async () => {
    const prefix = newPrefix();
    const a = clusterNode('a', prefix);
    const b = clusterNode('b', prefix);
    await Promise.all([a.connect(), b.connect()]);
    const inbox = collect(b);
    const channel = channelOf(prefix, 'b');
    const slot = keySlot(channel);
    const owner = await cluster.ownerOf(slot);
    const target = cluster.nodes.find(({ port }) => port !== owner)!.port;

    // Sends keep going while the slot moves: each is answered delivered (and must arrive) or offline.
    // Bounded in time, and a failed send waits a little: a loop of instant rejections would starve the test.
    const reports: Array<[string, SendReport | undefined]> = [];
    let sending = true;
    const sendingUntil = Date.now() + 10_000;
    const sender = (async (): Promise<void> => {
      for (let i = 0; sending && Date.now() < sendingUntil; i++) {
        const tag = `reshard-${i}`;
        const report = await a.send({ b: ['u'] }, tag).catch(() => undefined);
        reports.push([tag, report]);
        if (report === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    const down = waitForEvent<[RelayError | undefined]>(b, 'disconnect', 5_000);
    const movedAt = Date.now();
    await cluster.moveSlot(slot, target);
    const [reason] = await down.finally(() => (sending = false));
    expect(reason?.code).toBe(ErrorCodes.DISCONNECTED);
    expect(reason?.message).toMatch(/moved/);
    const recovery = await flowsAgain(a, 'b', inbox, movedAt).finally(() => (sending = false));
    expect(recovery).toBeLessThan(RECOVERY_BOUND_MS);
    await sender;

    expect(await shardSubscribers(target, channel)).toBe(1);
    expect(await shardSubscribers(owner, channel)).toBe(0);
    const delivered = reports.filter(([, report]) => report?.delivered.includes('b')).map(([tag]) => tag);
    expect(delivered.length).toBeGreaterThan(0);
    await inbox.until(() => delivered.every((tag) => inbox.messages.includes(tag)), 2_000, 'every send reported delivered');
  }, 20_000);

  it('leaves a master that was demoted without unsubscribing it, and subscribes where the slot is', async () => {
    // A failover can leave the old master up as a replica with the node still subscribed there
    // (replicas serve sharded subscribers), where the new master counts no subscriber for it.
    // Redis cannot be made to do that on demand, so the demoted node's ROLE answer is what this
    // test supplies, on the cluster client's own connection to it; everything else is real.
    const prefix = newPrefix();
    const a = clusterNode('a', prefix);
    const bClient = new Cluster(cluster.nodes, { enableAutoPipelining: true });
    const b = clusterNode('b', prefix, bClient);
    await Promise.all([a.connect(), b.connect()]);
    const inbox = collect(b);
    const owner = await cluster.ownerOf(keySlot(channelOf(prefix, 'b')));
    const node = bClient.nodes('all').find((n) => n.options.port === owner)!;
    const call = node.call.bind(node) as (...args: unknown[]) => Promise<unknown>;
    let demoted = true;
    (node as unknown as { call: typeof call }).call = (...args) =>
      demoted && String(args[0]).toUpperCase() === 'ROLE' ? Promise.resolve(['slave', '127.0.0.1', 1, 'connected', 0]) : call(...args);

    const [reason] = await waitForEvent<[RelayError | undefined]>(b, 'disconnect', 4 * PROBE_MS + 1_000);
    demoted = false;
    const leftAt = Date.now();
    expect(reason?.code).toBe(ErrorCodes.DISCONNECTED);
    expect(reason?.message).toMatch(/demoted/);
    expect(await flowsAgain(a, 'b', inbox, leftAt)).toBeLessThan(RECOVERY_BOUND_MS);
  });
});
