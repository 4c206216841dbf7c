/**
 * On a Redis Cluster the transport uses sharded pub/sub: each node's channel
 * lives on the shard that owns its slot, a message to a node is one SPUBLISH
 * executed on that shard only, and nothing goes over the cluster bus (a plain
 * PUBLISH would be broadcast to every node of the cluster). What a node
 * sends to one target within one flush is one SPUBLISH.
 *
 * Checked on the servers themselves, through INFO and CLUSTER commands on
 * each master.
 */
import { describe, expect, it } from 'vitest';
import type { RelayClient } from '../../src/index.js';
import { collect, type DeliveryCollector } from '../helpers/collector.js';
import { redisCommand } from '../helpers/redis.js';
import { REDIS_TRANSPORTS, useTransportHarness } from '../helpers/transports.js';

useTransportHarness();

const cluster = REDIS_TRANSPORTS.find((t) => t.name === 'redis cluster')!;

/** `field:value` lines of an INFO or CLUSTER INFO reply. */
function fields(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) map.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return map;
}

/** What one master has counted so far. */
interface Counters {
  spublish: number;
  publish: number;
  /** Messages of classic pub/sub sent to other cluster nodes over the bus. */
  busPublish: number;
  shardChannels: number;
  channels: number;
}

async function counters(port: number): Promise<Counters> {
  const commands = fields(await redisCommand(port, ['INFO', 'commandstats']));
  const stats = fields(await redisCommand(port, ['INFO', 'stats']));
  const bus = fields(await redisCommand(port, ['CLUSTER', 'INFO']));
  const calls = (name: string): number => Number(/calls=(\d+)/.exec(commands.get(`cmdstat_${name}`) ?? '')?.[1] ?? 0);
  return {
    spublish: calls('spublish'),
    publish: calls('publish'),
    // Absent until the first such message.
    busPublish: Number(bus.get('cluster_stats_messages_publish_sent') ?? 0),
    shardChannels: Number(stats.get('pubsubshard_channels') ?? 0),
    channels: Number(stats.get('pubsub_channels') ?? 0),
  };
}

/** The slot ranges a master serves, from its own line of CLUSTER NODES. */
async function slotRanges(port: number): Promise<Array<[number, number]>> {
  const nodes = await redisCommand(port, ['CLUSTER', 'NODES']);
  const myself = nodes.split('\n').find((line) => line.split(' ')[2]?.split(',').includes('myself'));
  if (myself === undefined) throw new Error(`no "myself" line in CLUSTER NODES of ${port}`);
  return myself
    .trim()
    .split(' ')
    .slice(8)
    .filter((range) => !range.startsWith('['))
    .map((range) => {
      const [from, to = from] = range.split('-');
      return [Number(from), Number(to)] as [number, number];
    });
}

describe('sharded pub/sub on a Redis Cluster', () => {
  it('each node channel is subscribed on the shard owning its slot; a flush of messages to a node crosses only that shard, as one SPUBLISH', async () => {
    const t = await cluster.start();
    const ports = t.redisPorts!;
    const ranges = await Promise.all(ports.map(slotRanges));
    const ownerOf = async (node: string): Promise<number> => {
      const slot = Number(await redisCommand(ports[0]!, ['CLUSTER', 'KEYSLOT', `${t.prefix}node:${node}`]));
      const owner = ranges.findIndex((list) => list.some(([from, to]) => slot >= from && slot <= to));
      expect(owner, `owner of ${node}'s slot ${slot}`).toBeGreaterThanOrEqual(0);
      return owner;
    };

    // Two receiving nodes on each shard, so every shard has work to do (or none to skip).
    const owner = new Map<string, number>();
    for (let i = 0; owner.size < 2 * ports.length && i < 1_000; i++) {
      const id = `n${i}`;
      const shard = await ownerOf(id);
      if ([...owner.values()].filter((s) => s === shard).length < 2) owner.set(id, shard);
    }
    expect(owner.size).toBe(2 * ports.length);
    const senderShard = await ownerOf('sender');

    const before = await Promise.all(ports.map(counters));
    // No probe within the test: every SPUBLISH counted is a batch of messages.
    const quiet = { redisOptions: { probeIntervalMs: 600_000 } };
    const sender = await t.connect('sender', quiet);
    const inboxes = new Map<string, DeliveryCollector>();
    const receivers: RelayClient[] = [];
    for (const id of owner.keys()) {
      const client = await t.connect(id, quiet);
      receivers.push(client);
      inboxes.set(id, collect(client));
    }

    // Each channel subscribed exactly once, on its own shard; no classic channel anywhere.
    const subscribed = await Promise.all(ports.map(counters));
    ports.forEach((_, shard) => {
      const mine = [...owner.values()].filter((s) => s === shard).length + (senderShard === shard ? 1 : 0);
      expect(subscribed[shard]!.shardChannels - before[shard]!.shardChannels, `shard channels on master ${shard}`).toBe(mine);
      expect(subscribed[shard]!.channels, `classic channels on master ${shard}`).toBe(0);
    });

    // Node number k gets k + 1 messages, all sent within one flush: one batch, one SPUBLISH, per node.
    const ids = [...owner.keys()];
    const expected = new Array<number>(ports.length).fill(0);
    const sends: Array<Promise<unknown>> = [];
    ids.forEach((id, k) => {
      for (let j = 0; j <= k; j++) sends.push(sender.send({ [id]: [`u-${id}`] }, { to: id, j }));
      expected[owner.get(id)!]! += 1;
    });
    const reports = (await Promise.all(sends)) as Array<{ delivered: string[] }>;
    expect(reports.every((r) => r.delivered.length === 1)).toBe(true);
    await Promise.all(ids.map((id, k) => inboxes.get(id)!.waitFor(k + 1)));

    const after = await Promise.all(ports.map(counters));
    ports.forEach((_, shard) => {
      expect(after[shard]!.spublish - subscribed[shard]!.spublish, `SPUBLISH on master ${shard}`).toBe(expected[shard]);
      expect(after[shard]!.publish - before[shard]!.publish, `PUBLISH on master ${shard}`).toBe(0);
      expect(after[shard]!.busPublish - before[shard]!.busPublish, `pub/sub over the bus from master ${shard}`).toBe(0);
    });
    // Every master did some of the work: the load is spread over the shards.
    expect(expected.every((n) => n > 0)).toBe(true);
    for (const [k, id] of ids.entries()) {
      const inbox = inboxes.get(id)!;
      expect(inbox.count).toBe(k + 1);
      expect(inbox.items.every((d) => (d.message as { to: string }).to === id && d.users[0] === `u-${id}`)).toBe(true);
      expect(inbox.items.map((d) => (d.message as { j: number }).j)).toEqual(Array.from({ length: k + 1 }, (_, j) => j));
    }

    // Closing a node removes its subscription from its shard.
    await receivers[0]!.close();
    const closed = await Promise.all(ports.map(counters));
    const shardOfFirst = owner.get(ids[0]!)!;
    expect(closed[shardOfFirst]!.shardChannels).toBe(subscribed[shardOfFirst]!.shardChannels - 1);
    expect(await sender.send({ [ids[0]!]: ['x'] }, 'gone')).toEqual({
      delivered: [],
      offline: { [ids[0]!]: ['x'] },
      reasons: { [ids[0]!]: 'offline' },
    });
  });
});
