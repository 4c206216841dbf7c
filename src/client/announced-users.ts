import type { FrameWriter } from '../codec/frame-writer.js';
import { ErrorCodes, RelayError } from '../errors.js';
import { MAX_ID_BYTES, PresenceOp, encodePresence, userIdToString, type UserId } from '../protocol/index.js';

/**
 * The users a node announced as online, kept so that they can be
 * re-announced (RESET) after every reconnect, and the PRESENCE frames that
 * tell the relay.
 */
export class AnnouncedUsers {
  private readonly users = new Set<string>();
  /** True once the node announced anyone (or anyone left). */
  used = false;

  /** Users announced as online now. */
  get size(): number {
    return this.users.size;
  }

  /**
   * Applies ONLINE or OFFLINE to the set and returns the ids as they travel.
   * Throws `ERR_INVALID_ARGUMENT`, changing nothing, when an id is invalid: a
   * bad id must not end up in every later RESET.
   */
  apply(op: typeof PresenceOp.ONLINE | typeof PresenceOp.OFFLINE, userIds: readonly UserId[]): string[] {
    const users = userIds.map(userIdToString);
    for (const user of users) checkIdBytes(user);
    for (const user of users) {
      if (op === PresenceOp.ONLINE) this.users.add(user);
      else this.users.delete(user);
    }
    this.used = true;
    return users;
  }

  /** Appends the RESET that makes the relay's view of this node exactly this set. */
  writeReset(writer: FrameWriter, maxFrameBytes: number): void {
    writePresence(writer, PresenceOp.RESET, [...this.users], maxFrameBytes);
  }
}

/**
 * Appends PRESENCE frames for `users`: one, unless the list does not fit the
 * relay's frame limit; then several, a RESET's first ones as RESET_PART so
 * the relay applies the whole set at once.
 */
export function writePresence(writer: FrameWriter, op: PresenceOp, users: readonly string[], maxFrameBytes: number): void {
  // Type, operation and user count come before the ids.
  const room = maxFrameBytes - 6;
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < users.length; i++) {
    const size = 1 + Buffer.byteLength(users[i]!, 'utf8');
    if (bytes + size > room && i > start) {
      writer.appendFrame(encodePresence(op === PresenceOp.RESET ? PresenceOp.RESET_PART : op, users.slice(start, i)));
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  writer.appendFrame(encodePresence(op, start === 0 ? users : users.slice(start)));
}

function checkIdBytes(user: string): void {
  // Up to 3 UTF-8 bytes per UTF-16 unit: short ids need no counting.
  if (user.length * 3 <= MAX_ID_BYTES) return;
  const bytes = Buffer.byteLength(user, 'utf8');
  if (bytes > MAX_ID_BYTES) {
    throw new RelayError(ErrorCodes.INVALID_ARGUMENT, `a user id is at most ${MAX_ID_BYTES} UTF-8 bytes, got ${bytes}`);
  }
}
