import { ErrorCodes, RelayError } from '../errors.js';
import { PayloadKind } from '../protocol/constants.js';

/**
 * Turns messages into payload bytes and back. The relay never looks inside a
 * payload, so any format works as long as every node uses the same one.
 */
export interface Serializer {
  encode(message: unknown): Uint8Array | string;
  decode(payload: Buffer): unknown;
}

/** An encoded message and how it was encoded, so the receiver can decode it the same way. */
export interface EncodedMessage {
  payload: Uint8Array | string;
  kind: PayloadKind;
}

/**
 * The default encoding: a `Uint8Array` or `Buffer` passes through untouched
 * and arrives as a Buffer; a string travels as UTF-8 and arrives as a string;
 * anything else travels as JSON and arrives parsed (a bigint inside it as its
 * decimal string).
 */
export function encodeMessage(message: unknown, serializer: Serializer | undefined): EncodedMessage {
  if (serializer) return { payload: serializer.encode(message), kind: PayloadKind.CUSTOM };
  if (typeof message === 'string') return { payload: message, kind: PayloadKind.TEXT };
  if (message instanceof Uint8Array) return { payload: message, kind: PayloadKind.BINARY };
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
  return { payload: json, kind: PayloadKind.JSON };
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** The inverse of {@link encodeMessage}, by the kind the sender declared. */
export function decodeMessage(payload: Buffer, kind: PayloadKind, serializer: Serializer | undefined): unknown {
  switch (kind) {
    case PayloadKind.JSON:
      return JSON.parse(payload.toString('utf8'));
    case PayloadKind.TEXT:
      return payload.toString('utf8');
    case PayloadKind.BINARY:
      return payload;
    default:
      if (!serializer) throw new RelayError(ErrorCodes.MESSAGE, 'a custom-encoded message arrived but no serializer is set');
      return serializer.decode(payload);
  }
}
