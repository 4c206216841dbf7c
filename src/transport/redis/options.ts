/** Settings of the Redis transport. */
export interface RedisTransportOptions {
  /** Prefix of every key and channel. Default `imrelay:`. */
  prefix?: string | undefined;
  /** A node that stops refreshing its liveness key is out of presence after this long. Default 15000 ms. */
  livenessMs?: number | undefined;
  /**
   * `sets` (default): user -> nodes as sets, multi-device. `legacy-hash`: the
   * hash Go IM servers keep (`link:chat:online`, user -> connector id).
   */
  presence?: 'sets' | 'legacy-hash' | undefined;
  /** The hash of `legacy-hash` presence. Default `link:chat:online`. */
  legacyHashKey?: string | undefined;
}

/** The Redis transport's defaults, in one place. */
export const REDIS_DEFAULTS = {
  prefix: 'imrelay:',
  livenessMs: 15_000,
  presence: 'sets',
  legacyHashKey: 'link:chat:online',
  /** How long a crashed node's own keys outlive its last heartbeat: 7 days. */
  forgetAfterMs: 7 * 24 * 3600 * 1000,
} as const;

/** The channel a node subscribes to, and others publish its deliveries on. */
export function channelOf(prefix: string, node: string): string {
  return `${prefix}node:${node}`;
}
