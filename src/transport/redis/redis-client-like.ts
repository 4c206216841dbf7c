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
  /** The connection's socket (ioredis `Redis`): corked while a flush's PUBLISHes are written, so that they leave in one write. */
  readonly stream?: { cork(): void; uncork(): void };
  /**
   * Asks the cluster for its slot map again (ioredis `Cluster`). Without it
   * a client keeps its map until a MOVED reply, and after a failover the old
   * master, now a replica, answers SPUBLISH with 0 and no MOVED.
   */
  refreshSlotsCache?(callback?: (err?: Error | null) => void): void;
  /** A cluster's node clients. */
  nodes?(role: 'master' | 'slave' | 'all'): RedisClientLike[];
  /** A cluster's slot map (ioredis `Cluster`): for each slot, the `host:port` of its master first. */
  readonly slots?: ReadonlyArray<readonly string[] | undefined>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  disconnect(): void;
}
