import { ErrorCodes, RelayError } from '../errors.js';
import { isCanonicalUint64 } from './encode.js';
import { parseTransmitMap } from './parse.js';
import { UINT32_MAX, type TransmitMessage } from './transmit-map.js';

/**
 * The legacy message fields as a binary node sees them: a JSON object whose
 * `from` and `to` are decimal strings, so 64-bit ids survive `JSON.parse`.
 */
export function messageToJson(message: TransmitMessage): Buffer {
  return Buffer.from(JSON.stringify(message), 'utf8');
}

/**
 * Reads the legacy message fields from a binary node's JSON payload. Numbers
 * are read exactly (a bare 18446744073709551615 is kept), and decimal strings
 * are accepted for `from` and `to` as {@link messageToJson} writes them.
 * Throws `ERR_MESSAGE` when the payload is not such an object.
 */
export function messageFromJson(payload: Buffer): TransmitMessage {
  try {
    return parseTransmitMap(payload).message;
  } catch {
    // Not in Go's own form (for example, ids as strings): read it leniently below.
  }
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (cause) {
    throw new RelayError(ErrorCodes.MESSAGE, 'the message is not JSON', { cause });
  }
  return coerceMessage(value);
}

/**
 * Checks a message object for the legacy fields and fills in zero values for
 * missing ones. `from` and `to` may be numbers (safe integers), bigints or
 * decimal strings. Throws `ERR_MESSAGE` otherwise.
 */
export function coerceMessage(value: unknown): TransmitMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw messageError('a legacy message must be a JSON object with the fields id, from, to, type, contentType, time, content');
  }
  const m = value as Record<string, unknown>;
  return {
    id: text(m.id, 'id'),
    from: uint64(m.from, 'from'),
    to: uint64(m.to, 'to'),
    type: uint32(m.type, 'type'),
    contentType: uint32(m.contentType, 'contentType'),
    time: text(m.time, 'time'),
    content: text(m.content, 'content'),
  };
}

function text(v: unknown, name: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw messageError(`${name} must be a string`);
  return v;
}

function uint64(v: unknown, name: string): string {
  if (v === undefined || v === null) return '0';
  if (typeof v === 'bigint' && v >= 0n && v <= 0xffff_ffff_ffff_ffffn) return v.toString();
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  if (typeof v === 'string' && isCanonicalUint64(v)) return v;
  throw messageError(`${name} must be an unsigned 64-bit integer (a number, bigint or decimal string)`);
}

function uint32(v: unknown, name: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= UINT32_MAX) return v;
  throw messageError(`${name} must be an unsigned 32-bit integer`);
}

function messageError(message: string): RelayError {
  return new RelayError(ErrorCodes.MESSAGE, message);
}
