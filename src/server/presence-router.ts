import { LimitError } from '../errors.js';
import { PresenceTable } from '../presence/presence-table.js';
import { PresenceOp, decodeLocate, decodePresence } from '../protocol/index.js';
import { locateAnswer } from './locate-answer.js';
import type { ResolvedServerOptions } from './options.js';
import type { Registry } from './registry.js';
import type { Session } from './session.js';
import { forEachUser } from './user-list-walk.js';

/**
 * Presence kept by the relay: which nodes hold each user, fed by the nodes'
 * PRESENCE frames, and LOCATE answered from it (SEND_USERS routes by it: see
 * `UsersRouter`).
 *
 * When a node drops, its users stay located there for a grace period, so a
 * quick reconnect does not make them flicker offline; the reconnected node
 * re-announces its users (RESET). If it does not come back in time, its users
 * are forgotten: presence never goes stale because a node crashed.
 */
export class PresenceRouter {
  readonly table = new PresenceTable();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  /** The users of RESET_PART frames, by node, until the RESET that completes them. */
  private readonly resetParts = new Map<string, string[]>();

  private readonly maxOutboundBytes: number;
  private readonly graceMs: number;
  private readonly maxUsersPerNode: number;
  private readonly maxLocateIds: number;

  constructor(
    private readonly registry: Registry,
    options: ResolvedServerOptions,
  ) {
    this.maxOutboundBytes = options.maxOutboundBytes;
    this.graceMs = options.presenceGraceMs;
    this.maxUsersPerNode = options.maxUsersPerNode;
    this.maxLocateIds = options.maxLocateIds;
  }

  /**
   * Applies a PRESENCE frame from `node`. Throws `ERR_LIMIT` when the node
   * would hold more than `maxUsersPerNode` users, or a reset in progress
   * would gather more: the node is closed, and holds no more than the limit.
   */
  presence(node: Session, p: Buffer): void {
    const { op, usersStart } = decodePresence(p);
    const count = p.readUInt32LE(usersStart);
    const limit = this.maxUsersPerNode;
    if (op === PresenceOp.RESET_PART || op === PresenceOp.RESET) {
      const parts = this.resetParts.get(node.key);
      if ((parts?.length ?? 0) + count > limit) {
        this.resetParts.delete(node.key);
        throw new LimitError(`a presence reset of more than ${limit} users: the relay's maxUsersPerNode`);
      }
      const users = userKeys(p, usersStart);
      if (parts !== undefined) for (const user of users) parts.push(user);
      if (op === PresenceOp.RESET_PART) {
        if (parts === undefined) this.resetParts.set(node.key, users);
        return;
      }
      this.resetParts.delete(node.key);
      this.table.reset(node.key, parts ?? users);
    } else if (op === PresenceOp.ONLINE) {
      // Checked per user only near the limit: users online already do not count again.
      const checked = (this.table.usersOf(node.key)?.size ?? 0) + count > limit;
      forEachUser(p, usersStart, (start, end) => {
        const user = p.toString('latin1', start, end);
        if (checked) {
          const held = this.table.usersOf(node.key);
          if (held !== undefined && held.size >= limit && !held.has(user)) {
            throw new LimitError(`more than ${limit} users online on one node: the relay's maxUsersPerNode`);
          }
        }
        this.table.online(node.key, user);
      });
    } else forEachUser(p, usersStart, (start, end) => this.table.offline(node.key, p.toString('latin1', start, end)));
  }

  /** A node (re)joined: its users, if any are still held, are its again. */
  nodeUp(key: string): void {
    this.resetParts.delete(key);
    const timer = this.graceTimers.get(key);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.graceTimers.delete(key);
    }
  }

  /** A node left: forget its users unless it comes back within the grace period. */
  nodeDown(key: string): void {
    // A RESET cut short by the drop is void: the next connection sends its own.
    this.resetParts.delete(key);
    if (this.table.usersOf(key) === undefined || this.graceTimers.has(key)) return;
    const timer = setTimeout(() => {
      this.graceTimers.delete(key);
      if (!this.registry.has(key)) this.table.dropNode(key);
    }, this.graceMs);
    timer.unref();
    this.graceTimers.set(key, timer);
  }

  /** Stops every grace timer (the relay is closing). */
  close(): void {
    for (const timer of this.graceTimers.values()) clearTimeout(timer);
    this.graceTimers.clear();
    this.resetParts.clear();
  }

  /**
   * Answers a LOCATE frame with the nodes of each user asked about, in
   * frames no larger than the asker's limit, and in all no larger than
   * `maxOutboundBytes` (see {@link locateAnswer}).
   * Throws `ERR_LIMIT` for more than `maxLocateIds` ids, before decoding any.
   */
  locate(sender: Session, p: Buffer): void {
    if (p.length >= 9 && p.readUInt32LE(5) > this.maxLocateIds) {
      throw new LimitError(`a locate of ${p.readUInt32LE(5)} ids: the relay's maxLocateIds is ${this.maxLocateIds}`);
    }
    const { seq, users } = decodeLocate(p);
    for (const frame of locateAnswer(this.table, seq, users, sender.maxFrameBytes, sender.readsLocateParts, this.maxOutboundBytes))
      sender.writer.appendFrame(frame);
    sender.touch();
  }
}

function userKeys(p: Buffer, usersStart: number): string[] {
  const keys: string[] = [];
  forEachUser(p, usersStart, (start, end) => keys.push(p.toString('latin1', start, end)));
  return keys;
}
