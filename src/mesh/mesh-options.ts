import type { SecureContextOptions } from 'node:tls';
import { InvalidArgumentError } from '../errors.js';
import { positiveInteger, timerMs } from '../option-checks.js';
import { nodeIdProblem } from '../protocol/index.js';
import type { RedisClientLike } from '../transport/redis/redis-client-like.js';
import { TlsSettings } from '../transport/tcp/tls-settings.js';
import { parseRelayUrl, type Endpoint } from '../transport/url.js';

/**
 * Mesh mode: this node links to every other node directly, with no relay.
 * Give it instead of a `url`.
 *
 * @example
 * ```ts
 * const node = new RelayClient({
 *   nodeId: 'im-1',
 *   secret,
 *   mesh: { listen: 'tcp://0.0.0.0:7401', peers: { 'im-2': 'tcp://10.0.0.2:7401' } },
 * });
 * ```
 */
export interface MeshOptions {
  /** Where peers reach this node: `tcp://host:port` or `tls://host:port` (port 0 picks a free one). */
  listen: string;
  /** The other nodes and where each listens (`tcp://` or `tls://`, as this node's `listen`). */
  peers?: Readonly<Record<string, string>> | undefined;
  /**
   * The address peers should dial, as published through `discovery`, when it
   * differs from `listen` (a wildcard `0.0.0.0`, a NAT, a port chosen by the
   * system). Default: `listen` with the port actually bound.
   */
  advertise?: string | undefined;
  /**
   * Membership through Redis: a `redis://` url or a ready ioredis client.
   * Each node registers its advertised address under a liveness key and
   * links to every node registered; nodes join and leave without touching
   * the others. Adds to `peers`.
   */
  discovery?: string | RedisClientLike | undefined;
  /** Key prefix of the discovery registry. Default `imrelay:mesh:`. */
  discoveryPrefix?: string | undefined;
  /**
   * How long a node that stops refreshing its registration (it crashed, or
   * lost Redis) stays registered; nodes refresh every third of it. Default
   * 3000 ms.
   */
  discoveryLivenessMs?: number | undefined;
  /**
   * TLS for every link, both ways (a `tls://` listen url): this node's
   * `cert` and `key` (used as server and as client certificate: every link
   * is mutually authenticated) and the `ca` that signed its peers'.
   */
  tls?: SecureContextOptions | undefined;
  /** How often each link is pinged; a peer silent for twice this is gone. Default 5000 ms. */
  heartbeatIntervalMs?: number | undefined;
  /**
   * How long a peer that dropped is expected back: its users stay in the
   * directory and deliveries for it wait (within `maxOutboundBytes`) for
   * this long, then are reported `offline`. Also how long, after this node
   * starts, a peer of the map not yet linked is waited for. Default 5000 ms.
   */
  presenceGraceMs?: number | undefined;
  /**
   * How long a delivery may wait (beyond a peer's window, or for the
   * application here) before it is given up and reported `overflow`.
   * Default 3000 ms.
   */
  deliveryTimeoutMs?: number | undefined;
  /** Bytes waiting for one peer (written and unsent, or beyond its window) past which sends to it are `overflow`. Default 8 MiB. */
  maxOutboundBytes?: number | undefined;
  /** Users one peer may announce; past it the link is closed with `ERR_LIMIT`. Default 1,000,000. */
  maxUsersPerNode?: number | undefined;
  /** Connections not yet through the handshake at a time; more are closed on arrival. Default 256. */
  maxPendingConnections?: number | undefined;
}

/** The mesh options with defaults filled in and checked. */
export interface ResolvedMeshOptions {
  readonly listen: Endpoint;
  readonly tls: boolean;
  /** The TLS options of every link (printed without their keys). */
  readonly tlsOptions: TlsSettings<SecureContextOptions> | undefined;
  readonly peers: ReadonlyMap<string, Endpoint>;
  readonly advertise: string | undefined;
  readonly discovery: string | RedisClientLike | undefined;
  readonly discoveryPrefix: string;
  readonly discoveryLivenessMs: number;
  readonly heartbeatIntervalMs: number;
  readonly presenceGraceMs: number;
  readonly deliveryTimeoutMs: number;
  readonly maxOutboundBytes: number;
  readonly maxUsersPerNode: number;
  readonly maxPendingConnections: number;
}

export const MESH_DEFAULTS = {
  discoveryPrefix: 'imrelay:mesh:',
  discoveryLivenessMs: 3_000,
  heartbeatIntervalMs: 5_000,
  presenceGraceMs: 5_000,
  deliveryTimeoutMs: 3_000,
  maxOutboundBytes: 8 * 1024 * 1024,
  maxUsersPerNode: 1_000_000,
  maxPendingConnections: 256,
} as const;

/** Listen hosts that mean "every interface": no peer can dial them. */
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** Checks the mesh options of node `nodeId`. */
export function resolveMeshOptions(mesh: MeshOptions, nodeId: string): ResolvedMeshOptions {
  if (typeof mesh !== 'object' || mesh === null) throw new InvalidArgumentError('mesh must be an object with a listen url');
  const listen = parseMeshUrl('mesh.listen', mesh.listen);
  if (mesh.tls !== undefined && !listen.tls) throw new InvalidArgumentError('mesh.tls needs a tls:// listen url');
  if (listen.tls && mesh.tls === undefined) throw new InvalidArgumentError('a tls:// listen url needs mesh.tls (cert, key and ca)');
  if (mesh.advertise !== undefined) parseMeshUrl('mesh.advertise', mesh.advertise);
  if (mesh.discovery !== undefined && typeof mesh.discovery === 'string' && !/^rediss?:\/\//i.test(mesh.discovery)) {
    throw new InvalidArgumentError('mesh.discovery must be a redis:// url or an ioredis client');
  }
  if (mesh.discovery !== undefined && mesh.advertise === undefined && WILDCARDS.has(listen.host)) {
    throw new InvalidArgumentError(
      `mesh.advertise is required with discovery when listening on ${listen.host}: peers cannot dial a wildcard address`,
    );
  }
  return {
    listen: { host: listen.host, port: listen.port },
    tls: listen.tls,
    tlsOptions: mesh.tls === undefined ? undefined : new TlsSettings(mesh.tls),
    peers: resolvePeers(mesh.peers, nodeId, listen.tls),
    advertise: mesh.advertise,
    discovery: mesh.discovery,
    discoveryPrefix: mesh.discoveryPrefix ?? MESH_DEFAULTS.discoveryPrefix,
    discoveryLivenessMs: timerMs('mesh.discoveryLivenessMs', mesh.discoveryLivenessMs ?? MESH_DEFAULTS.discoveryLivenessMs),
    heartbeatIntervalMs: timerMs('mesh.heartbeatIntervalMs', mesh.heartbeatIntervalMs ?? MESH_DEFAULTS.heartbeatIntervalMs),
    presenceGraceMs: timerMs('mesh.presenceGraceMs', mesh.presenceGraceMs ?? MESH_DEFAULTS.presenceGraceMs),
    deliveryTimeoutMs: timerMs('mesh.deliveryTimeoutMs', mesh.deliveryTimeoutMs ?? MESH_DEFAULTS.deliveryTimeoutMs),
    maxOutboundBytes: positiveInteger('mesh.maxOutboundBytes', mesh.maxOutboundBytes ?? MESH_DEFAULTS.maxOutboundBytes),
    maxUsersPerNode: positiveInteger('mesh.maxUsersPerNode', mesh.maxUsersPerNode ?? MESH_DEFAULTS.maxUsersPerNode),
    maxPendingConnections: positiveInteger('mesh.maxPendingConnections', mesh.maxPendingConnections ?? MESH_DEFAULTS.maxPendingConnections),
  };
}

/** Checks a peers map: valid ids (not this node's), urls of this node's scheme. */
export function resolvePeers(peers: Readonly<Record<string, string>> | undefined, nodeId: string, tls: boolean): Map<string, Endpoint> {
  const out = new Map<string, Endpoint>();
  if (peers === undefined) return out;
  if (typeof peers !== 'object' || peers === null) throw new InvalidArgumentError('mesh.peers must be an object of node id to url');
  for (const [id, url] of Object.entries(peers)) {
    const problem = nodeIdProblem(id);
    if (problem !== undefined) throw new InvalidArgumentError(`mesh.peers: ${problem}`);
    if (id === nodeId) continue;
    const parsed = parseMeshUrl(`mesh.peers[${JSON.stringify(id)}]`, url);
    if (parsed.tls !== tls)
      throw new InvalidArgumentError(`mesh.peers[${JSON.stringify(id)}]: every link is ${tls ? 'tls://' : 'tcp://'}, as the listen url`);
    out.set(id, { host: parsed.host, port: parsed.port });
  }
  return out;
}

function parseMeshUrl(name: string, url: string): { host: string; port: number; tls: boolean } {
  if (typeof url !== 'string' || !url.includes('://')) throw new InvalidArgumentError(`${name} must be tcp://host:port or tls://host:port`);
  try {
    return parseRelayUrl(url);
  } catch (err) {
    throw new InvalidArgumentError(`${name}: ${(err as Error).message}`);
  }
}
