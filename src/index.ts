/**
 * imrelay: pass messages between the nodes of a WebSocket IM cluster.
 *
 * @packageDocumentation
 */
export {
  RelayError,
  ErrorCodes,
  type ErrorCode,
  type RelayErrorClass,
  isRelayError,
  isErrorCode,
  FrameTooLargeError,
  ProtocolError,
  VersionError,
  AuthError,
  BufferFullError,
  ClosedError,
  TimeoutError,
  ReplacedError,
  DuplicateNodeError,
  TooManyNodesError,
  HeartbeatError,
  ConnectError,
  DisconnectedError,
  ListenError,
  DependencyError,
  EngineError,
  NotConnectedError,
  ConnectionLostError,
  SendFailedError,
  InvalidArgumentError,
  MessageError,
  ConsumerBusyError,
  ShutdownError,
  UnsupportedError,
  LimitError,
} from './errors.js';
export { Secret } from './secret.js';
export { deriveNodeSecret } from './protocol/node-secret.js';
export {
  encodeFrame,
  encodeFrameHeader,
  FrameDecoder,
  type FrameDecoderOptions,
  FrameWriter,
  FRAME_HEADER_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
} from './codec/index.js';

export { RelayServer } from './server/relay-server.js';
export { SERVER_DEFAULTS, type RelayServerOptions, type ResolvedServerOptions } from './server/options.js';
export type { LegacyAcceptance, LegacyPolicy } from './server/legacy-policy.js';
export type { RelayServerEvents, NodeInfo } from './server/hub.js';
export type { RelayStats } from './server/stats.js';
export type { TlsNodeIdentity } from './server/tls-identity.js';
export { TlsSettings } from './transport/tcp/tls-settings.js';
export type { ServerMetricsOptions } from './metrics/server-metrics.js';
export { PROMETHEUS_CONTENT_TYPE } from './metrics/exposition.js';
export { noopLogger, type Logger } from './metrics/logger.js';

export { RelayClient, type Delivery, type SendOptions, type RelayClientEvents, type ClientState } from './client/relay-client.js';
export {
  CLIENT_DEFAULTS,
  type RelayClientOptions,
  type RelayNodeOptions,
  type LegacyNodeOptions,
  type ClientCommonOptions,
  type ResolvedClientOptions,
  type WriteRetryOptions,
} from './client/options.js';
export { exponentialBackoff, RECONNECT_DEFAULTS, type ReconnectOptions, type RetryStrategy } from './client/backoff.js';
export type { SendReport, UsersReport, OfflineNotice, FailureKind } from './client/report.js';
export type { Serializer } from './client/serializer.js';

export type { TransportSpec } from './transport/factory.js';
export { MESH_DEFAULTS, type MeshOptions, type ResolvedMeshOptions } from './mesh/mesh-options.js';
export type { MeshControl, MeshEvents } from './mesh/mesh-control.js';
export type { MeshPeerState } from './mesh/mesh-node.js';
export type { MeshDiscovery } from './mesh/discovery/discovery.js';
export type { Endpoint } from './transport/url.js';
export { REDIS_DEFAULTS, type RedisTransportOptions } from './transport/redis/options.js';
export type { RedisClientLike } from './transport/redis/redis-client-like.js';
export {
  RedisPresenceStore,
  type RedisPresenceOptions,
  type RedisPresenceMode,
  type RedisCommandClient,
  type RedisArg,
  type RedisPipelineLike,
  type PresenceRedisClient,
} from './transport/redis/presence-store.js';
export type { PresenceStore } from './presence/presence-store.js';

export type { RouteTable, UserId } from './protocol/index.js';
export * as protocol from './protocol/index.js';
