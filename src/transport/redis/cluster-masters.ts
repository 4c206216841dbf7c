import type { RedisClientLike } from './redis-client-like.js';

/**
 * The master clients of an ioredis Cluster (or, with `role`, its other node
 * clients) by `host:port`, the way its slot map names them.
 */
export function mastersByAddress(cluster: RedisClientLike, role: 'master' | 'all' = 'master'): Map<string, RedisClientLike> {
  const masters = new Map<string, RedisClientLike>();
  for (const node of cluster.nodes?.(role) ?? []) {
    // Where an ioredis node client connects; not in RedisClientLike, whose
    // `options` would clash with the Cluster client's own.
    const { host, port } = (node as { options?: { host?: unknown; port?: unknown } }).options ?? {};
    if (typeof host === 'string' && typeof port === 'number') masters.set(`${host}:${port}`, node);
  }
  return masters;
}
