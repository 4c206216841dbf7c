import { Parking } from '../server/parking.js';

/**
 * A relay's parking (see `Parking`), for the peers of one mesh node: what
 * is routed to a peer that dropped waits for it through the presence
 * grace, and, while this node starts, what is routed to a peer it knows of
 * and has not linked yet. A node it has never heard of is offline at once.
 */
export class MeshParking extends Parking {
  constructor(
    graceMs: number,
    maxBytes: number,
    /** True for the key of a peer this node knows (from its map or discovery). */
    private readonly known: (key: string) => boolean,
  ) {
    super(graceMs, maxBytes, graceMs);
  }

  override accepts(key: string, now: number): boolean {
    return super.accepts(key, now) && (this.has(key) || this.known(key));
  }
}
