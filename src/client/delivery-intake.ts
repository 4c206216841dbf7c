import type { FrameWriter } from '../codec/frame-writer.js';
import { ProtocolError } from '../errors.js';
import type { DeliverSpans } from '../protocol/deliver.js';
import type { DeliveryQueue } from './delivery-queue.js';
import { DeliveryWindow } from './delivery-window.js';
import { RepeatFilter } from './repeat-filter.js';

/** What {@link DeliveryIntake.admit} returns for a DELIVER the application must not see. */
export const DROP = -2;
/** What it returns for a DELIVER on a link that does not number deliveries. */
export const UNNUMBERED = -1;

/**
 * The node's side of effectively-once delivery, between the link and the
 * delivery queue: numbers each DELIVER of a ONCE connection, drops repeats,
 * follows what the application took (and what an EXPIRE dropped), and owes
 * the relay a CONSUMED when that moved. `changed` is called when one is
 * owed, so the client flushes (one CONSUMED per flush, however many
 * deliveries were taken).
 *
 * On a link without ONCE it only drops stamped repeats (a transport that
 * stamps without numbering), and otherwise stays out of the way.
 */
export class DeliveryIntake<T> {
  readonly window: DeliveryWindow;
  readonly repeats = new RepeatFilter();
  /** True while the live link numbers deliveries (it and the relay agreed on ONCE). */
  private numbering = false;
  /** Set once the client closes: nothing more is queued or acknowledged. */
  private closed = false;

  constructor(
    private readonly queue: DeliveryQueue<T>,
    windowSize: number,
    private readonly changed: () => void,
  ) {
    this.window = new DeliveryWindow(windowSize);
  }

  /** True while the live link numbers deliveries. */
  get once(): boolean {
    return this.numbering;
  }

  /** A link was welcomed; with `once`, it numbers deliveries from 1 and is owed a first CONSUMED. */
  linkUp(once: boolean): void {
    this.numbering = once && !this.closed;
    if (!this.numbering) return;
    this.window.reset();
    this.changed();
  }

  /**
   * The link went. On a ONCE link the delivery the application holds counts
   * as taken, and what is queued is dropped unseen: the relay did not hear
   * that the application took it, so it writes it again when this node is
   * back (or reports it not taken); the repeat filter forgets it so that
   * copy is accepted.
   */
  linkDown(): void {
    if (!this.numbering) return;
    this.numbering = false;
    this.letGo();
    this.repeats.rollback();
  }

  /**
   * The client is closing: as {@link linkDown}, but the link is still up
   * for one last flush, whose CONSUMED says what the application took.
   * Deliveries that arrive after this on a ONCE link are dropped: no
   * CONSUMED can follow, so the relay counts them as not taken.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.numbering) return;
    this.letGo();
    this.window.hurry();
    this.changed();
  }

  /**
   * Numbers the DELIVER whose parts `spans` found in `p` and says what to do
   * with it: the number to queue it with, {@link UNNUMBERED} on a link
   * without ONCE, or {@link DROP} for a repeat (or anything arriving after
   * close on a ONCE link). Throws `ERR_PROTOCOL` past the window.
   */
  admit(p: Buffer, spans: DeliverSpans): number {
    if (!this.numbering) return spans.stampStart >= 0 && this.repeats.isRepeat(p, spans, -1) ? DROP : UNNUMBERED;
    if (this.closed) return DROP;
    const n = this.window.number();
    if (spans.stampStart >= 0 && this.repeats.isRepeat(p, spans, n)) {
      // Counted as taken in its place: once everything before it is.
      this.skipped();
      return DROP;
    }
    return n;
  }

  /** A numbered delivery was admitted but will never be queued (it could not be decoded): it counts as taken in its place. */
  skipped(): void {
    if (this.numbering && !this.closed) this.advance();
  }

  /** The application took the delivery it held (the queue's `taken` hook). */
  taken(): void {
    if (this.numbering && !this.closed) this.advance();
  }

  /** An EXPIRE(`through`) from the relay. Throws `ERR_PROTOCOL` on a link without ONCE, or for a delivery that never arrived. */
  expire(through: number): void {
    if (!this.numbering) throw new ProtocolError('expire on a link without effectively-once delivery');
    if (this.closed) return;
    this.window.checkExpire(through);
    const firstDropped = this.queue.dropThrough(through);
    this.window.expire(through, firstDropped, this.queue.lowestPending);
    this.repeats.settle(this.window.settled);
    this.changed();
  }

  /** True when a CONSUMED is owed. */
  get owes(): boolean {
    return this.numbering && this.window.due;
  }

  /** True when the CONSUMED owed should not wait for other output to carry it (see {@link DeliveryWindow.pressing}). */
  get pressing(): boolean {
    return this.numbering && this.window.pressing;
  }

  /** Appends the CONSUMED owed, if any. */
  write(writer: FrameWriter): void {
    if (this.numbering) this.window.write(writer);
  }

  private advance(): void {
    if (!this.window.advance(this.queue.lowestPending)) return;
    this.repeats.settle(this.window.settled);
    this.changed();
  }

  /** The held delivery counts as taken, the queued ones are dropped unseen, and the numbers say so. */
  private letGo(): void {
    // Everything before the first delivery dropped is taken, the held one included.
    this.window.advance(this.queue.dropPending());
    this.repeats.settle(this.window.settled);
  }
}
