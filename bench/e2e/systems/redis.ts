/**
 * Hand-rolled Redis pub/sub with ioredis: one channel per node. A send
 * publishes the envelope (bench/e2e/systems/envelope.ts: JSON, or a binary
 * header and the payload bytes) to each target node's channel
 * (auto-pipelining on, so a burst of publishes is one write); each node's
 * subscriber connection parses the envelope and queues it for the consumer
 * loop.
 */
import { DeliveryQueue } from '../../../src/client/delivery-queue.js';
import { envelopeEncoder, readBinaryEnvelope, readJsonEnvelope } from './envelope.js';
import type { BenchNode, Delivery, System } from './types.js';

const channel = (node: string): string => `node:${node}`;

export async function redisSystem(port: number): Promise<System> {
  const { Redis } = await import('ioredis');
  const connect = async (): Promise<InstanceType<typeof Redis>> => {
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableAutoPipelining: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    return redis;
  };
  return {
    name: 'redis',
    async node(id, role) {
      const pub = role.sends ? await connect() : undefined;
      const sub = role.receives ? await connect() : undefined;
      const queue = new DeliveryQueue<Delivery>(Number.MAX_SAFE_INTEGER, () => {});
      const envelope = envelopeEncoder(role.payload);
      if (sub) {
        // Only a `message` listener makes ioredis turn each payload into a string.
        if (role.payload === 'binary') sub.on('messageBuffer', (_channel: Buffer, raw: Buffer) => queue.push(readBinaryEnvelope(raw)));
        else sub.on('message', (_channel: string, raw: string) => queue.push(readJsonEnvelope(raw)));
        await sub.subscribe(channel(id));
      }
      const node: BenchNode = {
        send(usersByHost, message) {
          const hosts = Object.keys(usersByHost);
          if (hosts.length === 1) {
            const host = hosts[0]!;
            return pub!.publish(channel(host), envelope(id, usersByHost[host]!, message));
          }
          return Promise.all(hosts.map((host) => pub!.publish(channel(host), envelope(id, usersByHost[host]!, message))));
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
