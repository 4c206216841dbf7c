/**
 * Speaking the relay's binary protocol over a raw socket, without
 * RelayClient: the HELLO/WELCOME handshake (with or without ONCE), and
 * pre-encoded ROUTE batches.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { FrameWriter } from '../../src/codec/index.js';
import {
  Features,
  FrameType,
  INCARNATION_BYTES,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  RouteFlags,
  Scratch,
  decodeControl,
  encodeControl,
  encodeRouteHeader,
  newNonce,
  writeRouteFrame,
} from '../../src/protocol/index.js';

export const PING_FRAME = encodeControl({ type: FrameType.PING });

/** What a node announcing `Features.ONCE` says in its HELLO. */
export interface OnceHello {
  /** 8 bytes naming this run of the node (see {@link newIncarnation}). */
  incarnation: Buffer;
  /** Deliveries the relay may write beyond what the node settled. */
  window: number;
}

/** A fresh random incarnation for a ONCE node. */
export function newIncarnation(): Buffer {
  return randomBytes(INCARNATION_BYTES);
}

/**
 * Connects as node `nodeId`, sends HELLO and waits for WELCOME. From then
 * on every byte read goes to `onData` (bytes after the WELCOME included),
 * with the socket, so a node can answer what it reads. A PING is sent every
 * second so the relay's heartbeat never closes a node that only reads.
 *
 * With `once`, the HELLO announces `Features.ONCE` with that incarnation and
 * window, and a WELCOME without ONCE is refused.
 */
export function openNode(
  port: number,
  nodeId: string,
  onData: (chunk: Buffer, socket: Socket) => void,
  timeoutMs = 10_000,
  features: number = Features.FAILURE_NOTICES,
  once?: OnceHello,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error(`${nodeId}: no welcome within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onHandshake = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      const length = buffered.readUInt32LE(0);
      if (buffered.length < 4 + length) return;
      const type = buffered[4];
      if (type !== FrameType.WELCOME) {
        fail(new Error(`${nodeId}: expected WELCOME, got frame type 0x${(type ?? 0).toString(16)}`));
        return;
      }
      if (once !== undefined) {
        const welcome = decodeControl(buffered.subarray(4, 4 + length));
        if (welcome.type !== FrameType.WELCOME || (welcome.features & Features.ONCE) === 0) {
          fail(new Error(`${nodeId}: the relay did not accept ONCE`));
          return;
        }
      }
      clearTimeout(timer);
      const rest = buffered.subarray(4 + length);
      socket.off('data', onHandshake);
      socket.on('data', (chunk: Buffer) => onData(chunk, socket));
      if (rest.length > 0) onData(rest, socket);
      const ping = setInterval(() => socket.write(PING_FRAME), 1000);
      ping.unref();
      socket.once('close', () => clearInterval(ping));
      resolve(socket);
    };
    socket.on('data', onHandshake);
    socket.once('error', (err) => fail(err));
    socket.once('connect', () => {
      socket.write(
        encodeControl({
          type: FrameType.HELLO,
          minVersion: PROTOCOL_VERSION_MIN,
          maxVersion: PROTOCOL_VERSION_MAX,
          nodeId,
          maxFrameBytes: 4 * 1024 * 1024,
          features,
          nonce: newNonce(),
          ...(once !== undefined ? { once } : {}),
        }),
      );
    });
  });
}

/** What one pre-encoded batch of ROUTE frames looks like. */
export interface RouteBatchSpec {
  /** Frames in the batch. */
  frames: number;
  /** Target node ids; with `hostsPerFrame` 1 each frame goes to the next target in turn. */
  targets: string[];
  hostsPerFrame: number;
  usersPerHost: number;
  /** Size of a one-host frame, length prefix included; the payload is sized to fit. */
  frameBytes: number;
  report: boolean;
}

export interface Batch {
  bytes: Buffer;
  frames: number;
  /** Bytes of the first frame, prefix included. */
  frameBytes: number;
  payloadBytes: number;
}

/** Encodes `spec.frames` ROUTE frames back to back, as RelayClient would write them. */
export function buildRouteBatch(spec: RouteBatchSpec): Batch {
  const scratch = new Scratch();
  const writer = new FrameWriter();
  const users = (host: string): string[] => Array.from({ length: spec.usersPerHost }, (_, k) => `${host}u${k}`);
  const flags = spec.report ? RouteFlags.REPORT : 0;
  const one = { [spec.targets[0]!]: users(spec.targets[0]!) };
  const payloadBytes = Math.max(8, spec.frameBytes - 4 - encodeRouteHeader(scratch, flags, 0, one));
  const payload = Buffer.from(`{"text":"${'x'.repeat(payloadBytes - 11)}"}`);
  const tables =
    spec.hostsPerFrame === 1
      ? spec.targets.map((t) => ({ [t]: users(t) }))
      : [Object.fromEntries(spec.targets.slice(0, spec.hostsPerFrame).map((t) => [t, users(t)]))];
  let first = 0;
  for (let i = 0; i < spec.frames; i++) {
    const header = encodeRouteHeader(scratch, flags, i, tables[i % tables.length]!);
    const total = writeRouteFrame(writer, scratch, header, payload, 16 * 1024 * 1024);
    if (i === 0) first = total + 4;
  }
  const bytes = Buffer.concat(writer.take());
  return { bytes, frames: spec.frames, frameBytes: first, payloadBytes: payload.length };
}

/** `frames` frames of exactly `frameBytes` bytes (prefix included), typed as DELIVER, for the raw pipe. */
export function buildRawBatch(frames: number, frameBytes: number): Batch {
  const bytes = Buffer.alloc(frames * frameBytes, 0x78);
  for (let i = 0; i < frames; i++) {
    bytes.writeUInt32LE(frameBytes - 4, i * frameBytes);
    bytes[i * frameBytes + 4] = FrameType.DELIVER;
  }
  return { bytes, frames, frameBytes, payloadBytes: frameBytes - 4 };
}
