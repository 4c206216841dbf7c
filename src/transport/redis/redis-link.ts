import { FrameDecoder } from '../codec/frame-decoder.js';
import { FrameWriter } from '../codec/frame-writer.js';
import { ErrorCodes, ProtocolError, RelayError } from '../errors.js';
import type { Link, LinkEvents } from '../client/link.js';
import type { PresenceStore } from '../presence/presence-store.js';
import {
  FailureReason,
  Features,
  FrameType,
  PAYLOAD_KIND_MASK,
  PAYLOAD_KIND_SHIFT,
  PresenceOp,
  RouteFlags,
  RouteSpans,
  decodeLocate,
  decodePresence,
  encodeDeliver,
  encodeLocated,
  encodeReport,
  readUserList,
  scanRoute,
  scanSendUsers,
  writeDeliver,
  type FailedHost,
  type PayloadKind,
} from '../protocol/index.js';
import { connectRedis, whenReady, type RedisClientLike } from './redis-client-like.js';
import { RedisPresenceStore, type RedisPresenceOptions } from './presence-store.js';

/** Options of a {@link RedisLink}. */
export interface RedisLinkOptions {
  nodeId: string;
  /** A `redis://` or `rediss://` url, or a ready-made client (`Redis` or `Cluster`). */
  target: string | RedisClientLike;
  /** Key and channel prefix. */
  prefix: string;
  presence: Omit<RedisPresenceOptions, 'prefix'>;
  maxFrameBytes: number;
  connectTimeoutMs: number;
}

/**
 * The relay's job done over Redis, inside the node: the client writes the
 * same binary frames as to a relay, and this link routes them itself.
 *
 * - ROUTE: one PUBLISH per target host (SPUBLISH on a cluster, so a message
 *   crosses only the shard that owns the host's channel) carrying the same
 *   DELIVER frame the relay would write. PUBLISH answers how many subscribers
 *   got it: a host with none is reported offline, so reports stay truthful
 *   without a hub.
 * - SEND_USERS and LOCATE: answered from the presence store in Redis.
 * - Each node subscribes to its own channel; what arrives are DELIVER frames.
 *
 * Frames are handled in order: a frame that needs a round trip first
 * (presence, locate) holds back the ones after it, so a node's messages keep
 * their order.
 */
export class RedisLink implements Link {
  ready = false;
  readonly features = Features.FAILURE_NOTICES | Features.PRESENCE;
  readonly localAddress = '';
  readonly writableLength = 0;
  isPaused = false;
  lastReceived = Date.now();
  lastSent = Date.now();

  private pub: RedisClientLike | undefined;
  private sub: RedisClientLike | undefined;
  private store: PresenceStore | undefined;
  private readonly ownsClients: boolean;
  private readonly decoder = new FrameDecoder({ maxFrameBytes: 0x7fff_ffff });
  private readonly deliverWriter = new FrameWriter(16 * 1024);
  private readonly spans = new RouteSpans();
  private readonly origin: Buffer;
  private readonly channel: string;
  private queue: Promise<void> = Promise.resolve();
  /** Routes published and waiting for their replies, so that `end()` lets their reports out first. */
  private readonly routing = new Set<Promise<void>>();
  /** On a cluster, the last report issued: each waits for the one before (see route). */
  private lastReport: Promise<void> = Promise.resolve();
  private backlog = 0;
  private resetParts: string[] = [];
  private paused: Buffer[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly options: RedisLinkOptions,
    private readonly events: LinkEvents,
  ) {
    this.ownsClients = typeof options.target === 'string';
    const id = Buffer.from(options.nodeId, 'utf8');
    this.origin = Buffer.concat([Buffer.of(id.length), id]);
    this.channel = channelOf(options.prefix, options.nodeId);
    this.start().catch((err: unknown) => this.destroy(asRelayError(err, 'could not connect to redis')));
  }

  write(parts: Buffer[]): void {
    if (this.closed) return;
    this.lastSent = Date.now();
    for (const part of parts) this.decoder.push(part);
    let frame: Buffer | undefined;
    while ((frame = this.decoder.next()) !== undefined) this.enqueue(frame);
  }

  ping(): void {}

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    const held = this.paused;
    this.paused = [];
    for (const payload of held) {
      if (this.isPaused) this.paused.push(payload);
      else this.events.onFrame(payload, 0, payload.length);
    }
  }

  end(): void {
    if (this.closed) return;
    // Reports of frames already written come back before the link closes; so
    // do the messages already published to this node (see unsubscribe).
    void this.queue
      .then(() => Promise.all(this.routing))
      .then(() => this.store?.leave(this.options.nodeId))
      .then(() => this.unsubscribe())
      .catch(() => {})
      .then(() => this.shutdown(undefined));
  }

  destroy(reason: RelayError): void {
    this.shutdown(reason);
  }

  private async start(): Promise<void> {
    const { target, connectTimeoutMs } = this.options;
    const pub = typeof target === 'string' ? await connectRedis(target) : target;
    this.pub = pub;
    pub.on('error', this.onClientError);
    // The link may be closed at any await below (close() while connecting):
    // then what was made since is released, and nothing more is started.
    if (this.abandoned()) return;
    await whenReady(pub, connectTimeoutMs);
    if (this.abandoned()) return;
    // Subscribed connections can do nothing else: a second connection listens.
    const sub = pub.isCluster ? pub.duplicate([], { shardedSubscribers: true }) : pub.duplicate();
    this.sub = sub;
    sub.on('error', this.onClientError);
    sub.on('messageBuffer', this.onMessage);
    sub.on('smessageBuffer', this.onMessage);
    await whenReady(sub, connectTimeoutMs);
    if (this.abandoned()) return;
    if (pub.isCluster) await sub.ssubscribe!(this.channel);
    else await sub.subscribe(this.channel);
    // Check with the server rather than trust the client library's word.
    await this.verifySubscribed();
    if (this.abandoned()) return;
    this.store = new RedisPresenceStore(pub, { ...this.options.presence, prefix: this.options.prefix });
    await this.store.heartbeat(this.options.nodeId);
    if (this.abandoned()) return;
    for (const client of [pub, sub]) {
      client.on('close', this.onClientClose);
      client.on('end', this.onClientClose);
    }
    const livenessMs = this.options.presence.livenessMs ?? 15_000;
    // The heartbeat also watches the connection: a Redis that stops answering
    // (frozen, or cut off without a reset) would otherwise hold this link
    // forever. Unanswered for livenessMs, this node is out of presence
    // anyway: the link gives up and the client connects again.
    let pendingSince = 0;
    this.heartbeat = setInterval(() => {
      if (pendingSince !== 0) {
        if (Date.now() - pendingSince > livenessMs) {
          this.destroy(new RelayError(ErrorCodes.HEARTBEAT, `redis did not answer the presence heartbeat within ${livenessMs} ms`));
        }
        return;
      }
      pendingSince = Date.now();
      this.store?.heartbeat(this.options.nodeId).then(
        () => (pendingSince = 0),
        (err: unknown) => this.destroy(asRelayError(err, 'presence heartbeat failed')),
      );
    }, Math.max(50, livenessMs / 3));
    this.heartbeat.unref();
    this.ready = true;
    this.events.onReady({ maxFrameBytes: this.options.maxFrameBytes, heartbeatMs: 0 });
  }

  /** True when the link was closed while starting; the clients made so far are released. */
  private abandoned(): boolean {
    if (!this.closed) return false;
    this.releaseClients();
    return true;
  }

  /**
   * Leaves this node's channel and waits for Redis to confirm. Every message
   * published to the channel before that was counted as received in its
   * sender's report, and is on this connection ahead of the confirmation:
   * waiting for it hands them all to the client instead of dropping them
   * with the connection.
   */
  private async unsubscribe(): Promise<void> {
    const sub = this.sub;
    if (sub === undefined) return;
    if (this.pub?.isCluster) await sub.sunsubscribe!(this.channel);
    else await sub.unsubscribe(this.channel);
  }

  /** Asks the server (every master, on a cluster) how many subscribers our channel has. */
  private async verifySubscribed(): Promise<void> {
    const pub = this.pub!;
    const servers = pub.isCluster ? (pub.nodes?.('master') ?? [pub]) : [pub];
    const command = pub.isCluster ? 'SHARDNUMSUB' : 'NUMSUB';
    const replies = await Promise.all(servers.map((server) => server.call('PUBSUB', command, this.channel) as Promise<unknown[]>));
    const subscribers = replies.reduce((sum: number, reply) => sum + Number(reply[1] ?? 0), 0);
    if (subscribers < 1) {
      throw new RelayError(ErrorCodes.CLOSED, `redis reports no subscriber on ${this.channel} after subscribing`);
    }
  }

  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    if (this.closed || channel.toString() !== this.channel) return;
    this.lastReceived = Date.now();
    if (this.isPaused) this.paused.push(message);
    else this.events.onFrame(message, 0, message.length);
  };

  private readonly onClientError = (): void => {
    // 'close' or 'end' follows and carries the failure to the client.
  };

  private readonly onClientClose = (): void => {
    this.destroy(new RelayError(ErrorCodes.CLOSED, 'the connection to redis closed'));
  };

  /** Handles frames strictly in order, without a microtask per frame when nothing is waiting. */
  private enqueue(frame: Buffer): void {
    if (this.backlog === 0 && frame[0] === FrameType.ROUTE) {
      this.route(frame);
      return;
    }
    this.backlog++;
    this.queue = this.queue
      .then(() => this.handle(frame))
      .catch((err: unknown) => this.destroy(asRelayError(err, 'redis command failed')))
      .finally(() => this.backlog--);
  }

  private async handle(frame: Buffer): Promise<void> {
    if (this.closed) return;
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
        const located = await this.store!.locate(users);
        this.reply(encodeLocated(seq, users.map((user) => [user, located.get(user) ?? []] as const)));
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
      writeDeliver(this.deliverWriter, this.origin, spans.flags, frame, spans.usersStart(i), spans.usersEnd(i), spans.payloadStart, spans.end, undefined);
      hosts.push(host);
      users.push(frame.subarray(spans.usersStart(i), spans.usersEnd(i)));
      published.push(this.publish(host, this.takeDeliver()));
    }
    const { seq, flags } = spans;
    const replies = Promise.all(published);
    // On a cluster the hosts' channels live on different shards, whose replies
    // come back on different connections: a report waits for the ones before
    // it, so that a sender's reports and offline notices keep their order, as
    // from a relay. (On one server the replies come back in order anyway.)
    const cluster = this.pub!.isCluster === true;
    const ordered = cluster ? Promise.all([replies, this.lastReport]).then(([counts]) => counts) : replies;
    const done = ordered.then(
      (counts) => {
        const failed: FailedHost[] = [];
        const delivered: string[] = [];
        counts.forEach((count, i) => {
          if (count > 0) delivered.push(hosts[i]!);
          else failed.push({ host: hosts[i]!, reason: FailureReason.OFFLINE, users: readUserList(users[i]!, 0) });
        });
        this.report(seq, flags, delivered, failed);
      },
      (err: unknown) => this.destroy(asRelayError(err, 'publish failed')),
    );
    if (cluster) this.lastReport = done;
    this.routing.add(done);
    void done.finally(() => this.routing.delete(done));
  }

  private async sendToUsers(frame: Buffer): Promise<void> {
    const { flags, seq, usersStart, payloadStart } = scanSendUsers(frame);
    const users = readUserList(frame, usersStart);
    const payload = frame.subarray(payloadStart);
    const kind = ((flags & PAYLOAD_KIND_MASK) >> PAYLOAD_KIND_SHIFT) as PayloadKind;
    const located = await this.store!.locate(users);
    const byNode = new Map<string, string[]>();
    const nowhere: string[] = [];
    for (const user of users) {
      const nodes = located.get(user) ?? [];
      if (nodes.length === 0) nowhere.push(user);
      for (const node of nodes) (byNode.get(node) ?? byNode.set(node, []).get(node)!).push(user);
    }
    const nodes = [...byNode.keys()];
    const counts = await Promise.all(
      nodes.map((node) => this.publish(node, encodeDeliver(this.options.nodeId, byNode.get(node)!, kind, payload))),
    );
    const delivered: string[] = [];
    const failed: FailedHost[] = [];
    counts.forEach((count, i) => {
      if (count > 0) delivered.push(nodes[i]!);
      else failed.push({ host: nodes[i]!, reason: FailureReason.OFFLINE, users: byNode.get(nodes[i]!)! });
    });
    if (nowhere.length > 0) failed.push({ host: '', reason: FailureReason.NOWHERE, users: nowhere });
    await this.lastReport;
    this.report(seq, flags, delivered, failed);
  }

  private async presence(frame: Buffer): Promise<void> {
    const { op, usersStart } = decodePresence(frame);
    const users = readUserList(frame, usersStart);
    const node = this.options.nodeId;
    const store = this.store!;
    if (op === PresenceOp.ONLINE) await store.online(node, users);
    else if (op === PresenceOp.OFFLINE) await store.offline(node, users);
    else if (op === PresenceOp.RESET_PART) this.resetParts.push(...users);
    else {
      const all = this.resetParts.length > 0 ? this.resetParts.concat(users) : users;
      this.resetParts = [];
      await store.reset(node, all);
    }
  }

  private publish(host: string, deliver: Buffer): Promise<number> {
    const pub = this.pub!;
    const channel = channelOf(this.options.prefix, host);
    return pub.isCluster ? (pub.spublish!(channel, deliver) as Promise<number>) : pub.publish(channel, deliver);
  }

  /** The DELIVER just written, without its length prefix: a channel message is already framed. */
  private takeDeliver(): Buffer {
    const parts = this.deliverWriter.take();
    const frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return frame.subarray(4);
  }

  private report(seq: number, flags: number, delivered: string[], failed: FailedHost[]): void {
    const full = (flags & RouteFlags.REPORT) !== 0;
    if (full || failed.length > 0) this.reply(encodeReport({ seq, full, delivered, failed }));
  }

  private reply(payload: Buffer): void {
    if (this.closed) return;
    if (this.isPaused) this.paused.push(payload);
    else this.events.onFrame(payload, 0, payload.length);
  }

  private shutdown(reason: RelayError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    clearInterval(this.heartbeat);
    this.releaseClients();
    this.events.onClose(reason);
  }

  private releaseClients(): void {
    for (const client of [this.pub, this.sub]) {
      client?.off('close', this.onClientClose);
      client?.off('end', this.onClientClose);
      client?.off('messageBuffer', this.onMessage);
      client?.off('smessageBuffer', this.onMessage);
    }
    // A client handed in outlives this link: leave no listener of ours on it.
    if (!this.ownsClients) this.pub?.off('error', this.onClientError);
    // The subscriber connection is always ours; the publisher only when made from a url.
    this.sub?.disconnect();
    if (this.ownsClients) this.pub?.disconnect();
  }
}

function channelOf(prefix: string, node: string): string {
  return `${prefix}node:${node}`;
}

function asRelayError(err: unknown, what: string): RelayError {
  if (err instanceof RelayError) return err;
  if (err instanceof ProtocolError) return err;
  return new RelayError(ErrorCodes.CLOSED, `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
