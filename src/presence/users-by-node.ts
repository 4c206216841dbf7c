import { FailureReason, RouteFlags, encodeReport, type FailedHost } from '../protocol/index.js';

/**
 * Users grouped by the node that holds them, and the users no node holds:
 * the first half of routing by user id, shared by the relay's presence
 * router and the Redis transport. `U` is whatever identifies a user to the
 * caller (an id string, or the offset of its bytes in a frame).
 */
export class UsersByNode<U> {
  readonly byNode = new Map<string, U[]>();
  readonly nowhere: U[] = [];

  /** Files `user` under each of `nodes` (one id, a list, or none: online nowhere). */
  add(user: U, nodes: string | readonly string[] | undefined): void {
    if (typeof nodes === 'string') this.push(nodes, user);
    else if (nodes === undefined || nodes.length === 0) this.nowhere.push(user);
    else for (const node of nodes) this.push(node, user);
  }

  private push(node: string, user: U): void {
    const list = this.byNode.get(node);
    if (list === undefined) this.byNode.set(node, [user]);
    else list.push(user);
  }
}

/**
 * The second half: a send's outcome, host by host, turned into the REPORT
 * its sender gets.
 */
export class ReportBuilder {
  readonly delivered: string[] = [];
  readonly failed: FailedHost[] = [];

  /** `host` took its users. */
  deliveredTo(host: string): void {
    this.delivered.push(host);
  }

  /** `host` did not take `users`, for `reason`. */
  failedAt(host: string, reason: FailureReason, users: string[]): void {
    this.failed.push({ host, reason, users });
  }

  /** `users` are online nowhere. */
  nowhere(users: string[]): void {
    if (users.length > 0) this.failed.push({ host: '', reason: FailureReason.NOWHERE, users });
  }

  /**
   * The REPORT payload the send's `flags` call for: a full report when it
   * asked for one, a failure notice when it did not and something failed,
   * otherwise nothing.
   */
  encode(seq: number, flags: number): Buffer | undefined {
    const full = (flags & RouteFlags.REPORT) !== 0;
    if (!full && this.failed.length === 0) return undefined;
    return encodeReport({ seq, full, delivered: this.delivered, failed: this.failed });
  }
}
