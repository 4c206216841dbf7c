import type { FrameWriter } from '../codec/frame-writer.js';
import { LimitError } from '../errors.js';
import type { PresenceTable } from '../presence/presence-table.js';
import { ReportBuilder, UsersByNode } from '../presence/users-by-node.js';
import { DeliverFlags, FailureReason, FrameType, PAYLOAD_KIND_MASK, scanSendUsers } from '../protocol/index.js';
import { HoldingWriter } from './held-delivery.js';
import type { Parking } from './parking.js';
import { SendKind } from './pending-answers.js';
import type { RouteSender, RouteTargets } from './route-endpoints.js';
import { countUndelivered, type RelayStats } from './stats.js';
import { forEachUser, idAt } from './user-list-walk.js';

/**
 * Routes SEND_USERS frames by the relay's presence: one DELIVER per node
 * holding any of the users, with that node's users; the users no node took
 * come back in the report.
 */
export class UsersRouter {
  private readonly parked = new HoldingWriter();

  constructor(
    private readonly table: PresenceTable,
    private readonly registry: RouteTargets,
    private readonly stats: RelayStats,
    private readonly maxOutboundBytes: number,
    private readonly parking: Parking,
  ) {}

  /**
   * Routes a SEND_USERS frame: each user's nodes get one DELIVER per node
   * with that node's users; users online nowhere, and users on nodes that are
   * down or too far behind, come back in the report.
   */
  route(sender: RouteSender, p: Buffer): void {
    const spans = scanSendUsers(p);
    // Users are kept as the offset of their length byte: no string per user
    // unless one fails.
    const groups = new UsersByNode<number>();
    forEachUser(p, spans.usersStart, (start, end) => groups.add(start - 1, this.table.nodesOf(p.toString('latin1', start, end))));
    const answers = sender.answers;
    const ticket = answers === undefined ? 0 : answers.open(spans.seq, spans.flags, SendKind.USERS);
    const report = answers === undefined ? new ReportBuilder() : undefined;
    const failed = (host: string, reason: FailureReason, users: string[]): void => {
      if (answers !== undefined) answers.fail(ticket, host, reason, users);
      else report!.failedAt(host, reason, users);
    };
    // A user online on several nodes is listed under each: the report could
    // outgrow what the sender reads. Then nothing is sent, and each user is
    // reported refused once.
    if (usersReportBound(p, groups) > sender.maxFrameBytes) {
      this.refuseWhole(sender, p, groups, failed);
      if (answers !== undefined) answers.close(ticket);
      else this.answer(sender, report!, spans.seq, spans.flags);
      return;
    }
    const payloadBytes = p.length - spans.payloadStart;
    const now = sender.lastReceived;
    for (const [nodeKey, idStarts] of groups.byNode) {
      const target = this.registry.get(nodeKey);
      const host = Buffer.from(nodeKey, 'latin1').toString('utf8');
      if (target === undefined) {
        if (answers !== undefined && this.parking.accepts(nodeKey, now)) {
          const writer = this.parked.writer;
          writeDeliverFromIds(writer, originFor(sender, true, spans.seq), spans.flags, p, idStarts, spans.payloadStart, payloadBytes);
          answers.wrote(ticket, host);
          answers.expect(ticket);
          this.parking.add(nodeKey, host, { frame: this.parked.take(), answers, ticket, at: now });
          continue;
        }
        failed(
          host,
          FailureReason.OFFLINE,
          idStarts.map((s) => idAt(p, s)),
        );
        this.stats.usersOffline += idStarts.length;
        continue;
      }
      const window = target.window;
      const origin = originFor(sender, window !== undefined, spans.seq);
      let reason: FailureReason | undefined;
      if (target.outboundBytes > this.maxOutboundBytes) {
        reason = FailureReason.OVERFLOW;
        this.stats.overflows++;
      } else if (deliverBytes(origin, p, idStarts, payloadBytes) > target.maxFrameBytes) {
        // Never written to a node that would cut its connection over it.
        reason = FailureReason.REFUSED;
      }
      if (reason !== undefined) {
        failed(
          host,
          reason,
          idStarts.map((s) => idAt(p, s)),
        );
        countUndelivered(this.stats, reason, idStarts.length);
        continue;
      }
      if (window === undefined) {
        writeDeliverFromIds(target.writer, origin, spans.flags, p, idStarts, spans.payloadStart, payloadBytes);
      } else if (window.mustHold) {
        writeDeliverFromIds(window.holding.writer, origin, spans.flags, p, idStarts, spans.payloadStart, payloadBytes);
        window.hold(answers, ticket, now);
        answers?.expect(ticket);
      } else {
        const at = window.mark();
        writeDeliverFromIds(target.writer, origin, spans.flags, p, idStarts, spans.payloadStart, payloadBytes);
        window.wrote(at, answers, ticket, now);
        answers?.expect(ticket);
      }
      target.touch();
      this.stats.deliveries++;
      if (answers !== undefined) answers.wrote(ticket, host);
      else report!.deliveredTo(host);
    }
    const nowhere = groups.nowhere.map((s) => idAt(p, s));
    if (nowhere.length > 0) failed('', FailureReason.NOWHERE, nowhere);
    countUndelivered(this.stats, FailureReason.NOWHERE, groups.nowhere.length);
    this.stats.routes++;
    if (answers !== undefined) {
      answers.close(ticket);
      return;
    }
    this.answer(sender, report!, spans.seq, spans.flags);
  }

  private answer(sender: RouteSender, report: ReportBuilder, seq: number, flags: number): void {
    const answer = report.encode(seq, flags);
    if (answer !== undefined) {
      sender.reportWriter().appendFrame(answer);
      sender.touch();
    }
  }

  /**
   * Refuses a SEND_USERS whose report could outgrow the sender's frame
   * limit: nothing is delivered, and each user is reported once (refused at
   * the first node holding it, or online nowhere). Throws `ERR_LIMIT` when
   * even that would not fit.
   */
  private refuseWhole(
    sender: RouteSender,
    p: Buffer,
    groups: UsersByNode<number>,
    failed: (host: string, reason: FailureReason, users: string[]) => void,
  ): void {
    const listed = new Set<number>();
    const once: Array<[string, string[]]> = [];
    let bytes = 16 + usersBytes(p, groups.nowhere);
    for (const [nodeKey, idStarts] of groups.byNode) {
      const users: string[] = [];
      for (const s of idStarts) {
        if (listed.has(s)) continue;
        listed.add(s);
        users.push(idAt(p, s));
        bytes += 1 + p[s]!;
      }
      if (users.length === 0) continue;
      bytes += 6 + nodeKey.length;
      once.push([Buffer.from(nodeKey, 'latin1').toString('utf8'), users]);
    }
    if (bytes > sender.maxFrameBytes) {
      throw new LimitError(`a send to users whose report cannot fit the sender's frame limit of ${sender.maxFrameBytes} bytes`);
    }
    for (const [host, users] of once) {
      failed(host, FailureReason.REFUSED, users);
      countUndelivered(this.stats, FailureReason.REFUSED, users.length);
    }
    if (groups.nowhere.length > 0) {
      const nowhere = groups.nowhere.map((s) => idAt(p, s));
      failed('', FailureReason.NOWHERE, nowhere);
      countUndelivered(this.stats, FailureReason.NOWHERE, nowhere.length);
    }
    this.stats.routes++;
  }
}

/** The largest REPORT a SEND_USERS grouped as `groups` can get: every node failed, each with its users. */
function usersReportBound(p: Buffer, groups: UsersByNode<number>): number {
  // Head, then per entry: host (latin1 key: one char per byte), reason, user count, users.
  let bytes = 10 + 6 + usersBytes(p, groups.nowhere);
  for (const [key, starts] of groups.byNode) bytes += 6 + key.length + usersBytes(p, starts);
  return bytes;
}

/** The bytes of the ids at `starts` (each at its length byte), length bytes included. */
function usersBytes(p: Buffer, starts: readonly number[]): number {
  let n = 0;
  for (const s of starts) n += 1 + p[s]!;
  return n;
}

/**
 * Where a DELIVER's origin comes from: the sender's id, or (to a ONCE node,
 * from a ONCE sender) the id followed by its incarnation, to be followed by
 * the send's seq: a stamp.
 */
interface Origin {
  bytes: Buffer;
  stamped: boolean;
  seq: number;
}

/** The origin of a DELIVER from `sender` to a node that does (`once`) or does not read stamps. */
function originFor(sender: RouteSender, once: boolean, seq: number): Origin {
  const stamped = once ? sender.stampedOrigin : undefined;
  return stamped === undefined ? { bytes: sender.origin, stamped: false, seq } : { bytes: stamped, stamped: true, seq };
}

/** The payload bytes of the DELIVER {@link writeDeliverFromIds} would write. */
function deliverBytes(origin: Origin, p: Buffer, idStarts: readonly number[], payloadBytes: number): number {
  let idBytes = 0;
  for (const s of idStarts) idBytes += 1 + p[s]!;
  return 2 + origin.bytes.length + (origin.stamped ? 4 : 0) + 4 + idBytes + payloadBytes;
}

/** A DELIVER whose user list is gathered from ids scattered in the frame (each at its length byte). */
function writeDeliverFromIds(
  writer: FrameWriter,
  origin: Origin,
  flags: number,
  p: Buffer,
  idStarts: readonly number[],
  payloadStart: number,
  payloadBytes: number,
): void {
  const off = writer.reserve(deliverBytes(origin, p, idStarts, payloadBytes));
  const buf = writer.buf;
  buf[off] = FrameType.DELIVER;
  buf[off + 1] = (flags & PAYLOAD_KIND_MASK) | (origin.stamped ? DeliverFlags.STAMPED : 0);
  let pos = off + 2 + origin.bytes.copy(buf, off + 2);
  if (origin.stamped) pos = buf.writeUInt32LE(origin.seq >>> 0, pos);
  buf.writeUInt32LE(idStarts.length, pos);
  pos += 4;
  for (const s of idStarts) pos += p.copy(buf, pos, s, s + 1 + p[s]!);
  p.copy(buf, pos, payloadStart);
}
