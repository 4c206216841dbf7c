import type { ConnectionOptions } from 'node:tls';
import { DEFAULT_MAX_FRAME_BYTES } from '../codec/constants.js';
import { InvalidArgumentError } from '../errors.js';
import { noopLogger, type Logger } from '../metrics/logger.js';
import { checkNodeId } from '../protocol/node-id.js';
import { positive, timerMs } from '../option-checks.js';
import { Secret } from '../secret.js';
import { resolveTransport, type TransportSpec } from '../transport/factory.js';
import type { MeshOptions } from '../mesh/mesh-options.js';
import type { RedisTransportOptions } from '../transport/redis/options.js';
import type { RedisClientLike } from '../transport/redis/redis-client-like.js';
import { exponentialBackoff, type ReconnectOptions, type RetryStrategy } from './backoff.js';
import type { Serializer } from './serializer.js';

/** How long a send that cannot be written keeps trying. */
export interface WriteRetryOptions {
  /**
   * Attempts before the send is rejected with `ERR_SEND_FAILED`: the first
   * when `send` is called, then one every `intervalMs`. While sends wait, the
   * client tries to connect at least once per interval, whatever its backoff
   * says, and a send is written the moment a connection is up; so it waits
   * at most `(attempts - 1) * intervalMs` for one. Default 21 (10 s).
   */
  attempts?: number | undefined;
  /** Time between attempts. Default 500 ms. */
  intervalMs?: number | undefined;
}

/** Options every client takes, whatever its dialect. */
export interface ClientCommonOptions {
  /**
   * The relay, as `tcp://host:port`, or `tls://host:port` for a relay that
   * speaks TLS; or, to run without a relay over Redis, `redis://host:port` or
   * `rediss://…` (needs the optional `ioredis` package).
   */
  url?: string | undefined;
  /**
   * Node's `tls.connect` options for a `tls://` url: `ca` to trust a private
   * CA, `cert` and `key` for a relay that asks for client certificates,
   * `servername`, ... (`host` and `port` come from the url). The server name
   * defaults to the url's host when that is a name. A certificate the node
   * refuses (untrusted, expired, naming another host) or the relay refuses
   * is not retried: `connect()` rejects at once. Printed without its keys
   * (see `TlsSettings`). Refused with a `tcp://` url.
   */
  tls?: ConnectionOptions | undefined;
  /** A ready-made ioredis `Redis` or `Cluster` client to run over, instead of a url. */
  redis?: RedisClientLike | undefined;
  /** Settings of the Redis transport. */
  redisOptions?: RedisTransportOptions | undefined;
  /** The relay's shared secret, when it has one. Never printed: see `Secret`. */
  secret?: string | Uint8Array | undefined;
  /** Backoff between reconnection attempts; `false` never reconnects. */
  reconnect?: ReconnectOptions | false | undefined;
  /** Overrides `reconnect`: the delay before attempt `n`, or `null` to give up. */
  retryStrategy?: RetryStrategy | undefined;
  /** How long a send waits for a connection before it is rejected. Default 21 attempts, 500 ms apart (10 s). */
  writeRetry?: WriteRetryOptions | undefined;
  /**
   * Most sends waiting for a connection. Sends while connected are bounded by
   * bytes only (`maxBufferedBytes`). Default 10000.
   */
  maxBufferedMessages?: number | undefined;
  /**
   * Most bytes held: while disconnected, the sends waiting; while connected,
   * the sends not yet written, the socket's own buffer and, with a relay that
   * speaks effectively-once delivery, the sends kept until answered (to be
   * written again after a reconnect). Past it a send rejects at once with
   * `ERR_BUFFER_FULL`. Default 16 MiB.
   */
  maxBufferedBytes?: number | undefined;
  /** Time to wait for a report before rejecting a send with `ERR_TIMEOUT`. Default 10000 ms. */
  reportTimeoutMs?: number | undefined;
  /**
   * Deliveries queued for the consumer before the socket is paused. With a
   * relay that speaks effectively-once delivery, the window granted to it
   * instead: it writes no more than this many deliveries beyond those the
   * application took, and the socket is never paused. Default 1024.
   */
  deliveryHighWaterMark?: number | undefined;
  /**
   * With a relay that speaks effectively-once delivery, how long the node may
   * hold an acknowledgement of deliveries its application took when nothing
   * else is being written, so that it rides with other output instead of
   * costing a write (and a wake-up of the relay) of its own. A sender's
   * report waits for the acknowledgement, so this is added to report
   * latency when the receiving node has nothing to send. It never waits
   * once the relay is half way through the window (`deliveryHighWaterMark`),
   * and 0 sends every acknowledgement at once. Default 1 ms.
   */
  acknowledgeDelayMs?: number | undefined;
  /**
   * Largest frame accepted from the relay: a message addressed to this node
   * whose frame is larger is refused by the relay (reported `refused` to its
   * sender). Raise it on every node together with the relay's `maxFrameBytes`.
   * Default 1 MiB plus room for the routing header.
   */
  maxFrameBytes?: number | undefined;
  /**
   * Time the first `connect()` has, retries included, before it rejects with
   * `ERR_CONNECT`; also the time each later reconnection attempt has to be
   * welcomed. Default 10000 ms.
   */
  connectTimeoutMs?: number | undefined;
  /** How long `close()` waits for outstanding reports. Default 2000 ms. */
  closeTimeoutMs?: number | undefined;
  /** Message encoding; by default JSON, with strings and bytes passed through. */
  serializer?: Serializer | undefined;
  /**
   * Where to log the connection's life (welcomed, dropped, reconnecting) and
   * errors (rate-limited): any logger with pino's methods (`pino()`,
   * `console`). Default: nothing is logged. The secret never appears.
   */
  logger?: Logger | undefined;
}

/** A node of an imrelay cluster (the binary protocol): it has a node id. */
export interface RelayNodeOptions extends ClientCommonOptions {
  /** `binary` (default): the imrelay protocol. */
  dialect?: 'binary' | undefined;
  /**
   * This node's id: the host key other nodes use to route to it. 1-255 UTF-8
   * bytes, no control characters, no leading or trailing white space.
   */
  nodeId: string;
  /**
   * Mesh mode, instead of a `url`: this node links to every other node
   * directly, with no relay (see `MeshOptions` and docs/topologies.md).
   */
  mesh?: MeshOptions | undefined;
}

/**
 * A node that uses an existing Go `transmit` hub during a migration (the
 * legacy JSON dialect). Its id is this end's `ip:port`, as the Go hub keys it.
 */
export interface LegacyNodeOptions extends ClientCommonOptions {
  dialect: 'legacy';
  /** Not used: a Go hub keys a node by its address. */
  nodeId?: undefined;
  /** The Go hub, as `tcp://host:port`. */
  url: string;
}

/** Options of a {@link RelayClient}: a binary node (with a `nodeId`) or a legacy one. */
export type RelayClientOptions = RelayNodeOptions | LegacyNodeOptions;

/** A client's options with every default filled in and every value checked. */
export interface ResolvedClientOptions {
  readonly dialect: 'binary' | 'legacy';
  /** The transport and what it needs. */
  readonly transport: TransportSpec;
  /** This node's id; empty in the legacy dialect. */
  readonly nodeId: string;
  readonly secret: Secret | undefined;
  readonly retryStrategy: RetryStrategy;
  readonly writeRetryWindowMs: number;
  readonly writeRetryIntervalMs: number;
  readonly maxBufferedMessages: number;
  readonly maxBufferedBytes: number;
  readonly reportTimeoutMs: number;
  readonly deliveryHighWaterMark: number;
  readonly acknowledgeDelayMs: number;
  readonly maxFrameBytes: number;
  readonly connectTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly serializer: Serializer | undefined;
  readonly logger: Logger;
}

/** The client's defaults, in one place. */
export const CLIENT_DEFAULTS = {
  // With the interval, a relay restart of under 5 s costs no queued send.
  writeRetryAttempts: 21,
  writeRetryIntervalMs: 500,
  maxBufferedMessages: 10_000,
  maxBufferedBytes: 16 * 1024 * 1024,
  reportTimeoutMs: 10_000,
  deliveryHighWaterMark: 1024,
  acknowledgeDelayMs: 1,
  // A delivery carries the sender's id and its users besides the payload.
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES + 1024,
  connectTimeoutMs: 10_000,
  closeTimeoutMs: 2_000,
} as const;

/** Fills in defaults and rejects bad options in one place. */
export function resolveClientOptions(options: RelayClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options are required');
  const dialect = options.dialect ?? 'binary';
  if (dialect !== 'binary' && dialect !== 'legacy')
    throw new InvalidArgumentError(`dialect must be 'binary' or 'legacy', got ${String(dialect)}`);
  if (dialect === 'legacy' && options.nodeId !== undefined) {
    throw new InvalidArgumentError('the legacy dialect takes no nodeId: a Go hub keys a node by its ip:port');
  }
  const nodeId = dialect === 'binary' ? checkNodeId(options.nodeId, 'nodeId') : '';
  const attempts = options.writeRetry?.attempts ?? CLIENT_DEFAULTS.writeRetryAttempts;
  const intervalMs = positive('writeRetry.intervalMs', options.writeRetry?.intervalMs ?? CLIENT_DEFAULTS.writeRetryIntervalMs);
  if (!(Number.isInteger(attempts) && attempts >= 1))
    throw new InvalidArgumentError('writeRetry.attempts must be an integer of at least 1');
  const retryStrategy = options.retryStrategy ?? (options.reconnect === false ? () => null : exponentialBackoff(options.reconnect ?? {}));
  const secret = options.secret === undefined ? undefined : new Secret(options.secret);
  return {
    dialect,
    transport: resolveTransport({ ...options, nodeId }, dialect, secret),
    nodeId,
    secret,
    retryStrategy,
    writeRetryWindowMs: (attempts - 1) * intervalMs,
    writeRetryIntervalMs: intervalMs,
    maxBufferedMessages: positive('maxBufferedMessages', options.maxBufferedMessages ?? CLIENT_DEFAULTS.maxBufferedMessages),
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes ?? CLIENT_DEFAULTS.maxBufferedBytes),
    reportTimeoutMs: positive('reportTimeoutMs', options.reportTimeoutMs ?? CLIENT_DEFAULTS.reportTimeoutMs),
    deliveryHighWaterMark: positive('deliveryHighWaterMark', options.deliveryHighWaterMark ?? CLIENT_DEFAULTS.deliveryHighWaterMark),
    acknowledgeDelayMs: timerMs('acknowledgeDelayMs', options.acknowledgeDelayMs ?? CLIENT_DEFAULTS.acknowledgeDelayMs, 0),
    maxFrameBytes: positive('maxFrameBytes', options.maxFrameBytes ?? CLIENT_DEFAULTS.maxFrameBytes),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs),
    closeTimeoutMs: positive('closeTimeoutMs', options.closeTimeoutMs ?? CLIENT_DEFAULTS.closeTimeoutMs),
    serializer: options.serializer,
    logger: options.logger ?? noopLogger,
  };
}
