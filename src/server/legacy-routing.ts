import {
  encodeOfflineNotice,
  encodeTransmitMap,
  isCanonicalUint64,
  messageFromJson,
  messageToJson,
  parseTransmitMap,
  type TransmitMessage,
} from '../legacy/index.js';
import { FailureReason, PayloadKind, encodeDeliver, readUserList, type RouteSpans } from '../protocol/index.js';
import type { Registry } from './registry.js';
import { hostKey } from './host-index.js';
import type { RouteTarget } from './route-endpoints.js';
import type { Session } from './session.js';
import { countUndelivered, type RelayStats } from './stats.js';

/** What legacy routing needs from the relay. */
export interface RouteContext {
  readonly registry: Registry;
  readonly stats: RelayStats;
  readonly maxOutboundBytes: number;
}

const REASON_TEXT: Record<number, string> = {
  [FailureReason.OFFLINE]: 'offline',
  [FailureReason.OVERFLOW]: 'overflow',
  [FailureReason.REFUSED]: 'refused',
};

/**
 * Routes a legacy node's `TransmitMap`, as a Go hub does: one frame per host
 * with only that host's users. A legacy target gets the document re-encoded
 * the way Go re-encodes it; a binary target gets a DELIVER whose JSON message
 * is the document's message fields. Each host that no node took is answered
 * with the hub's type-100 notice, plus fields naming the host, its users, the
 * reason and the message id. A document with no users (a heartbeat) routes
 * nothing.
 */
export function routeLegacyDocument(ctx: RouteContext, sender: Session, payload: Buffer): void {
  const doc = parseTransmitMap(payload);
  if (doc.users.size === 0) return;
  let json: Buffer | undefined;
  for (const [host, users] of doc.users) {
    const target = ctx.registry.get(hostKey(host));
    let reason = 0;
    if (target === undefined) {
      reason = FailureReason.OFFLINE;
    } else if (target.outboundBytes > ctx.maxOutboundBytes) {
      reason = FailureReason.OVERFLOW;
      ctx.stats.overflows++;
    } else if (target.dialect === 'legacy') {
      target.writer.appendFrame(encodeTransmitMap({ users: new Map([[host, users]]), message: doc.message }));
    } else {
      json ??= messageToJson(doc.message);
      const deliver = encodeDeliver(sender.nodeId, users, PayloadKind.JSON, json);
      // Larger than the node accepts: it would drop the connection, as for a binary ROUTE.
      if (deliver.length > target.maxFrameBytes) reason = FailureReason.REFUSED;
      // A ONCE node counts every DELIVER it gets: this one too, though no one waits for its answer.
      else if (target.window !== undefined) target.window.appendFrame(deliver, undefined, 0, sender.lastReceived);
      else target.writer.appendFrame(deliver);
    }
    if (reason === 0) {
      target!.touch();
      ctx.stats.deliveries++;
    } else {
      countUndelivered(ctx.stats, reason as FailureReason, users.length);
      sender.writer.appendFrame(encodeOfflineNotice({ host, users, reason: REASON_TEXT[reason]!, messageId: doc.message.id }));
      sender.touch();
    }
  }
  ctx.stats.routes++;
}

/** The message fields of one binary ROUTE, translated once for all its legacy targets. */
export class LegacyTranslation {
  private message: TransmitMessage | null | undefined;

  /** The route's message in legacy form, or `null` when it has none (not JSON, or not the legacy fields). */
  of(route: Buffer, spans: RouteSpans): TransmitMessage | null {
    if (this.message === undefined) {
      try {
        this.message = spans.kind === PayloadKind.JSON ? messageFromJson(route.subarray(spans.payloadStart, spans.end)) : null;
      } catch {
        this.message = null;
      }
    }
    return this.message;
  }

  reset(): void {
    this.message = undefined;
  }
}

/**
 * Hands host `i` of a binary ROUTE to a legacy node as a `TransmitMap`.
 * Returns 0, or `REFUSED` when the message is not a JSON object with the
 * legacy fields or a user id is not an unsigned 64-bit integer.
 */
export function deliverRouteToLegacy(
  target: RouteTarget,
  route: Buffer,
  spans: RouteSpans,
  i: number,
  translation: LegacyTranslation,
): number {
  const message = translation.of(route, spans);
  if (message === null) return FailureReason.REFUSED;
  const users = readUserList(route, spans.usersStart(i));
  if (!users.every(isCanonicalUint64)) return FailureReason.REFUSED;
  const host = route.toString('utf8', spans.hostStart(i), spans.hostEnd(i));
  target.writer.appendFrame(encodeTransmitMap({ users: new Map([[host, users]]), message }));
  target.touch();
  return 0;
}
