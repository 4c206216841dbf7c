/**
 * Hand-rolled NATS with the `nats` client: one subject per node, one
 * connection per node. A send publishes `JSON.stringify({from, users,
 * message})` to each target node's subject (fire and forget: core NATS has
 * no delivery report); each node's subscription parses the envelope and
 * queues it for the consumer loop.
 */
import { DeliveryQueue } from '../../../src/client/delivery-queue.js';
import type { BenchNode, Delivery, System } from './types.js';

const subject = (node: string): string => `node.${node}`;

export async function natsSystem(port: number): Promise<System> {
  const { connect } = await import('nats');
  return {
    name: 'nats',
    async node(id, role) {
      const nc = await connect({ servers: `127.0.0.1:${port}`, name: id, reconnect: false });
      const queue = new DeliveryQueue<Delivery>(Number.MAX_SAFE_INTEGER, () => {});
      if (role.receives) {
        nc.subscribe(subject(id), {
          callback: (err, msg) => {
            if (err) return;
            const envelope = JSON.parse(msg.string()) as Delivery;
            queue.push({ from: envelope.from, users: envelope.users, message: envelope.message });
          },
        });
        await nc.flush();
      }
      const node: BenchNode = {
        send(usersByHost, message) {
          for (const host of Object.keys(usersByHost)) {
            nc.publish(subject(host), JSON.stringify({ from: id, users: usersByHost[host], message }));
          }
        },
        deliveries: () => queue.iterate(),
        async close() {
          queue.end();
          await nc.drain().catch(() => nc.close());
        },
      };
      return node;
    },
    close: () => Promise.resolve(),
  };
}
