import type { FrameWriter } from '../codec/frame-writer.js';
import { ProtocolError } from '../errors.js';
import { serialAfter, writeConsumed } from '../protocol/consumed.js';

/** No number (serial numbers use all 32 bits). */
const NONE = -1;

/**
 * The node's side of one effectively-once connection's delivery numbers
 * (see `CONSUMED` in docs/protocol.md). Every DELIVER on the connection is
 * numbered from 1 in arrival order (u32, wrapping); the node tells the relay
 * how far its application got:
 *
 * - `taken`: every delivery through it was taken by the application (a
 *   repeat counts as taken in its place in the order);
 * - `settled`: every delivery through it is taken or, past `taken`, was
 *   dropped unseen after an EXPIRE; never less than `taken`;
 * - the window: the relay may write through `settled + window`.
 *
 * The relay reads each delivery's fate from the first CONSUMED whose
 * `settled` covers it: taken when it is at most that frame's `taken`. So
 * once deliveries dropped after an EXPIRE are settled, `taken` may pass
 * them when the application takes the next one.
 *
 * Pure bookkeeping: the queue says what is pending, this says what to send.
 */
export class DeliveryWindow {
  /** The number of the last DELIVER on this connection. */
  received = 0;
  taken = 0;
  settled = 0;
  /** True when a CONSUMED is owed: the numbers moved, or an EXPIRE wants its answer. */
  private owed = false;
  /** True when the one owed should not wait for other output to ride with (see {@link pressing}). */
  private urgent = false;
  /** `settled` as the last CONSUMED written said it. */
  private sentSettled = 0;

  constructor(
    /** Deliveries the relay may write beyond `settled`: the client's `deliveryHighWaterMark`. */
    readonly size: number,
  ) {}

  /** True when a CONSUMED is owed. */
  get due(): boolean {
    return this.owed;
  }

  /**
   * True when the CONSUMED owed should go now rather than wait a moment for
   * other output to carry it: it is the first on the connection, answers an
   * EXPIRE, or the relay is half way through the window the last one granted
   * (waiting longer could stall its writes to this node).
   */
  get pressing(): boolean {
    return this.owed && this.urgent;
  }

  /** The CONSUMED owed, if any, should go at once (the client is closing). */
  hurry(): void {
    if (this.owed) this.urgent = true;
  }

  /** A new connection: numbers start again at 1, and the first CONSUMED (0, 0, window) is owed at once. */
  reset(): void {
    this.received = 0;
    this.taken = 0;
    this.settled = 0;
    this.sentSettled = 0;
    this.owed = true;
    this.urgent = true;
  }

  /**
   * Numbers the DELIVER that just arrived. Throws `ERR_PROTOCOL` when it lies
   * past the window the node granted: a relay that does not keep to the
   * window would make the node's memory unbounded.
   */
  number(): number {
    const n = (this.received + 1) >>> 0;
    if (serialAfter(n, (this.settled + this.size) >>> 0)) {
      throw new ProtocolError(`delivery ${n} is past the window (settled ${this.settled}, window ${this.size})`);
    }
    this.received = n;
    return n;
  }

  /**
   * The queue changed: `lowestPending` is the number of the first delivery
   * the application has not taken (-1: none). Moves `taken` (and `settled`
   * with it) past everything before it; returns true when they moved.
   */
  advance(lowestPending: number): boolean {
    const candidate = lowestPending === NONE ? this.received : (lowestPending - 1) >>> 0;
    // At or behind settled: nothing new (past an EXPIRE's gap, taken waits
    // for the application to take a delivery beyond it).
    if (!serialAfter(candidate, this.settled)) return false;
    this.taken = candidate;
    this.settled = candidate;
    this.owed = true;
    if ((candidate - this.sentSettled) >>> 0 >= this.size >>> 1) this.urgent = true;
    return true;
  }

  /**
   * Applies an EXPIRE(`through`) once the queue dropped what it covered:
   * `firstDropped` is the first delivery dropped unseen (-1: none), and
   * `lowestPending` what the application still has to take. Settles through
   * `through` and owes the answer whatever changed. Throws `ERR_PROTOCOL`
   * when `through` names a delivery that never arrived.
   */
  expire(through: number, firstDropped: number, lowestPending: number): void {
    const candidate = firstDropped !== NONE ? (firstDropped - 1) >>> 0 : lowestPending === NONE ? this.received : (lowestPending - 1) >>> 0;
    if (serialAfter(candidate, this.taken)) this.taken = candidate;
    if (serialAfter(through, this.settled)) this.settled = through;
    if (serialAfter(this.taken, this.settled)) this.settled = this.taken;
    this.owed = true;
    this.urgent = true;
  }

  /** Throws `ERR_PROTOCOL` unless `through` is a delivery that arrived on this connection. */
  checkExpire(through: number): void {
    if (serialAfter(through, this.received)) {
      throw new ProtocolError(`expire through ${through}: only ${this.received} deliveries arrived on this connection`);
    }
  }

  /** Appends the CONSUMED owed, if any, to `writer`. Returns true when it wrote one. */
  write(writer: FrameWriter): boolean {
    if (!this.owed) return false;
    this.owed = false;
    this.urgent = false;
    this.sentSettled = this.settled;
    writeConsumed(writer, { taken: this.taken, settled: this.settled, window: this.size });
    return true;
  }
}
