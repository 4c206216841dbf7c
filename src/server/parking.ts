import { FailureReason } from '../protocol/index.js';
import { usersOfFrame, type HeldDelivery } from './held-delivery.js';

interface ParkedNode {
  host: string;
  items: HeldDelivery[];
  bytes: number;
  timer: NodeJS.Timeout;
}

/**
 * Deliveries for nodes that are gone and expected back: a ONCE node whose
 * connection dropped without a goodbye (what it had not settled, and what is
 * routed to it meanwhile), and, for a relay that just started, any node not
 * connected yet (it is probably reconnecting to this fresh relay). Each
 * node's parking lasts the presence grace and holds at most `maxBytes`; what
 * is still parked then, or does not fit, is reported to its senders:
 * `offline`, or `overflow` past the bytes. A node that says goodbye is not
 * expected back: what it had not settled is reported `offline` at once.
 *
 * A restart of the relay or of a node is then a pause, not a loss.
 */
export class Parking {
  private readonly nodes = new Map<string, ParkedNode>();
  private startupUntil = 0;
  private closed = false;

  constructor(
    private readonly graceMs: number,
    private readonly maxBytes: number,
    private readonly startupGraceMs: number,
  ) {}

  /** The relay starts serving now: nodes not connected yet are expected within the startup grace. */
  begin(now = Date.now()): void {
    this.startupUntil = now + this.startupGraceMs;
  }

  /** True when deliveries for node `key` are parked. */
  has(key: string): boolean {
    return this.nodes.has(key);
  }

  /**
   * True when a delivery for node `key` (not connected) should be parked
   * rather than reported offline: the node dropped within its grace, or the
   * relay started within it.
   */
  accepts(key: string, now: number): boolean {
    return !this.closed && (this.nodes.has(key) || now < this.startupUntil);
  }

  /**
   * Node `key` (named `host` in reports) dropped: parks `items`, and starts
   * its grace even when there are none, so that what is routed to it until
   * it is back waits for it too.
   */
  park(key: string, host: string, items: HeldDelivery[]): void {
    this.entry(key, host);
    for (const item of items) this.add(key, host, item);
  }

  /** Parks one delivery; past the bytes bound it is reported `overflow` at once. */
  add(key: string, host: string, item: HeldDelivery): void {
    const node = this.entry(key, host);
    if (node.bytes + item.frame.length > this.maxBytes) {
      item.answers?.lost(item.ticket, host, FailureReason.OVERFLOW, () => usersOfFrame(item.frame));
      return;
    }
    node.items.push(item);
    node.bytes += item.frame.length;
  }

  /** `items` will not be delivered: a node that left for good (it said goodbye). */
  static giveUp(host: string, items: readonly HeldDelivery[]): void {
    for (const item of items) item.answers?.lost(item.ticket, host, FailureReason.OFFLINE, () => usersOfFrame(item.frame));
  }

  private entry(key: string, host: string): ParkedNode {
    let node = this.nodes.get(key);
    if (node === undefined) {
      const timer = setTimeout(() => this.expire(key), this.graceMs);
      timer.unref();
      node = { host, items: [], bytes: 0, timer };
      this.nodes.set(key, node);
    }
    return node;
  }

  /** Node `key` is back: its parked deliveries, in order, to be written first. */
  take(key: string): HeldDelivery[] {
    const node = this.nodes.get(key);
    if (node === undefined) return [];
    clearTimeout(node.timer);
    this.nodes.delete(key);
    return node.items;
  }

  /** The relay is closing: every parked delivery is reported offline now. */
  close(): void {
    this.closed = true;
    for (const key of [...this.nodes.keys()]) this.expire(key);
  }

  private expire(key: string): void {
    const node = this.nodes.get(key);
    if (node === undefined) return;
    clearTimeout(node.timer);
    this.nodes.delete(key);
    Parking.giveUp(node.host, node.items);
  }
}
