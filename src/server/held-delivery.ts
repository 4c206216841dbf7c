import { FRAME_HEADER_BYTES } from '../codec/constants.js';
import { FrameWriter } from '../codec/frame-writer.js';
import { DeliverFlags, DeliverSpans, STAMP_BYTES, decodeUserList, scanDeliver } from '../protocol/index.js';
import type { FailureReason } from '../protocol/index.js';

/**
 * Whoever waits for the fate of a delivery: a sender's {@link PendingAnswers}
 * on a relay, or, in a mesh node, the link a delivery came in on (which owes
 * its peer the word). Tickets name the delivery to its owner.
 */
export interface DeliveryAnswers {
  /** The receiving application took delivery `ticket`. */
  taken(ticket: number): void;
  /** Delivery `ticket` will not be taken: `host` did not take `users` (decoded only when needed), for `reason`. */
  lost(ticket: number, host: string, reason: FailureReason, users: () => string[]): void;
}

/**
 * A DELIVER the relay keeps instead of writing it now: beyond a node's
 * window, or for a node that is gone and expected back. Made only off the
 * hot path (a node that lags or drops), so one object per delivery is fine.
 */
export interface HeldDelivery {
  /** The whole frame, length prefix included. */
  frame: Buffer;
  /** Whose answer waits for it, if anyone's. */
  answers: DeliveryAnswers | undefined;
  ticket: number;
  /** When it was routed: its time bound counts from then. */
  at: number;
}

/** The users a DELIVER frame (length prefix included) names, for a report. */
export function usersOfFrame(frame: Buffer): string[] {
  const spans = new DeliverSpans();
  scanDeliver(frame, spans, FRAME_HEADER_BYTES, frame.length);
  return decodeUserList(frame, spans.usersStart, spans.payloadStart);
}

/**
 * The same DELIVER without its stamp, for a node that does not read stamps
 * (one that came back without announcing ONCE).
 */
export function unstamped(frame: Buffer): Buffer {
  const spans = new DeliverSpans();
  scanDeliver(frame, spans, FRAME_HEADER_BYTES, frame.length);
  if (spans.stampStart < 0) return frame;
  const out = Buffer.allocUnsafe(frame.length - STAMP_BYTES);
  frame.copy(out, 0, 0, spans.stampStart);
  frame.copy(out, spans.stampStart, spans.stampStart + STAMP_BYTES);
  out.writeUInt32LE(out.length - FRAME_HEADER_BYTES, 0);
  out[FRAME_HEADER_BYTES + 1]! &= ~DeliverFlags.STAMPED;
  return out;
}

/** A writer for frames that are kept rather than sent: each is taken out whole. */
export class HoldingWriter {
  readonly writer = new FrameWriter(16 * 1024);

  /** The frame written since the last call, as one Buffer. */
  take(): Buffer {
    const parts = this.writer.take();
    return parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts);
  }
}
