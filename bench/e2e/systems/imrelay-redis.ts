/**
 * imrelay over Redis: one RelayClient per node with a `redis://` url and no
 * relay. A send is one PUBLISH per target node of the same DELIVER frame the
 * relay would write, and resolves with a report built from PUBLISH's
 * subscriber counts; each node subscribes to its own channel. Next to the
 * hand-rolled Redis baseline (bench/e2e/systems/redis.ts), this is what the
 * truthful reports, presence and the binary framing cost over Redis.
 */
import { RelayClient } from '../../../src/index.js';
import type { BenchNode, System } from './types.js';

export function imrelayRedisSystem(port: number): System {
  return {
    name: 'imrelay-redis',
    async node(id) {
      const client = new RelayClient({
        url: `redis://127.0.0.1:${port}`,
        nodeId: id,
        reconnect: false,
        redisOptions: { prefix: 'bench:' },
      });
      await client.connect();
      const node: BenchNode = {
        // The default send: resolves with the report built from PUBLISH's counts.
        send: (usersByHost, message) => client.send(usersByHost, message),
        deliveries: () => client,
        close: () => client.close(),
      };
      return node;
    },
    close: () => Promise.resolve(),
  };
}
