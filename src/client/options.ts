import { DEFAULT_MAX_FRAME_BYTES } from '../codec/constants.js';
import { ErrorCodes, RelayError } from '../errors.js';
import { MAX_ID_BYTES } from '../protocol/constants.js';
import { exponentialBackoff, type ReconnectOptions, type RetryStrategy } from './backoff.js';
import type { Serializer } from './serializer.js';
import type { RedisClientLike } from '../redis/redis-client-like.js';
import { parseRelayUrl, type Endpoint } from './url.js';

/** How long a send that cannot be written keeps trying. */
export interface WriteRetryOptions {
  /**
   * Attempts before the send is rejected with `ERR_SEND_FAILED`: the first
   * when `send` is called, then one every `intervalMs`. A send is written the
   * moment a connection is up, so in practice it waits at most
   * `(attempts - 1) * intervalMs` for one. Default 3.
   */
  attempts?: number;
  /** Time between attempts. Default 1000 ms. */
  intervalMs?: number;
}

/** Options of a {@link RelayClient}. */
export interface RelayClientOptions {
  /**
   * The relay, as `tcp://host:port`; or, to run without a relay over Redis,
   * `redis://host:port` or `rediss://…` (needs the optional `ioredis` package).
   */
  url?: string;
  /** A ready-made ioredis `Redis` or `Cluster` client to run over, instead of a url. */
  redis?: RedisClientLike;
  /** Settings of the Redis transport. */
  redisOptions?: RedisTransportOptions;
  /**
   * This node's id: the host key other nodes use to route to it (1-255 UTF-8
   * bytes). Not used in the legacy dialect, where the id is this end's `ip:port`.
   */
  nodeId?: string;
  /**
   * `binary` (default): the imrelay protocol. `legacy`: the JSON dialect of Go
   * `transmit` hubs, to use an existing Go hub during a migration.
   */
  dialect?: 'binary' | 'legacy';
  /** The relay's shared secret, when it has one. */
  secret?: string | Buffer;
  /** Backoff between reconnection attempts; `false` never reconnects. */
  reconnect?: ReconnectOptions | false;
  /** Overrides `reconnect`: the delay before attempt `n`, or `null` to give up. */
  retryStrategy?: RetryStrategy;
  /** How long a send waits for a connection before it is rejected. Default 3 attempts, 1 s apart. */
  writeRetry?: WriteRetryOptions;
  /** Most sends held while disconnected (or not yet written). Default 10000. */
  maxBufferedMessages?: number;
  /** Most bytes held while disconnected (or not yet written), the socket's own buffer included. Default 16 MiB. */
  maxBufferedBytes?: number;
  /** Time to wait for a report before rejecting a send with `ERR_TIMEOUT`. Default 10000 ms. */
  reportTimeoutMs?: number;
  /** Deliveries queued for the consumer before the socket is paused. Default 1024. */
  deliveryHighWaterMark?: number;
  /** Largest frame accepted from the relay. Default 1 MiB plus room for the routing header. */
  maxFrameBytes?: number;
  /** Time to connect and be welcomed. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** How long `close()` waits for outstanding reports. Default 2000 ms. */
  closeTimeoutMs?: number;
  /** Message encoding; by default JSON, with strings and bytes passed through. */
  serializer?: Serializer;
}

/** Settings of the Redis transport. */
export interface RedisTransportOptions {
  /** Prefix of every key and channel. Default `imrelay:`. */
  prefix?: string;
  /** A node that stops refreshing its liveness key is out of presence after this long. Default 15000 ms. */
  livenessMs?: number;
  /**
   * `sets` (default): user -> nodes as sets, multi-device. `legacy-hash`: the
   * hash Go IM servers keep (`link:chat:online`, user -> connector id).
   */
  presence?: 'sets' | 'legacy-hash';
  /** The hash of `legacy-hash` presence. Default `link:chat:online`. */
  legacyHashKey?: string;
}

export interface ResolvedClientOptions {
  dialect: 'binary' | 'legacy';
  /** `tcp`: a relay at `endpoint`. `redis`: no relay, Redis at `redisTarget`. */
  transport: 'tcp' | 'redis';
  endpoint: Endpoint;
  redisTarget: string | RedisClientLike | undefined;
  redis: Required<RedisTransportOptions>;
  nodeId: string;
  secret: Buffer | undefined;
  retryStrategy: RetryStrategy;
  writeRetryWindowMs: number;
  writeRetryIntervalMs: number;
  maxBufferedMessages: number;
  maxBufferedBytes: number;
  reportTimeoutMs: number;
  deliveryHighWaterMark: number;
  maxFrameBytes: number;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
  serializer: Serializer | undefined;
}

export const CLIENT_DEFAULTS = {
  writeRetryAttempts: 3,
  writeRetryIntervalMs: 1_000,
  maxBufferedMessages: 10_000,
  maxBufferedBytes: 16 * 1024 * 1024,
  reportTimeoutMs: 10_000,
  deliveryHighWaterMark: 1024,
  // A delivery carries the sender's id and its users besides the payload.
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES + 1024,
  connectTimeoutMs: 10_000,
  closeTimeoutMs: 2_000,
} as const;

/** Fills in defaults and rejects bad options in one place. */
export function resolveClientOptions(options: RelayClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options are required');
  const dialect = options.dialect ?? 'binary';
  if (dialect !== 'binary' && dialect !== 'legacy') throw invalid(`dialect must be 'binary' or 'legacy', got ${String(dialect)}`);
  const nodeId = options.nodeId ?? '';
  if (dialect === 'binary' && (typeof nodeId !== 'string' || nodeId.length === 0 || Buffer.byteLength(nodeId) > MAX_ID_BYTES)) {
    throw invalid(`nodeId must be a string of 1 to ${MAX_ID_BYTES} UTF-8 bytes`);
  }
  const attempts = options.writeRetry?.attempts ?? CLIENT_DEFAULTS.writeRetryAttempts;
  const intervalMs = options.writeRetry?.intervalMs ?? CLIENT_DEFAULTS.writeRetryIntervalMs;
  if (!(attempts >= 1)) throw invalid('writeRetry.attempts must be at least 1');
  const retryStrategy =
    options.retryStrategy ?? (options.reconnect === false ? () => null : exponentialBackoff(options.reconnect ?? {}));
  const redisTarget = options.redis ?? (/^rediss?:\/\//.test(options.url ?? '') ? options.url : undefined);
  if (redisTarget !== undefined && dialect === 'legacy') throw invalid('the legacy dialect runs over a Go hub, not over redis');
  if (redisTarget === undefined && typeof options.url !== 'string') throw invalid('url is required (tcp://host:port or redis://host:port)');
  return {
    dialect,
    transport: redisTarget === undefined ? 'tcp' : 'redis',
    endpoint: redisTarget === undefined ? parseRelayUrl(options.url!) : { host: '', port: 0 },
    redisTarget,
    redis: {
      prefix: options.redisOptions?.prefix ?? 'imrelay:',
      livenessMs: positive('redisOptions.livenessMs', options.redisOptions?.livenessMs ?? 15_000),
      presence: options.redisOptions?.presence ?? 'sets',
      legacyHashKey: options.redisOptions?.legacyHashKey ?? 'link:chat:online',
    },
    nodeId,
    secret: options.secret === undefined ? undefined : Buffer.isBuffer(options.secret) ? options.secret : Buffer.from(options.secret),
    retryStrategy,
    writeRetryWindowMs: (attempts - 1) * positive('writeRetry.intervalMs', intervalMs),
    writeRetryIntervalMs: intervalMs,
    maxBufferedMessages: positive('maxBufferedMessages', options.maxBufferedMessages ?? CLIENT_DEFAULTS.maxBufferedMessages),
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes ?? CLIENT_DEFAULTS.maxBufferedBytes),
    reportTimeoutMs: positive('reportTimeoutMs', options.reportTimeoutMs ?? CLIENT_DEFAULTS.reportTimeoutMs),
    deliveryHighWaterMark: positive('deliveryHighWaterMark', options.deliveryHighWaterMark ?? CLIENT_DEFAULTS.deliveryHighWaterMark),
    maxFrameBytes: positive('maxFrameBytes', options.maxFrameBytes ?? CLIENT_DEFAULTS.maxFrameBytes),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs),
    closeTimeoutMs: positive('closeTimeoutMs', options.closeTimeoutMs ?? CLIENT_DEFAULTS.closeTimeoutMs),
    serializer: options.serializer,
  };
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0)) throw invalid(`${name} must be a positive number, got ${String(value)}`);
  return value;
}

function invalid(message: string): RelayError {
  return new RelayError(ErrorCodes.INVALID_ARGUMENT, message);
}
