import type { FrameWriter } from '../codec/frame-writer.js';
import { PresenceTable } from '../presence/presence-table.js';
import {
  FailureReason,
  FrameType,
  PAYLOAD_KIND_MASK,
  PresenceOp,
  DeliverFlags,
  decodeLocate,
  decodePresence,
  encodeLocated,
  scanSendUsers,
} from '../protocol/index.js';
import { ReportBuilder, UsersByNode } from '../presence/users-by-node.js';
import { HoldingWriter } from './held-delivery.js';
import type { Parking } from './parking.js';
import { SendKind } from './pending-answers.js';
import type { Registry } from './registry.js';
import type { Session } from './session.js';
import type { RelayStats } from './stats.js';

/**
 * Presence kept by the relay: which nodes hold each user, fed by the nodes'
 * PRESENCE frames, and routing by user id (SEND_USERS) and LOCATE on top of it.
 *
 * When a node drops, its users stay located there for a grace period, so a
 * quick reconnect does not make them flicker offline; the reconnected node
 * re-announces its users (RESET). If it does not come back in time, its users
 * are forgotten: presence never goes stale because a node crashed.
 */
export class PresenceRouter {
  readonly table = new PresenceTable();
  private readonly parked = new HoldingWriter();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  /** The users of RESET_PART frames, by node, until the RESET that completes them. */
  private readonly resetParts = new Map<string, string[]>();

  constructor(
    private readonly registry: Registry,
    private readonly stats: RelayStats,
    private readonly maxOutboundBytes: number,
    private readonly graceMs: number,
    private readonly parking: Parking,
  ) {}

  /** Applies a PRESENCE frame from `node`. */
  presence(node: Session, p: Buffer): void {
    const { op, usersStart } = decodePresence(p);
    const users = userKeys(p, usersStart);
    if (op === PresenceOp.RESET_PART || op === PresenceOp.RESET) {
      const parts = this.resetParts.get(node.key);
      if (parts !== undefined) for (const user of users) parts.push(user);
      if (op === PresenceOp.RESET_PART) {
        if (parts === undefined) this.resetParts.set(node.key, users);
        return;
      }
      this.resetParts.delete(node.key);
      this.table.reset(node.key, parts ?? users);
    } else if (op === PresenceOp.ONLINE) for (const user of users) this.table.online(node.key, user);
    else for (const user of users) this.table.offline(node.key, user);
  }

  /** A node (re)joined: its users, if any are still held, are its again. */
  nodeUp(key: string): void {
    this.resetParts.delete(key);
    const timer = this.graceTimers.get(key);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.graceTimers.delete(key);
    }
  }

  /** A node left: forget its users unless it comes back within the grace period. */
  nodeDown(key: string): void {
    // A RESET cut short by the drop is void: the next connection sends its own.
    this.resetParts.delete(key);
    if (this.table.usersOf(key) === undefined || this.graceTimers.has(key)) return;
    const timer = setTimeout(() => {
      this.graceTimers.delete(key);
      if (!this.registry.has(key)) this.table.dropNode(key);
    }, this.graceMs);
    timer.unref();
    this.graceTimers.set(key, timer);
  }

  /** Stops every grace timer (the relay is closing). */
  close(): void {
    for (const timer of this.graceTimers.values()) clearTimeout(timer);
    this.graceTimers.clear();
    this.resetParts.clear();
  }

  /**
   * Routes a SEND_USERS frame: each user's nodes get one DELIVER per node
   * with that node's users; users online nowhere, and users on nodes that are
   * down or too far behind, come back in the report.
   */
  sendToUsers(sender: Session, p: Buffer): void {
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
        this.stats.usersOffline += idStarts.length;
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
    this.stats.usersOffline += groups.nowhere.length;
    this.stats.routes++;
    if (answers !== undefined) {
      answers.close(ticket);
      return;
    }
    const answer = report!.encode(spans.seq, spans.flags);
    if (answer !== undefined) {
      sender.reportWriter().appendFrame(answer);
      sender.touch();
    }
  }

  /** Answers a LOCATE frame with the nodes of each user asked about. */
  locate(sender: Session, p: Buffer): void {
    const { seq, users } = decodeLocate(p);
    const located = users.map((user) => {
      const nodes = this.table.nodesOf(Buffer.from(user, 'utf8').toString('latin1'));
      const list = nodes === undefined ? [] : typeof nodes === 'string' ? [nodes] : nodes;
      return [user, list.map((key) => Buffer.from(key, 'latin1').toString('utf8'))] as const;
    });
    sender.writer.appendFrame(encodeLocated(seq, located));
    sender.touch();
  }
}

function userKeys(p: Buffer, usersStart: number): string[] {
  const keys: string[] = [];
  forEachUser(p, usersStart, (start, end) => keys.push(p.toString('latin1', start, end)));
  return keys;
}

/** Calls `fn` with the byte range of each id in a validated user list. */
function forEachUser(p: Buffer, usersStart: number, fn: (start: number, end: number) => void): void {
  const count = p.readUInt32LE(usersStart);
  let pos = usersStart + 4;
  for (let i = 0; i < count; i++) {
    const end = pos + 1 + p[pos]!;
    fn(pos + 1, end);
    pos = end;
  }
}

/** The id whose length byte is at `s`. */
function idAt(p: Buffer, s: number): string {
  return p.toString('utf8', s + 1, s + 1 + p[s]!);
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
function originFor(sender: Session, once: boolean, seq: number): Origin {
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
