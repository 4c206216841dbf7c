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
  /**
   * How often each node publishes a probe to its own channel, through the
   * shard that owns it, to check its path end to end. When no probe has come
   * back for 3 intervals (or Redis counts no subscriber on the channel), the
   * link closes with `ERR_HEARTBEAT` and the client reconnects and
   * subscribes again. Default 1000 ms: a silent path is noticed within 3 to
   * 4 s, for one small PUBLISH per node per second. See docs/scaling.md.
   */
  probeIntervalMs?: number | undefined;
  /**
   * With a `secret`: how far the nodes' clocks may disagree. A channel
   * message stamped earlier than when the receiving link subscribed, less
   * this, is dropped as stale (a replay). Default 5000 ms.
   */
  maxClockSkewMs?: number | undefined;
}

/** The Redis transport's defaults, in one place. */
export const REDIS_DEFAULTS = {
  prefix: 'imrelay:',
  livenessMs: 15_000,
  presence: 'sets',
  legacyHashKey: 'link:chat:online',
  probeIntervalMs: 1000,
  maxClockSkewMs: 5000,
  /** How long a crashed node's own keys outlive its last heartbeat: 7 days. */
  forgetAfterMs: 7 * 24 * 3600 * 1000,
} as const;

/** The channel a node subscribes to, and others publish its deliveries on. */
export function channelOf(prefix: string, node: string): string {
  return `${prefix}node:${node}`;
}
