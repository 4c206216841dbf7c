/**
 * imrelay: pass messages between the nodes of a WebSocket IM cluster.
 *
 * @packageDocumentation
 */
export {
  RelayError,
  ErrorCodes,
  type ErrorCode,
  FrameTooLargeError,
  ProtocolError,
  AuthError,
  BufferFullError,
  ClosedError,
  TimeoutError,
  ReplacedError,
  ConnectionLostError,
  SendFailedError,
  isRelayError,
} from './errors.js';
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
export type { RelayServerOptions } from './server/options.js';
export type { RelayServerEvents, NodeInfo } from './server/hub.js';
export type { RelayStats } from './server/stats.js';
export { RelayClient, type Delivery, type SendOptions, type RelayClientEvents } from './client/relay-client.js';
export type { RelayClientOptions, WriteRetryOptions } from './client/options.js';
export { exponentialBackoff, type ReconnectOptions, type RetryStrategy } from './client/backoff.js';
export type { SendReport, UsersReport, OfflineNotice, FailureKind } from './client/report.js';
export type { Serializer } from './client/serializer.js';
export type { RouteTable, UserId } from './protocol/index.js';
export type { PresenceStore } from './presence/presence-store.js';
export { LocalPresenceStore } from './presence/local-presence-store.js';
export { RedisPresenceStore, type RedisPresenceOptions } from './redis/presence-store.js';
export type { RedisClientLike } from './redis/redis-client-like.js';
export type { RedisTransportOptions } from './client/options.js';
export * as protocol from './protocol/index.js';
