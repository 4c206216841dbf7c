/**
 * Hand-rolled Redis pub/sub with ioredis: one channel per node. A send
 * publishes `JSON.stringify({from, users, message})` to each target node's
 * channel (auto-pipelining on, so a burst of publishes is one write); each
 * node's subscriber connection parses the envelope and queues it for the
 * consumer loop.
 */
import { DeliveryQueue } from '../../../src/client/delivery-queue.js';
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
      if (sub) {
        sub.on('message', (_channel: string, raw: string) => {
          const envelope = JSON.parse(raw) as Delivery;
          queue.push({ from: envelope.from, users: envelope.users, message: envelope.message });
        });
        await sub.subscribe(channel(id));
      }
      const node: BenchNode = {
        send(usersByHost, message) {
          const hosts = Object.keys(usersByHost);
          if (hosts.length === 1) {
            const host = hosts[0]!;
            return pub!.publish(channel(host), JSON.stringify({ from: id, users: usersByHost[host], message }));
          }
          return Promise.all(
            hosts.map((host) => pub!.publish(channel(host), JSON.stringify({ from: id, users: usersByHost[host], message }))),
          );
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
