import { FrameDecoder } from '../../codec/frame-decoder.js';
import { ConnectError, DisconnectedError, HeartbeatError, type RelayError } from '../../errors.js';
import { Features } from '../../protocol/index.js';
import type { Link, LinkContext, LinkEvents } from '../link.js';
import { connectRedis, whenReady } from './connect.js';
import { channelOf, type RedisTransportOptions } from './options.js';
import { RedisPresenceStore } from './presence-store.js';
import type { Secret } from '../../secret.js';
import type { RedisClientLike } from './redis-client-like.js';
import { RedisRouter, asEngineError } from './redis-router.js';

/** What a Redis link needs besides the {@link LinkContext}. */
export interface RedisLinkOptions {
  /** A `redis://` or `rediss://` url, or a ready-made client (`Redis` or `Cluster`). */
  target: string | RedisClientLike;
  redis: Required<RedisTransportOptions>;
  /** The cluster's shared secret, when the clients have one. */
  secret: Secret | undefined;
}

/**
 * A link without a relay: the node's own connections to Redis. It subscribes
 * to the node's channel (what arrives there are DELIVER frames from other
 * nodes), keeps the node's presence alive, and hands the frames the client
 * writes to a {@link RedisRouter}, which does the relay's job in the node.
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
  private paused: Buffer[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly options: RedisLinkOptions & LinkContext,
    private readonly events: LinkEvents,
  ) {
    this.ownsClients = typeof options.target === 'string';
    this.channel = channelOf(options.redis.prefix, options.nodeId);
    this.start().catch((err: unknown) => this.destroy(asConnectError(err)));
  }

  write(parts: Buffer[]): void {
    if (this.closed) return;
    for (const part of parts) this.decoder.push(part);
    let frame: Buffer | undefined;
    while ((frame = this.decoder.next()) !== undefined) this.router?.enqueue(frame);
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    const held = this.paused;
    this.paused = [];
    for (const payload of held) this.toClient(payload);
  }

  end(): void {
    if (this.closed) return;
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
    const { redis, nodeId } = this.options;
    const store = new RedisPresenceStore(pub, {
      prefix: redis.prefix,
      livenessMs: redis.livenessMs,
      mode: redis.presence,
      legacyHashKey: redis.legacyHashKey,
    });
    this.store = store;
    await store.heartbeat(nodeId);
    if (this.abandoned()) return;
    for (const client of [pub, sub]) {
      client.on('close', this.onClientClose);
      client.on('end', this.onClientClose);
    }
    this.router = new RedisRouter(pub, store, nodeId, redis.prefix, {
      reply: (payload) => this.toClient(payload),
      fail: (error) => this.destroy(error),
    });
    this.keepAlive(store, redis.livenessMs);
    this.ready = true;
    // The relay's features a node relies on: failure notices and presence.
    this.events.onReady({
      maxFrameBytes: this.options.maxFrameBytes,
      features: Features.FAILURE_NOTICES | Features.PRESENCE,
      localAddress: '',
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
    this.toClient(message);
  };

  private toClient(payload: Buffer): void {
    if (this.closed) return;
    if (this.isPaused) this.paused.push(payload);
    else this.events.onFrame(payload, 0, payload.length);
  }

  private readonly onClientError = (): void => {
    // 'close' or 'end' follows and carries the failure to the client.
  };

  private readonly onClientClose = (): void => {
    this.destroy(new DisconnectedError('the connection to redis closed'));
  };

  private shutdown(reason: RelayError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    clearInterval(this.heartbeat);
    this.router?.stop();
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

/** Why starting failed: coded errors pass through; anything else is a failed connect. */
function asConnectError(err: unknown): RelayError {
  const coded = asEngineError(err, 'could not connect to redis');
  return coded.code === 'ERR_ENGINE' ? new ConnectError(coded.message, { cause: err }) : coded;
}
