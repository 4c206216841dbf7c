/**
 * imrelay over Redis: one RelayClient per node and no relay, over one
 * redis-server (a `redis://` url: the client makes its own connections) or
 * over a Redis Cluster (a ready ioredis `Cluster` per node, auto-pipelining
 * on, as docs/scaling.md advises). The nodes share a secret, so every
 * channel message carries its MAC and is checked for replays: the figures
 * are those of the authenticated setup. Next to the hand-rolled baseline
 * (bench/e2e/systems/redis.ts), this is what batching, truthful reports,
 * authentication and the binary framing cost or save over Redis.
 */
import { RelayClient } from '../../../src/index.js';
import type { BenchNode, System } from './types.js';

/** The bench's shared secret: a fixed value, the bench runs on loopback only. */
const SECRET = 'imrelay-bench-secret';

export async function imrelayRedisSystem(port: number, options: { cluster: boolean }): Promise<System> {
  const { Cluster } = await import('ioredis');
  const clusters: Array<InstanceType<typeof Cluster>> = [];
  return {
    name: options.cluster ? 'imrelay-redis-cluster' : 'imrelay-redis',
    async node(id) {
      let redis: InstanceType<typeof Cluster> | undefined;
      if (options.cluster) {
        redis = new Cluster([{ host: '127.0.0.1', port }], { enableAutoPipelining: true });
        clusters.push(redis);
      }
      const client = new RelayClient({
        ...(redis ? { redis } : { url: `redis://127.0.0.1:${port}` }),
        nodeId: id,
        secret: SECRET,
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
    close() {
      for (const c of clusters.splice(0)) c.disconnect();
      return Promise.resolve();
    },
  };
}
