/**
 * On a cluster, a flush's SPUBLISHes go straight to the master the client's
 * slot map names for each channel (shard-publish.ts). These check the slot
 * it computes against the servers' own, and that a map that names the wrong
 * master (as after a failover or a slot move the client has not heard of)
 * still delivers everything exactly once, in order, with true reports: the
 * MOVED reply sends the message again through the cluster client.
 */
import fc from 'fast-check';
import type { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayClient } from '../../src/index.js';
import { keySlot } from '../../src/transport/redis/key-slot.js';
import { collect } from '../helpers/collector.js';
import { redisCommand } from '../helpers/redis.js';
import { REDIS_TRANSPORTS, useTransportHarness } from '../helpers/transports.js';

useTransportHarness();

const cluster = REDIS_TRANSPORTS.find((t) => t.name === 'redis cluster')!;
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('publishing straight to the shard', () => {
  it('computes the slot Redis computes, hash tags included', async () => {
    const t = await cluster.start();
    const port = t.redisPorts![0]!;
    const fixed = [
      'foo',
      'bar',
      '123456789',
      '{user1000}.following',
      '{user1000}.followers',
      'foo{}{bar}',
      'foo{{bar}}zap',
      'foo{bar}{zap}',
      '{}',
      'é:ünïcode',
    ];
    const random = fc.sample(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), { numRuns: 150, seed: 7 });
    for (const name of [...fixed, ...random.map((s) => `imrelay:node:${s}`)]) {
      // Names that are not valid UTF-16 are not channel names a node can have.
      if (Buffer.from(name, 'utf8').toString('utf8') !== name) continue;
      expect(keySlot(name), name).toBe(Number(await redisCommand(port, ['CLUSTER', 'KEYSLOT', name])));
    }
  });

  it('a slot map naming the wrong master still delivers every message once, in order, each reported delivered', async () => {
    const t = await cluster.start();
    const quiet = { redisOptions: { probeIntervalMs: 600_000 } };
    const receiver = await t.connect('shard-r', quiet);
    const inbox = collect(receiver);

    const { Cluster: ClusterClient } = await import('ioredis');
    const redis: Cluster = new ClusterClient(
      t.redisPorts!.map((port) => ({ host: '127.0.0.1', port })),
      { enableAutoPipelining: true },
    );
    redis.on('error', () => {});
    closers.push(() => redis.disconnect());
    const sender = new RelayClient({ nodeId: 'shard-s', redis, redisOptions: { prefix: t.prefix, probeIntervalMs: 600_000 } });
    sender.on('error', () => {});
    closers.push(() => sender.close());
    await sender.connect();

    // A first send over the right map, then the receiver's slot pointed at another master.
    expect((await sender.send({ 'shard-r': ['u'] }, { n: -1 })).delivered).toEqual(['shard-r']);
    const slot = keySlot(`${t.prefix}node:shard-r`);
    const owner = redis.slots[slot]![0]!;
    const other = redis
      .nodes('master')
      .map((n) => `${n.options.host}:${n.options.port}`)
      .find((key) => key !== owner)!;
    expect(other).toBeDefined();
    redis.slots[slot] = [other];
    // Counts the SPUBLISHes made on each master's own client (the cluster path never calls it).
    const direct = new Map<string, number>();
    for (const node of redis.nodes('master')) {
      const key = `${node.options.host}:${node.options.port}`;
      const spublish = node.spublish.bind(node) as (channel: string, message: Buffer) => Promise<number>;
      (node as unknown as { spublish: typeof spublish }).spublish = (channel, message) => {
        direct.set(key, (direct.get(key) ?? 0) + 1);
        return spublish(channel, message);
      };
    }

    // Several flushes while the map is wrong, and after ioredis has set it right.
    const reports: Array<Promise<{ delivered: string[] }>> = [];
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 20; k++) reports.push(sender.send({ 'shard-r': ['u'] }, { n: round * 20 + k }));
      await reports[reports.length - 1];
    }
    const settled = await Promise.all(reports);
    expect(settled.every((r) => r.delivered.length === 1 && r.delivered[0] === 'shard-r')).toBe(true);
    await inbox.waitFor(101);
    expect(inbox.items.map((d) => (d.message as { n: number }).n)).toEqual(Array.from({ length: 101 }, (_, i) => i - 1));
    // The stale map's master was tried first; its MOVED reply set the map
    // right, and the flushes after it went straight to the owner.
    expect(direct.get(other)).toBeGreaterThan(0);
    expect(direct.get(owner)).toBeGreaterThan(0);
    expect(redis.slots[slot]![0]).toBe(owner);
  });
});
