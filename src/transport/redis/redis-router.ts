import { FrameWriter } from '../../codec/frame-writer.js';
import { EngineError, RelayError } from '../../errors.js';
import type { PresenceStore } from '../../presence/presence-store.js';
import { ReportBuilder, UsersByNode } from '../../presence/users-by-node.js';
import {
  FailureReason,
  FrameType,
  PAYLOAD_KIND_MASK,
  PAYLOAD_KIND_SHIFT,
  PresenceOp,
  RouteSpans,
  decodeLocate,
  decodePresence,
  encodeDeliver,
  encodeLocated,
  readUserList,
  scanRoute,
  scanSendUsers,
  writeDeliver,
  type PayloadKind,
} from '../../protocol/index.js';
import { channelOf } from './options.js';
import type { RedisClientLike } from './redis-client-like.js';

/** Where the router's answers and failures go. */
export interface RouterSink {
  /** A REPORT or LOCATED payload for the client. */
  reply(payload: Buffer): void;
  /** A command failed: the link is no longer trustworthy. */
  fail(error: RelayError): void;
}

/**
 * The relay's routing done inside the node, over Redis: the client writes
 * the same binary frames it would write to a relay, and this turns them into
 * PUBLISHes and presence commands, and answers them.
 *
 * - ROUTE: one PUBLISH per target host (SPUBLISH on a cluster, so a message
 *   crosses only the shard that owns the host's channel) carrying the same
 *   DELIVER frame the relay would write. PUBLISH answers how many subscribers
 *   got it: a host with none is reported offline, so reports stay truthful
 *   without a hub.
 * - SEND_USERS and LOCATE: answered from the presence store.
 *
 * Frames are handled in order: a frame that needs a round trip first
 * (presence, locate) holds back the ones after it, so a node's messages keep
 * their order.
 */
export class RedisRouter {
  private readonly deliverWriter = new FrameWriter(16 * 1024);
  private readonly spans = new RouteSpans();
  private readonly origin: Buffer;
  private queue: Promise<void> = Promise.resolve();
  /** Routes published and waiting for their replies, so that {@link drain} lets their reports out first. */
  private readonly routing = new Set<Promise<void>>();
  /** On a cluster, the last report issued: each waits for the one before (see route). */
  private lastReport: Promise<void> = Promise.resolve();
  private backlog = 0;
  private resetParts: string[] = [];
  private stopped = false;

  constructor(
    private readonly pub: RedisClientLike,
    private readonly store: PresenceStore,
    private readonly nodeId: string,
    private readonly prefix: string,
    private readonly sink: RouterSink,
  ) {
    const id = Buffer.from(nodeId, 'utf8');
    this.origin = Buffer.concat([Buffer.of(id.length), id]);
  }

  /** Handles one frame (without its length prefix), in order with the ones before it. */
  enqueue(frame: Buffer): void {
    if (this.backlog === 0 && frame[0] === FrameType.ROUTE) {
      this.route(frame);
      return;
    }
    this.backlog++;
    this.queue = this.queue
      .then(() => this.handle(frame))
      .catch((err: unknown) => this.sink.fail(asEngineError(err, 'redis command failed')))
      .finally(() => this.backlog--);
  }

  /** Resolves once every frame handed in so far is answered. */
  async drain(): Promise<void> {
    await this.queue;
    await Promise.all(this.routing);
  }

  /** Answers nothing more. */
  stop(): void {
    this.stopped = true;
  }

  private async handle(frame: Buffer): Promise<void> {
    if (this.stopped) return;
    switch (frame[0]) {
      case FrameType.ROUTE:
        this.route(frame);
        return;
      case FrameType.SEND_USERS:
        await this.sendToUsers(frame);
        return;
      case FrameType.PRESENCE:
        await this.presence(frame);
        return;
      case FrameType.LOCATE: {
        const { seq, users } = decodeLocate(frame);
        const located = await this.store.locate(users);
        this.reply(
          encodeLocated(
            seq,
            users.map((user) => [user, located.get(user) ?? []] as const),
          ),
        );
        return;
      }
      default:
        // GOODBYE and PING have no meaning without a relay.
        return;
    }
  }

  /** One PUBLISH per host, issued now; the report follows the replies. */
  private route(frame: Buffer): void {
    const spans = this.spans;
    scanRoute(frame, spans);
    const hosts: string[] = [];
    const users: Buffer[] = [];
    const published: Array<Promise<number>> = [];
    for (let i = 0; i < spans.hostCount; i++) {
      const host = frame.toString('utf8', spans.hostStart(i), spans.hostEnd(i));
      writeDeliver(
        this.deliverWriter,
        this.origin,
        spans.flags,
        frame,
        spans.usersStart(i),
        spans.usersEnd(i),
        spans.payloadStart,
        spans.end,
        undefined,
      );
      hosts.push(host);
      users.push(frame.subarray(spans.usersStart(i), spans.usersEnd(i)));
      published.push(this.publish(host, this.takeDeliver()));
    }
    const { seq, flags } = spans;
    this.reportWhenPublished(published, seq, flags, (report, i, reached) => {
      if (reached) report.deliveredTo(hosts[i]!);
      else report.failedAt(hosts[i]!, FailureReason.OFFLINE, readUserList(users[i]!, 0));
    });
  }

  private async sendToUsers(frame: Buffer): Promise<void> {
    const { flags, seq, usersStart, payloadStart } = scanSendUsers(frame);
    const users = readUserList(frame, usersStart);
    const payload = frame.subarray(payloadStart);
    const kind = ((flags & PAYLOAD_KIND_MASK) >> PAYLOAD_KIND_SHIFT) as PayloadKind;
    const located = await this.store.locate(users);
    const groups = new UsersByNode<string>();
    for (const user of users) groups.add(user, located.get(user));
    const nodes = [...groups.byNode.keys()];
    const published = nodes.map((node) => this.publish(node, encodeDeliver(this.nodeId, groups.byNode.get(node)!, kind, payload)));
    this.reportWhenPublished(
      published,
      seq,
      flags,
      (report, i, reached) => {
        if (reached) report.deliveredTo(nodes[i]!);
        else report.failedAt(nodes[i]!, FailureReason.OFFLINE, groups.byNode.get(nodes[i]!)!);
      },
      groups.nowhere,
    );
  }

  /**
   * Reports a send once its PUBLISHes are answered: a host whose channel had
   * a subscriber took its users. On a cluster the hosts' channels live on
   * different shards, whose replies come back on different connections: a
   * report waits for the ones before it, so that a sender's reports keep
   * their order, as from a relay. (On one server they come back in order.)
   */
  private reportWhenPublished(
    published: Array<Promise<number>>,
    seq: number,
    flags: number,
    each: (report: ReportBuilder, i: number, reached: boolean) => void,
    nowhere: string[] = [],
  ): void {
    const replies = Promise.all(published);
    const ordered = this.pub.isCluster === true ? Promise.all([replies, this.lastReport]).then(([counts]) => counts) : replies;
    const done = ordered.then(
      (counts) => {
        const report = new ReportBuilder();
        counts.forEach((count, i) => each(report, i, count > 0));
        report.nowhere(nowhere);
        const answer = report.encode(seq, flags);
        if (answer !== undefined) this.reply(answer);
      },
      (err: unknown) => this.sink.fail(asEngineError(err, 'publish failed')),
    );
    this.lastReport = done;
    this.routing.add(done);
    void done.finally(() => this.routing.delete(done));
  }

  private async presence(frame: Buffer): Promise<void> {
    const { op, usersStart } = decodePresence(frame);
    const users = readUserList(frame, usersStart);
    const node = this.nodeId;
    if (op === PresenceOp.ONLINE) await this.store.online(node, users);
    else if (op === PresenceOp.OFFLINE) await this.store.offline(node, users);
    else if (op === PresenceOp.RESET_PART) this.resetParts.push(...users);
    else {
      const all = this.resetParts.length > 0 ? this.resetParts.concat(users) : users;
      this.resetParts = [];
      await this.store.reset(node, all);
    }
  }

  private publish(host: string, deliver: Buffer): Promise<number> {
    const channel = channelOf(this.prefix, host);
    return this.pub.isCluster ? (this.pub.spublish!(channel, deliver) as Promise<number>) : this.pub.publish(channel, deliver);
  }

  /** The DELIVER just written, without its length prefix: a channel message is already framed. */
  private takeDeliver(): Buffer {
    const parts = this.deliverWriter.take();
    const frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return frame.subarray(4);
  }

  private reply(payload: Buffer): void {
    if (!this.stopped) this.sink.reply(payload);
  }
}

/** A failed Redis command as a coded error. */
export function asEngineError(err: unknown, what: string): RelayError {
  if (err instanceof RelayError) return err;
  return new EngineError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
