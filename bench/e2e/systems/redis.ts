/**
 * Hand-rolled Redis pub/sub with ioredis: one channel per node. A send
 * publishes the envelope (bench/e2e/systems/envelope.ts: JSON, or a binary
 * header and the payload bytes) to each target node's channel, one PUBLISH
 * per message and target (auto-pipelining on, so a burst of publishes is one
 * write); each node's subscriber connection parses the envelope and queues
 * it for the consumer loop. On a Redis Cluster the same with sharded pub/sub:
 * one SPUBLISH per message and target, SSUBSCRIBE on the owning shard.
 */
import type { Cluster, Redis } from 'ioredis';
import { DeliveryQueue } from '../../../src/client/delivery-queue.js';
import { envelopeEncoder, readBinaryEnvelope, readJsonEnvelope } from './envelope.js';
import type { BenchNode, Delivery, System } from './types.js';

const channel = (node: string): string => `node:${node}`;

export async function redisSystem(port: number, options: { cluster: boolean }): Promise<System> {
  const { Redis: RedisClient, Cluster: ClusterClient } = await import('ioredis');
  const connect = async (subscriber: boolean): Promise<Redis | Cluster> => {
    if (options.cluster) {
      const cluster = new ClusterClient([{ host: '127.0.0.1', port }], {
        enableAutoPipelining: true,
        shardedSubscribers: subscriber,
        lazyConnect: true,
      });
      await cluster.connect();
      return cluster;
    }
    const redis = new RedisClient({ host: '127.0.0.1', port, lazyConnect: true, enableAutoPipelining: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    return redis;
  };
  return {
    name: options.cluster ? 'redis-cluster' : 'redis',
    async node(id, role) {
      const pub = role.sends ? await connect(false) : undefined;
      const sub = role.receives ? await connect(true) : undefined;
      const queue = new DeliveryQueue<Delivery>(Number.MAX_SAFE_INTEGER, () => {});
      const envelope = envelopeEncoder(role.payload);
      if (sub) {
        // Only a `message` listener makes ioredis turn each payload into a string.
        const [bufferEvent, textEvent] = options.cluster ? ['smessageBuffer', 'smessage'] : ['messageBuffer', 'message'];
        if (role.payload === 'binary') sub.on(bufferEvent, (_channel: Buffer, raw: Buffer) => queue.push(readBinaryEnvelope(raw)));
        else sub.on(textEvent, (_channel: string, raw: string) => queue.push(readJsonEnvelope(raw)));
        if (options.cluster) await sub.ssubscribe(channel(id));
        else await sub.subscribe(channel(id));
      }
      const publish = options.cluster
        ? (host: string, body: string | Buffer) => pub!.spublish(channel(host), body)
        : (host: string, body: string | Buffer) => pub!.publish(channel(host), body);
      const node: BenchNode = {
        send(usersByHost, message) {
          const hosts = Object.keys(usersByHost);
          if (hosts.length === 1) {
            const host = hosts[0]!;
            return publish(host, envelope(id, usersByHost[host]!, message));
          }
          return Promise.all(hosts.map((host) => publish(host, envelope(id, usersByHost[host]!, message))));
        },
        deliveries: () => queue.iterate(),
        async close() {
          queue.end();
          await Promise.all([pub?.quit(), sub?.quit()]);
        },
      };
      return node;
    },
    close: () => Promise.resolve(),
  };
}
