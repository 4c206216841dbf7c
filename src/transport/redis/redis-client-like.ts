/**
 * The part of an ioredis `Redis` or `Cluster` client that imrelay uses. Typed
 * structurally so that the core never imports ioredis: it is an optional peer
 * dependency, loaded only when a `redis://` url is given.
 */
export interface RedisClientLike {
  readonly status: string;
  readonly isCluster?: boolean;
  publish(channel: string, message: Buffer): Promise<number>;
  /** SPUBLISH answers an integer; ioredis types its reply as `unknown`. */
  spublish?(channel: string, message: Buffer): Promise<unknown>;
  subscribe(...channels: string[]): Promise<unknown>;
  ssubscribe?(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  sunsubscribe?(...channels: string[]): Promise<unknown>;
  call(command: string, ...args: Array<string | Buffer | number>): Promise<unknown>;
  duplicate(...args: unknown[]): RedisClientLike;
  /** A cluster's node clients. */
  nodes?(role: 'master' | 'slave' | 'all'): RedisClientLike[];
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  disconnect(): void;
}

/** Creates an ioredis client for a `redis://` or `rediss://` url, loading ioredis on demand. */
export async function connectRedis(url: string): Promise<RedisClientLike> {
  let ioredis: { Redis?: new (url: string, options: object) => RedisClientLike; default?: unknown };
  try {
    ioredis = (await import('ioredis')) as typeof ioredis;
  } catch (cause) {
    throw Object.assign(new Error('the redis transport needs the ioredis package: npm install ioredis'), { cause });
  }
  const Redis = ioredis.Redis ?? (ioredis.default as new (url: string, options: object) => RedisClientLike);
  // The client reconnects by making a new link: ioredis must not retry on its own
  // behind its back, nor queue commands while disconnected.
  return new Redis(url, { retryStrategy: () => null, enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: false });
}

/** Resolves once `client` is ready; rejects on error, end, or after `timeoutMs`. */
export function whenReady(client: RedisClientLike, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`redis not ready within ${timeoutMs} ms`)), timeoutMs);
    const onReady = (): void => finish(undefined);
    const onError = (err: Error): void => finish(err);
    const onEnd = (): void => finish(new Error('redis connection ended'));
    function finish(err: Error | undefined): void {
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
