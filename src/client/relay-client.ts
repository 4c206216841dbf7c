import { EventEmitter } from 'eventemitter3';
import { ClosedError, ConnectionLostError, NotConnectedError, SendFailedError, UnsupportedError, type RelayError } from '../errors.js';
import { Features, PresenceOp, Scratch, type RouteTable, type UserId } from '../protocol/index.js';
import { meshMetricsSource, type MeshControl } from '../mesh/mesh-control.js';
import { describeTransport, meshControlOf } from '../transport/factory.js';
import type { LinkTerms } from '../transport/link.js';
import { ClientCounters } from '../metrics/client-counters.js';
import { logClientEvents } from '../metrics/client-log.js';
import { writeClientMetrics } from '../metrics/client-metrics.js';
import { writeMeshMetrics } from '../metrics/mesh-metrics.js';
import { noopLogger } from '../metrics/logger.js';
import { AnnouncedUsers, writePresence } from './announced-users.js';
import { DeliveryIntake } from './delivery-intake.js';
import { DeliveryQueue } from './delivery-queue.js';
import { Inbound } from './inbound.js';
import { writeLegacySend } from './legacy-wire.js';
import { LinkSupervisor, type ClientState, type SupervisorHooks } from './link-supervisor.js';
import { Locator } from './locator.js';
import { resolveClientOptions, type RelayClientOptions, type ResolvedClientOptions } from './options.js';
import { PendingSend, type ReplyKind } from './pending-send.js';
import { emptyReply, type SendReport, type UsersReport } from './report.js';
import { SendLedger } from './send-ledger.js';
import { writeRouteSend, writeUsersSend } from './send-encoding.js';
import type { Delivery, RelayClientEvents, SendOptions } from './types.js';

export type { Delivery, RelayClientEvents, SendOptions } from './types.js';
export type { ClientState } from './link-supervisor.js';

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/**
 * A node's link to the relay (or to Redis standing in for one): sends
 * messages to users on other nodes and yields the messages for users on this
 * one.
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
  /** The options in force, defaults filled in (secrets print as `Secret(<redacted>)`). */
  readonly options: ResolvedClientOptions;
  private readonly supervisor: LinkSupervisor;
  private readonly ledger: SendLedger;
  private readonly inbox: DeliveryQueue<Delivery<M>>;
  /** Numbers deliveries, drops repeats and owes the relay its CONSUMED (effectively-once links). */
  private readonly intake: DeliveryIntake<Delivery<M>>;
  private readonly inbound: Inbound<M>;
  private readonly locator = new Locator();
  /** The users this node announced as online, re-announced after every reconnect. */
  private readonly announced = new AnnouncedUsers();
  private readonly scratch = new Scratch();
  private readonly counters = new ClientCounters();
  private localAddress = '';
  private relayMaxFrameBytes: number;
  private seq = 0;
  private flushScheduled = false;
  /** Set while a CONSUMED waits for other output to carry it (see {@link flush}). */
  private acknowledgeTimer: NodeJS.Timeout | undefined;

  constructor(options: RelayClientOptions) {
    super();
    this.options = resolveClientOptions(options);
    this.relayMaxFrameBytes = this.options.maxFrameBytes;
    this.ledger = new SendLedger(this.options, this.counters);
    this.inbox = new DeliveryQueue(this.options.deliveryHighWaterMark, {
      drained: () => this.supervisor.link?.resume(),
      taken: () => this.intake.taken(),
    });
    this.intake = new DeliveryIntake(this.inbox, this.options.deliveryHighWaterMark, () => this.acknowledgementOwed());
    this.inbound = new Inbound(this.ledger, this.intake, this.locator, this.options.serializer, {
      deliver: (delivery, serial) => this.deliver(delivery, serial),
      offline: (notice) => this.emit('offline', notice),
      error: (error) => this.emit('error', error),
    });
    this.supervisor = new LinkSupervisor(this.options, this.hooks());
    if (this.options.logger !== noopLogger) {
      logClientEvents(this, this.options.logger, () => ({ node: this.nodeId, relay: describeTransport(this.options.transport) }));
    }
  }

  /**
   * This node's id: the option given, or in the legacy dialect this end's
   * `ip:port` (empty until connected), which is what the IM server stores as
   * its connector id in presence.
   */
  get nodeId(): string {
    return this.options.dialect === 'legacy' ? this.localAddress : this.options.nodeId;
  }

  /**
   * Mesh mode only: this node's mesh, to see where it listens
   * (`mesh.address`), list its peers and their links (`mesh.list()`),
   * replace the peers map (`mesh.setPeers()`), and hear of links going up
   * and down (`peer:up`, `peer:down` events). Undefined over a relay or Redis.
   */
  get mesh(): MeshControl | undefined {
    const spec = this.options.transport;
    return spec.kind === 'mesh' ? meshControlOf(spec) : undefined;
  }

  /** True while welcomed by the relay. */
  get connected(): boolean {
    return this.supervisor.state === 'ready';
  }

  /** Where the client is in its life: `idle` until `connect()`, then `connecting`, `ready`, ... */
  get state(): ClientState {
    return this.supervisor.state;
  }

  /**
   * Connects and resolves once the relay has welcomed this node.
   *
   * The first `connect()` settles within `connectTimeoutMs` (default 10 s),
   * retrying with backoff meanwhile: it rejects with `ERR_CONNECT` (the last
   * OS error, such as `ECONNREFUSED`, as its `cause`) when no attempt
   * succeeded in time, and at once, without retrying, when the cause will not
   * go away: `ERR_AUTH` (bad or missing secret), `ERR_DUPLICATE_NODE` (the
   * relay keeps another connection with this node id), `ERR_DEPENDENCY` (a
   * missing optional package such as `ioredis`). After it rejects the client
   * is idle and `connect()` may be called again. Once connected, the client
   * reconnects after every drop, without limit by default (see `reconnect`).
   */
  connect(): Promise<void> {
    return this.supervisor.connect();
  }

  /**
   * Sends `message` to users on other nodes, grouped by the node that holds
   * them. Resolves with the relay's report: which hosts took their users, and
   * which users no node took (store their messages offline).
   *
   * While disconnected, the send waits (bounded by `writeRetry`) and goes out
   * after reconnect, exactly once; a waiting send makes the client try to
   * reconnect at once. With a relay that speaks effectively-once delivery, a
   * host is reported delivered once its application took the message, and a
   * send written but unanswered when the connection drops is written again
   * after the reconnect (the receivers drop what they already took).
   *
   * Rejects with `ERR_NOT_CONNECTED` when `connect()` was never called,
   * `ERR_BUFFER_FULL` at once when the bytes waiting reach
   * `maxBufferedBytes`, `ERR_SEND_FAILED` when no connection came within the
   * write retries, `ERR_CONNECTION_LOST` when the connection dropped after
   * the write and before the report and the send could not be written again
   * (within the write retries; without effectively-once delivery, at once):
   * the outcome is unknown. `ERR_TIMEOUT` when no report came in time,
   * `ERR_MESSAGE` when the message cannot be encoded, and `ERR_CLOSED` when
   * the client is closed.
   *
   * In the legacy dialect there are no reports: the send resolves once written
   * with `{ delivered: [], offline: {}, unconfirmed: true }`, and the hub's
   * offline notices arrive as `offline` events.
   */
  send(usersByHost: RouteTable, message: M, options?: SendOptions & { report?: true | undefined }): Promise<SendReport>;
  send(usersByHost: RouteTable, message: M, options: SendOptions & { report: false }): Promise<void>;
  send(usersByHost: RouteTable, message: M, options?: SendOptions): Promise<SendReport | void>;
  send(usersByHost: RouteTable, message: M, options?: SendOptions): Promise<SendReport | void> {
    const reply: ReplyKind = options?.report !== false ? 'hosts' : 'none';
    try {
      const live = this.prepare();
      const writer = live ? this.ledger.writer : this.ledger.spare;
      const start = writer.length;
      const seq = this.nextSeq();
      if (this.options.dialect === 'legacy') {
        if (writeLegacySend(writer, usersByHost, message, this.relayMaxFrameBytes) === 0)
          return Promise.resolve(emptyReply(reply) as SendReport);
        // A Go hub sends no reports: the send is settled once written.
        const { promise } = this.commit(new PendingSend(seq, 'none', undefined, this.counters), live, start);
        return reply === 'hosts'
          ? promise.then((): SendReport => ({ delivered: [], offline: {}, unconfirmed: true }))
          : (promise as Promise<void>);
      }
      const hosts = writeRouteSend(
        writer,
        seq,
        reply === 'hosts',
        usersByHost,
        message,
        this.options.serializer,
        this.relayMaxFrameBytes,
        this.options.maxFrameBytes,
      );
      if (hosts === undefined) return Promise.resolve(emptyReply(reply) as SendReport);
      return this.commit(new PendingSend(seq, reply, hosts, this.counters), live, start).promise as Promise<SendReport | void>;
    } catch (err) {
      this.counters.failed(err);
      return Promise.reject(err);
    }
  }

  /**
   * Sends `message` to users wherever they are online, by the relay's
   * presence: each node holding one of them gets one frame with its users;
   * that includes this node itself when it announced one of them, so the
   * message then also arrives in this node's own delivery loop. Resolves with
   * the nodes reached and the users online nowhere (store their messages
   * offline). Settles like {@link send}.
   */
  sendToUsers(userIds: readonly UserId[], message: M, options?: SendOptions & { report?: true | undefined }): Promise<UsersReport>;
  sendToUsers(userIds: readonly UserId[], message: M, options: SendOptions & { report: false }): Promise<void>;
  sendToUsers(userIds: readonly UserId[], message: M, options?: SendOptions): Promise<UsersReport | void>;
  sendToUsers(userIds: readonly UserId[], message: M, options?: SendOptions): Promise<UsersReport | void> {
    const wantsReport = options?.report !== false;
    try {
      this.requireBinary('sendToUsers');
      const live = this.prepare();
      const seq = this.nextSeq();
      const writer = live ? this.ledger.writer : this.ledger.spare;
      const start = writer.length;
      const reply = wantsReport ? 'users' : 'none';
      if (
        !writeUsersSend(
          writer,
          this.scratch,
          seq,
          wantsReport,
          userIds,
          message,
          this.options.serializer,
          this.relayMaxFrameBytes,
          this.options.maxFrameBytes,
        )
      ) {
        return Promise.resolve(emptyReply(reply) as UsersReport);
      }
      return this.commit(new PendingSend(seq, reply, undefined, this.counters), live, start).promise as Promise<UsersReport | void>;
    } catch (err) {
      this.counters.failed(err);
      return Promise.reject(err);
    }
  }

  /**
   * Announces users as online on this node (batched: one frame per call, or
   * several when the list would not fit the relay's frame limit). The client
   * remembers them and re-announces them after every reconnect. Throws
   * `ERR_INVALID_ARGUMENT`, announcing none of them, when an id is invalid.
   * Does nothing once `close()` was called (a socket's close handler may
   * call it during shutdown).
   */
  online(userIds: readonly UserId[]): void {
    this.announce(PresenceOp.ONLINE, userIds);
  }

  /** Announces users as no longer online on this node. Does nothing once `close()` was called. */
  offline(userIds: readonly UserId[]): void {
    this.announce(PresenceOp.OFFLINE, userIds);
  }

  /**
   * Asks the relay which nodes hold each user. Users online nowhere map to an
   * empty list. Rejects with `ERR_SEND_FAILED` while disconnected,
   * `ERR_NOT_CONNECTED` before `connect()`, `ERR_TIMEOUT` after
   * `reportTimeoutMs`.
   */
  locate(userIds: readonly UserId[]): Promise<Map<string, string[]>> {
    try {
      this.requireBinary('locate');
      this.checkOpen();
      const link = this.supervisor.link;
      if (this.supervisor.state !== 'ready' || link === undefined) throw new SendFailedError('not connected to the relay');
      const answer = this.locator.request(this.ledger.writer, () => this.nextSeq(), userIds, this.relayMaxFrameBytes);
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
    return this.supervisor.close();
  }

  /**
   * This node's metrics in the Prometheus text exposition format, for an
   * application to append to its own `/metrics` output (served with
   * `PROMETHEUS_CONTENT_TYPE`). Every series is labelled with the node id:
   * sends by outcome (`imrelay_client_sends_total{outcome}`), users
   * reported undelivered by reason, the report latency histogram,
   * reconnects, resends, duplicates dropped, deliveries received and
   * queued, bytes buffered. See `docs/operations.md` (Monitoring).
   */
  metrics(): string {
    const client = writeClientMetrics({
      nodeId: this.nodeId,
      connected: this.connected,
      counters: this.counters,
      duplicatesDropped: this.intake.repeats.dropped,
      deliveriesQueued: this.inbox.length,
      bufferedBytes: this.ledger.bufferedBytes + (this.supervisor.link?.writableLength ?? 0),
      sendsInFlight: this.ledger.inflightCount,
      sendsWaiting: this.ledger.queuedCount,
      presenceUsers: this.announced.size,
    });
    const control = this.mesh;
    const mesh = control === undefined ? undefined : meshMetricsSource(control, this.nodeId);
    return mesh === undefined ? client : client + writeMeshMetrics(mesh);
  }

  /** A short summary for logs; options and secrets stay out of it. */
  [inspectCustom](): string {
    const id = this.nodeId === '' ? '' : ` ${JSON.stringify(this.nodeId)}`;
    return `RelayClient${id} { state: '${this.state}', transport: '${describeTransport(this.options.transport)}' }`;
  }

  /**
   * Checks that a send may be made now and says where it goes: true to the
   * live connection's writer (checked for room; throws `ERR_BUFFER_FULL`),
   * false to a frame of its own that waits for a connection.
   */
  private prepare(): boolean {
    this.checkOpen();
    const link = this.supervisor.link;
    const live = link !== undefined && this.supervisor.state === 'ready' && this.ledger.queuedCount === 0;
    if (live) this.ledger.checkLiveRoom(link.writableLength);
    return live;
  }

  /** Registers a send just encoded, from `start`, where {@link prepare} said. */
  private commit(entry: PendingSend, live: boolean, start: number): PendingSend {
    if (live) {
      // A large batch goes out now: a burst streams instead of piling up until the end of the turn.
      if (this.ledger.addLive(entry, start)) this.flush();
      else this.scheduleFlush();
    } else {
      this.ledger.addQueued(entry);
      this.supervisor.hurry();
    }
    return entry;
  }

  private checkOpen(): void {
    switch (this.supervisor.state) {
      case 'idle':
        throw new NotConnectedError('call connect() before sending: the client has no connection and is not trying to make one');
      case 'closing':
      case 'closed':
        throw new ClosedError('the client is closed');
      case 'failed':
        throw this.supervisor.failedWith!;
    }
  }

  private requireBinary(what: string): void {
    if (this.options.dialect === 'legacy')
      throw new UnsupportedError(`${what} needs an imrelay relay; legacy transmit hubs keep no presence`);
  }

  private nextSeq(): number {
    return (this.seq = (this.seq + 1) >>> 0);
  }

  private announce(op: typeof PresenceOp.ONLINE | typeof PresenceOp.OFFLINE, userIds: readonly UserId[]): void {
    const state = this.supervisor.state;
    if (state === 'closing' || state === 'closed' || state === 'failed') return;
    this.requireBinary(op === PresenceOp.ONLINE ? 'online' : 'offline');
    const users = this.announced.apply(op, userIds);
    // While disconnected, the RESET sent on reconnect carries the whole set.
    if (state !== 'ready' || users.length === 0) return;
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
    const link = this.supervisor.link;
    if (link === undefined || !link.ready) return;
    const writer = this.ledger.writer;
    // One CONSUMED per flush, however many deliveries were taken since the
    // last; one held back for acknowledgeDelayMs rides with this output.
    const intake = this.intake;
    if (intake.owes) {
      if (writer.length > 0 || intake.pressing || this.options.acknowledgeDelayMs === 0) intake.write(writer);
      else this.acknowledgeTimer ??= setTimeout(this.acknowledgeNow, this.options.acknowledgeDelayMs);
    }
    if (writer.length > 0) this.ledger.flush((parts) => link.write(parts), Date.now());
  };

  /**
   * The intake owes the relay a CONSUMED. One that presses goes at the next
   * flush; any other waits up to acknowledgeDelayMs for output to carry it:
   * a node that only receives would otherwise make a write (and wake the
   * relay) for every event-loop turn in which its application took something.
   */
  private acknowledgementOwed(): void {
    if (this.intake.pressing || this.options.acknowledgeDelayMs === 0) this.scheduleFlush();
    else this.acknowledgeTimer ??= setTimeout(this.acknowledgeNow, this.options.acknowledgeDelayMs);
  }

  /** The CONSUMED held back found nothing to ride with: it goes alone. */
  private readonly acknowledgeNow = (): void => {
    this.acknowledgeTimer = undefined;
    const link = this.supervisor.link;
    if (link === undefined || !link.ready || !this.intake.owes) return;
    this.intake.write(this.ledger.writer);
    this.ledger.flush((parts) => link.write(parts), Date.now());
  };

  private deliver(delivery: Delivery<M>, serial: number): void {
    this.counters.deliveries++;
    this.inbox.push(delivery, serial);
    // Only a link without ONCE pauses (with ONCE the relay keeps to the
    // window, and replies keep flowing), and never while closing: what it
    // still holds or receives was reported delivered.
    if (!this.intake.once && this.inbox.full && this.supervisor.state !== 'closing') this.supervisor.link?.pause();
  }

  private rejectEverything(error: () => RelayError): void {
    this.ledger.rejectAll(error);
    this.locator.rejectAll(error);
  }

  private hooks(): SupervisorHooks {
    return {
      ready: (terms) => this.onReady(terms),
      frame:
        this.options.dialect === 'legacy'
          ? (buf, start, end) => this.inbound.legacy(buf, start, end)
          : (buf, start, end) => this.inbound.frame(buf, start, end),
      lost: (reason) => {
        const why = 'the connection to the relay dropped before the report arrived; the message may or may not have been delivered';
        const lost = (): RelayError => new ConnectionLostError(why, { cause: reason });
        // Locates are questions, not sends: the caller asks again if it still wants to know.
        this.locator.rejectAll(lost);
        this.ledger.linkLost(lost);
        this.intake.linkDown();
      },
      disconnected: (reason) => {
        this.counters.disconnected(reason);
        this.emit('disconnect', reason);
      },
      reconnecting: (info) => this.emit('reconnecting', info),
      gaveUp: (error) => this.rejectEverything(() => error),
      failed: (error) => {
        this.rejectEverything(() => error);
        this.inbox.fail(error);
        this.emit('error', error);
      },
      closing: () => {
        this.ledger.rejectQueued(() => new ClosedError('the client was closed before this message could be written'));
        // The last flush says what the application took; the rest is dropped unseen.
        this.intake.close();
      },
      flush: () => this.flush(),
      // Without ONCE the relay answers every send before it reads the goodbye.
      answered: () => (this.ledger.retaining ? this.ledger.whenAnswered() : Promise.resolve()),
      closed: () => {
        clearTimeout(this.acknowledgeTimer);
        this.acknowledgeTimer = undefined;
        this.rejectEverything(() => new ClosedError('the client was closed'));
        this.inbox.end();
      },
      tick: (now) => {
        this.ledger.expire(now, this.options.reportTimeoutMs, this.supervisor.lastError);
        this.locator.expire(now, this.options.reportTimeoutMs);
      },
      warning: (error) => this.emit('error', error),
      sendsWaiting: () => this.ledger.queuedCount > 0,
    };
  }

  private onReady({ maxFrameBytes, features, localAddress, resends }: LinkTerms): void {
    this.localAddress = localAddress;
    this.relayMaxFrameBytes = maxFrameBytes;
    this.counters.welcomes++;
    // Both ends speak ONCE: deliveries are numbered and acknowledged (the
    // first CONSUMED goes first), sends kept until answered, to be written again.
    const once = (features & Features.ONCE) !== 0 && this.options.dialect === 'binary';
    this.ledger.retaining = once || resends === true;
    this.intake.linkUp(once);
    this.intake.write(this.ledger.writer);
    // Every welcome from a relay that keeps presence gets a RESET, an empty one
    // included: a relay may still hold users of an earlier process with this
    // node id (within its grace period), and none of them are here now.
    const reset = this.announced.used || (features & Features.PRESENCE) !== 0;
    if (reset) this.announced.writeReset(this.ledger.writer, maxFrameBytes);
    if (this.ledger.promoteQueued(maxFrameBytes) || reset || once) this.scheduleFlush();
    this.emit('connect');
  }
}
