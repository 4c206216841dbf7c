import type { RedisClientLike } from './redis-client-like.js';

/**
 * True when `client` is an ioredis Cluster whose slot map and node clients
 * can name the shard of a channel: what publishing and subscribing straight
 * to that shard need.
 */
export function routesByShard(client: RedisClientLike): boolean {
  return client.isCluster === true && Array.isArray(client.slots) && typeof client.nodes === 'function';
}

/**
 * The node clients of an ioredis Cluster with `role` (masters unless told
 * otherwise) by `host:port`, the way its slot map names them.
 */
export function nodesByAddress(cluster: RedisClientLike, role: 'master' | 'all' = 'master'): Map<string, RedisClientLike> {
  const nodes = new Map<string, RedisClientLike>();
  for (const node of cluster.nodes?.(role) ?? []) {
    // Where an ioredis node client connects; not in RedisClientLike, whose
    // `options` would clash with the Cluster client's own.
    const { host, port } = (node as { options?: { host?: unknown; port?: unknown } }).options ?? {};
    if (typeof host === 'string' && typeof port === 'number') nodes.set(`${host}:${port}`, node);
  }
  return nodes;
}
