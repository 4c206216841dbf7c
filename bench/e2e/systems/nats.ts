/**
 * Hand-rolled NATS with the `nats` client: one subject per node, one
 * connection per node. A send publishes the envelope
 * (bench/e2e/systems/envelope.ts: JSON, or a binary header and the payload
 * bytes) to each target node's subject (fire and forget: core NATS has no
 * delivery report); each node's subscription parses the envelope and queues
 * it for the consumer loop.
 */
import { DeliveryQueue } from '../../../src/client/delivery-queue.js';
import { envelopeEncoder, readBinaryEnvelope, readJsonEnvelope } from './envelope.js';
import type { BenchNode, Delivery, System } from './types.js';

const subject = (node: string): string => `node.${node}`;

export async function natsSystem(port: number): Promise<System> {
  const { connect } = await import('nats');
  return {
    name: 'nats',
    async node(id, role) {
      const nc = await connect({ servers: `127.0.0.1:${port}`, name: id, reconnect: false });
      const queue = new DeliveryQueue<Delivery>(Number.MAX_SAFE_INTEGER, () => {});
      const envelope = envelopeEncoder(role.payload);
      if (role.receives) {
        const binary = role.payload === 'binary';
        nc.subscribe(subject(id), {
          callback: (err, msg) => {
            if (err) return;
            queue.push(binary ? readBinaryEnvelope(msg.data) : readJsonEnvelope(msg.string()));
          },
        });
        await nc.flush();
      }
      const node: BenchNode = {
        send(usersByHost, message) {
          for (const host of Object.keys(usersByHost)) {
            nc.publish(subject(host), envelope(id, usersByHost[host]!, message));
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
