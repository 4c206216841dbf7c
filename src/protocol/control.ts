import { InvalidArgumentError, ProtocolError } from '../errors.js';
import { encodeFrame } from '../codec/encode-frame.js';
import { Features, FrameType, INCARNATION_BYTES, NONCE_BYTES, PROOF_BYTES } from './constants.js';
import { checkNodeId, nodeIdProblem } from './node-id.js';
import { Reader } from './reader.js';

/** A node's opening frame. */
export interface HelloFrame {
  type: typeof FrameType.HELLO;
  minVersion: number;
  maxVersion: number;
  nodeId: string;
  /** The largest frame the node accepts. */
  maxFrameBytes: number;
  features: number;
  /** Fresh random bytes: the relay's proof in WELCOME covers them. */
  nonce: Buffer;
  /** With `Features.ONCE`: the node's incarnation (8 bytes) and its first delivery window. */
  once?: { incarnation: Buffer; window: number } | undefined;
}

/** The relay's answer to HELLO when it requires a shared secret. */
export interface ChallengeFrame {
  type: typeof FrameType.CHALLENGE;
  version: number;
  nonce: Buffer;
}

/** The node's proof of the shared secret, answering CHALLENGE. */
export interface AuthFrame {
  type: typeof FrameType.AUTH;
  proof: Buffer;
}

/** The relay accepts the node. */
export interface WelcomeFrame {
  type: typeof FrameType.WELCOME;
  version: number;
  maxFrameBytes: number;
  heartbeatMs: number;
  features: number;
  sessionId: Buffer;
  /** The relay's own proof of the secret, or empty when no secret is set. */
  proof: Buffer;
}

export interface PingFrame {
  type: typeof FrameType.PING;
}
export interface PongFrame {
  type: typeof FrameType.PONG;
}

/** A coded error; the sender closes the connection after it when fatal. */
export interface ErrorFrame {
  type: typeof FrameType.ERROR | typeof FrameType.GOODBYE;
  code: string;
  message: string;
}

/** A GOODBYE has the layout of ERROR: why the peer is closing. */
export type GoodbyeFrame = ErrorFrame & { type: typeof FrameType.GOODBYE };

export type ControlFrame = HelloFrame | ChallengeFrame | AuthFrame | WelcomeFrame | PingFrame | PongFrame | ErrorFrame;

/**
 * Encodes a control frame, length prefix included.
 *
 * @throws `ERR_INVALID_ARGUMENT` for a field the frame cannot carry: a node
 *   id that {@link checkNodeId} refuses, a nonce, session id or proof of the
 *   wrong length, or a type that is not a control frame.
 */
export function encodeControl(frame: ControlFrame): Buffer {
  switch (frame.type) {
    case FrameType.HELLO: {
      const id = Buffer.from(checkNodeId(frame.nodeId, 'node id'), 'utf8');
      checkBytes(frame.nonce, NONCE_BYTES, 'nonce');
      const once = frame.once;
      if (once !== undefined) checkBytes(once.incarnation, INCARNATION_BYTES, 'incarnation');
      const features = once === undefined ? frame.features & ~Features.ONCE : frame.features | Features.ONCE;
      return encodeFrame(
        Buffer.concat([
          bytes(FrameType.HELLO, frame.minVersion, frame.maxVersion, id.length),
          id,
          u32s(frame.maxFrameBytes, features),
          frame.nonce,
          ...(once === undefined ? [] : [once.incarnation, u32s(once.window)]),
        ]),
      );
    }
    case FrameType.CHALLENGE:
      checkBytes(frame.nonce, NONCE_BYTES, 'nonce');
      return encodeFrame(Buffer.concat([bytes(FrameType.CHALLENGE, frame.version), frame.nonce]));
    case FrameType.AUTH:
      checkBytes(frame.proof, PROOF_BYTES, 'proof');
      return encodeFrame(Buffer.concat([bytes(FrameType.AUTH), frame.proof]));
    case FrameType.WELCOME:
      checkBytes(frame.sessionId, NONCE_BYTES, 'session id');
      if (!Buffer.isBuffer(frame.proof) || frame.proof.length > 255) {
        throw new InvalidArgumentError('a welcome proof must be a Buffer of at most 255 bytes');
      }
      return encodeFrame(
        Buffer.concat([
          bytes(FrameType.WELCOME, frame.version),
          u32s(frame.maxFrameBytes, frame.heartbeatMs, frame.features),
          frame.sessionId,
          bytes(frame.proof.length),
          frame.proof,
        ]),
      );
    case FrameType.PING:
    case FrameType.PONG:
      return encodeFrame(bytes(frame.type));
    case FrameType.ERROR:
    case FrameType.GOODBYE: {
      if (typeof frame.code !== 'string' || typeof frame.message !== 'string') {
        throw new InvalidArgumentError('an error frame needs a string code and message');
      }
      const code = Buffer.from(frame.code, 'utf8').subarray(0, 255);
      const text = truncateUtf8(frame.message, 0xffff);
      const head = Buffer.allocUnsafe(4);
      head[0] = frame.type;
      head[1] = code.length;
      return encodeFrame(Buffer.concat([head.subarray(0, 2), code, u16(text.length), text]));
    }
    default:
      throw new InvalidArgumentError(`not a control frame type: ${String((frame as { type: unknown }).type)}`);
  }
}

/**
 * Decodes a control frame payload. Throws `ERR_PROTOCOL` for a malformed one,
 * or for a type that is not a control frame.
 */
export function decodeControl(payload: Buffer): ControlFrame {
  const r = new Reader(payload);
  const type = r.u8();
  switch (type) {
    case FrameType.HELLO: {
      const minVersion = r.u8();
      const maxVersion = r.u8();
      const nodeId = r.str8();
      // Refused like any other bad hello: the id names the node in every
      // log, stat and presence entry, so a blank one is not an identity.
      const problem = nodeIdProblem(nodeId);
      if (problem !== undefined) throw new ProtocolError(`hello: node id ${problem}`);
      const maxFrameBytes = r.u32();
      const features = r.u32();
      const nonce = Buffer.from(r.bytes(NONCE_BYTES));
      const once = (features & Features.ONCE) !== 0 ? { incarnation: Buffer.from(r.bytes(INCARNATION_BYTES)), window: r.u32() } : undefined;
      // Trailing bytes are fields of a later minor revision: ignored.
      return { type, minVersion, maxVersion, nodeId, maxFrameBytes, features, nonce, once };
    }
    case FrameType.CHALLENGE: {
      const version = r.u8();
      const nonce = Buffer.from(r.bytes(NONCE_BYTES));
      return { type, version, nonce };
    }
    case FrameType.AUTH: {
      const proof = Buffer.from(r.bytes(PROOF_BYTES));
      r.end('auth');
      return { type, proof };
    }
    case FrameType.WELCOME: {
      const version = r.u8();
      const maxFrameBytes = r.u32();
      const heartbeatMs = r.u32();
      const features = r.u32();
      const sessionId = Buffer.from(r.bytes(NONCE_BYTES));
      const proof = Buffer.from(r.bytes(r.u8()));
      return { type, version, maxFrameBytes, heartbeatMs, features, sessionId, proof };
    }
    case FrameType.PING:
    case FrameType.PONG:
      r.end(type === FrameType.PING ? 'ping' : 'pong');
      return { type };
    case FrameType.ERROR:
    case FrameType.GOODBYE: {
      const code = r.str8();
      const message = r.str16();
      r.end('error');
      return { type, code, message };
    }
    default:
      throw new ProtocolError(`unexpected frame type 0x${type.toString(16).padStart(2, '0')}`);
  }
}

function bytes(...values: number[]): Buffer {
  return Buffer.from(values);
}

function u16(value: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16LE(value, 0);
  return b;
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * values.length);
  values.forEach((v, i) => b.writeUInt32LE(v >>> 0, i * 4));
  return b;
}

function checkBytes(value: Buffer, length: number, what: string): void {
  if (!Buffer.isBuffer(value) || value.length !== length) {
    throw new InvalidArgumentError(`a ${what} must be a Buffer of ${length} bytes`);
  }
}

/** UTF-8 bytes of `text`, cut at a character boundary to at most `max` bytes. */
function truncateUtf8(text: string, max: number): Buffer {
  const full = Buffer.from(text, 'utf8');
  if (full.length <= max) return full;
  let end = max;
  while (end > 0 && (full[end]! & 0xc0) === 0x80) end--;
  return full.subarray(0, end);
}
