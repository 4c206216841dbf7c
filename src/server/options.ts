import type { TlsOptions } from 'node:tls';
import { DEFAULT_MAX_FRAME_BYTES } from '../codec/constants.js';
import { InvalidArgumentError } from '../errors.js';
import { noopLogger, type Logger } from '../metrics/logger.js';
import { nonNegative, positive } from '../option-checks.js';
import { LOCATE_IDS_PER_FRAME } from '../protocol/constants.js';
import { Secret } from '../secret.js';
import { DEFAULT_RELAY_PORT } from '../transport/url.js';
import type { TlsSettings } from '../transport/tcp/tls-settings.js';
import { legacyPolicy, type LegacyAcceptance, type LegacyPolicy } from './legacy-policy.js';
import type { TlsNodeIdentity } from './tls-identity.js';
import { resolveTlsOptions } from './tls-listener.js';

/** Options of a {@link RelayServer}. Every field has a default. */
export interface RelayServerOptions {
  /** Interface to listen on. Default `127.0.0.1`: set `0.0.0.0` or `::` to accept other machines. */
  host?: string | undefined;
  /** TCP port; 0 picks a free one. Default 8333, the legacy hubs' port. */
  port?: number | undefined;
  /**
   * One shared secret, or several (to rotate secrets without downtime). Nodes
   * prove they know one with an HMAC over a nonce from the relay; the secret
   * never crosses the wire. Without a secret any node may join.
   */
  secret?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined;
  /**
   * One master secret, or several (the first is current; list the old one
   * after it while rotating). A node proves it holds its own node secret,
   * `deriveNodeSecret(masterSecret, nodeId)` (HMAC-SHA256), so a node that
   * holds im-1's secret cannot connect as im-2 nor replace it. May be set
   * together with `secret`, to move a cluster from one to the other.
   */
  masterSecret?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined;
  /** Largest frame accepted from a node, in bytes. Default 1 MiB. */
  maxFrameBytes?: number | undefined;
  /** Time a new connection has to complete its hello (and auth). Default 5000 ms. */
  helloTimeoutMs?: number | undefined;
  /** Idle time after which the relay pings a node. Default 10000 ms. */
  heartbeatIntervalMs?: number | undefined;
  /**
   * Silence after which a node is considered dead and closed; also the time
   * a frame has to arrive whole once its first bytes came (a node trickling
   * a frame is closed with `ERR_TIMEOUT`). Default twice the interval.
   */
  heartbeatTimeoutMs?: number | undefined;
  /**
   * Bytes the relay may hold for one node (its socket buffer included) before
   * further deliveries to it are refused and reported as `overflow`. Default 8 MiB.
   */
  maxOutboundBytes?: number | undefined;
  /** Most binary nodes connected at once. Default 10000. Legacy nodes have their own limit, `maxLegacyNodes`. */
  maxNodes?: number | undefined;
  /**
   * Most legacy (Go transmit) nodes connected at once: they prove nothing, so
   * idle sockets from accepted addresses count here and cannot lock binary
   * nodes out of `maxNodes`. Default 1024.
   */
  maxLegacyNodes?: number | undefined;
  /**
   * Most connections not past their hello at once (legacy candidates
   * included); more are closed as they arrive. Default 1024.
   */
  maxPendingConnections?: number | undefined;
  /**
   * Most unproven connections from one IP address at once: those not past
   * their hello, plus legacy nodes. More are closed as they arrive. Default 64.
   */
  maxUnprovenPerAddress?: number | undefined;
  /**
   * Longest wait before a failed handshake is answered. After three failures
   * from one address, each further one is answered after 100 ms, doubled per
   * failure up to this. Default 5000 ms.
   */
  authFailureDelayMaxMs?: number | undefined;
  /**
   * Most users one node may hold in the relay's presence (its online users,
   * and a reset in progress). A node that announces more is closed with
   * `ERR_LIMIT`. Default 1,000,000.
   */
  maxUsersPerNode?: number | undefined;
  /** Most user ids one LOCATE may ask about; more closes the asker with `ERR_LIMIT`. Default 10,000. */
  maxLocateIds?: number | undefined;
  /**
   * What happens when a node connects with an id that is already connected:
   * `replace` (default) closes the older connection with `ERR_REPLACED`;
   * `reject` refuses the newcomer with `ERR_DUPLICATE_NODE`.
   */
  duplicateNode?: 'replace' | 'reject' | undefined;
  /** How long `close()` waits for nodes to hang up before cutting them off. Default 2000 ms. */
  closeTimeoutMs?: number | undefined;
  /**
   * Where to log nodes up and down, failed handshakes and protocol errors
   * (those rate-limited): any logger with pino's methods (`pino()`,
   * `console`). Default: nothing is logged. Secrets never appear in a line.
   */
  logger?: Logger | undefined;
  /**
   * Which connections may be legacy Go `transmit` nodes (JSON dialect, no
   * hello, keyed by their `ip:port`). Default: all when no secret is set, none
   * when one is; `{ allow: ['10.0.0.0/24'] }` names them by address.
   */
  legacy?: LegacyAcceptance | undefined;
  /**
   * How long a node's users stay located on it after it drops, so a quick
   * reconnect does not make them flicker offline. Default 5000 ms. A node
   * that announced ONCE also gets what it had not taken, and what was sent to
   * it meanwhile, when it is back within this time; and a freshly started
   * relay holds deliveries for nodes not connected yet for this long.
   */
  presenceGraceMs?: number | undefined;
  /**
   * How long a delivery to a ONCE node may wait for its application (beyond
   * the node's window, or written and not taken) before it is given up and
   * reported `overflow` to its sender. Keep it, plus `presenceGraceMs`, below
   * the nodes' `reportTimeoutMs`. Default 3000 ms.
   */
  deliveryTimeoutMs?: number | undefined;
  /**
   * How long a freshly started relay holds deliveries (from ONCE senders)
   * for nodes not connected yet, instead of reporting them offline: after a
   * relay restart the nodes reconnect within it. Default `presenceGraceMs`;
   * 0 turns it off.
   */
  startupGraceMs?: number | undefined;
  /**
   * Node's `tls.createServer` options (`key`, `cert`, `ca`, `requestCert`,
   * ...): when set, the relay speaks only TLS and nodes connect with a
   * `tls://` url. A connection that does not speak TLS, fails its handshake,
   * does not finish it within `helloTimeoutMs` (unless `handshakeTimeout` is
   * set), or, with `requestCert`, has no client certificate the `ca` vouches
   * for (unless `rejectUnauthorized: false`), is refused, counted in
   * `stats().tlsFailures` and reported on the `error` event. Certificates
   * can be replaced while running with `setTlsOptions`. Printed without its
   * keys (see `TlsSettings`).
   */
  tls?: TlsOptions | undefined;
  /**
   * `require`: a node's client certificate must name its node id (its
   * subject CN, or a subjectAltName `DNS:` or `URI:` entry), or its hello is
   * refused with `ERR_AUTH`. Needs `tls` with `requestCert: true`. Default
   * `none`. See {@link TlsNodeIdentity}.
   */
  tlsNodeIdentity?: TlsNodeIdentity | undefined;
}

/** A relay's options with every default filled in and every value checked. */
export interface ResolvedServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxFrameBytes: number;
  readonly helloTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly maxOutboundBytes: number;
  readonly maxNodes: number;
  readonly maxLegacyNodes: number;
  readonly maxPendingConnections: number;
  readonly maxUnprovenPerAddress: number;
  readonly authFailureDelayMaxMs: number;
  readonly maxUsersPerNode: number;
  readonly maxLocateIds: number;
  readonly duplicateNode: 'replace' | 'reject';
  readonly closeTimeoutMs: number;
  readonly logger: Logger;
  readonly presenceGraceMs: number;
  readonly deliveryTimeoutMs: number;
  readonly startupGraceMs: number;
  /** The accepted shared secrets (they print as `Secret(<redacted>)`). */
  readonly secrets: readonly Secret[];
  /** The master secrets node secrets are derived from (they print as `Secret(<redacted>)`). */
  readonly masterSecrets: readonly Secret[];
  /** Whether a connection from this address may be a legacy node. */
  readonly acceptsLegacy: LegacyPolicy;
  /** The TLS options in force (they print without their keys), or undefined for plain TCP. */
  readonly tls: TlsSettings<TlsOptions> | undefined;
  /** Whether a node's certificate must name its node id. */
  readonly tlsNodeIdentity: TlsNodeIdentity;
}

export const SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: DEFAULT_RELAY_PORT,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  helloTimeoutMs: 5_000,
  heartbeatIntervalMs: 10_000,
  maxOutboundBytes: 8 * 1024 * 1024,
  maxNodes: 10_000,
  maxLegacyNodes: 1024,
  maxPendingConnections: 1024,
  maxUnprovenPerAddress: 64,
  authFailureDelayMaxMs: 5_000,
  maxUsersPerNode: 1_000_000,
  maxLocateIds: 10_000,
  duplicateNode: 'replace',
  closeTimeoutMs: 2_000,
  presenceGraceMs: 5_000,
  deliveryTimeoutMs: 3_000,
} as const;

/** Fills in defaults and rejects inconsistent options in one place. */
export function resolveServerOptions(options: RelayServerOptions = {}): ResolvedServerOptions {
  const heartbeatIntervalMs = positive('heartbeatIntervalMs', options.heartbeatIntervalMs ?? SERVER_DEFAULTS.heartbeatIntervalMs);
  const secrets = toSecrets(options.secret);
  const masterSecrets = toSecrets(options.masterSecret);
  const { tls, tlsNodeIdentity } = resolveTlsOptions(options.tls, options.tlsNodeIdentity, options.legacy);
  const resolved: ResolvedServerOptions = {
    host: options.host ?? SERVER_DEFAULTS.host,
    port: options.port ?? SERVER_DEFAULTS.port,
    maxFrameBytes: positive('maxFrameBytes', options.maxFrameBytes ?? SERVER_DEFAULTS.maxFrameBytes),
    helloTimeoutMs: positive('helloTimeoutMs', options.helloTimeoutMs ?? SERVER_DEFAULTS.helloTimeoutMs),
    heartbeatIntervalMs,
    heartbeatTimeoutMs: positive('heartbeatTimeoutMs', options.heartbeatTimeoutMs ?? heartbeatIntervalMs * 2),
    maxOutboundBytes: positive('maxOutboundBytes', options.maxOutboundBytes ?? SERVER_DEFAULTS.maxOutboundBytes),
    maxNodes: positive('maxNodes', options.maxNodes ?? SERVER_DEFAULTS.maxNodes),
    maxLegacyNodes: positive('maxLegacyNodes', options.maxLegacyNodes ?? SERVER_DEFAULTS.maxLegacyNodes),
    maxPendingConnections: positive('maxPendingConnections', options.maxPendingConnections ?? SERVER_DEFAULTS.maxPendingConnections),
    maxUnprovenPerAddress: positive('maxUnprovenPerAddress', options.maxUnprovenPerAddress ?? SERVER_DEFAULTS.maxUnprovenPerAddress),
    authFailureDelayMaxMs: nonNegative('authFailureDelayMaxMs', options.authFailureDelayMaxMs ?? SERVER_DEFAULTS.authFailureDelayMaxMs),
    maxUsersPerNode: positive('maxUsersPerNode', options.maxUsersPerNode ?? SERVER_DEFAULTS.maxUsersPerNode),
    maxLocateIds: positive('maxLocateIds', options.maxLocateIds ?? SERVER_DEFAULTS.maxLocateIds),
    duplicateNode: options.duplicateNode ?? SERVER_DEFAULTS.duplicateNode,
    closeTimeoutMs: positive('closeTimeoutMs', options.closeTimeoutMs ?? SERVER_DEFAULTS.closeTimeoutMs),
    logger: options.logger ?? noopLogger,
    presenceGraceMs: positive('presenceGraceMs', options.presenceGraceMs ?? SERVER_DEFAULTS.presenceGraceMs),
    deliveryTimeoutMs: positive('deliveryTimeoutMs', options.deliveryTimeoutMs ?? SERVER_DEFAULTS.deliveryTimeoutMs),
    startupGraceMs: nonNegative('startupGraceMs', options.startupGraceMs ?? options.presenceGraceMs ?? SERVER_DEFAULTS.presenceGraceMs),
    secrets,
    masterSecrets,
    // Go nodes say no hello: off by default where nodes must prove who they are.
    acceptsLegacy: legacyPolicy(options.legacy, secrets.length + masterSecrets.length > 0 || tlsNodeIdentity === 'require'),
    tls,
    tlsNodeIdentity,
  };
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
    throw invalid(`port must be an integer from 0 to 65535, got ${resolved.port}`);
  }
  if (resolved.maxFrameBytes > 0x7fff_ffff) throw invalid('maxFrameBytes must be below 2 GiB');
  if (resolved.heartbeatTimeoutMs <= resolved.heartbeatIntervalMs) {
    throw invalid('heartbeatTimeoutMs must be longer than heartbeatIntervalMs');
  }
  if (resolved.maxLocateIds < LOCATE_IDS_PER_FRAME) {
    throw invalid(`maxLocateIds must be at least ${LOCATE_IDS_PER_FRAME}, the most ids a client puts in one LOCATE`);
  }
  if (resolved.duplicateNode !== 'replace' && resolved.duplicateNode !== 'reject') {
    throw invalid(`duplicateNode must be 'replace' or 'reject', got ${String(resolved.duplicateNode)}`);
  }
  return resolved;
}

/** True when nodes must prove a secret (shared or derived) to join. */
export function requiresProof(options: ResolvedServerOptions): boolean {
  return options.secrets.length > 0 || options.masterSecrets.length > 0;
}

function toSecrets(secret: RelayServerOptions['secret']): Secret[] {
  if (secret === undefined) return [];
  const list: ReadonlyArray<string | Uint8Array> = Array.isArray(secret) ? secret : [secret as string | Uint8Array];
  return list.map((s) => new Secret(s));
}

function invalid(message: string): InvalidArgumentError {
  return new InvalidArgumentError(message);
}
