import { ConnectError, DependencyError } from '../../errors.js';
import type { RedisClientLike } from './redis-client-like.js';

type RedisConstructor = new (url: string, options: object) => RedisClientLike;

/**
 * Creates an ioredis client for a `redis://` or `rediss://` url, loading
 * ioredis on demand. Rejects with `ERR_DEPENDENCY` when it is not installed:
 * no retry can fix that.
 */
export async function connectRedis(url: string): Promise<RedisClientLike> {
  let ioredis: { Redis?: RedisConstructor; default?: unknown };
  try {
    ioredis = (await import('ioredis')) as typeof ioredis;
  } catch (cause) {
    throw new DependencyError('the redis transport needs the ioredis package: npm install ioredis', { cause });
  }
  const Redis = ioredis.Redis ?? (ioredis.default as RedisConstructor);
  // The client reconnects by making a new link: ioredis must not retry on its own
  // behind its back, nor queue commands while disconnected.
  return new Redis(url, { retryStrategy: () => null, enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: false });
}

/**
 * Resolves once `client` is ready; rejects with `ERR_CONNECT` (the client's
 * error as the cause) on error, end, or after `timeoutMs`.
 */
export function whenReady(client: RedisClientLike, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new ConnectError(`redis not ready within ${timeoutMs} ms`)), timeoutMs);
    const onReady = (): void => finish(undefined);
    const onError = (err: Error): void => finish(new ConnectError(`could not connect to redis: ${err.message}`, { cause: err }));
    const onEnd = (): void => finish(new ConnectError('the connection to redis ended before it was ready'));
    function finish(err: ConnectError | undefined): void {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('end', onEnd);
      if (err) reject(err);
      else resolve();
    }
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('end', onEnd);
  });
}
