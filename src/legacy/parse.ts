/**
 * A decoder for the legacy transmit hub's JSON document that accepts what Go's
 * `encoding/json.Unmarshal` accepts into the hub's struct, and keeps uint64
 * values exact (as decimal strings) where `JSON.parse` would round them.
 *
 * This file maps the document onto the struct; reading JSON itself is
 * {@link JsonScanner}'s part, and matching keys to fields is `go-keys.ts`'s.
 *
 * @packageDocumentation
 */

import { ErrorCodes, ProtocolError, RelayError } from '../errors.js';
import { GoFieldNames } from './go-keys.js';
import { JsonScanner } from './json-scanner.js';
import { STR_ASCII, decodeString, scanString } from './json-string.js';
import type { TransmitMap, TransmitMessage } from './transmit-map.js';

export { LEGACY_MAX_NESTING_DEPTH } from './json-scanner.js';

// The struct's fields, numbered by their place in FIELDS. Kept local (not
// shared through an import), so that V8 folds them into the field switch.
const F_UNKNOWN = -1;
const F_USERS = 0;
const F_ID = 1;
const F_FROM = 2;
const F_TO = 3;
const F_TYPE = 4;
const F_CONTENT_TYPE = 5;
const F_TIME = 6;
const F_CONTENT = 7;
const FIELDS = new GoFieldNames(['users', 'id', 'from', 'to', 'type', 'contentType', 'time', 'content']);

/**
 * Decodes one legacy transmit document (the JSON payload of a frame, without
 * its 4-byte length prefix).
 *
 * Accepts what Go's `encoding/json.Unmarshal` accepts into the hub's struct:
 *
 * - the top level must be an object (Go would also take a bare `null` as an
 *   all-zero document; no sender writes one, so it is rejected here);
 * - known keys match exactly, or case-insensitively as Go matches them
 *   (`"ID"`, `"Users"`, `"CONTENTTYPE"`, `"uſers"` with a long s; after
 *   unescaping, so `"\u0069d"` is `id`); unknown keys are skipped whatever
 *   their (valid JSON) value;
 * - `users` is `null` or an object of host to `null` or an array of uint64;
 * - `from`, `to` and user ids are uint64, `type` and `contentType` uint32,
 *   written as plain non-negative integers (no sign, fraction or exponent);
 * - `null` for `id`, `from`, `to`, `type`, `contentType`, `time` or `content`
 *   changes nothing, so the field keeps its earlier value or its zero value;
 *   a `null` user id decodes as `"0"`, and `"host": null` as an empty list;
 * - a missing field takes its zero value (`""`, `"0"` or `0`);
 * - for a repeated key the last value wins, except that repeated `users`
 *   objects merge, host by host, as Go merges them into one map (a repeated
 *   host is replaced, `"users": null` empties the map);
 * - strings are fully unescaped; a `\u` escape of a lone surrogate, and each
 *   byte that is not part of valid UTF-8, become U+FFFD, as in Go.
 *
 * Runs in time linear in the input. On any input bytes it either returns or
 * throws a {@link RelayError} with code `ERR_PROTOCOL`.
 */
export function parseTransmitMap(payload: Uint8Array): TransmitMap {
  if (!(payload instanceof Uint8Array)) {
    throw new RelayError(ErrorCodes.INVALID_ARGUMENT, 'legacy transmit payload must be a Uint8Array');
  }
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  try {
    return readDocument(new JsonScanner(buf));
  } catch (err) {
    if (err instanceof RelayError) throw err;
    // Only reachable on resource exhaustion (a string longer than the engine
    // allows, an allocation failure): still report it as a bad payload.
    throw new ProtocolError('legacy transmit: payload could not be decoded', { cause: err });
  }
}

/** Reads the whole document: one object, and nothing after it but whitespace. */
function readDocument(s: JsonScanner): TransmitMap {
  // Zero values, for fields the document leaves out.
  const msg: TransmitMessage = { id: '', from: '0', to: '0', type: 0, contentType: 0, time: '', content: '' };
  let users = new Map<string, string[]>();

  s.ws();
  if (s.pos >= s.n) s.fail('empty payload');
  if (s.enterObject('top level must be an object')) {
    do {
      s.expectKey('expected a string key');
      const field = readField(s);
      s.colon();
      if (field === F_UNKNOWN) s.skipValue(1);
      else if (field === F_USERS) users = readUsers(s, users);
      // As in Go, null leaves any other field as it was.
      else if (!s.isNull()) {
        switch (field) {
          case F_ID:
            msg.id = s.readStringValue();
            break;
          case F_FROM:
            msg.from = s.readUint64();
            break;
          case F_TO:
            msg.to = s.readUint64();
            break;
          case F_TYPE:
            msg.type = s.readUint32();
            break;
          case F_CONTENT_TYPE:
            msg.contentType = s.readUint32();
            break;
          case F_TIME:
            msg.time = s.readStringValue();
            break;
          case F_CONTENT:
            msg.content = s.readStringValue();
            break;
        }
      }
    } while (s.moreInObject('unterminated object', "expected ',' or '}'"));
  }
  s.ws();
  if (s.pos !== s.n) s.fail('unexpected data after the document');
  return { users, message: msg };
}

/** At the opening quote of a key: reads it and returns the field it names (an `F_*` value). */
function readField(s: JsonScanner): number {
  const start = s.pos + 1;
  const end = scanString(s);
  // Keys are nearly always plain ASCII: match those without making a string.
  if (s.strKind === STR_ASCII) return FIELDS.indexOfAsciiKey(s.b, start, end);
  return FIELDS.indexOfKey(decodeString(s.b, start, end, s.strKind));
}

/**
 * Reads a `users` value. As in Go, an object adds its hosts to the hosts
 * read so far (a repeated `users` key merges, a repeated host is replaced)
 * and `null` empties the map.
 */
function readUsers(s: JsonScanner, users: Map<string, string[]>): Map<string, string[]> {
  if (s.isNull()) return new Map();
  if (s.enterObject('users must be an object or null')) {
    do {
      s.expectKey('expected a host key');
      const host = s.readString();
      s.colon();
      users.set(host, readIds(s));
    } while (s.moreInObject('unterminated users object', "expected ',' or '}' in users"));
  }
  return users;
}

/**
 * Reads one host's user ids: `null` (no ids), or an array whose items are
 * uint64 or `null` (read as `"0"`, Go's zero value).
 */
function readIds(s: JsonScanner): string[] {
  const ids: string[] = [];
  if (s.isNull()) return ids;
  if (s.enterArray('user ids must be an array or null')) {
    do {
      ids.push(s.isNull() ? '0' : s.readUint64());
    } while (s.moreInArray('unterminated user id array', "expected ',' or ']' in user ids"));
  }
  return ids;
}
