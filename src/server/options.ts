import { DEFAULT_MAX_FRAME_BYTES } from '../codec/constants.js';
import { ErrorCodes, RelayError } from '../errors.js';
import { legacyPolicy, type LegacyAcceptance, type LegacyPolicy } from './legacy-policy.js';

/** Options of a {@link RelayServer}. Every field has a default. */
export interface RelayServerOptions {
  /** Interface to listen on. Default `127.0.0.1`: set `0.0.0.0` or `::` to accept other machines. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 8333, the legacy hubs' port. */
  port?: number;
  /**
   * One shared secret, or several (to rotate secrets without downtime). Nodes
   * prove they know one with an HMAC over a nonce from the relay; the secret
   * never crosses the wire. Without a secret any node may join.
   */
  secret?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Largest frame accepted from a node, in bytes. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Time a new connection has to complete its hello (and auth). Default 5000 ms. */
  helloTimeoutMs?: number;
  /** Idle time after which the relay pings a node. Default 10000 ms. */
  heartbeatIntervalMs?: number;
  /** Silence after which a node is considered dead and closed. Default twice the interval. */
  heartbeatTimeoutMs?: number;
  /**
   * Bytes the relay may hold for one node (its socket buffer included) before
   * further deliveries to it are refused and reported as `overflow`. Default 8 MiB.
   */
  maxOutboundBytes?: number;
  /** Most nodes connected at once. Default 10000. */
  maxNodes?: number;
  /**
   * What happens when a node connects with an id that is already connected:
   * `replace` (default) closes the older connection with `ERR_REPLACED`;
   * `reject` refuses the newcomer with `ERR_DUPLICATE_NODE`.
   */
  duplicateNode?: 'replace' | 'reject';
  /** How long `close()` waits for nodes to hang up before cutting them off. Default 2000 ms. */
  closeTimeoutMs?: number;
  /**
   * Which connections may be legacy Go `transmit` nodes (JSON dialect, no
   * hello, keyed by their `ip:port`). Default: all when no secret is set, none
   * when one is; `{ allow: ['10.0.0.0/24'] }` names them by address.
   */
  legacy?: LegacyAcceptance;
  /**
   * How long a node's users stay located on it after it drops, so a quick
   * reconnect does not make them flicker offline. Default 5000 ms.
   */
  presenceGraceMs?: number;
}

export type ResolvedServerOptions = Required<Omit<RelayServerOptions, 'secret' | 'legacy'>> & {
  secrets: Buffer[];
  /** Whether a connection from this address may be a legacy node. */
  acceptsLegacy: LegacyPolicy;
};

export const SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: 8333,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  helloTimeoutMs: 5_000,
  heartbeatIntervalMs: 10_000,
  maxOutboundBytes: 8 * 1024 * 1024,
  maxNodes: 10_000,
  duplicateNode: 'replace',
  closeTimeoutMs: 2_000,
  presenceGraceMs: 5_000,
} as const;

/** Fills in defaults and rejects inconsistent options in one place. */
export function resolveServerOptions(options: RelayServerOptions = {}): ResolvedServerOptions {
  const heartbeatIntervalMs = positive('heartbeatIntervalMs', options.heartbeatIntervalMs ?? SERVER_DEFAULTS.heartbeatIntervalMs);
  const resolved: ResolvedServerOptions = {
    host: options.host ?? SERVER_DEFAULTS.host,
    port: options.port ?? SERVER_DEFAULTS.port,
    maxFrameBytes: positive('maxFrameBytes', options.maxFrameBytes ?? SERVER_DEFAULTS.maxFrameBytes),
    helloTimeoutMs: positive('helloTimeoutMs', options.helloTimeoutMs ?? SERVER_DEFAULTS.helloTimeoutMs),
    heartbeatIntervalMs,
    heartbeatTimeoutMs: positive('heartbeatTimeoutMs', options.heartbeatTimeoutMs ?? heartbeatIntervalMs * 2),
    maxOutboundBytes: positive('maxOutboundBytes', options.maxOutboundBytes ?? SERVER_DEFAULTS.maxOutboundBytes),
    maxNodes: positive('maxNodes', options.maxNodes ?? SERVER_DEFAULTS.maxNodes),
    duplicateNode: options.duplicateNode ?? SERVER_DEFAULTS.duplicateNode,
    closeTimeoutMs: positive('closeTimeoutMs', options.closeTimeoutMs ?? SERVER_DEFAULTS.closeTimeoutMs),
    presenceGraceMs: positive('presenceGraceMs', options.presenceGraceMs ?? SERVER_DEFAULTS.presenceGraceMs),
    secrets: toSecrets(options.secret),
    acceptsLegacy: () => false,
  };
  resolved.acceptsLegacy = legacyPolicy(options.legacy, resolved.secrets.length > 0);
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
    throw invalid(`port must be an integer from 0 to 65535, got ${resolved.port}`);
  }
  if (resolved.maxFrameBytes > 0x7fff_ffff) throw invalid('maxFrameBytes must be below 2 GiB');
  if (resolved.heartbeatTimeoutMs <= resolved.heartbeatIntervalMs) {
    throw invalid('heartbeatTimeoutMs must be longer than heartbeatIntervalMs');
  }
  if (resolved.duplicateNode !== 'replace' && resolved.duplicateNode !== 'reject') {
    throw invalid(`duplicateNode must be 'replace' or 'reject', got ${String(resolved.duplicateNode)}`);
  }
  return resolved;
}

function toSecrets(secret: RelayServerOptions['secret']): Buffer[] {
  if (secret === undefined) return [];
  const list = Array.isArray(secret) ? secret : [secret as string | Buffer];
  return list.map((s) => {
    const b = Buffer.isBuffer(s) ? s : Buffer.from(String(s), 'utf8');
    if (b.length === 0) throw invalid('a secret must not be empty');
    return b;
  });
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw invalid(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

function invalid(message: string): RelayError {
  return new RelayError(ErrorCodes.INVALID_ARGUMENT, message);
}
