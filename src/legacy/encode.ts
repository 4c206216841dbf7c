/**
 * An encoder that writes the legacy transmit hub's JSON document exactly as
 * Go's `encoding/json.Marshal` writes the hub's struct.
 *
 * @packageDocumentation
 */

import { ErrorCodes, RelayError } from '../errors.js';
import { LEGACY_OFFLINE_CONTENT, LEGACY_TYPE_OFFLINE, UINT32_MAX, UINT64_MAX_DECIMAL, type TransmitMessage } from './transmit-map.js';

/** What {@link encodeTransmitMap} encodes: a message and, optionally, its routing table. */
export interface TransmitMapInput {
  /** Host to user ids (canonical uint64 decimal strings). Omitted from the output when absent or empty. */
  users?: Map<string, readonly string[]> | undefined;
  /** The message fields. */
  message: TransmitMessage;
}

/** The failed host and its users, appended to an offline notice by {@link encodeOfflineNotice}. */
export interface OfflineNoticeExtra {
  /** The host that has no connection. */
  host: string;
  /** The user ids that were addressed on that host (canonical uint64 decimal strings). */
  users: readonly string[];
  /** Why the host was not reached: `offline`, `overflow` or `refused`. */
  reason?: string;
  /** The id of the message that was not forwarded. */
  messageId?: string;
}

/**
 * True when `s` is a uint64 in canonical decimal form: digits only, no sign,
 * no leading zero (except `"0"` itself), at most 18446744073709551615.
 */
export function isCanonicalUint64(s: string): boolean {
  if (typeof s !== 'string') return false;
  const len = s.length;
  if (len === 0 || len > 20) return false;
  const c0 = s.charCodeAt(0);
  if (c0 === 0x30) return len === 1;
  if (c0 < 0x31 || c0 > 0x39) return false;
  for (let i = 1; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return len < 20 || s <= UINT64_MAX_DECIMAL;
}

// Characters Go's encoder escapes (with HTML escaping on, its default):
// control characters are exactly what these patterns are for.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029]/;
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE_ALL = /["\\\u0000-\u001f<>&\u2028\u2029]/g;
const HEX = '0123456789abcdef';

function escapeChar(ch: string): string {
  switch (ch) {
    case '"':
      return '\\"';
    case '\\':
      return '\\\\';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\u2028':
      return '\\u2028';
    case '\u2029':
      return '\\u2029';
    default: {
      // Other control characters, < > and &. \b and \f come out as \u0008 and
      // \u000c, as Go wrote them up to Go 1.21 (Go 1.22 and later write \b and
      // \f; every JSON decoder reads both forms the same).
      const c = ch.charCodeAt(0);
      return '\\u00' + HEX[c >> 4]! + HEX[c & 0xf]!;
    }
  }
}

/**
 * The body of a JSON string literal for `s`, as Go writes it: `"` and `\`
 * backslash-escaped, `\n` `\r` `\t` as such, other control characters as
 * `\u00XX` (so `\b` and `\f` as `\u0008` and `\u000c`), `<` `>` `&` as
 * `\u003c` `\u003e` `\u0026`, U+2028 and U+2029 as `\u2028` `\u2029`, the rest
 * raw. A lone surrogate is left for the UTF-8 writer, which writes U+FFFD.
 */
function escapeBody(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(NEEDS_ESCAPE_ALL, escapeChar) : s;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const ANY_SURROGATE = /[\ud800-\udfff]/;

/** `s` with each lone surrogate replaced by U+FFFD. */
function wellFormed(s: string): string {
  return ANY_SURROGATE.test(s) ? s.replace(LONE_SURROGATE, '\ufffd') : s;
}

/**
 * Orders strings by code point, which is the byte order of their UTF-8 forms
 * (Go sorts map keys by bytes). Plain `<` compares UTF-16 code units, which
 * puts U+E000..U+FFFF after the supplementary planes.
 */
function compareCodePoints(a: string, b: string): number {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca >= 0xd800 && cb >= 0xd800) {
      // Surrogates (supplementary planes) sort after U+E000..U+FFFF.
      ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
      cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
    }
    return ca - cb;
  }
  return a.length - b.length;
}

function messageError(what: string): RelayError {
  return new RelayError(ErrorCodes.MESSAGE, `legacy transmit: ${what}`);
}

function checkUint64(value: unknown, what: string): string {
  if (typeof value !== 'string' || !isCanonicalUint64(value)) {
    throw messageError(`${what} must be a canonical uint64 decimal string, got ${describe(value)}`);
  }
  return value;
}

function checkUint32(value: unknown, what: string): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
    throw messageError(`${what} must be an integer from 0 to ${UINT32_MAX}, got ${describe(value)}`);
  }
  return String(value);
}

function checkString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw messageError(`${what} must be a string, got ${describe(value)}`);
  return escapeBody(value);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return value === null ? 'null' : typeof value;
}

/** Writes an ASCII string byte by byte (faster than a native call for short strings). */
function writeAscii(buf: Buffer, o: number, s: string): number {
  const len = s.length;
  for (let i = 0; i < len; i++) buf[o + i] = s.charCodeAt(i);
  return o + len;
}

/** Writes a string body: byte by byte when short and ASCII, else through the UTF-8 writer. */
function writeBody(buf: Buffer, o: number, s: string, byteLength: number): number {
  if (byteLength === s.length && byteLength <= 32) return writeAscii(buf, o, s);
  return o + buf.write(s, o, byteLength, 'utf8');
}

/** Writes `"id1,id2,..."` (already checked) and returns the new offset. */
function writeIds(buf: Buffer, o: number, ids: readonly string[]): number {
  for (let k = 0; k < ids.length; k++) {
    if (k > 0) buf[o++] = 0x2c;
    o = writeAscii(buf, o, ids[k]!);
  }
  return o;
}

/**
 * Checks every id and returns the bytes they take joined by commas. `where`
 * names the list in an error message.
 */
function idsLength(ids: unknown, where: string | undefined): number {
  if (!Array.isArray(ids)) throw messageError(`${listName(where)} must be an array of user ids`);
  let len = ids.length > 0 ? ids.length - 1 : 0;
  for (let k = 0; k < ids.length; k++) {
    const id: unknown = ids[k];
    if (typeof id !== 'string' || !isCanonicalUint64(id)) {
      throw messageError(`${listName(where)}[${k}] must be a canonical uint64 decimal string, got ${describe(id)}`);
    }
    len += id.length;
  }
  return len;
}

function listName(host: string | undefined): string {
  return host === undefined ? 'offlineUsers' : `users[${describe(host)}]`;
}

interface HostEntry {
  key: string; // escaped body of the host string
  keyBytes: number;
  ids: readonly string[];
  sortKey: string;
}

const USERS_OPEN = '{"users":{';
const ID_OPEN_AFTER_USERS = '},"id":"';
const ID_OPEN = '{"id":"';
const FROM_OPEN = '","from":';
const TO_OPEN = ',"to":';
const TYPE_OPEN = ',"type":';
const CONTENT_TYPE_OPEN = ',"contentType":';
const TIME_OPEN = ',"time":"';
const CONTENT_OPEN = '","content":"';
const CLOSE = '"}';
const FIXED_BYTES =
  FROM_OPEN.length + TO_OPEN.length + TYPE_OPEN.length + CONTENT_TYPE_OPEN.length + TIME_OPEN.length + CONTENT_OPEN.length + CLOSE.length;

/**
 * Encodes a legacy transmit document to the exact bytes Go's
 * `encoding/json.Marshal` produces for the hub's struct: fields in the order
 * `users` (left out when absent or empty), `id`, `from`, `to`, `type`,
 * `contentType`, `time`, `content`; hosts sorted by the bytes of their UTF-8
 * form; each host's user ids in the given order; strings escaped as Go escapes
 * them. A lone surrogate in a string is written as U+FFFD. A host with no ids
 * is written as `[]` (Go writes `null` for a nil list, which only a received
 * `"host": null` produces; decoders read both as empty).
 *
 * Returns the JSON payload only, without a frame's length prefix.
 *
 * Throws a {@link RelayError} with code `ERR_MESSAGE` when `from`, `to` or a
 * user id is not a canonical uint64 decimal string, `type` or `contentType`
 * is not a uint32, a string field is not a string, or two hosts become the
 * same string once lone surrogates are replaced.
 */
export function encodeTransmitMap(doc: TransmitMapInput): Buffer {
  if (typeof doc !== 'object' || doc === null || typeof doc.message !== 'object' || doc.message === null) {
    throw messageError('document must be an object with a message');
  }
  const m = doc.message;
  const id = checkString(m.id, 'id');
  const from = checkUint64(m.from, 'from');
  const to = checkUint64(m.to, 'to');
  const type = checkUint32(m.type, 'type');
  const contentType = checkUint32(m.contentType, 'contentType');
  const time = checkString(m.time, 'time');
  const content = checkString(m.content, 'content');

  const idBytes = Buffer.byteLength(id, 'utf8');
  const timeBytes = Buffer.byteLength(time, 'utf8');
  const contentBytes = Buffer.byteLength(content, 'utf8');
  let size = FIXED_BYTES + idBytes + from.length + to.length + type.length + contentType.length + timeBytes + contentBytes;

  const hosts = collectHosts(doc.users);
  if (hosts === undefined) {
    size += ID_OPEN.length;
  } else {
    size += USERS_OPEN.length + ID_OPEN_AFTER_USERS.length + hosts.length - 1;
    for (const h of hosts) size += h.keyBytes + 5 + idsLength(h.ids, h.sortKey); // "k":[...]
  }

  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  if (hosts === undefined) {
    o = writeAscii(buf, o, ID_OPEN);
  } else {
    o = writeAscii(buf, o, USERS_OPEN);
    for (let k = 0; k < hosts.length; k++) {
      const h = hosts[k]!;
      if (k > 0) buf[o++] = 0x2c;
      buf[o++] = 0x22;
      o = writeBody(buf, o, h.key, h.keyBytes);
      buf[o++] = 0x22;
      buf[o++] = 0x3a;
      buf[o++] = 0x5b;
      o = writeIds(buf, o, h.ids);
      buf[o++] = 0x5d;
    }
    o = writeAscii(buf, o, ID_OPEN_AFTER_USERS);
  }
  o = writeBody(buf, o, id, idBytes);
  o = writeAscii(buf, o, FROM_OPEN);
  o = writeAscii(buf, o, from);
  o = writeAscii(buf, o, TO_OPEN);
  o = writeAscii(buf, o, to);
  o = writeAscii(buf, o, TYPE_OPEN);
  o = writeAscii(buf, o, type);
  o = writeAscii(buf, o, CONTENT_TYPE_OPEN);
  o = writeAscii(buf, o, contentType);
  o = writeAscii(buf, o, TIME_OPEN);
  o = writeBody(buf, o, time, timeBytes);
  o = writeAscii(buf, o, CONTENT_OPEN);
  o = writeBody(buf, o, content, contentBytes);
  o = writeAscii(buf, o, CLOSE);
  return buf;
}

/** The hosts of a users map, escaped and sorted, or undefined when there are none. */
function collectHosts(users: TransmitMapInput['users']): HostEntry[] | undefined {
  if (users === undefined || users === null) return undefined;
  if (!(users instanceof Map)) throw messageError('users must be a Map');
  if (users.size === 0) return undefined;
  const hosts: HostEntry[] = [];
  let replaced = false;
  for (const [host, ids] of users) {
    if (typeof host !== 'string') throw messageError(`users key must be a string, got ${describe(host)}`);
    const sortKey = wellFormed(host);
    if (sortKey !== host) replaced = true;
    const key = escapeBody(sortKey);
    hosts.push({ key, keyBytes: Buffer.byteLength(key, 'utf8'), ids, sortKey });
  }
  if (hosts.length > 1) {
    hosts.sort((a, b) => compareCodePoints(a.sortKey, b.sortKey));
    if (replaced) {
      for (let k = 1; k < hosts.length; k++) {
        if (hosts[k]!.sortKey === hosts[k - 1]!.sortKey) {
          throw messageError(`two users hosts are the same once lone surrogates are replaced: ${describe(hosts[k]!.sortKey)}`);
        }
      }
    }
  }
  return hosts;
}

const OFFLINE_NOTICE = Buffer.from(
  `{"id":"","from":0,"to":0,"type":${LEGACY_TYPE_OFFLINE},"contentType":0,"time":"","content":"${LEGACY_OFFLINE_CONTENT}"}`,
  'utf8',
);
/**
 * The notice a Go hub sends back to a sender for each host in `users` that
 * has no connection:
 * `{"id":"","from":0,"to":0,"type":100,"contentType":0,"time":"","content":"客户端离线"}`.
 *
 * With `extra`, the same document with more fields after `content`, which a Go
 * decoder ignores and an imrelay client reads to tell which users were not
 * reached: `"host":"<host>","offlineUsers":[<ids>]`, then `"reason":"<why>"`
 * and `"msgId":"<id of the message>"` when given.
 *
 * Throws a {@link RelayError} with code `ERR_MESSAGE` when `extra` holds a user
 * id that is not a canonical uint64 decimal string.
 */
export function encodeOfflineNotice(extra?: OfflineNoticeExtra): Buffer {
  if (extra === undefined) {
    const out = Buffer.allocUnsafe(OFFLINE_NOTICE.length);
    OFFLINE_NOTICE.copy(out, 0);
    return out;
  }
  if (typeof extra !== 'object' || extra === null) throw messageError('offline notice extra must be an object');
  idsLength(extra.users, undefined);
  let tail = `,"host":${goString(checkString(extra.host, 'host'))},"offlineUsers":[${extra.users.join(',')}]`;
  if (extra.reason !== undefined) tail += `,"reason":${goString(checkString(extra.reason, 'reason'))}`;
  if (extra.messageId !== undefined) tail += `,"msgId":${goString(checkString(extra.messageId, 'messageId'))}`;
  return Buffer.concat([OFFLINE_NOTICE.subarray(0, OFFLINE_NOTICE.length - 1), Buffer.from(`${tail}}`, 'utf8')]);
}

/**
 * The notice a legacy node gets before the relay closes its connection for
 * bad input: a type-100 document (which a Go node treats as "forwarding
 * failed") whose `content` says what was wrong, plus an `error` field with
 * the code.
 */
export function encodeLegacyError(code: string, message: string): Buffer {
  return Buffer.from(
    `{"id":"","from":0,"to":0,"type":${LEGACY_TYPE_OFFLINE},"contentType":0,"time":"",` +
      `"content":${goString(checkString(message, 'message'))},"error":${goString(checkString(code, 'code'))}}`,
    'utf8',
  );
}

/** A quoted, escaped JSON string; `checkString` has already escaped `body`. */
function goString(body: string): string {
  return `"${wellFormed(body)}"`;
}
