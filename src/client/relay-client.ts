import { EventEmitter } from 'eventemitter3';
import { ClosedError, ConnectionLostError, ErrorCodes, RelayError, SendFailedError } from '../errors.js';
import {
  Features,
  FrameType,
  PresenceOp,
  DeliverSpans,
  Scratch,
  decodeAck,
  decodeReport,
  decodeUserList,
  scanDeliver,
  type RouteTable,
  type UserId,
} from '../protocol/index.js';
import { AnnouncedUsers, writePresence } from './announced-users.js';
import { Connection } from './connection.js';
import type { Link } from './link.js';
import { RedisLink } from '../redis/redis-link.js';
import { DeliveryQueue } from './delivery-queue.js';
import { readLegacyFrame, writeLegacySend } from './legacy-wire.js';
import { Locator } from './locator.js';
import { OriginCache } from './origin-cache.js';
import { resolveClientOptions, type RelayClientOptions, type ResolvedClientOptions } from './options.js';
import { PendingSend, type ReplyKind } from './pending-send.js';
import { toOfflineNotice, toSendReport, toUsersReport, type OfflineNotice, type SendReport, type UsersReport } from './report.js';
import { SendLedger } from './send-ledger.js';
import { writeRouteSend, writeUsersSend } from './send-encoding.js';
import { decodeMessage } from './serializer.js';
import type { Delivery, RelayClientEvents, SendOptions } from './types.js';

export type { Delivery, RelayClientEvents, SendOptions } from './types.js';

type State = 'idle' | 'connecting' | 'ready' | 'closing' | 'closed' | 'failed';

// Errors after which reconnecting cannot help.
const FATAL = new Set<string>([ErrorCodes.AUTH, ErrorCodes.REPLACED, ErrorCodes.VERSION]);

/**
 * A node's link to the relay: sends messages to users on other nodes and
 * yields the messages for users on this one.
 *
 * @example
 * ```ts
 * const relay = new RelayClient({ url: 'tcp://127.0.0.1:8333', nodeId: 'im-1' });
 * await relay.connect();
 * const report = await relay.send({ 'im-2': ['c', 'd'] }, { text: 'hi' });
 * for await (const d of relay) for (const user of d.users) deliver(user, d.message);
 * ```
 */
export class RelayClient<M = unknown> extends EventEmitter<RelayClientEvents> implements AsyncIterable<Delivery<M>> {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedClientOptions;
  private state: State = 'idle';
  private conn: Link | undefined;
  private localAddress = '';
  private attempt = 0;
  private lastError: RelayError | undefined;
  private failure: RelayError | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private connectWaiters: Array<{ resolve: () => void; reject: (e: RelayError) => void }> = [];
  private closePromise: Promise<void> | undefined;
  private onClosed: (() => void) | undefined;
  private heartbeatMs = 0;
  private relayMaxFrameBytes: number;
  private seq = 0;
  private readonly scratch = new Scratch();
  private readonly ledger: SendLedger;
  private flushScheduled = false;
  private readonly inbox: DeliveryQueue<Delivery<M>>;
  /** The users this node announced as online, re-announced after every reconnect. */
  private readonly announced = new AnnouncedUsers();
  private readonly locator = new Locator();
  private readonly deliverSpans = new DeliverSpans();
  private readonly origins = new OriginCache();

  constructor(options: RelayClientOptions) {
    super();
    this.options = resolveClientOptions(options);
    this.relayMaxFrameBytes = this.options.maxFrameBytes;
    this.ledger = new SendLedger(this.options);
    this.inbox = new DeliveryQueue(this.options.deliveryHighWaterMark, () => this.conn?.resume());
  }

  /**
   * This node's id: the option given, or in the legacy dialect this end's
   * `ip:port` (empty until connected), which is what the IM server stores as
   * its connector id in presence.
   */
  get nodeId(): string {
    return this.options.dialect === 'legacy' ? this.localAddress : this.options.nodeId;
  }

  /** True while welcomed by the relay. */
  get connected(): boolean {
    return this.state === 'ready';
  }

  /**
   * Connects and resolves once the relay has welcomed this node. Connection
   * failures are retried with backoff; rejects with `ERR_AUTH` on bad
   * credentials (never retried), or when the retry strategy gives up.
   */
  connect(): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(new ClosedError('the client is closed'));
    if (this.state === 'failed') return Promise.reject(this.failure!);
    const waiting = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this.state === 'idle') {
      this.state = 'connecting';
      this.startSweep();
      this.open();
    }
    return waiting;
  }

  /**
   * Sends `message` to users on other nodes, grouped by the node that holds
   * them. Resolves with the relay's report: which hosts took their users, and
   * which users no node took (store their messages offline).
   *
   * While disconnected, the send waits (bounded) and goes out after reconnect,
   * exactly once. Rejects with `ERR_BUFFER_FULL` at once when the buffer is
   * full, `ERR_SEND_FAILED` when no connection came within the write retries,
   * `ERR_CONNECTION_LOST` when the connection dropped after the write and
   * before the report (the outcome is unknown), `ERR_TIMEOUT` when no report
   * came in time, and `ERR_CLOSED` when the client is closed.
   *
   * In the legacy dialect there are no reports: the send resolves once written
   * with `{ delivered: [], offline: {}, unconfirmed: true }`, and the hub's
   * offline notices arrive as `offline` events.
   */
  send(usersByHost: RouteTable, message: M, options?: SendOptions & { report?: true }): Promise<SendReport>;
  send(usersByHost: RouteTable, message: M, options: SendOptions & { report: false }): Promise<void>;
  send(usersByHost: RouteTable, message: M, options?: SendOptions): Promise<SendReport | void>;
  send(usersByHost: RouteTable, message: M, options?: SendOptions): Promise<SendReport | void> {
    const reply: ReplyKind = options?.report !== false ? 'hosts' : 'none';
    try {
      const live = this.prepare();
      const writer = live ? this.ledger.writer : this.ledger.spare;
      const seq = this.nextSeq();
      if (this.options.dialect === 'legacy') {
        if (writeLegacySend(writer, usersByHost, message, this.relayMaxFrameBytes) === 0) return Promise.resolve(emptyReply(reply) as SendReport);
        // A Go hub sends no reports: the send is settled once written.
        const { promise } = this.commit(new PendingSend(seq, 'none'), live);
        return reply === 'hosts' ? promise.then((): SendReport => ({ delivered: [], offline: {}, unconfirmed: true })) : (promise as Promise<void>);
      }
      const hosts = writeRouteSend(writer, seq, reply === 'hosts', usersByHost, message, this.options.serializer, this.relayMaxFrameBytes);
      if (hosts === undefined) return Promise.resolve(emptyReply(reply) as SendReport);
      return this.commit(new PendingSend(seq, reply, hosts), live).promise as Promise<SendReport | void>;
    } catch (err) {
      return Promise.reject(err);
    }
  }


  /**
   * Sends `message` to users wherever they are online, by the relay's
   * presence: each node holding one of them gets one frame with its users.
   * Resolves with the nodes reached and the users online nowhere (store their
   * messages offline). Settles like {@link send}.
   */
  sendToUsers(userIds: readonly UserId[], message: M, options?: SendOptions & { report?: true }): Promise<UsersReport>;
  sendToUsers(userIds: readonly UserId[], message: M, options: SendOptions & { report: false }): Promise<void>;
  sendToUsers(userIds: readonly UserId[], message: M, options?: SendOptions): Promise<UsersReport | void> {
    const wantsReport = options?.report !== false;
    try {
      this.requireBinary('sendToUsers');
      const live = this.prepare();
      const seq = this.nextSeq();
      const writer = live ? this.ledger.writer : this.ledger.spare;
      const reply = wantsReport ? 'users' : 'none';
      if (!writeUsersSend(writer, this.scratch, seq, wantsReport, userIds, message, this.options.serializer, this.relayMaxFrameBytes)) {
        return Promise.resolve(emptyReply(reply) as UsersReport);
      }
      return this.commit(new PendingSend(seq, reply), live).promise as Promise<UsersReport | void>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Announces users as online on this node (batched: one frame per call, or
   * several when the list would not fit the relay's frame limit). The client
   * remembers them and re-announces them after every reconnect. Throws
   * `ERR_INVALID_ARGUMENT`, announcing none of them, when an id is invalid.
   */
  online(userIds: readonly UserId[]): void {
    this.announce(PresenceOp.ONLINE, userIds);
  }

  /** Announces users as no longer online on this node. */
  offline(userIds: readonly UserId[]): void {
    this.announce(PresenceOp.OFFLINE, userIds);
  }

  /**
   * Asks the relay which nodes hold each user. Users online nowhere map to an
   * empty list. Rejects with `ERR_SEND_FAILED` when not connected.
   */
  locate(userIds: readonly UserId[]): Promise<Map<string, string[]>> {
    try {
      this.requireBinary('locate');
      this.checkOpen();
      if (this.state !== 'ready') throw new SendFailedError('not connected to the relay');
      const answer = this.locator.request(this.ledger.writer, this.nextSeq(), userIds, this.relayMaxFrameBytes);
      this.scheduleFlush();
      return answer;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * The deliveries for users on this node. One consumer at a time; the loop
   * ends after `close()` once queued deliveries are consumed, and throws if
   * the client fails for good.
   */
  deliveries(): AsyncIterableIterator<Delivery<M>> {
    return this.inbox.iterate();
  }

  /** The same as {@link deliveries}: `for await (const d of client)`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Delivery<M>> {
    return this.inbox.iterate();
  }

  /**
   * Stops reconnecting, writes what is buffered, waits (up to
   * `closeTimeoutMs`) for the reports of sends already written, then rejects
   * every send still pending with `ERR_CLOSED` and ends the delivery loop.
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  /**
   * Checks that a send may be made now and says where it goes: true to the
   * live connection's writer (checked for room; throws `ERR_BUFFER_FULL`),
   * false to a frame of its own that waits for a connection.
   */
  private prepare(): boolean {
    this.checkOpen();
    const live = this.state === 'ready' && this.ledger.queuedCount === 0;
    if (live) this.ledger.checkLiveRoom(this.conn!.writableLength);
    return live;
  }

  /** Registers a send just encoded where {@link prepare} said. */
  private commit(entry: PendingSend, live: boolean): PendingSend {
    if (live) {
      this.ledger.addLive(entry);
      this.scheduleFlush();
    } else {
      this.ledger.addQueued(entry);
      // A send made before connect() is bounded by its write-retry window too.
      if (this.sweepTimer === undefined) this.startSweep();
    }
    return entry;
  }

  private checkOpen(): void {
    if (this.state === 'closing' || this.state === 'closed') throw new ClosedError('the client is closed');
    if (this.state === 'failed') throw this.failure!;
  }

  private requireBinary(what: string): void {
    if (this.options.dialect === 'legacy') {
      throw new RelayError(ErrorCodes.UNSUPPORTED, `${what} needs an imrelay relay; legacy transmit hubs keep no presence`);
    }
  }

  private nextSeq(): number {
    return (this.seq = (this.seq + 1) >>> 0);
  }

  private announce(op: typeof PresenceOp.ONLINE | typeof PresenceOp.OFFLINE, userIds: readonly UserId[]): void {
    this.requireBinary(op === PresenceOp.ONLINE ? 'online' : 'offline');
    this.checkOpen();
    const users = this.announced.apply(op, userIds);
    // While disconnected, the RESET sent on reconnect carries the whole set.
    if (this.state !== 'ready' || users.length === 0) return;
    writePresence(this.ledger.writer, op, users, this.relayMaxFrameBytes);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const conn = this.conn;
    if (this.state !== 'ready' && this.state !== 'closing') return;
    if (conn === undefined || !conn.ready) return;
    this.ledger.flush((parts) => conn.write(parts), Date.now());
  };

  private open(): void {
    const events = {
      onReady: (terms: { maxFrameBytes: number; heartbeatMs: number }) => this.onReady(terms.maxFrameBytes, terms.heartbeatMs),
      onFrame: (buf: Buffer, start: number, end: number) => this.onFrame(buf, start, end),
      onClose: (reason: RelayError | undefined) => this.onConnectionClose(reason),
    };
    const o = this.options;
    if (o.transport === 'redis') {
      this.conn = new RedisLink(
        {
          nodeId: o.nodeId,
          target: o.redisTarget!,
          prefix: o.redis.prefix,
          presence: { livenessMs: o.redis.livenessMs, mode: o.redis.presence, legacyHashKey: o.redis.legacyHashKey },
          maxFrameBytes: o.maxFrameBytes,
          connectTimeoutMs: o.connectTimeoutMs,
        },
        events,
      );
      return;
    }
    this.conn = new Connection(
      {
        dialect: o.dialect,
        endpoint: o.endpoint,
        nodeId: o.nodeId,
        secret: o.secret,
        maxFrameBytes: o.maxFrameBytes,
        connectTimeoutMs: o.connectTimeoutMs,
      },
      events,
    );
  }

  private onReady(maxFrameBytes: number, heartbeatMs: number): void {
    this.state = 'ready';
    this.attempt = 0;
    this.localAddress = this.conn!.localAddress;
    this.relayMaxFrameBytes = maxFrameBytes;
    if (heartbeatMs !== this.heartbeatMs) {
      this.heartbeatMs = heartbeatMs;
      // The sweep also keeps the heartbeat: it must run several times per interval.
      this.startSweep();
    }
    // Every welcome from a relay that keeps presence gets a RESET, an empty one
    // included: a relay may still hold users of an earlier process with this
    // node id (within its grace period), and none of them are here now.
    const reset = this.announced.used || (this.conn!.features & Features.PRESENCE) !== 0;
    if (reset) this.announced.writeReset(this.ledger.writer, maxFrameBytes);
    if (this.ledger.promoteQueued(maxFrameBytes) || reset) this.scheduleFlush();
    this.emit('connect');
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve();
  }

  private onFrame(p: Buffer, start: number, end: number): void {
    if (this.options.dialect === 'legacy') {
      this.onLegacyFrame(p.subarray(start, end));
      return;
    }
    switch (p[start]) {
      case FrameType.DELIVER: {
        const spans = this.deliverSpans;
        scanDeliver(p, spans, start, end);
        const from = this.origins.get(p, spans.originStart, spans.originEnd);
        let message: unknown;
        try {
          message = decodeMessage(p, spans.kind, this.options.serializer, spans.payloadStart, end);
        } catch (cause) {
          this.emit('error', new RelayError(ErrorCodes.MESSAGE, `undecodable message from ${from}`, { cause }));
          return;
        }
        this.deliver({ from, users: decodeUserList(p, spans.usersStart, spans.payloadStart), message: message as M });
        return;
      }
      case FrameType.ACK: {
        const { first, count } = decodeAck(p, start, end);
        this.ledger.takeAcknowledged(first, count, settleDelivered);
        return;
      }
      case FrameType.REPORT: {
        const report = decodeReport(p.subarray(start, end));
        if (!report.full) {
          this.emit('offline', toOfflineNotice(report));
          return;
        }
        const entry = this.ledger.takeReplied(report.seq);
        entry?.resolve(entry.reply === 'users' ? toUsersReport(report) : toSendReport(report));
        return;
      }
      default:
        this.locator.answer(p.subarray(start, end));
    }
  }

  private onLegacyFrame(payload: Buffer): void {
    const frame = readLegacyFrame(payload);
    if (frame.type === 'delivery') this.deliver({ from: '', users: frame.users, message: frame.message as M });
    else if (frame.type === 'offline') this.emit('offline', frame.notice);
  }

  private deliver(delivery: Delivery<M>): void {
    this.inbox.push(delivery);
    // While closing, reading never pauses: what the link still holds or
    // receives was reported delivered, and would be lost with it.
    if (this.inbox.full && this.state !== 'closing') this.conn?.pause();
  }

  private onConnectionClose(reason: RelayError | undefined): void {
    const wasReady = this.state === 'ready';
    this.conn = undefined;
    if (this.state === 'closing') {
      // close() promised ERR_CLOSED for every send still pending when it gives up waiting.
      this.finishClose();
      return;
    }
    const lost = (): RelayError =>
      new ConnectionLostError(
        'the connection to the relay dropped before the report arrived; the message may or may not have been delivered',
        { cause: reason },
      );
    this.ledger.rejectInflight(lost);
    this.locator.rejectAll(lost);
    this.ledger.requeueLive(this.options.dialect === 'legacy' ? () => true : undefined);

    if (reason && FATAL.has(reason.code)) {
      this.fail(reason);
      return;
    }
    this.lastError = reason;
    if (wasReady) {
      this.state = 'connecting';
      this.emit('disconnect', reason);
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const attempt = ++this.attempt;
    const delayMs = this.options.retryStrategy(attempt);
    if (delayMs === null || delayMs === undefined) {
      this.fail(
        new RelayError(ErrorCodes.CLOSED, `gave up connecting to the relay after ${attempt - 1} retries`, {
          cause: this.lastError,
        }),
      );
      return;
    }
    this.emit('reconnecting', { attempt, delayMs, reason: this.lastError });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.state === 'connecting') this.open();
    }, delayMs);
  }

  private fail(error: RelayError): void {
    this.state = 'failed';
    this.failure = error;
    this.stopTimers();
    this.rejectEverything(() => error);
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(error);
    this.inbox.fail(error);
    this.emit('error', error);
  }

  private async shutdown(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closing';
    clearTimeout(this.reconnectTimer);
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(new ClosedError('the client was closed before it connected'));
    this.ledger.rejectQueued(() => new ClosedError('the client was closed before this message could be written'));
    const conn = this.conn;
    if (conn === undefined) {
      this.finishClose();
      return;
    }
    // Waiting starts before the link is told to close: a link may report its
    // close synchronously (the Redis link does when it was still connecting).
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(() => conn.destroy(new ClosedError('close timed out')), this.options.closeTimeoutMs);
      this.onClosed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    if (conn.ready) {
      this.flush();
      conn.end();
      conn.resume();
    } else {
      conn.destroy(new ClosedError('the client was closed'));
    }
    await closed;
  }

  private finishClose(): void {
    this.state = 'closed';
    this.stopTimers();
    this.rejectEverything(() => new ClosedError('the client was closed'));
    this.inbox.end();
    this.onClosed?.();
  }

  private rejectEverything(error: () => RelayError): void {
    this.ledger.rejectAll(error);
    this.locator.rejectAll(error);
  }

  private startSweep(): void {
    const { writeRetryIntervalMs, reportTimeoutMs } = this.options;
    const heartbeatMs = this.heartbeatMs > 0 ? this.heartbeatMs : Number.POSITIVE_INFINITY;
    const period = Math.max(10, Math.min(writeRetryIntervalMs, reportTimeoutMs, heartbeatMs, 1000) / 4);
    clearInterval(this.sweepTimer);
    this.sweepTimer = setInterval(this.sweep, period);
    this.sweepTimer.unref();
  }

  private stopTimers(): void {
    clearInterval(this.sweepTimer);
    clearTimeout(this.reconnectTimer);
  }

  /** Expires waiting sends, overdue reports and locates, and keeps the heartbeat. */
  private readonly sweep = (): void => {
    const now = Date.now();
    this.ledger.expire(now, this.options.reportTimeoutMs, this.lastError);
    this.locator.expire(now, this.options.reportTimeoutMs);
    const conn = this.conn;
    if (this.state !== 'ready' || conn === undefined || this.heartbeatMs === 0) return;
    if (!conn.isPaused && now - conn.lastReceived > 2 * this.heartbeatMs) {
      conn.destroy(new RelayError(ErrorCodes.HEARTBEAT, `no traffic from the relay for ${now - conn.lastReceived} ms`));
    } else if (now - conn.lastSent >= this.heartbeatMs) {
      conn.ping();
    }
  };
}


/** An ACK's answer: every host the send named took its users. */
function settleDelivered(entry: PendingSend): void {
  entry.resolve({ delivered: entry.hosts ?? [], offline: {} } satisfies SendReport);
}

function emptyReply(reply: ReplyKind): SendReport | UsersReport | undefined {
  if (reply === 'hosts') return { delivered: [], offline: {} };
  if (reply === 'users') return { delivered: [], offline: [], undelivered: {} };
  return undefined;
}
