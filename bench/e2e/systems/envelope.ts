/**
 * The envelope the hand-rolled baselines (Redis, NATS) put around a message
 * to carry its sender and users. A JSON message travels as
 * `JSON.stringify({from, users, message})`. A binary payload travels as
 * u32LE header length + JSON header `{from, users}` + the payload bytes
 * untouched, so that it is neither base64-inflated nor copied into a string.
 */
import type { PayloadFormat } from '../workloads.js';
import type { Delivery } from './types.js';

export type EnvelopeEncoder = (from: string, users: string[], message: unknown) => string | Buffer;

export function envelopeEncoder(payload: PayloadFormat): EnvelopeEncoder {
  return payload === 'binary' ? (from, users, message) => binaryEnvelope(from, users, message as Uint8Array) : jsonEnvelope;
}

export function jsonEnvelope(from: string, users: string[], message: unknown): string {
  return JSON.stringify({ from, users, message });
}

export function readJsonEnvelope(text: string): Delivery {
  const envelope = JSON.parse(text) as Delivery;
  return { from: envelope.from, users: envelope.users, message: envelope.message };
}

const LENGTH_BYTES = 4;

export function binaryEnvelope(from: string, users: string[], payload: Uint8Array): Buffer {
  const header = JSON.stringify({ from, users });
  const headerBytes = Buffer.byteLength(header);
  const out = Buffer.allocUnsafe(LENGTH_BYTES + headerBytes + payload.byteLength);
  out.writeUInt32LE(headerBytes, 0);
  out.write(header, LENGTH_BYTES);
  out.set(payload, LENGTH_BYTES + headerBytes);
  return out;
}

/** The payload arrives as a Buffer view into `bytes`, not a copy. */
export function readBinaryEnvelope(bytes: Uint8Array): Delivery {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerEnd = LENGTH_BYTES + buf.readUInt32LE(0);
  const header = JSON.parse(buf.toString('utf8', LENGTH_BYTES, headerEnd)) as { from: string; users: string[] };
  return { from: header.from, users: header.users, message: buf.subarray(headerEnd) };
}
