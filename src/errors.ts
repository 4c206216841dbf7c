/**
 * Every error imrelay raises or rejects with is a {@link RelayError} carrying a
 * stable `code`. Callers branch on `err.code` (or on a subclass); messages may
 * change between releases, codes do not.
 *
 * @packageDocumentation
 */

/** The stable error codes used across the package, one per cause. */
export const ErrorCodes = {
  /** A frame's length prefix exceeds the configured maximum. */
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  /** A peer sent bytes that do not form a valid frame, or a frame out of turn. */
  PROTOCOL: 'ERR_PROTOCOL',
  /** The peers share no protocol version. */
  VERSION: 'ERR_VERSION',
  /** Credentials were missing or wrong. */
  AUTH: 'ERR_AUTH',
  /** A bounded buffer is full; the item was not accepted. */
  BUFFER_FULL: 'ERR_BUFFER_FULL',
  /** The client or server was closed by its owner; the operation will not complete. */
  CLOSED: 'ERR_CLOSED',
  /** Something did not happen within its deadline. */
  TIMEOUT: 'ERR_TIMEOUT',
  /** Another connection took over this node id. */
  REPLACED: 'ERR_REPLACED',
  /** A connection with this node id already exists and the relay keeps the first. */
  DUPLICATE_NODE: 'ERR_DUPLICATE_NODE',
  /** The relay is at its configured maximum number of nodes. */
  TOO_MANY_NODES: 'ERR_TOO_MANY_NODES',
  /** The peer did not answer heartbeats in time. */
  HEARTBEAT: 'ERR_HEARTBEAT',
  /**
   * No connection could be made (refused, unresolvable, unreachable, timed
   * out). The operating system's error, when there is one, is the `cause`.
   */
  CONNECT: 'ERR_CONNECT',
  /** An established connection was closed by the peer or the network. */
  DISCONNECTED: 'ERR_DISCONNECTED',
  /** The relay could not listen on its address (for example `EADDRINUSE`); the OS error is the `cause`. */
  LISTEN: 'ERR_LISTEN',
  /** An optional dependency the chosen transport needs is not installed (for example `ioredis`). */
  DEPENDENCY: 'ERR_DEPENDENCY',
  /** An outside engine (Redis) refused or failed a command. */
  ENGINE: 'ERR_ENGINE',
  /** The operation needs a connection and `connect()` was never called (or its first attempt gave up). */
  NOT_CONNECTED: 'ERR_NOT_CONNECTED',
  /** The connection dropped after a frame was written and before its report arrived. */
  CONNECTION_LOST: 'ERR_CONNECTION_LOST',
  /** A send could not be written within its write-retry window. */
  SEND_FAILED: 'ERR_SEND_FAILED',
  /** An argument or option is invalid. */
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  /** A message could not be serialized, or is not acceptable to its target. */
  MESSAGE: 'ERR_MESSAGE',
  /** A second consumer tried to iterate deliveries. */
  CONSUMER_BUSY: 'ERR_CONSUMER_BUSY',
  /** The relay is shutting down. */
  SHUTDOWN: 'ERR_SHUTDOWN',
  /** The operation is not available in this dialect or transport. */
  UNSUPPORTED: 'ERR_UNSUPPORTED',
  /**
   * A node exceeded one of the relay's per-node limits (users held, ids per
   * locate, an answer larger than its frame limit); the relay closes it. The
   * limit is named in the message.
   */
  LIMIT: 'ERR_LIMIT',
} as const;

/** One of the values of {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

/** True when `code` is one of {@link ErrorCodes}. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && KNOWN_CODES.has(code);
}

// A brand that survives two copies of this module (the ESM and the CJS build
// loaded side by side), where a plain `instanceof` would not.
const kRelayError = Symbol.for('imrelay.RelayError');

/** The base class of every error imrelay produces. */
export class RelayError extends Error {
  /** A stable, machine-readable code such as `ERR_FRAME_TOO_LARGE`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'RelayError';
    Object.defineProperty(this, kRelayError, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    if ((value as Record<symbol, unknown>)[kRelayError] !== true) return false;
    if (this === RelayError) return true;
    // The package's own subclasses match by code; a user's subclass by prototype.
    if (Object.prototype.hasOwnProperty.call(this, 'code')) {
      return (value as RelayError).code === (this as unknown as { code: string }).code;
    }
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** The constructor of a subclass bound to one code. */
export interface RelayErrorClass<C extends ErrorCode> {
  new (message: string, options?: { cause?: unknown }): RelayError & { readonly code: C };
  /** The code every instance carries. */
  readonly code: C;
}

/**
 * Declares a subclass bound to one code, so `err instanceof FrameTooLargeError`
 * works across module copies as well.
 */
function subclass<C extends ErrorCode>(code: C, name: string): RelayErrorClass<C> {
  const Sub = class extends RelayError {
    static readonly code: C = code;
    declare readonly code: C;
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, message, options);
      this.name = name;
    }
  };
  Object.defineProperty(Sub, 'name', { value: name });
  return Sub;
}

/** A length prefix larger than the allowed maximum (`ERR_FRAME_TOO_LARGE`). */
export const FrameTooLargeError = subclass(ErrorCodes.FRAME_TOO_LARGE, 'FrameTooLargeError');
export type FrameTooLargeError = InstanceType<typeof FrameTooLargeError>;
/** A malformed frame or a frame out of turn (`ERR_PROTOCOL`). */
export const ProtocolError = subclass(ErrorCodes.PROTOCOL, 'ProtocolError');
export type ProtocolError = InstanceType<typeof ProtocolError>;
/** The peers share no protocol version (`ERR_VERSION`). Not retried. */
export const VersionError = subclass(ErrorCodes.VERSION, 'VersionError');
export type VersionError = InstanceType<typeof VersionError>;
/** Bad or missing credentials (`ERR_AUTH`). The client does not retry these. */
export const AuthError = subclass(ErrorCodes.AUTH, 'AuthError');
export type AuthError = InstanceType<typeof AuthError>;
/** A bounded buffer refused an item (`ERR_BUFFER_FULL`). */
export const BufferFullError = subclass(ErrorCodes.BUFFER_FULL, 'BufferFullError');
export type BufferFullError = InstanceType<typeof BufferFullError>;
/** The client or server was closed by its owner (`ERR_CLOSED`). */
export const ClosedError = subclass(ErrorCodes.CLOSED, 'ClosedError');
export type ClosedError = InstanceType<typeof ClosedError>;
/** A deadline passed (`ERR_TIMEOUT`). */
export const TimeoutError = subclass(ErrorCodes.TIMEOUT, 'TimeoutError');
export type TimeoutError = InstanceType<typeof TimeoutError>;
/** This node's connection was taken over by a newer one (`ERR_REPLACED`). Not retried. */
export const ReplacedError = subclass(ErrorCodes.REPLACED, 'ReplacedError');
export type ReplacedError = InstanceType<typeof ReplacedError>;
/** The relay keeps an earlier connection with this node id (`ERR_DUPLICATE_NODE`). Not retried by a first `connect()`. */
export const DuplicateNodeError = subclass(ErrorCodes.DUPLICATE_NODE, 'DuplicateNodeError');
export type DuplicateNodeError = InstanceType<typeof DuplicateNodeError>;
/** The relay is full (`ERR_TOO_MANY_NODES`). */
export const TooManyNodesError = subclass(ErrorCodes.TOO_MANY_NODES, 'TooManyNodesError');
export type TooManyNodesError = InstanceType<typeof TooManyNodesError>;
/** The peer went silent (`ERR_HEARTBEAT`). */
export const HeartbeatError = subclass(ErrorCodes.HEARTBEAT, 'HeartbeatError');
export type HeartbeatError = InstanceType<typeof HeartbeatError>;
/** No connection could be made (`ERR_CONNECT`); the OS error is the `cause`. */
export const ConnectError = subclass(ErrorCodes.CONNECT, 'ConnectError');
export type ConnectError = InstanceType<typeof ConnectError>;
/** An established connection closed under us (`ERR_DISCONNECTED`). */
export const DisconnectedError = subclass(ErrorCodes.DISCONNECTED, 'DisconnectedError');
export type DisconnectedError = InstanceType<typeof DisconnectedError>;
/** The relay could not listen (`ERR_LISTEN`); the OS error is the `cause`. */
export const ListenError = subclass(ErrorCodes.LISTEN, 'ListenError');
export type ListenError = InstanceType<typeof ListenError>;
/** An optional dependency is missing (`ERR_DEPENDENCY`). Not retried. */
export const DependencyError = subclass(ErrorCodes.DEPENDENCY, 'DependencyError');
export type DependencyError = InstanceType<typeof DependencyError>;
/** An outside engine failed a command (`ERR_ENGINE`). */
export const EngineError = subclass(ErrorCodes.ENGINE, 'EngineError');
export type EngineError = InstanceType<typeof EngineError>;
/** `connect()` was never called (`ERR_NOT_CONNECTED`). */
export const NotConnectedError = subclass(ErrorCodes.NOT_CONNECTED, 'NotConnectedError');
export type NotConnectedError = InstanceType<typeof NotConnectedError>;
/** The outcome of a written send is unknown: the connection dropped before its report (`ERR_CONNECTION_LOST`). */
export const ConnectionLostError = subclass(ErrorCodes.CONNECTION_LOST, 'ConnectionLostError');
export type ConnectionLostError = InstanceType<typeof ConnectionLostError>;
/** A send was never written within its write-retry window (`ERR_SEND_FAILED`). */
export const SendFailedError = subclass(ErrorCodes.SEND_FAILED, 'SendFailedError');
export type SendFailedError = InstanceType<typeof SendFailedError>;
/** An argument or option is invalid (`ERR_INVALID_ARGUMENT`). */
export const InvalidArgumentError = subclass(ErrorCodes.INVALID_ARGUMENT, 'InvalidArgumentError');
export type InvalidArgumentError = InstanceType<typeof InvalidArgumentError>;
/** A message cannot be serialized or is not acceptable to its target (`ERR_MESSAGE`). */
export const MessageError = subclass(ErrorCodes.MESSAGE, 'MessageError');
export type MessageError = InstanceType<typeof MessageError>;
/** Deliveries already have a consumer (`ERR_CONSUMER_BUSY`). */
export const ConsumerBusyError = subclass(ErrorCodes.CONSUMER_BUSY, 'ConsumerBusyError');
export type ConsumerBusyError = InstanceType<typeof ConsumerBusyError>;
/** The relay is shutting down (`ERR_SHUTDOWN`). */
export const ShutdownError = subclass(ErrorCodes.SHUTDOWN, 'ShutdownError');
export type ShutdownError = InstanceType<typeof ShutdownError>;
/** Not available in this dialect or transport (`ERR_UNSUPPORTED`). */
export const UnsupportedError = subclass(ErrorCodes.UNSUPPORTED, 'UnsupportedError');
export type UnsupportedError = InstanceType<typeof UnsupportedError>;
/** A per-node or per-address limit of the relay was exceeded (`ERR_LIMIT`). Not retried by a first `connect()`. */
export const LimitError = subclass(ErrorCodes.LIMIT, 'LimitError');
export type LimitError = InstanceType<typeof LimitError>;

/** True when `value` is a {@link RelayError}, optionally with the given code. */
export function isRelayError(value: unknown, code?: ErrorCode): value is RelayError {
  return value instanceof RelayError && (code === undefined || value.code === code);
}

const byCode = new Map<string, RelayErrorClass<ErrorCode>>(
  [
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
  ].map((Class) => [Class.code, Class as RelayErrorClass<ErrorCode>]),
);

/** The class of every code: one subclass per code. */
export function errorClassOf<C extends ErrorCode>(code: C): RelayErrorClass<C> {
  return byCode.get(code) as RelayErrorClass<C>;
}

/**
 * Builds the error a peer's ERROR or GOODBYE frame stands for. A code this
 * version does not know (a newer peer's) becomes `ERR_PROTOCOL` naming it, so
 * that `code` stays one of {@link ErrorCodes}.
 */
export function errorFromCode(code: string, message: string): RelayError {
  const Known = byCode.get(code);
  return Known ? new Known(message) : new ProtocolError(`the peer closed with unknown code ${JSON.stringify(code)}: ${message}`);
}
