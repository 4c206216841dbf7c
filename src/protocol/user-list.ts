import { InvalidArgumentError, ProtocolError } from '../errors.js';
import { getU32LE } from '../codec/get-u32.js';
import { utf8Text } from '../codec/text.js';
import { idBound, putId } from './id-writer.js';
import type { Scratch } from './scratch.js';
import { WrittenIds, dropRepeats } from './unique-ids.js';
import { userIdToString, type UserId } from './user-id.js';

// Held here rather than looked up on String.prototype per call: see charCodeAt in id-writer.ts.
const charCodeAt = String.prototype.charCodeAt;
const substring = String.prototype.substring;

/**
 * Reads a user list (a 4-byte count, then one-byte-length ids) starting at
 * `start`, bounded by `limit` (the frame's end). Bounds are checked; ids are
 * decoded as UTF-8, and each comes out once, at its first place, whoever
 * wrote the list. For readers off the hot path (reports, presence, the
 * Redis transport, translation to legacy nodes).
 */
export function readUserList(p: Buffer, start: number, limit = p.length): string[] {
  return dropRepeats(decodeUserList(p, start, skipUserList(p, start, limit)));
}

/**
 * Decodes the user list at `[start, end)`, which {@link skipUserList} has
 * already validated (it returned `end`), as it was written. This is the
 * delivery hot path: it does not look for repeats, because imrelay's writers
 * never write one ({@link writeUserList}, the ROUTE writer, `encodeDeliver`);
 * checking again here would cost a quarter of the decode.
 */
export function decodeUserList(p: Buffer, start: number, end: number): string[] {
  const count = getU32LE(p, start);
  const first = start + 4;
  const users = new Array<string>(count);
  // One decode for the whole list, then substrings: a decode per id costs
  // more than the ids themselves. When the text has one UTF-16 unit per
  // byte, every byte stood alone (ASCII, or an invalid byte that a per-id
  // decode would turn into U+FFFD just the same), so the substrings are
  // exactly the ids, as long as every length byte came through as itself.
  const text = utf8Text(p, first, end);
  if (text.length === end - first) {
    let at = 0;
    let i = 0;
    for (; i < count; i++) {
      const n = charCodeAt.call(text, at);
      if (n >= 0x80) break;
      users[i] = substring.call(text, at + 1, at + 1 + n);
      at += 1 + n;
    }
    if (i === count) return users;
  }
  let pos = first;
  for (let i = 0; i < count; i++) {
    const n = p[pos]!;
    users[i] = utf8Text(p, pos + 1, pos + 1 + n);
    pos += 1 + n;
  }
  return users;
}

/** The offset just past the user list that starts at `start` (validated against `limit`, the frame's end). */
export function skipUserList(p: Buffer, start: number, limit = p.length): number {
  if (start + 4 > limit) throw new ProtocolError('user list truncated');
  const count = getU32LE(p, start);
  let pos = start + 4;
  if (count * 2 > limit - pos) throw new ProtocolError('user count exceeds the frame');
  for (let i = 0; i < count; i++) {
    if (pos >= limit) throw new ProtocolError('user list truncated');
    const n = p[pos]!;
    if (n === 0) throw new ProtocolError('empty user id');
    pos += 1 + n;
  }
  if (pos > limit) throw new ProtocolError('user list truncated');
  return pos;
}

// Writing is synchronous, so one table serves every list in turn.
const writtenIds = new WrittenIds();

/**
 * Writes a user list (a 4-byte count, then one-byte-length ids) at `pos` of
 * `scratch`, growing it as needed, and returns where it ends. A user named
 * twice (`[42, '42']`) is written once, at its first place, so no node hands
 * the message to one user twice.
 *
 * @throws `ERR_INVALID_ARGUMENT` when `users` is not an array or holds an id
 *   that cannot be carried (see {@link userIdToString}; at most 255 bytes).
 */
export function writeUserList(scratch: Scratch, pos: number, users: readonly UserId[]): number {
  if (!Array.isArray(users)) throw new InvalidArgumentError('users must be an array');
  const n = users.length;
  scratch.ensure(pos, 4);
  const countAt = pos;
  pos += 4;
  if (n > 1) writtenIds.reset(n);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const user = users[i]!;
    scratch.ensure(pos, idBound(user, 'user id'));
    const end = putId(scratch.buf, pos, typeof user === 'string' ? user : userIdToString(user), 'user id');
    // A repeat is left where it is: the next id is written over it.
    if (n > 1 && writtenIds.repeats(scratch.buf, pos, end)) continue;
    pos = end;
    kept++;
  }
  scratch.buf.writeUInt32LE(kept, countAt);
  return pos;
}
