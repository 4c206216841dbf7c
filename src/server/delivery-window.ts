import { FRAME_HEADER_BYTES } from '../codec/constants.js';
import type { FrameWriter } from '../codec/frame-writer.js';
import { ProtocolError } from '../errors.js';
import { FailureReason, serialAfter, writeExpire, type ConsumedFrame } from '../protocol/index.js';
import { HoldingWriter, usersOfFrame, type DeliveryAnswers, type HeldDelivery } from './held-delivery.js';

/** The session a window writes to. */
export interface WindowOwner {
  readonly writer: FrameWriter;
  /** The node's id, as reports name it. */
  readonly nodeId: string;
  touch(): void;
  /** A delivery to this node was given up (it waited past the time bound): counted in the relay's stats. */
  overflowed(): void;
}

const INITIAL = 256;

/**
 * What the relay owes one ONCE node: its deliveries numbered in the order
 * they were written, each until the node says its application took it (or
 * dropped it after an EXPIRE), the window the node granted, and what waits
 * beyond it.
 *
 * - Written deliveries live in a ring of typed arrays indexed by number: no
 *   object per delivery. Their bytes stay reachable through the output
 *   chunks they were flushed in (kept by reference, released as the node
 *   settles), so they can be sent again if the node drops and comes back.
 * - Beyond the window a delivery is held as a frame of its own, and written
 *   when the node's CONSUMED opens the window.
 * - A delivery older than the time bound is given up: held ones at once
 *   (reported `overflow`), written ones by an EXPIRE the node answers.
 */
export class DeliveryWindow {
  /** Highest number written, and highest the node settled. */
  written = 0;
  settled = 0;
  private windowSize: number;
  private mask = INITIAL - 1;
  private answers: Array<DeliveryAnswers | undefined> = new Array<DeliveryAnswers | undefined>(INITIAL);
  private tickets = new Uint32Array(INITIAL);
  private routedAt = new Float64Array(INITIAL);
  private starts = new Float64Array(INITIAL);
  /** Bytes taken from the owner's writer so far: positions count from the start of the connection. */
  private streamPos = 0;
  private retained: Buffer[] = [];
  private retainedAt: number[] = [];
  private held: HeldDelivery[] = [];
  private heldHead = 0;
  /** Bytes held beyond the window. */
  heldBytes = 0;
  /** The EXPIRE in flight: through which number, and since when (0: none). */
  private expiring = 0;
  private expiringSince = 0;
  readonly holding = new HoldingWriter();

  constructor(
    private readonly owner: WindowOwner,
    window: number,
  ) {
    this.windowSize = window;
  }

  /** True when a delivery routed now must be held: the window is full, or others wait before it. */
  get mustHold(): boolean {
    return this.heldHead < this.held.length || (this.written - this.settled) >>> 0 >= this.windowSize;
  }

  /** Deliveries written and not yet settled. */
  get outstanding(): number {
    return (this.written - this.settled) >>> 0;
  }

  /** Where a frame written to the owner's writer now would start. */
  mark(): number {
    return this.streamPos + this.owner.writer.length;
  }

  /** Records the DELIVER just written to the owner's writer from `start`. */
  wrote(start: number, answers: DeliveryAnswers | undefined, ticket: number, at: number): void {
    if (this.outstanding > this.mask) this.grow();
    const n = (this.written = (this.written + 1) >>> 0);
    const i = n & this.mask;
    this.answers[i] = answers;
    this.tickets[i] = ticket;
    this.routedAt[i] = at;
    this.starts[i] = start;
  }

  /**
   * Appends a DELIVER payload built elsewhere (a translated legacy document):
   * written now if the window has room, held otherwise.
   */
  appendFrame(payload: Buffer, answers: DeliveryAnswers | undefined, ticket: number, at: number): void {
    if (this.mustHold) {
      this.holding.writer.appendFrame(payload);
      this.hold(answers, ticket, at);
      return;
    }
    const start = this.mark();
    this.owner.writer.appendFrame(payload);
    this.wrote(start, answers, ticket, at);
  }

  /** Keeps the DELIVER just written to {@link holding} for later. */
  hold(answers: DeliveryAnswers | undefined, ticket: number, at: number): void {
    const frame = this.holding.take();
    this.heldBytes += frame.length;
    this.held.push({ frame, answers, ticket, at });
  }

  /** Puts deliveries (a node's parked ones) in front of whatever is held, then writes what fits. */
  prepend(items: HeldDelivery[]): void {
    if (items.length === 0) return;
    for (const item of items) this.heldBytes += item.frame.length;
    this.held = items.concat(this.held.slice(this.heldHead));
    this.heldHead = 0;
    this.pump();
  }

  /** The output chunks just taken from the owner's writer: kept while a delivery in them is unsettled. */
  retain(parts: readonly Buffer[]): void {
    for (const part of parts) {
      this.retained.push(part);
      this.retainedAt.push(this.streamPos);
      this.streamPos += part.length;
    }
    this.release();
  }

  /** Applies the node's CONSUMED. Throws `ERR_PROTOCOL` for numbers it cannot have. */
  consumed(frame: ConsumedFrame): void {
    const { taken, settled, window } = frame;
    // Measured from what is settled: exactly half the number space ahead is
    // neither after nor before in serial arithmetic, and must not pass either.
    if ((settled - this.settled) >>> 0 > (this.written - this.settled) >>> 0) {
      throw new ProtocolError(`consumed: settled ${settled} is outside ${this.settled}..${this.written}`);
    }
    const count = (settled - this.settled) >>> 0;
    // Deliveries up to `taken` were taken; the rest, to `settled`, dropped after an EXPIRE.
    const takenCount = serialAfter(taken, this.settled) ? (taken - this.settled) >>> 0 : 0;
    for (let k = 1; k <= count; k++) {
      const n = (this.settled + k) >>> 0;
      const i = n & this.mask;
      const answers = this.answers[i];
      if (answers === undefined) continue;
      this.answers[i] = undefined;
      if (k <= takenCount) answers.taken(this.tickets[i]!);
      else {
        this.owner.overflowed();
        answers.lost(this.tickets[i]!, this.owner.nodeId, FailureReason.OVERFLOW, () => this.usersOf(n));
      }
    }
    this.settled = settled;
    if (this.expiring !== 0 && !serialAfter(this.expiring, settled)) this.expiring = 0;
    this.windowSize = window;
    this.release();
    this.pump();
  }

  /**
   * Gives up what waited longer than `timeoutMs`: held deliveries at once,
   * written ones with an EXPIRE (unless `expireWritten` is false: a mesh
   * peer bounds what it was written itself). Returns false when an EXPIRE
   * went unanswered for `timeoutMs` (the node is not keeping its side).
   */
  sweep(now: number, timeoutMs: number, expireWritten = true): boolean {
    const bound = now - timeoutMs;
    const host = this.owner.nodeId;
    while (this.heldHead < this.held.length && this.held[this.heldHead]!.at < bound) {
      const item = this.shiftHeld();
      this.owner.overflowed();
      item.answers?.lost(item.ticket, host, FailureReason.OVERFLOW, () => usersOfFrame(item.frame));
    }
    if (!expireWritten) return true;
    if (this.expiring !== 0) return now - this.expiringSince <= timeoutMs;
    let through = this.settled;
    while (through !== this.written) {
      const next = (through + 1) >>> 0;
      if (this.routedAt[next & this.mask]! >= bound) break;
      through = next;
    }
    if (through !== this.settled) {
      this.expiring = through;
      this.expiringSince = now;
      writeExpire(this.owner.writer, through);
      this.owner.touch();
    }
    return true;
  }

  /**
   * The node is gone: everything unsettled, written or held, as frames of
   * their own, in order; the window is empty afterwards.
   */
  park(): HeldDelivery[] {
    const items: HeldDelivery[] = [];
    for (let n = this.settled; n !== this.written;) {
      n = (n + 1) >>> 0;
      const i = n & this.mask;
      items.push({ frame: this.bytesOf(n), answers: this.answers[i], ticket: this.tickets[i]!, at: this.routedAt[i]! });
      this.answers[i] = undefined;
    }
    for (let k = this.heldHead; k < this.held.length; k++) items.push(this.held[k]!);
    this.held = [];
    this.heldHead = 0;
    this.heldBytes = 0;
    this.settled = this.written;
    this.retained = [];
    this.retainedAt = [];
    return items;
  }

  /** Writes held deliveries while the window has room. */
  private pump(): void {
    let wrote = false;
    while (this.heldHead < this.held.length && this.outstanding < this.windowSize) {
      const item = this.shiftHeld();
      const start = this.mark();
      this.owner.writer.appendEncoded(item.frame);
      this.wrote(start, item.answers, item.ticket, item.at);
      wrote = true;
    }
    if (wrote) this.owner.touch();
  }

  private shiftHeld(): HeldDelivery {
    const item = this.held[this.heldHead]!;
    this.held[this.heldHead++] = undefined as unknown as HeldDelivery;
    this.heldBytes -= item.frame.length;
    if (this.heldHead === this.held.length) {
      this.held = [];
      this.heldHead = 0;
    } else if (this.heldHead > 1024 && this.heldHead * 2 > this.held.length) {
      this.held = this.held.slice(this.heldHead);
      this.heldHead = 0;
    }
    return item;
  }

  /** Drops output chunks no unsettled delivery lies in. */
  private release(): void {
    const keepFrom = this.written === this.settled ? this.streamPos : this.starts[((this.settled + 1) >>> 0) & this.mask]!;
    let drop = 0;
    while (drop < this.retained.length && this.retainedAt[drop]! + this.retained[drop]!.length <= keepFrom) drop++;
    if (drop > 0) {
      this.retained.splice(0, drop);
      this.retainedAt.splice(0, drop);
    }
  }

  private usersOf(n: number): string[] {
    return usersOfFrame(this.bytesOf(n));
  }

  /** The bytes of written delivery `n`, copied out of the chunks it was written in. */
  private bytesOf(n: number): Buffer {
    const i = n & this.mask;
    const start = this.starts[i]!;
    // Its end is not kept (a store per delivery saved): the frame's length prefix says it.
    if (start + FRAME_HEADER_BYTES > this.streamPos) this.retain(this.owner.writer.take());
    const end = start + FRAME_HEADER_BYTES + this.readLengthAt(start);
    if (end > this.streamPos) this.retain(this.owner.writer.take());
    const out = Buffer.allocUnsafe(end - start);
    let k = 0;
    while (k < this.retained.length && this.retainedAt[k]! + this.retained[k]!.length <= start) k++;
    for (let pos = start; pos < end; k++) {
      const part = this.retained[k]!;
      const at = this.retainedAt[k]!;
      const from = pos - at;
      const to = Math.min(part.length, end - at);
      part.copy(out, pos - start, from, to);
      pos = at + to;
    }
    if (out.readUInt32LE(0) !== out.length - FRAME_HEADER_BYTES) throw new ProtocolError('relay: a retained delivery is corrupt');
    return out;
  }

  /** The length prefix of the frame at stream position `pos` (never split: a frame's head is written in one piece). */
  private readLengthAt(pos: number): number {
    let k = 0;
    while (this.retainedAt[k]! + this.retained[k]!.length <= pos) k++;
    return this.retained[k]!.readUInt32LE(pos - this.retainedAt[k]!);
  }

  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const newMask = capacity - 1;
    const answers = new Array<DeliveryAnswers | undefined>(capacity);
    const tickets = new Uint32Array(capacity);
    const routedAt = new Float64Array(capacity);
    const starts = new Float64Array(capacity);
    for (let n = this.settled; n !== this.written;) {
      n = (n + 1) >>> 0;
      const from = n & this.mask;
      const to = n & newMask;
      answers[to] = this.answers[from];
      tickets[to] = this.tickets[from]!;
      routedAt[to] = this.routedAt[from]!;
      starts[to] = this.starts[from]!;
    }
    this.answers = answers;
    this.tickets = tickets;
    this.routedAt = routedAt;
    this.starts = starts;
    this.mask = newMask;
  }
}
