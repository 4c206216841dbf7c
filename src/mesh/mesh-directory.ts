import { LimitError } from '../errors.js';
import { PresenceTable } from '../presence/presence-table.js';
import { PresenceOp, decodePresence, encodePresence } from '../protocol/index.js';
import { forEachUser } from '../server/user-list-walk.js';

/**
 * Bytes of ids per RESET_PART: a quarter of the peer's frame limit, and at
 * least two of the longest ids (a peer's limit is 1 KiB at the least).
 */
function partBytes(maxFrameBytes: number): number {
  return Math.max(2 * (1 + 255), Math.floor(maxFrameBytes / 4));
}

/**
 * The cluster's presence as this node knows it, without a hub: its own
 * users (from its application) and each peer's (from the PRESENCE frames
 * the peer sends on their link). Keys are ids' UTF-8 bytes read as latin1,
 * as on a relay.
 *
 * Memory is bounded per peer (`maxUsersPerNode`, its reset in progress
 * included): a peer announcing more is cut off with `ERR_LIMIT`.
 */
export class MeshDirectory {
  readonly table = new PresenceTable();
  private readonly resets = new Map<string, string[]>();

  constructor(
    private readonly selfKey: string,
    private readonly maxUsersPerNode: number,
  ) {}

  /**
   * Applies a PRESENCE frame (validated here) from node `key`: this node's
   * application, or a peer. Throws `ERR_PROTOCOL` for a malformed frame,
   * `ERR_LIMIT` past the bound.
   */
  apply(key: string, frame: Buffer): void {
    const { op, usersStart } = decodePresence(frame);
    const table = this.table;
    if (op === PresenceOp.ONLINE) {
      const had = table.usersOf(key)?.size ?? 0;
      if (had + frame.readUInt32LE(usersStart) > this.maxUsersPerNode && key !== this.selfKey) this.tooMany(key);
      forEachUser(frame, usersStart, (start, end) => table.online(key, frame.toString('latin1', start, end)));
      return;
    }
    if (op === PresenceOp.OFFLINE) {
      forEachUser(frame, usersStart, (start, end) => table.offline(key, frame.toString('latin1', start, end)));
      return;
    }
    const parts = this.resets.get(key) ?? [];
    if (parts.length + frame.readUInt32LE(usersStart) > this.maxUsersPerNode && key !== this.selfKey) {
      this.resets.delete(key);
      this.tooMany(key);
    }
    forEachUser(frame, usersStart, (start, end) => parts.push(frame.toString('latin1', start, end)));
    if (op === PresenceOp.RESET_PART) {
      this.resets.set(key, parts);
      return;
    }
    this.resets.delete(key);
    table.reset(key, parts);
  }

  /** Node `key`'s users are gone (it left, or did not come back within its grace). */
  drop(key: string): void {
    this.resets.delete(key);
    this.table.dropNode(key);
  }

  /**
   * This node's whole set as PRESENCE frames for a peer that just linked:
   * RESET_PARTs that each fit `maxFrameBytes`, then the RESET that ends it.
   */
  ownSet(maxFrameBytes: number): Buffer[] {
    const frames: Buffer[] = [];
    let batch: string[] = [];
    let bytes = 0;
    const limit = partBytes(maxFrameBytes);
    for (const key of this.table.usersOf(this.selfKey) ?? []) {
      const user = Buffer.from(key, 'latin1').toString('utf8');
      batch.push(user);
      bytes += 1 + key.length;
      if (bytes >= limit) {
        frames.push(encodePresence(PresenceOp.RESET_PART, batch));
        batch = [];
        bytes = 0;
      }
    }
    frames.push(encodePresence(PresenceOp.RESET, batch));
    return frames;
  }

  private tooMany(key: string): never {
    throw new LimitError(`node ${Buffer.from(key, 'latin1').toString('utf8')} announced more than ${this.maxUsersPerNode} users`);
  }
}
