import { MessageError } from '../errors.js';
import { isCanonicalUint64 } from './encode.js';
import { GoFieldNames } from './go-keys.js';
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
 * Reads the legacy message fields from a binary node's JSON payload, for the
 * relay to hand to a legacy node. Numbers are read exactly (a bare
 * 18446744073709551615 is kept), and decimal strings are accepted for `from`
 * and `to` as {@link messageToJson} writes them. As a Go hub would, keys
 * match fields case-insensitively, and keys that name no field are dropped.
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
    throw new MessageError('the message is not JSON', { cause });
  }
  return readMessage(value, false);
}

/**
 * Checks that a message can be a legacy `TransmitMap` and returns its
 * fields, zero values filled in for the ones left out. This is what a
 * `RelayClient` in the legacy dialect sends, so anything a Go node would
 * read differently from what the caller meant is refused, before a byte is
 * written:
 *
 * - the message must be a plain object (an object literal or parsed JSON);
 * - every key must name one of the fields `id`, `from`, `to`, `type`,
 *   `contentType`, `time`, `content`. As in Go's decoder, a key matches its
 *   field case-insensitively (`ID`, `ContentType`), but two keys for one
 *   field are refused, and so is `users`, which is the routing table;
 * - at least one field must be given (a key whose value is `undefined` is
 *   not given; `null` is, and means the zero value);
 * - `id`, `time` and `content` are strings; `from` and `to` unsigned 64-bit
 *   integers (a safe integer number, a bigint, or a decimal string);
 *   `type` and `contentType` unsigned 32-bit integer numbers.
 *
 * @throws `ERR_MESSAGE` naming the offending key.
 */
export function coerceMessage(value: unknown): TransmitMessage {
  return readMessage(value, true);
}

// The Go struct's JSON names; `users` is listed so that it is recognised and refused.
const USERS = 0;
const NAMES = ['users', 'id', 'from', 'to', 'type', 'contentType', 'time', 'content'] as const;
const FIELDS = new GoFieldNames(NAMES);
const FIELD_LIST = NAMES.slice(1).join(', ');

type Field = Exclude<(typeof NAMES)[number], 'users'>;

/**
 * The message fields of `value`. `strict` is the sender's rule (see
 * {@link coerceMessage}); otherwise keys are read as a Go hub reads a
 * document: unknown keys dropped, the last of two keys for one field winning,
 * a message with no field at all allowed.
 */
function readMessage(value: unknown, strict: boolean): TransmitMessage {
  if (!isPlainObject(value)) {
    throw messageError(`a legacy message must be a plain object with the fields ${FIELD_LIST}, got ${describe(value)}`);
  }
  const message: TransmitMessage = { id: '', from: '0', to: '0', type: 0, contentType: 0, time: '', content: '' };
  // The key each field was read from, to name both keys of a repeat.
  const keyOf: Partial<Record<Field, string>> = {};
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === undefined) continue;
    const index = FIELDS.indexOfKey(key);
    if (index < 0 || index === USERS) {
      if (!strict) continue;
      throw messageError(
        index === USERS
          ? `legacy message key ${JSON.stringify(key)}: the users go in send's first argument, not in the message`
          : `legacy message key ${JSON.stringify(key)} is not one of the fields ${FIELD_LIST}`,
      );
    }
    const field = NAMES[index] as Field;
    const earlier = keyOf[field];
    if (earlier !== undefined && strict) {
      throw messageError(`legacy message keys ${JSON.stringify(earlier)} and ${JSON.stringify(key)} both name the field ${field}`);
    }
    keyOf[field] = key;
    // As in Go, null leaves the field as it was: its zero value, unless an earlier key set it.
    if (v !== null) setField(message, field, key, v);
  }
  if (strict && Object.keys(keyOf).length === 0) {
    throw messageError(`a legacy message needs at least one of the fields ${FIELD_LIST}`);
  }
  return message;
}

function setField(message: TransmitMessage, field: Field, key: string, v: unknown): void {
  switch (field) {
    case 'id':
    case 'time':
    case 'content':
      if (typeof v !== 'string') throw messageError(`legacy message key ${JSON.stringify(key)} must be a string, got ${describe(v)}`);
      message[field] = v;
      return;
    case 'from':
    case 'to':
      message[field] = uint64(v, key);
      return;
    case 'type':
    case 'contentType':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > UINT32_MAX) {
        throw messageError(`legacy message key ${JSON.stringify(key)} must be an integer from 0 to ${UINT32_MAX}, got ${describe(v)}`);
      }
      message[field] = v;
      return;
  }
}

function uint64(v: unknown, key: string): string {
  if (typeof v === 'bigint' && v >= 0n && v <= 0xffff_ffff_ffff_ffffn) return v.toString();
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  if (typeof v === 'string' && isCanonicalUint64(v)) return v;
  throw messageError(
    `legacy message key ${JSON.stringify(key)} must be an unsigned 64-bit integer (a safe integer, a bigint or a decimal string), got ${describe(v)}`,
  );
}

/** An object literal, `Object.create(null)`, or parsed JSON: no array, Map, Date, Buffer or class instance. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  // An Object.prototype of another realm (a vm context) counts as well.
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an instance of ${(value as object).constructor?.name ?? 'an unknown class'}`;
  return typeof value;
}

function messageError(message: string): MessageError {
  return new MessageError(message);
}
