import { MessageError } from '../errors.js';
import { DeliverSpans, FrameType, decodeAck, decodeExpire, decodeReport, decodeUserList, scanDeliver } from '../protocol/index.js';
import { DROP, type DeliveryIntake } from './delivery-intake.js';
import { readLegacyFrame } from './legacy-wire.js';
import type { Locator } from './locator.js';
import { OriginCache } from './origin-cache.js';
import type { PendingSend } from './pending-send.js';
import { toOfflineNotice, toSendReport, toUsersReport, type OfflineNotice, type SendReport } from './report.js';
import type { SendLedger } from './send-ledger.js';
import { decodeMessage, type Serializer } from './serializer.js';
import type { Delivery } from './types.js';

/** Where inbound frames end up, besides the ledger and the locator. */
export interface InboundSink<M> {
  /** A delivery for the consumer loop, with its number on an effectively-once link (else -1). */
  deliver(delivery: Delivery<M>, serial: number): void;
  offline(notice: OfflineNotice): void;
  error(error: MessageError): void;
}

/**
 * Turns the frames a link hands up into the client's outcomes: deliveries for
 * the consumer loop (numbered, and repeats dropped, by the intake), reports
 * and ACKs that settle sends, EXPIREs, LOCATED answers, offline notices;
 * and, in the legacy dialect, a Go hub's JSON documents. A frame that breaks
 * the protocol throws `ERR_PROTOCOL`: the link closes and the client
 * reconnects.
 */
export class Inbound<M> {
  private readonly deliverSpans = new DeliverSpans();
  private readonly origins = new OriginCache();

  constructor(
    private readonly ledger: SendLedger,
    private readonly intake: DeliveryIntake<Delivery<M>>,
    private readonly locator: Locator,
    private readonly serializer: Serializer | undefined,
    private readonly sink: InboundSink<M>,
  ) {}

  /** A binary-protocol frame at `[start, end)` of `p`. */
  frame(p: Buffer, start: number, end: number): void {
    switch (p[start]) {
      case FrameType.DELIVER: {
        const spans = this.deliverSpans;
        scanDeliver(p, spans, start, end);
        const serial = this.intake.admit(p, spans);
        if (serial === DROP) return;
        const from = this.origins.get(p, spans.originStart, spans.originEnd);
        let message: unknown;
        try {
          message = decodeMessage(p, spans.kind, this.serializer, spans.payloadStart, end);
        } catch (cause) {
          // Nothing the application could take: it counts as taken in its place, and the error says why.
          this.intake.skipped();
          this.sink.error(new MessageError(`undecodable message from ${from}`, { cause }));
          return;
        }
        this.sink.deliver({ from, users: decodeUserList(p, spans.usersStart, spans.payloadStart), message: message as M }, serial);
        return;
      }
      case FrameType.ACK: {
        const { first, count } = decodeAck(p, start, end);
        this.ledger.answerAck(first, count, settleDelivered);
        return;
      }
      case FrameType.REPORT: {
        const report = decodeReport(p.subarray(start, end));
        const counters = this.ledger.counters;
        for (const failed of report.failed) counters.undelivered(failed.reason, failed.users.length);
        if (!report.full) {
          this.sink.offline(toOfflineNotice(report));
          return;
        }
        const entry = this.ledger.answerReport(report.seq);
        // Undefined for a send that timed out already: its late answer keeps the order, nothing more.
        entry?.resolve(entry.reply === 'users' ? toUsersReport(report) : toSendReport(report, entry.hosts));
        return;
      }
      case FrameType.EXPIRE:
        this.intake.expire(decodeExpire(p, start, end));
        return;
      default:
        this.locator.answer(p.subarray(start, end));
    }
  }

  /** A document from a Go `transmit` hub. */
  legacy(p: Buffer, start: number, end: number): void {
    const frame = readLegacyFrame(p.subarray(start, end));
    if (frame.type === 'delivery') this.sink.deliver({ from: '', users: frame.users, message: frame.message as M }, -1);
    else if (frame.type === 'offline') {
      const { offline, reasons } = frame.notice;
      for (const host in offline) this.ledger.counters.undeliveredNamed(reasons[host] ?? 'offline', offline[host]!.length);
      this.sink.offline(frame.notice);
    }
  }
}

/** An ACK's answer: every host the send named took its users. */
function settleDelivered(entry: PendingSend): void {
  entry.resolve({ delivered: entry.hosts ?? [], offline: {} } satisfies SendReport);
}
