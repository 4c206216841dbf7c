/**
 * A fake relay that speaks effectively-once delivery by hand, for the node's
 * side of it: it welcomes with `Features.ONCE`, writes stamped DELIVERs and
 * EXPIREs as a test says, and decodes what the node writes back (CONSUMED,
 * ROUTE).
 */
import { encodeFrame } from '../../src/codec/index.js';
import {
  CONSUMED_BYTES,
  Features,
  FrameType,
  NONCE_BYTES,
  PROTOCOL_VERSION_MAX,
  PayloadKind,
  decodeConsumed,
  decodeControl,
  decodeRoute,
  encodeAck,
  encodeControl,
  encodeDeliver,
  encodeReport,
  type ConsumedFrame,
  type HelloFrame,
  type RouteFrame,
} from '../../src/protocol/index.js';
import { startFakeRelay, type FakeRelay, type RawPeer } from './raw-peer.js';

/** A WELCOME with the given feature bits. */
export function welcomeWith(features: number, heartbeatMs = 60_000): Buffer {
  return encodeControl({
    type: FrameType.WELCOME,
    version: PROTOCOL_VERSION_MAX,
    maxFrameBytes: 1024 * 1024,
    heartbeatMs,
    features,
    sessionId: Buffer.alloc(NONCE_BYTES, 7),
    proof: Buffer.alloc(0),
  });
}

/** The features a relay that speaks ONCE welcomes with. */
export const ONCE_FEATURES = Features.FAILURE_NOTICES | Features.ACKS | Features.ONCE;

export interface OnceRelay extends FakeRelay {
  /** The HELLO of the `n`th connection (1-based), once it arrived. */
  hello(n: number): Promise<HelloFrame>;
}

/**
 * A fake relay that answers every HELLO with a WELCOME carrying `features`
 * (ONCE by default) and then leaves the connection to the test.
 */
export async function startOnceRelay(features = ONCE_FEATURES, heartbeatMs = 60_000): Promise<OnceRelay> {
  const hellos = new Map<RawPeer, Promise<HelloFrame>>();
  const fake = await startFakeRelay((peer) => {
    const hello = peer.nextFrame().then((frame) => {
      peer.write(welcomeWith(features, heartbeatMs));
      return decodeControl(frame) as HelloFrame;
    });
    // A connection torn down before its hello is no failure here.
    hello.catch(() => {});
    hellos.set(peer, hello);
  });
  return {
    ...fake,
    async hello(n) {
      return hellos.get(await fake.connection(n))!;
    },
  };
}

/** An origin's incarnation, recognisable in failures. */
export function incarnation(fill: number): Buffer {
  return Buffer.alloc(8, fill);
}

/** A stamped DELIVER frame (length prefix included) of a text message. */
export function stampedDeliver(from: string, inc: Buffer, seq: number, text: string, users = ['u']): Buffer {
  return encodeFrame(encodeDeliver(from, users, PayloadKind.TEXT, Buffer.from(text), { incarnation: inc, seq }));
}

/** An EXPIRE frame (length prefix included). */
export function expireFrame(through: number): Buffer {
  const p = Buffer.allocUnsafe(5);
  p[0] = FrameType.EXPIRE;
  p.writeUInt32LE(through >>> 0, 1);
  return encodeFrame(p);
}

/** An ACK frame (length prefix included). */
export function ackFrame(first: number, count: number): Buffer {
  return encodeFrame(encodeAck(first, count));
}

/** A full REPORT with every named host delivered, or none failed (length prefix included). */
export function reportFrame(seq: number, delivered: string[]): Buffer {
  return encodeFrame(encodeReport({ seq, full: true, delivered, failed: [] }));
}

/** Every CONSUMED the peer received, decoded, in order. */
export function consumedFrames(peer: RawPeer): ConsumedFrame[] {
  return peer.received.filter((f) => f[0] === FrameType.CONSUMED && f.length === CONSUMED_BYTES).map((f) => decodeConsumed(f));
}

/** The last CONSUMED the peer received, or undefined. */
export function lastConsumed(peer: RawPeer): ConsumedFrame | undefined {
  return consumedFrames(peer).at(-1);
}

/** Every ROUTE the peer received, decoded, in order. */
export function routes(peer: RawPeer): RouteFrame[] {
  return peer.received.filter((f) => f[0] === FrameType.ROUTE).map((f) => decodeRoute(f));
}
