import { ErrorCodes, RelayError } from '../errors.js';
import { utf8Text } from '../codec/text.js';
import { PayloadKind } from '../protocol/constants.js';

/**
 * Turns messages into payload bytes and back. The relay never looks inside a
 * payload, so any format works as long as every node uses the same one.
 */
export interface Serializer {
  encode(message: unknown): Uint8Array | string;
  decode(payload: Buffer): unknown;
}

/**
 * How {@link encodeMessage} encodes `message`, so the receiver can decode it
 * the same way: a `Uint8Array` or `Buffer` passes through untouched and
 * arrives as a Buffer; a string travels as UTF-8 and arrives as a string;
 * anything else travels as JSON and arrives parsed (a bigint inside it as its
 * decimal string).
 */
export function payloadKindOf(message: unknown, serializer: Serializer | undefined): PayloadKind {
  if (serializer) return PayloadKind.CUSTOM;
  if (typeof message === 'string') return PayloadKind.TEXT;
  if (message instanceof Uint8Array) return PayloadKind.BINARY;
  return PayloadKind.JSON;
}

/** The payload of `message`, encoded as {@link payloadKindOf} says. */
export function encodeMessage(message: unknown, serializer: Serializer | undefined): Uint8Array | string {
  if (serializer) return serializer.encode(message);
  if (typeof message === 'string' || message instanceof Uint8Array) return message;
  let json: string | undefined;
  try {
    json = JSON.stringify(message);
  } catch (cause) {
    // A bigint (a 64-bit user id, say) travels as its decimal string, the
    // form 64-bit ids take everywhere else; only then is the replacer paid for.
    try {
      json = JSON.stringify(message, bigintAsString);
    } catch {
      throw new RelayError(ErrorCodes.MESSAGE, 'the message cannot be serialized as JSON', { cause });
    }
  }
  if (json === undefined) throw new RelayError(ErrorCodes.MESSAGE, `a message of type ${typeof message} cannot be sent as JSON`);
  return json;
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/**
 * The inverse of {@link encodeMessage}, by the kind the sender declared, for
 * the payload at `[start, end)` of `p`. Text is decoded straight from the
 * range; a binary or custom payload is handed out as a view of it.
 */
export function decodeMessage(p: Buffer, kind: PayloadKind, serializer: Serializer | undefined, start = 0, end = p.length): unknown {
  switch (kind) {
    case PayloadKind.JSON:
      return JSON.parse(utf8Text(p, start, end));
    case PayloadKind.TEXT:
      return utf8Text(p, start, end);
    case PayloadKind.BINARY:
      return range(p, start, end);
    default:
      if (!serializer) throw new RelayError(ErrorCodes.MESSAGE, 'a custom-encoded message arrived but no serializer is set');
      return serializer.decode(range(p, start, end));
  }
}

function range(p: Buffer, start: number, end: number): Buffer {
  return start === 0 && end === p.length ? p : p.subarray(start, end);
}
