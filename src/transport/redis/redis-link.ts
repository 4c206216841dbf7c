import { FrameDecoder } from '../../codec/frame-decoder.js';
import { ConnectError, DisconnectedError, HeartbeatError, type RelayError } from '../../errors.js';
import { Features } from '../../protocol/index.js';
import type { Secret } from '../../secret.js';
import type { Link, LinkContext, LinkEvents } from '../link.js';
import type { StreamId } from './channel-format.js';
import { ChannelMac } from './channel-mac.js';
import { ChannelReader, type ChannelStats } from './channel-reader.js';
import { connectRedis, whenReady } from './connect.js';
import { DropWarnings } from './drop-warnings.js';
import { channelOf, type RedisTransportOptions } from './options.js';
import { PathProbe } from './path-probe.js';
import { RedisPresenceStore } from './presence-store.js';
import type { RedisClientLike } from './redis-client-like.js';
import { RedisRouter, asEngineError } from './redis-router.js';
import type { ReplayGuard } from './replay-guard.js';
import { routesByShard } from './cluster-nodes.js';
import { shardSubscriber, stillMaster } from './shard-subscriber.js';

/** How long a link whose publisher closed waits for its subscriber to hand over what it had. */
const SUBSCRIBER_DRAIN_MS = 250;

/** What a Redis link needs besides the {@link LinkContext}. */
export interface RedisLinkOptions {
  /** A `redis://` or `rediss://` url, or a ready-made client (`Redis` or `Cluster`). */
  target: string | RedisClientLike;
  redis: Required<RedisTransportOptions>;
  /** The cluster's shared secret, when the clients have one. */
  secret: Secret | undefined;
  /** What the client's links have taken on their channel, with a secret (one guard for all of them). */
  guard: ReplayGuard;
}

/** Frames of a batch not yet handed to the client (it paused): `[starts[i], ends[i])` of `msg`, from `next`. */
interface HeldBatch {
  msg: Buffer;
  starts: Int32Array;
  ends: Int32Array;
  next: number;
}

/**
 * A link without a relay: the node's own connections to Redis. It subscribes
 * to the node's channel (what arrives there are batches of DELIVER frames
 * from other nodes, checked by a {@link ChannelReader}), keeps the node's
 * presence alive, probes its own path ({@link PathProbe}), and hands the
 * frames the client writes to a {@link RedisRouter}, which does the relay's
 * job in the node.
 */
export class RedisLink implements Link {
  ready = false;
  readonly writableLength = 0;
  private isPaused = false;

  private pub: RedisClientLike | undefined;
  private sub: RedisClientLike | undefined;
  private store: RedisPresenceStore | undefined;
  private router: RedisRouter | undefined;
  private readonly ownsClients: boolean;
  private readonly decoder = new FrameDecoder({ maxFrameBytes: 0x7fff_ffff });
  private readonly channel: string;
  private readonly stream: StreamId;
  private readonly mac: ChannelMac | undefined;
  private readonly reader: ChannelReader;
  private readonly warnings: DropWarnings;
  private readonly probe: PathProbe;
  private held: HeldBatch[] = [];
  /** On a cluster, the `host:port` of the master this link subscribed on. */
  private subscribedAt: string | undefined;
  private checkingShard = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private probesSent = 0;
  private closed = false;
  /** The publisher closed: waiting for the subscriber to hand over what Redis had pushed. */
  private draining = false;
  private drainTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: RedisLinkOptions & LinkContext,
    private readonly events: LinkEvents,
  ) {
    this.ownsClients = typeof options.target === 'string';
    this.channel = channelOf(options.redis.prefix, options.nodeId);
    const id = Buffer.from(options.nodeId, 'utf8');
    // The epoch tells this link's batches from those of the client's links
    // before it: microseconds of the process's monotonic clock only grow.
    this.stream = {
      origin: Buffer.concat([Buffer.of(id.length), id]),
      incarnation: options.incarnation,
      epoch: Math.floor(performance.now() * 1000),
    };
    this.mac = options.secret === undefined ? undefined : new ChannelMac(options.secret);
    this.reader = new ChannelReader({ self: this.stream.origin, incarnation: this.stream.incarnation, epoch: this.stream.epoch }, this.mac);
    this.warnings = new DropWarnings((error) => this.events.onWarning?.(error));
    this.probe = new PathProbe(options.redis.probeIntervalMs, {
      send: () => {
        this.probesSent++;
        this.checkShard();
        return this.router!.probe();
      },
      dead: (error) => this.destroy(error),
      failed: (err) => asEngineError(err, 'probe failed'),
    });
    // Every step of starting is bounded as a whole: a command that never
    // answers (a subscription sent to a shard mid-failover) must not hold the
    // attempt forever, the client retries with a new one.
    this.startTimer = setTimeout(
      () => this.destroy(new ConnectError(`redis link not ready within ${options.connectTimeoutMs} ms`)),
      options.connectTimeoutMs,
    );
    this.start().catch((err: unknown) => this.destroy(asConnectError(err)));
  }

  /** What this link counted on its channel so far (dropped messages by reason, probes). */
  get stats(): ChannelStats {
    return { ...this.reader.stats, batchesSent: this.router?.batchesSent ?? 0, probesSent: this.probesSent };
  }

  write(parts: Buffer[]): void {
    if (this.closed) return;
    const router = this.router;
    for (const part of parts) this.decoder.push(part);
    let frame: Buffer | undefined;
    while ((frame = this.decoder.next()) !== undefined) router?.enqueue(frame);
    // One write is one flush of the client: what it sent goes out now, one channel message per target.
    router?.flush();
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    while (this.held.length > 0 && !this.isPaused && !this.closed) {
      const batch = this.held[0]!;
      this.handOut(batch.msg, batch.starts, batch.ends, batch.next, batch.starts.length, batch);
      if (batch.next >= batch.starts.length) this.held.shift();
    }
  }

  end(): void {
    if (this.closed) return;
    this.probe.stop();
    // Reports of frames already written come back before the link closes; so
    // do the messages already published to this node (see unsubscribe).
    void (this.router?.drain() ?? Promise.resolve())
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
    // A new link on a cluster may follow a failover: route by the cluster's map of now.
    if (pub.isCluster && pub.refreshSlotsCache !== undefined) await refreshSlots(pub);
    if (this.abandoned()) return;
    const { redis } = this.options;
    const { sub, address } = subscriberFor(pub, this.channel);
    this.sub = sub;
    this.subscribedAt = address;
    sub.on('error', this.onClientError);
    sub.on('messageBuffer', this.onMessage);
    sub.on('smessageBuffer', this.onMessage);
    sub.on('moved', this.onChannelMoved);
    await whenReady(sub, connectTimeoutMs);
    if (this.abandoned()) return;
    // Nothing stamped before this moment (less the skew allowed) can be for this link.
    if (this.mac !== undefined) {
      this.reader.guard = this.options.guard;
      this.reader.notBefore = Date.now() - redis.maxClockSkewMs;
    }
    if (pub.isCluster) await sub.ssubscribe!(this.channel);
    else await sub.subscribe(this.channel);
    // Check with the server rather than trust the client library's word.
    await this.verifySubscribed();
    if (this.abandoned()) return;
    const { nodeId } = this.options;
    const store = new RedisPresenceStore(pub, {
      prefix: redis.prefix,
      livenessMs: redis.livenessMs,
      mode: redis.presence,
      legacyHashKey: redis.legacyHashKey,
    });
    this.store = store;
    await store.heartbeat(nodeId);
    if (this.abandoned()) return;
    pub.on('close', this.onPublisherClose);
    pub.on('end', this.onPublisherClose);
    sub.on('close', this.onClientClose);
    sub.on('end', this.onClientClose);
    this.router = new RedisRouter(
      pub,
      store,
      { nodeId, prefix: redis.prefix, stream: this.stream, mac: this.mac },
      {
        // Answers flow while deliveries are paused: they settle sends, they fill no queue.
        reply: (buf, start, end) => {
          if (!this.closed) this.events.onFrame(buf, start, end);
        },
        fail: (error) => this.destroy(error),
      },
    );
    this.keepAlive(store, redis.livenessMs);
    this.probe.start();
    clearTimeout(this.startTimer);
    this.ready = true;
    // The relay's features a node relies on: failure notices, presence, and ACK runs.
    this.events.onReady({
      maxFrameBytes: this.options.maxFrameBytes,
      features: Features.FAILURE_NOTICES | Features.PRESENCE | Features.ACKS,
      localAddress: '',
      // DELIVERs are stamped: what was not answered when Redis went is published again, and receivers drop repeats.
      resends: true,
    });
  }

  /**
   * Refreshes this node's presence. The heartbeat also watches the connection:
   * a Redis that stops answering (frozen, or cut off without a reset) would
   * otherwise hold this link forever. Unanswered for `livenessMs`, this node
   * is out of presence anyway: the link gives up and the client connects again.
   */
  private keepAlive(store: RedisPresenceStore, livenessMs: number): void {
    let pendingSince = 0;
    this.heartbeat = setInterval(
      () => {
        if (pendingSince !== 0) {
          if (Date.now() - pendingSince > livenessMs) {
            this.destroy(new HeartbeatError(`redis did not answer the presence heartbeat within ${livenessMs} ms`));
          }
          return;
        }
        pendingSince = Date.now();
        store.heartbeat(this.options.nodeId).then(
          () => (pendingSince = 0),
          (err: unknown) => this.destroy(asEngineError(err, 'presence heartbeat failed')),
        );
      },
      Math.max(50, livenessMs / 3),
    );
    this.heartbeat.unref();
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
    if (subscribers < 1) throw new ConnectError(`redis reports no subscriber on ${this.channel} after subscribing`);
  }

  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    if (this.closed || channel.toString() !== this.channel) return;
    const reader = this.reader;
    const frames = reader.read(message);
    if (typeof frames === 'string') {
      this.warnings.dropped(frames, reader.stats, this.channel);
      return;
    }
    if (frames === 0) {
      if (reader.ownProbe) this.probe.returned();
      return;
    }
    if (this.isPaused || this.held.length > 0) this.hold(message, reader.starts, reader.ends, 0, frames);
    else this.handOut(message, reader.starts, reader.ends, 0, frames, undefined);
  };

  /**
   * Hands the frames `[from, to)` of a batch to the client, until it pauses;
   * the rest is held (in `held`, when given, else in a new held batch).
   */
  private handOut(msg: Buffer, starts: Int32Array, ends: Int32Array, from: number, to: number, held: HeldBatch | undefined): void {
    let i = from;
    while (i < to && !this.isPaused && !this.closed) {
      this.events.onFrame(msg, starts[i]!, ends[i]!);
      i++;
    }
    if (held !== undefined) held.next = i;
    else if (i < to && !this.closed) this.hold(msg, starts, ends, i, to);
  }

  /** Keeps frames `[from, to)` of a batch for {@link resume}; the reader's arrays are reused, so they are copied. */
  private hold(msg: Buffer, starts: Int32Array, ends: Int32Array, from: number, to: number): void {
    this.held.push({ msg, starts: starts.slice(from, to), ends: ends.slice(from, to), next: 0 });
  }

  private readonly onClientError = (): void => {
    // 'close' or 'end' follows and carries the failure to the client.
  };

  /**
   * With each probe, on a cluster: the master this link subscribed on must
   * still be one (see `stillMaster`). A demoted one ends the link, and the
   * next subscribes where the slot is now. One check at a time.
   */
  private checkShard(): void {
    const pub = this.pub;
    const address = this.subscribedAt;
    if (pub === undefined || address === undefined || this.checkingShard) return;
    this.checkingShard = true;
    void stillMaster(pub, address).then((master) => {
      this.checkingShard = false;
      if (master === false) this.destroy(new DisconnectedError(`redis demoted ${address}, the master ${this.channel} was subscribed on`));
    });
  }

  /**
   * Redis unsubscribed this node's channel on its own: the slot it hashes to
   * left the shard this link listens on. Whatever was published there before
   * came ahead of this notice; the next link subscribes where the slot is now.
   */
  private readonly onChannelMoved = (): void => {
    this.destroy(new DisconnectedError(`redis moved ${this.channel} to another shard`));
  };

  private readonly onClientClose = (): void => {
    this.destroy(new DisconnectedError('the connection to redis closed'));
  };

  /**
   * The publishing connection closed. When Redis goes, both connections
   * close at once, in either order: messages Redis had already pushed to the
   * subscriber (and counted as received in their senders' reports) may still
   * be on their way. Routing stops now; the link closes when the subscriber
   * does, or after {@link SUBSCRIBER_DRAIN_MS} at most, so that those are
   * handed over rather than dropped.
   */
  private readonly onPublisherClose = (): void => {
    if (this.closed || this.draining) return;
    this.draining = true;
    // Not ready: the client keeps what it sends meanwhile, and writes it after the reconnect.
    this.ready = false;
    this.router?.stop();
    const reason = new DisconnectedError('the connection to redis closed');
    const timer = setTimeout(() => this.destroy(reason), SUBSCRIBER_DRAIN_MS);
    timer.unref();
    this.drainTimer = timer;
  };

  private shutdown(reason: RelayError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.drainTimer);
    this.ready = false;
    clearInterval(this.heartbeat);
    clearTimeout(this.startTimer);
    this.probe.stop();
    this.router?.stop();
    this.releaseClients();
    this.events.onClose(reason);
  }

  private releaseClients(): void {
    for (const client of [this.pub, this.sub]) {
      client?.off('close', this.onClientClose);
      client?.off('end', this.onClientClose);
      client?.off('close', this.onPublisherClose);
      client?.off('end', this.onPublisherClose);
      client?.off('messageBuffer', this.onMessage);
      client?.off('smessageBuffer', this.onMessage);
      client?.off('moved', this.onChannelMoved);
    }
    // A client handed in outlives this link: leave no listener of ours on it.
    if (!this.ownsClients) this.pub?.off('error', this.onClientError);
    // The subscriber connection is always ours; the publisher only when made from a url.
    this.sub?.disconnect();
    if (this.ownsClients) this.pub?.disconnect();
  }
}

/**
 * A second connection, for the node's channel alone (a subscribed connection
 * can do nothing else): on a cluster, one to the shard that owns the channel
 * (shard-subscriber.ts), or ioredis's sharded subscribers for a client whose
 * slot map is not at hand.
 */
function subscriberFor(pub: RedisClientLike, channel: string): { sub: RedisClientLike; address?: string } {
  if (!pub.isCluster) return { sub: pub.duplicate() };
  return routesByShard(pub) ? shardSubscriber(pub, channel) : { sub: pub.duplicate([], { shardedSubscribers: true }) };
}

/** Resolves once the cluster client's slot map is fresh (rejects with the error it met). */
function refreshSlots(pub: RedisClientLike): Promise<void> {
  return new Promise((resolve, reject) => pub.refreshSlotsCache!((err) => (err ? reject(err) : resolve())));
}

/** Why starting failed: coded errors pass through; anything else is a failed connect. */
function asConnectError(err: unknown): RelayError {
  const coded = asEngineError(err, 'could not connect to redis');
  return coded.code === 'ERR_ENGINE' ? new ConnectError(coded.message, { cause: err }) : coded;
}
