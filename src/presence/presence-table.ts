/**
 * Which nodes hold each online user, and which users each node holds.
 *
 * A user may be online on several nodes at once (phone and laptop). Most are
 * on one, so a user maps to a single node key and only grows to an array for
 * the second node: memory grows with online users, not with traffic.
 *
 * Keys are opaque strings chosen by the caller (the relay uses the ids' bytes
 * read as latin1, so they come straight off the wire without UTF-8 decoding).
 */
export class PresenceTable {
  private readonly userNodes = new Map<string, string | string[]>();
  private readonly nodeUsers = new Map<string, Set<string>>();

  /** Users online somewhere. */
  get userCount(): number {
    return this.userNodes.size;
  }

  /** Nodes that hold at least one user. */
  get nodeCount(): number {
    return this.nodeUsers.size;
  }

  /** Marks `user` as online on `node`. Idempotent. */
  online(node: string, user: string): void {
    let users = this.nodeUsers.get(node);
    if (users === undefined) this.nodeUsers.set(node, (users = new Set()));
    if (users.has(user)) return;
    users.add(user);
    const current = this.userNodes.get(user);
    if (current === undefined) this.userNodes.set(user, node);
    else if (typeof current === 'string') this.userNodes.set(user, [current, node]);
    else current.push(node);
  }

  /** Marks `user` as no longer online on `node`. Idempotent. */
  offline(node: string, user: string): void {
    const users = this.nodeUsers.get(node);
    if (users === undefined || !users.delete(user)) return;
    if (users.size === 0) this.nodeUsers.delete(node);
    this.unlink(user, node);
  }

  /** Makes `users` exactly the users online on `node` (after a reconnect). */
  reset(node: string, users: Iterable<string>): void {
    const next = new Set(users);
    const previous = this.nodeUsers.get(node);
    if (previous !== undefined) for (const user of previous) if (!next.has(user)) this.offline(node, user);
    for (const user of next) this.online(node, user);
  }

  /** Forgets every user of `node` (it left, or its grace period passed). */
  dropNode(node: string): void {
    const users = this.nodeUsers.get(node);
    if (users === undefined) return;
    this.nodeUsers.delete(node);
    for (const user of users) this.unlink(user, node);
  }

  /** The node(s) holding `user`: one key, several, or `undefined` when online nowhere. */
  nodesOf(user: string): string | readonly string[] | undefined {
    return this.userNodes.get(user);
  }

  /** The users online on `node`. */
  usersOf(node: string): ReadonlySet<string> | undefined {
    return this.nodeUsers.get(node);
  }

  private unlink(user: string, node: string): void {
    const current = this.userNodes.get(user);
    if (current === undefined) return;
    if (typeof current === 'string') {
      if (current === node) this.userNodes.delete(user);
      return;
    }
    const i = current.indexOf(node);
    if (i >= 0) current.splice(i, 1);
    if (current.length === 1) this.userNodes.set(user, current[0]!);
  }
}
