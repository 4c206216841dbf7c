/**
 * Every error imrelay raises or rejects with is a {@link RelayError} carrying a
 * stable `code`. Callers branch on `err.code` (or on a subclass); messages may
 * change between releases, codes do not.
 *
 * @packageDocumentation
 */

/** The stable error codes used across the package. */
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
  /** The client or server was closed; the operation will not complete. */
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
  /** The connection dropped after a frame was written and before its report arrived. */
  CONNECTION_LOST: 'ERR_CONNECTION_LOST',
  /** A send could not be written within its write-retry attempts. */
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
} as const;

/** One of the values of {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

// A brand that survives two copies of this module (the ESM and the CJS build
// loaded side by side), where a plain `instanceof` would not.
const kRelayError = Symbol.for('imrelay.RelayError');

/** The base class of every error imrelay produces. */
export class RelayError extends Error {
  /** A stable, machine-readable code such as `ERR_FRAME_TOO_LARGE`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
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

/**
 * Declares a subclass bound to one code, so `err instanceof FrameTooLargeError`
 * works across module copies as well.
 */
function subclass<C extends ErrorCode>(code: C, name: string) {
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
/** Bad or missing credentials (`ERR_AUTH`). The client does not retry these. */
export const AuthError = subclass(ErrorCodes.AUTH, 'AuthError');
export type AuthError = InstanceType<typeof AuthError>;
/** A bounded buffer refused an item (`ERR_BUFFER_FULL`). */
export const BufferFullError = subclass(ErrorCodes.BUFFER_FULL, 'BufferFullError');
export type BufferFullError = InstanceType<typeof BufferFullError>;
/** The client or server was closed (`ERR_CLOSED`). */
export const ClosedError = subclass(ErrorCodes.CLOSED, 'ClosedError');
export type ClosedError = InstanceType<typeof ClosedError>;
/** A deadline passed (`ERR_TIMEOUT`). */
export const TimeoutError = subclass(ErrorCodes.TIMEOUT, 'TimeoutError');
export type TimeoutError = InstanceType<typeof TimeoutError>;
/** This node's connection was taken over by a newer one (`ERR_REPLACED`). */
export const ReplacedError = subclass(ErrorCodes.REPLACED, 'ReplacedError');
export type ReplacedError = InstanceType<typeof ReplacedError>;
/** The outcome of a written send is unknown: the connection dropped before its report (`ERR_CONNECTION_LOST`). */
export const ConnectionLostError = subclass(ErrorCodes.CONNECTION_LOST, 'ConnectionLostError');
export type ConnectionLostError = InstanceType<typeof ConnectionLostError>;
/** A send was never written within its write-retry attempts (`ERR_SEND_FAILED`). */
export const SendFailedError = subclass(ErrorCodes.SEND_FAILED, 'SendFailedError');
export type SendFailedError = InstanceType<typeof SendFailedError>;

/** True when `value` is a {@link RelayError}, optionally with the given code. */
export function isRelayError(value: unknown, code?: string): value is RelayError {
  return value instanceof RelayError && (code === undefined || value.code === code);
}

/** Builds the error class that best fits a code received from a peer. */
export function errorFromCode(code: string, message: string): RelayError {
  const Known = byCode.get(code);
  return Known ? new Known(message) : new RelayError(code, message);
}

const byCode = new Map<string, new (message: string) => RelayError>(
  [
    FrameTooLargeError,
    ProtocolError,
    AuthError,
    BufferFullError,
    ClosedError,
    TimeoutError,
    ReplacedError,
    ConnectionLostError,
    SendFailedError,
  ].map((Class) => [Class.code, Class]),
);
