import type { FrameWriter } from '../codec/frame-writer.js';
import {
  FailureReason,
  RouteFlags,
  RouteSpans,
  STAMP_BYTES,
  deliverPayload,
  readUserList,
  reportBound,
  scanRoute,
  writeDeliver,
  writeReport,
  writeStampedDeliver,
} from '../protocol/index.js';
import { LimitError } from '../errors.js';
import { HoldingWriter } from './held-delivery.js';
import { LegacyTranslation, deliverRouteToLegacy } from './legacy-routing.js';
import type { Parking } from './parking.js';
import { SendKind, type PendingAnswers } from './pending-answers.js';
import type { RouteSender, RouteTargets } from './route-endpoints.js';
import { countUndelivered, type RelayStats } from './stats.js';

/** A DELIVER to a ONCE target: stamped when the sender names its sends. */
function deliver(
  writer: FrameWriter,
  sender: RouteSender,
  flags: number,
  seq: number,
  p: Buffer,
  view: DataView,
  usersStart: number,
  usersEnd: number,
  payloadStart: number,
  end: number,
  payload: Buffer | undefined,
): void {
  const stamped = sender.stampedOrigin;
  if (stamped === undefined) writeDeliver(writer, sender.origin, flags, p, usersStart, usersEnd, payloadStart, end, payload, view);
  else writeStampedDeliver(writer, stamped, flags, seq, p, usersStart, usersEnd, payloadStart, end, payload, view);
}

/**
 * Routes ROUTE frames: one DELIVER per target host, carrying exactly that
 * host's user list and the payload bytes as the sender wrote them. Nothing
 * is decoded; small frames are copied into each target's outbound buffer and
 * large payloads shared by reference. Every host that is not handed to a live
 * node is reported back to the sender with its users.
 *
 * Between ONCE nodes a DELIVER is stamped with the send's name, counted
 * against the receiver's window (held beyond it), and the sender's answer
 * waits for the receiver's application (see {@link PendingAnswers}). For a
 * ONCE sender, a host that is gone but expected back is parked, not offline.
 */
export class Router {
  private readonly spans = new RouteSpans();
  private outcomes = new Uint8Array(64);
  private readonly translation = new LegacyTranslation();
  private readonly parked = new HoldingWriter();

  constructor(
    private readonly registry: RouteTargets,
    private readonly stats: RelayStats,
    private readonly maxOutboundBytes: number,
    private readonly parking: Parking,
  ) {}

  /** Routes the ROUTE at `[start, end)` of `p` (a socket chunk it may share with other frames). */
  route(sender: RouteSender, p: Buffer, start: number, end: number): void {
    const spans = this.spans;
    scanRoute(p, spans, start, end);
    const hostCount = spans.hostCount;
    if (reportBound(spans.payloadStart - start, hostCount) > sender.maxFrameBytes) {
      throw new LimitError(`a route whose report could exceed the sender's frame limit of ${sender.maxFrameBytes} bytes`);
    }
    if (this.outcomes.length < hostCount) this.outcomes = new Uint8Array(hostCount);
    const outcomes = this.outcomes;
    const payloadStart = spans.payloadStart;
    const payloadBytes = end - payloadStart;
    const view = spans.chunkView(p);
    const payload = deliverPayload(p, payloadStart, end, hostCount, view);
    const stats = this.stats;
    const seq = spans.seq;
    const answers = sender.answers;
    const ticket = answers === undefined ? 0 : answers.open(seq, spans.flags, SendKind.ROUTE);
    // The time of the socket read this frame came in: no clock read per frame.
    const now = sender.lastReceived;
    let failed = 0;
    this.translation.reset();

    for (let i = 0; i < hostCount; i++) {
      const usersStart = spans.usersStart(i);
      const usersEnd = spans.usersEnd(i);
      const target = this.registry.find(p, spans.hostStart(i), usersStart);
      let outcome = 0;
      if (target === undefined) {
        if (answers !== undefined && this.parking.accepts(p.toString('latin1', spans.hostStart(i), spans.hostEnd(i)), now)) {
          this.park(p, spans, i, sender.stampedOrigin!, answers, ticket, payload, now);
        } else {
          outcome = FailureReason.OFFLINE;
        }
      } else if (target.outboundBytes > this.maxOutboundBytes) {
        outcome = FailureReason.OVERFLOW;
        stats.overflows++;
      } else if (target.dialect === 'legacy') {
        outcome = deliverRouteToLegacy(target, p, spans, i, this.translation);
        if (outcome === 0) stats.deliveries++;
      } else if (
        2 +
          sender.origin.length +
          (target.window !== undefined && sender.stampedOrigin !== undefined ? STAMP_BYTES : 0) +
          (usersEnd - usersStart) +
          payloadBytes >
        target.maxFrameBytes
      ) {
        outcome = FailureReason.REFUSED;
      } else {
        const window = target.window;
        if (window === undefined) {
          writeDeliver(target.writer, sender.origin, spans.flags, p, usersStart, usersEnd, payloadStart, end, payload, view);
        } else {
          if (window.mustHold) {
            deliver(window.holding.writer, sender, spans.flags, seq, p, view, usersStart, usersEnd, payloadStart, end, payload);
            window.hold(answers, ticket, now);
          } else {
            const at = window.mark();
            deliver(target.writer, sender, spans.flags, seq, p, view, usersStart, usersEnd, payloadStart, end, payload);
            window.wrote(at, answers, ticket, now);
          }
          answers?.expect(ticket);
        }
        target.touch();
        stats.deliveries++;
      }
      if (outcome !== 0) {
        failed++;
        countUndelivered(stats, outcome as FailureReason, p.readUInt32LE(usersStart));
        if (answers !== undefined)
          answers.fail(
            ticket,
            p.toString('utf8', spans.hostStart(i), spans.hostEnd(i)),
            outcome as FailureReason,
            readUserList(p, usersStart),
          );
        else outcomes[i] = outcome;
      } else {
        outcomes[i] = 0;
      }
    }

    stats.routes++;
    if (answers !== undefined) {
      answers.close(ticket);
      return;
    }
    const full = (spans.flags & RouteFlags.REPORT) !== 0;
    const acks = sender.acks;
    if (full && failed === 0 && acks !== undefined) {
      acks.add(seq, sender.writer);
      sender.touch();
    } else if (full || failed > 0) {
      writeReport(sender.reportWriter(), p, spans, outcomes, full);
      sender.touch();
    }
  }

  /** Keeps host `i`'s DELIVER for a node that is gone and expected back. */
  private park(
    p: Buffer,
    spans: RouteSpans,
    i: number,
    stampedOrigin: Buffer,
    answers: PendingAnswers,
    ticket: number,
    payload: Buffer | undefined,
    now: number,
  ): void {
    const writer = this.parked.writer;
    writeStampedDeliver(
      writer,
      stampedOrigin,
      spans.flags,
      spans.seq,
      p,
      spans.usersStart(i),
      spans.usersEnd(i),
      spans.payloadStart,
      spans.end,
      payload,
      spans.chunkView(p),
    );
    const key = p.toString('latin1', spans.hostStart(i), spans.hostEnd(i));
    answers.expect(ticket);
    this.parking.add(key, p.toString('utf8', spans.hostStart(i), spans.hostEnd(i)), {
      frame: this.parked.take(),
      answers,
      ticket,
      at: now,
    });
  }
}
