import { FrameWriter } from '../../codec/frame-writer.js';
import { EngineError, RelayError } from '../../errors.js';
import type { PresenceStore } from '../../presence/presence-store.js';
import { UsersByNode } from '../../presence/users-by-node.js';
import {
  AckRun,
  FrameType,
  PAYLOAD_KIND_MASK,
  PAYLOAD_KIND_SHIFT,
  PresenceOp,
  RouteSpans,
  decodeLocate,
  deliverPayload,
  decodePresence,
  encodeDeliver,
  encodeLocated,
  readUserList,
  scanRoute,
  scanSendUsers,
  writeStampedDeliver,
  type PayloadKind,
} from '../../protocol/index.js';
import type { StreamId } from './channel-format.js';
import type { ChannelMac } from './channel-mac.js';
import { FlushSends, type UsersSend } from './flush-answers.js';
import { Outbox } from './outbox.js';
import { publishFlush, publishOne } from './publish.js';
import type { RedisClientLike } from './redis-client-like.js';
import { routesByShard } from './cluster-nodes.js';
import { ShardPublisher } from './shard-publish.js';
import { SlotRefresher } from './slot-refresh.js';

/**
 * Flushes published and not yet answered at a time. One: the replies of the
 * last one are what lets the next go, so batches grow with the load and a
 * flush waits at most one round trip to Redis.
 */
const MAX_FLUSHES_IN_FLIGHT = 1;

/** Where the router's answers and failures go. */
export interface RouterSink {
  /** An ACK, REPORT or LOCATED payload for the client, at `[start, end)` of `buf`. */
  reply(buf: Buffer, start: number, end: number): void;
  /** A command failed: the link is no longer trustworthy. */
  fail(error: RelayError): void;
}

/** What a router is made with besides its Redis client, presence and sink. */
export interface RouterOptions {
  nodeId: string;
  prefix: string;
  /** What names this link's batches (see channel-format.ts). */
  stream: StreamId;
  /** Signs every batch, when the nodes share a secret. */
  mac: ChannelMac | undefined;
}

/**
 * The relay's routing done inside the node, over Redis: the client writes
 * the same binary frames it would write to a relay, and this turns them into
 * channel messages and presence commands, and answers them.
 *
 * - ROUTE: a DELIVER per target host, written into that host's batch (see
 *   outbox.ts). At the end of each write from the client (one flush), every
 *   batch is published once: one PUBLISH per target per flush, SPUBLISH on a
 *   cluster so that a message crosses only the shard that owns the target's
 *   channel. PUBLISH answers how many subscribers got the batch: a host with
 *   none is reported offline, so reports stay truthful without a hub.
 * - SEND_USERS and LOCATE: answered from the presence store.
 *
 * Answers go back in send order (flush-answers.ts): on a cluster, shards
 * answer in any order, so each flush's answers wait for the flush before.
 * A frame that needs a round trip first (presence, locate, send to users)
 * holds back the ones after it, so a node's messages keep their order.
 */
export class RedisRouter {
  private readonly outbox: Outbox;
  private sends = new FlushSends();
  private readonly answers = new FrameWriter(16 * 1024);
  private readonly acks = new AckRun();
  private readonly spans = new RouteSpans();
  private readonly reportSpans = new RouteSpans();
  /** The sender's id with its length byte, then its incarnation: every DELIVER is stamped, so that a resend is known. */
  private readonly stampedOrigin: Buffer;
  /** Frames waiting behind one that needs a round trip. */
  private readonly pending: Buffer[] = [];
  private pumping = false;
  private pumped: Promise<void> = Promise.resolve();
  /** The answers of the last flush published: the next flush's wait for them. */
  private answered: Promise<void> = Promise.resolve();
  private resetParts: string[] = [];
  private stopped = false;
  /** Flushes published and not yet answered by Redis. */
  private inFlight = 0;
  /** A flush is ready and waits for {@link inFlight} to come down. */
  private held = false;
  private readonly slots: SlotRefresher | undefined;
  /** On a cluster whose client has a slot map: SPUBLISH straight to each shard. */
  private readonly shards: ShardPublisher | undefined;
  /** Channel messages published, probes included. */
  batchesSent = 0;

  constructor(
    private readonly pub: RedisClientLike,
    private readonly store: PresenceStore,
    private readonly options: RouterOptions,
    private readonly sink: RouterSink,
  ) {
    this.stampedOrigin = Buffer.concat([options.stream.origin, options.stream.incarnation]);
    this.outbox = new Outbox(options.stream, options.prefix, options.mac);
    this.slots = pub.isCluster === true ? new SlotRefresher(pub) : undefined;
    this.shards = routesByShard(pub) ? new ShardPublisher(pub) : undefined;
  }

  /** Handles one frame (without its length prefix), in order with the ones before it. */
  enqueue(frame: Buffer): void {
    if (this.stopped) return;
    if (!this.pumping && frame[0] === FrameType.ROUTE) {
      this.route(frame);
      return;
    }
    this.pending.push(frame);
    if (!this.pumping) {
      this.pumping = true;
      this.pumped = this.pump();
    }
  }

  /** The client's write is over: publishes what it sent (a frame waiting for a round trip publishes after it). */
  flush(): void {
    if (!this.pumping) this.publish();
  }

  /** Resolves once every frame handed in so far is published and answered. */
  async drain(): Promise<void> {
    await this.pumped;
    do {
      this.publish();
      await this.answered;
    } while (!this.stopped && (this.inFlight > 0 || this.sends.size > 0));
  }

  /** Publishes a probe to this node's own channel; resolves with the number of subscribers that got it. */
  probe(): Promise<number> {
    const { channel, message } = this.outbox.probe(this.options.nodeId);
    this.batchesSent++;
    return publishOne(this.pub, channel, message);
  }

  /** Answers nothing more. */
  stop(): void {
    this.stopped = true;
    this.pending.length = 0;
  }

  private async pump(): Promise<void> {
    try {
      for (let frame = this.pending.shift(); frame !== undefined && !this.stopped; frame = this.pending.shift()) {
        if (frame[0] === FrameType.ROUTE) {
          this.route(frame);
          continue;
        }
        // What came before this frame goes out before its round trip.
        this.publish();
        await this.handle(frame);
      }
      this.publish();
    } catch (err) {
      this.sink.fail(asEngineError(err, 'redis command failed'));
    } finally {
      this.pumping = false;
    }
  }

  private async handle(frame: Buffer): Promise<void> {
    switch (frame[0]) {
      case FrameType.SEND_USERS:
        await this.sendToUsers(frame);
        return;
      case FrameType.PRESENCE:
        await this.presence(frame);
        return;
      case FrameType.LOCATE: {
        const { seq, users } = decodeLocate(frame);
        const located = await this.store.locate(users);
        const answer = encodeLocated(
          seq,
          users.map((user) => [user, located.get(user) ?? []] as const),
        );
        if (!this.stopped) this.sink.reply(answer, 0, answer.length);
        return;
      }
      default:
        // GOODBYE and PING have no meaning without a relay.
        return;
    }
  }

  /** A DELIVER per host into that host's batch of this flush. */
  private route(frame: Buffer): void {
    const spans = this.spans;
    scanRoute(frame, spans);
    const sends = this.sends;
    sends.addRoute(frame);
    // A frame per send: a DataView of it would cost what copying by words saves.
    const payload = deliverPayload(frame, spans.payloadStart, spans.end, spans.hostCount);
    for (let i = 0; i < spans.hostCount; i++) {
      const lane = this.outbox.laneFor(frame.toString('utf8', spans.hostStart(i), spans.hostEnd(i)));
      writeStampedDeliver(
        lane.writer,
        this.stampedOrigin,
        spans.flags,
        spans.seq,
        frame,
        spans.usersStart(i),
        spans.usersEnd(i),
        spans.payloadStart,
        spans.end,
        payload,
      );
      sends.hostBatch.push(lane.open);
      this.outbox.wrote(lane);
    }
  }

  private async sendToUsers(frame: Buffer): Promise<void> {
    const { flags, seq, usersStart, payloadStart } = scanSendUsers(frame);
    const users = readUserList(frame, usersStart);
    const payload = frame.subarray(payloadStart);
    const kind = ((flags & PAYLOAD_KIND_MASK) >> PAYLOAD_KIND_SHIFT) as PayloadKind;
    const located = await this.store.locate(users);
    if (this.stopped) return;
    const groups = new UsersByNode<string>();
    for (const user of users) groups.add(user, located.get(user));
    const send: UsersSend = { seq, flags, nodes: [], users: [], batches: [], nowhere: groups.nowhere };
    for (const [node, list] of groups.byNode) {
      const lane = this.outbox.laneFor(node);
      lane.writer.appendFrame(
        encodeDeliver(this.options.nodeId, list, kind, payload, { incarnation: this.options.stream.incarnation, seq }),
      );
      send.nodes.push(node);
      send.users.push(list);
      send.batches.push(lane.open);
      this.outbox.wrote(lane);
    }
    this.sends.addUsers(send);
  }

  /**
   * Publishes the open batches; their sends are answered once Redis has
   * counted each batch's subscribers. While a flush is still waiting for its
   * replies, the next one keeps filling and goes out when they come: under
   * load a batch carries what several flushes of the client sent (fewer,
   * larger channel messages), and a lone message waits for nothing.
   */
  private publish(): void {
    const sends = this.sends;
    if (sends.size === 0 || this.stopped) return;
    if (this.inFlight >= MAX_FLUSHES_IN_FLIGHT) {
      this.held = true;
      return;
    }
    this.sends = new FlushSends();
    const flush = this.outbox.take();
    this.batchesSent += flush.messages.length;
    const counts: Promise<ArrayLike<number>> =
      flush.messages.length === 0 ? Promise.resolve([]) : publishFlush(this.pub, flush, this.shards);
    const previous = this.answered;
    this.inFlight++;
    this.answered = counts.then(
      (c) => {
        this.released();
        this.slots?.counted(flush.lanes, c);
        return previous.then(() => this.answer(sends, c));
      },
      (err: unknown) => {
        this.released();
        this.sink.fail(asEngineError(err, 'publish failed'));
      },
    );
  }

  private released(): void {
    this.inFlight--;
    if (!this.held) return;
    this.held = false;
    this.publish();
  }

  private answer(sends: FlushSends, counts: ArrayLike<number>): void {
    if (this.stopped) return;
    sends.answer(counts, this.answers, this.acks, this.reportSpans);
    for (const part of this.answers.take()) {
      for (let pos = 0; pos < part.length && !this.stopped;) {
        const start = pos + 4;
        const end = start + part.readUInt32LE(pos);
        this.sink.reply(part, start, end);
        pos = end;
      }
    }
  }

  private async presence(frame: Buffer): Promise<void> {
    const { op, usersStart } = decodePresence(frame);
    const users = readUserList(frame, usersStart);
    const node = this.options.nodeId;
    if (op === PresenceOp.ONLINE) await this.store.online(node, users);
    else if (op === PresenceOp.OFFLINE) await this.store.offline(node, users);
    else if (op === PresenceOp.RESET_PART) this.resetParts.push(...users);
    else {
      const all = this.resetParts.length > 0 ? this.resetParts.concat(users) : users;
      this.resetParts = [];
      await this.store.reset(node, all);
    }
  }
}

/** A failed Redis command as a coded error. */
export function asEngineError(err: unknown, what: string): RelayError {
  if (err instanceof RelayError) return err;
  return new EngineError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
