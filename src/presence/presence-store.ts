/**
 * Where presence lives when there is no relay: which nodes hold each online
 * user (a relay keeps its own table in memory; a cluster without one keeps it
 * in Redis). Node ids and user ids are strings as they travel.
 *
 * A store never reports a user on a node that is not alive: a node that stops
 * calling {@link PresenceStore.heartbeat} drops out within the store's
 * liveness bound, without anyone cleaning up by hand.
 */
export interface PresenceStore {
  /** `users` are now online on `node`. */
  online(node: string, users: readonly string[]): Promise<void>;
  /** `users` are no longer online on `node`. */
  offline(node: string, users: readonly string[]): Promise<void>;
  /** `users` are exactly the users online on `node` (after a reconnect). */
  reset(node: string, users: readonly string[]): Promise<void>;
  /** The live nodes holding each user; an empty list for a user online nowhere. */
  locate(users: readonly string[]): Promise<Map<string, string[]>>;
  /** `node` is alive: called periodically by the node itself. */
  heartbeat(node: string): Promise<void>;
  /** `node` leaves cleanly: its users are online there no more. */
  leave(node: string): Promise<void>;
}
