import type { PresenceStore } from './presence-store.js';
import { PresenceTable } from './presence-table.js';

/** Options of a {@link LocalPresenceStore}. */
export interface LocalPresenceOptions {
  /**
   * How long a node stays alive after its last heartbeat (or online/reset),
   * in milliseconds. Nodes should heartbeat a few times within it. Default 15000.
   */
  livenessMs?: number;
}

/**
 * A {@link PresenceStore} in this process's memory, over a
 * {@link PresenceTable}: what a single relay needs, with no other service.
 *
 * Liveness: `online`, `reset` and `heartbeat` mark the node alive for
 * `livenessMs`. A node past that bound is never reported by `locate`, and the
 * first `locate` that meets it forgets all its users at once (there is no
 * timer: a store nobody asks costs nothing). A node that comes back after
 * that must `reset` its users; a heartbeat alone does not bring them back.
 */
export class LocalPresenceStore implements PresenceStore {
  private readonly table = new PresenceTable();
  /** When each node last showed it was alive (`performance.now()`: immune to wall-clock jumps). */
  private readonly lastSeen = new Map<string, number>();
  private readonly livenessMs: number;

  constructor(options: LocalPresenceOptions = {}) {
    this.livenessMs = options.livenessMs ?? 15_000;
  }

  async online(node: string, users: readonly string[]): Promise<void> {
    this.touch(node);
    for (const user of users) this.table.online(node, user);
  }

  async offline(node: string, users: readonly string[]): Promise<void> {
    for (const user of users) this.table.offline(node, user);
  }

  async reset(node: string, users: readonly string[]): Promise<void> {
    this.touch(node);
    this.table.reset(node, users);
  }

  async locate(users: readonly string[]): Promise<Map<string, string[]>> {
    const now = performance.now();
    const located = new Map<string, string[]>();
    for (const user of users) {
      const nodes = this.table.nodesOf(user);
      const live: string[] = [];
      if (typeof nodes === 'string') {
        if (this.isAlive(nodes, now)) live.push(nodes);
      } else if (nodes !== undefined) {
        // Copy first: dropping a dead node mutates the array being walked.
        for (const node of [...nodes]) if (this.isAlive(node, now)) live.push(node);
      }
      located.set(user, live);
    }
    return located;
  }

  async heartbeat(node: string): Promise<void> {
    this.touch(node);
  }

  async leave(node: string): Promise<void> {
    this.lastSeen.delete(node);
    this.table.dropNode(node);
  }

  private touch(node: string): void {
    this.lastSeen.set(node, performance.now());
  }

  /** Whether `node` is alive; a dead node's users are forgotten on the spot. */
  private isAlive(node: string, now: number): boolean {
    const seen = this.lastSeen.get(node);
    if (seen !== undefined && now - seen <= this.livenessMs) return true;
    this.lastSeen.delete(node);
    this.table.dropNode(node);
    return false;
  }
}
