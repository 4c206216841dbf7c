import { HostIndex } from './host-index.js';
import type { RouteTargets } from './route-endpoints.js';
import type { Session } from './session.js';

/**
 * The nodes the relay routes to, by node id: looked up by key string (the
 * id's bytes read as latin1) on slow paths, and by the raw bytes of a frame on
 * the routing hot path.
 */
export class Registry implements RouteTargets<Session> {
  private readonly byKey = new Map<string, Session>();
  private readonly index = new HostIndex<Session>();

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): Session | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** The session whose node id is exactly `bytes[start, end)`. */
  find(bytes: Uint8Array, start: number, end: number): Session | undefined {
    return this.index.find(bytes, start, end);
  }

  values(): IterableIterator<Session> {
    return this.byKey.values();
  }

  /** Adds `session` under its key; the caller has removed any session holding it. */
  add(session: Session): void {
    this.byKey.set(session.key, session);
    this.index.add(session);
  }

  /** Removes `session` if it is the one registered under its key. */
  remove(session: Session): void {
    if (this.byKey.get(session.key) !== session) return;
    this.byKey.delete(session.key);
    this.index.delete(session);
  }
}
