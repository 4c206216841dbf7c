import { DEFAULT_COPY_THRESHOLD } from '../codec/frame-writer.js';
import { FailureReason, RouteFlags, RouteSpans, scanRoute, writeDeliver, writeReport } from '../protocol/index.js';
import { LegacyTranslation, deliverRouteToLegacy } from './legacy-routing.js';
import type { Registry } from './registry.js';
import type { Session } from './session.js';
import type { RelayStats } from './stats.js';

/**
 * Routes ROUTE frames: one DELIVER per target host, carrying exactly that
 * host's user list and the payload bytes as the sender wrote them. Nothing
 * is decoded; small frames are copied into each target's outbound buffer and
 * large payloads shared by reference. Every host that is not handed to a live
 * node is reported back to the sender with its users.
 */
export class Router {
  private readonly spans = new RouteSpans();
  private outcomes = new Uint8Array(64);
  private readonly translation = new LegacyTranslation();

  constructor(
    private readonly registry: Registry,
    private readonly stats: RelayStats,
    private readonly maxOutboundBytes: number,
  ) {}

  /** Routes the ROUTE at `[start, end)` of `p` (a socket chunk it may share with other frames). */
  route(sender: Session, p: Buffer, start: number, end: number): void {
    const spans = this.spans;
    scanRoute(p, spans, start, end);
    const hostCount = spans.hostCount;
    if (this.outcomes.length < hostCount) this.outcomes = new Uint8Array(hostCount);
    const outcomes = this.outcomes;
    const payloadStart = spans.payloadStart;
    const payloadBytes = end - payloadStart;
    const shared = payloadBytes >= DEFAULT_COPY_THRESHOLD ? p.subarray(payloadStart, end) : undefined;
    const stats = this.stats;
    let failed = 0;
    this.translation.reset();

    for (let i = 0; i < hostCount; i++) {
      const usersStart = spans.usersStart(i);
      const usersEnd = spans.usersEnd(i);
      const target = this.registry.find(p, spans.hostStart(i), usersStart);
      let outcome = 0;
      if (target === undefined) {
        outcome = FailureReason.OFFLINE;
      } else if (target.outboundBytes > this.maxOutboundBytes) {
        outcome = FailureReason.OVERFLOW;
        stats.overflows++;
      } else if (target.dialect === 'legacy') {
        outcome = deliverRouteToLegacy(target, p, spans, i, this.translation);
        if (outcome === 0) stats.deliveries++;
      } else if (2 + sender.origin.length + (usersEnd - usersStart) + payloadBytes > target.maxFrameBytes) {
        outcome = FailureReason.REFUSED;
      } else {
        writeDeliver(target.writer, sender.origin, spans.flags, p, usersStart, usersEnd, payloadStart, end, shared);
        target.touch();
        stats.deliveries++;
      }
      outcomes[i] = outcome;
      if (outcome !== 0) {
        failed++;
        stats.usersOffline += p.readUInt32LE(usersStart);
      }
    }

    stats.routes++;
    const full = (spans.flags & RouteFlags.REPORT) !== 0;
    const acks = sender.acks;
    if (full && failed === 0 && acks !== undefined) {
      acks.add(spans.seq, sender.writer);
      sender.touch();
    } else if (full || failed > 0) {
      writeReport(sender.reportWriter(), p, spans, outcomes, full);
      sender.touch();
    }
  }
}
