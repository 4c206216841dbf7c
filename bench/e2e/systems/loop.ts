/**
 * The loop's own ceiling: the same sends handed to the consumers inside one
 * process, with no network. A send JSON-encodes the message once, and each
 * target decodes it and queues it on the same bounded async-iterator queue
 * RelayClient uses, as a relay delivery would be. Bytes, which RelayClient
 * sends untouched, are handed over as they are: every target gets the same
 * Buffer.
 */
import { DeliveryQueue } from '../../../src/client/delivery-queue.js';
import type { BenchNode, Delivery, System } from './types.js';

export function loopSystem(): System {
  const queues = new Map<string, DeliveryQueue<Delivery>>();
  return {
    name: 'loop',
    node(id) {
      const queue = new DeliveryQueue<Delivery>(Number.MAX_SAFE_INTEGER, () => {});
      queues.set(id, queue);
      const node: BenchNode = {
        send(usersByHost, message) {
          if (message instanceof Uint8Array) {
            for (const host of Object.keys(usersByHost)) queues.get(host)?.push({ from: id, users: usersByHost[host]!, message });
            return;
          }
          const json = JSON.stringify(message);
          for (const host of Object.keys(usersByHost)) {
            queues.get(host)?.push({ from: id, users: usersByHost[host]!, message: JSON.parse(json) });
          }
        },
        deliveries: () => queue.iterate(),
        close() {
          queue.end();
          queues.delete(id);
          return Promise.resolve();
        },
      };
      return Promise.resolve(node);
    },
    close: () => Promise.resolve(),
  };
}
