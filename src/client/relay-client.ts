import { EventEmitter } from 'eventemitter3';
import { FrameWriter } from '../codec/frame-writer.js';
import { FRAME_HEADER_BYTES } from '../codec/constants.js';
import {
  BufferFullError,
  ClosedError,
  ConnectionLostError,
  ErrorCodes,
  FrameTooLargeError,
  RelayError,
  SendFailedError,
  TimeoutError,
} from '../errors.js';
import {
  FrameType,
  PAYLOAD_KIND_SHIFT,
  RouteFlags,
  Scratch,
  decodeDeliver,
  decodeReport,
  encodeRouteHeader,
  routeHostCount,
  writeRouteFrame,
  type RouteTable,
} from '../protocol/index.js';
import { Connection } from './connection.js';
import { DeliveryQueue } from './delivery-queue.js';
import { resolveClientOptions, type RelayClientOptions, type ResolvedClientOptions } from './options.js';
import { PendingSend } from './pending-send.js';
import { toOfflineNotice, toSendReport, type OfflineNotice, type SendReport } from './report.js';
import { decodeMessage, encodeMessage } from './serializer.js';

/** A message for users on this node. */
export interface Delivery<M = unknown> {
  /** The node id of the sender. */
  from: string;
  /** The users on this node to hand the message to. */
  users: string[];
  message: M;
}

/** Per-send options. */
export interface SendOptions {
  /**
   * `true` (default): resolve with the relay's report. `false`: resolve once
   * written; users the relay could not hand over arrive on the `offline` event.
   */
  report?: boolean;
}

/** Events of a {@link RelayClient}. */
export interface RelayClientEvents {
  /** Welcomed by the relay (first connect and every reconnect). */
  connect: () => void;
  /** The connection dropped; the client reconnects unless closed or failed. */
  disconnect: (reason: RelayError | undefined) => void;
  /** A reconnection attempt is scheduled. */
  reconnecting: (info: { attempt: number; delayMs: number; reason: RelayError | undefined }) => void;
  /** Users of a `{ report: false }` send that no node took. */
  offline: (notice: OfflineNotice) => void;
  /** Something went wrong; a fatal error also ends the delivery loop. */
  error: (error: RelayError) => void;
}

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
  private conn: Connection | undefined;
  private attempt = 0;
  private lastError: RelayError | undefined;
  private failure: RelayError | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private connectWaiters: Array<{ resolve: () => void; reject: (e: RelayError) => void }> = [];
  private closePromise: Promise<void> | undefined;
  private heartbeatMs = 0;
  private relayMaxFrameBytes: number;

  private seq = 0;
  private readonly scratch = new Scratch();
  /** Frames encoded for the live connection, flushed once per turn of the event loop. */
  private readonly writer = new FrameWriter();
  private batch: PendingSend[] = [];
  private flushScheduled = false;
  /** Sends waiting for a connection, each with its own encoded frame. */
  private readonly spare = new FrameWriter(16 * 1024);
  private queued: PendingSend[] = [];
  private queuedBytes = 0;
  /** Sends written and waiting for their report, in the order reports come back. */
  private inflight: PendingSend[] = [];
  private inflightHead = 0;
  private readonly inbox: DeliveryQueue<Delivery<M>>;
  private onClosed: (() => void) | undefined;

  constructor(options: RelayClientOptions) {
    super();
    this.options = resolveClientOptions(options);
    this.relayMaxFrameBytes = this.options.maxFrameBytes;
    this.inbox = new DeliveryQueue(this.options.deliveryHighWaterMark, () => this.conn?.resume());
  }

  /** This node's id. */
  get nodeId(): string {
    return this.options.nodeId;
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
   */
  send(usersByHost: RouteTable, message: M, options?: SendOptions & { report?: true }): Promise<SendReport>;
  send(usersByHost: RouteTable, message: M, options: SendOptions & { report: false }): Promise<void>;
  send(usersByHost: RouteTable, message: M, options?: SendOptions): Promise<SendReport | void>;
  send(usersByHost: RouteTable, message: M, options?: SendOptions): Promise<SendReport | void> {
    try {
      return this.enqueue(usersByHost, message, options?.report !== false);
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

  private enqueue(usersByHost: RouteTable, message: M, wantsReport: boolean): Promise<SendReport | void> {
    if (this.state === 'closing' || this.state === 'closed') throw new ClosedError('the client is closed');
    if (this.state === 'failed') throw this.failure!;
    const { payload, kind } = encodeMessage(message, this.options.serializer);
    const flags = (wantsReport ? RouteFlags.REPORT : 0) | (kind << PAYLOAD_KIND_SHIFT);
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const headerBytes = encodeRouteHeader(this.scratch, flags, seq, usersByHost);
    if (routeHostCount(this.scratch) === 0) return Promise.resolve(wantsReport ? { delivered: [], offline: {} } : undefined);

    const entry = new PendingSend(seq, wantsReport, Date.now() + this.options.writeRetryWindowMs);
    if (this.state === 'ready' && this.queued.length === 0) {
      const conn = this.conn!;
      if (
        this.batch.length >= this.options.maxBufferedMessages ||
        this.writer.length + conn.writableLength >= this.options.maxBufferedBytes
      ) {
        throw new BufferFullError('the outbound buffer is full: the relay is not keeping up');
      }
      writeRouteFrame(this.writer, this.scratch, headerBytes, payload, this.relayMaxFrameBytes);
      this.batch.push(entry);
      this.scheduleFlush();
    } else {
      writeRouteFrame(this.spare, this.scratch, headerBytes, payload, this.relayMaxFrameBytes);
      const parts = this.spare.take();
      const frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      if (
        this.queued.length >= this.options.maxBufferedMessages ||
        this.queuedBytes + frame.length > this.options.maxBufferedBytes
      ) {
        throw new BufferFullError(
          `the send buffer is full (${this.queued.length} messages, ${this.queuedBytes} bytes) while disconnected`,
        );
      }
      entry.frame = frame;
      this.queued.push(entry);
      this.queuedBytes += frame.length;
      // A send made before connect() is bounded by its write-retry window too.
      if (this.sweepTimer === undefined) this.startSweep();
    }
    return entry.promise as Promise<SendReport | void>;
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
    if (conn === undefined || !conn.ready || this.writer.length === 0) return;
    conn.write(this.writer.take());
    const now = Date.now();
    const batch = this.batch;
    this.batch = [];
    for (const entry of batch) {
      if (entry.wantsReport) {
        entry.sentAt = now;
        this.inflight.push(entry);
      } else {
        entry.resolve(undefined);
      }
    }
  };

  private open(): void {
    this.conn = new Connection(
      {
        endpoint: this.options.endpoint,
        nodeId: this.options.nodeId,
        secret: this.options.secret,
        maxFrameBytes: this.options.maxFrameBytes,
        connectTimeoutMs: this.options.connectTimeoutMs,
      },
      {
        onReady: (welcome) => this.onReady(welcome.maxFrameBytes, welcome.heartbeatMs),
        onFrame: (payload) => this.onFrame(payload),
        onClose: (reason) => this.onConnectionClose(reason),
      },
    );
  }

  private onReady(maxFrameBytes: number, heartbeatMs: number): void {
    this.state = 'ready';
    this.attempt = 0;
    this.relayMaxFrameBytes = maxFrameBytes;
    if (heartbeatMs !== this.heartbeatMs) {
      this.heartbeatMs = heartbeatMs;
      // The sweep also keeps the heartbeat: it must run several times per interval.
      this.startSweep();
    }
    this.flushQueued();
    this.emit('connect');
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve();
  }

  /** Moves the sends that waited for a connection into the live batch, in order. */
  private flushQueued(): void {
    const queued = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    for (const entry of queued) {
      const frame = entry.frame!;
      entry.frame = undefined;
      if (frame.length - FRAME_HEADER_BYTES > this.relayMaxFrameBytes) {
        entry.reject(new FrameTooLargeError(`message frame of ${frame.length} bytes exceeds the relay's limit`));
        continue;
      }
      this.writer.appendEncoded(frame);
      this.batch.push(entry);
    }
    if (this.batch.length > 0) this.scheduleFlush();
  }

  private onFrame(payload: Buffer): void {
    if (payload[0] === FrameType.DELIVER) {
      const d = decodeDeliver(payload);
      let message: unknown;
      try {
        message = decodeMessage(d.payload, d.kind, this.options.serializer);
      } catch (cause) {
        this.emit('error', new RelayError(ErrorCodes.MESSAGE, `undecodable message from ${d.from}`, { cause }));
        return;
      }
      this.inbox.push({ from: d.from, users: d.users, message: message as M });
      if (this.inbox.full) this.conn?.pause();
      return;
    }
    const report = decodeReport(payload);
    if (!report.full) {
      this.emit('offline', toOfflineNotice(report));
      return;
    }
    const entry = this.takeInflight(report.seq);
    entry?.resolve(toSendReport(report));
  }

  /** Reports arrive in send order, so the match is almost always the head. */
  private takeInflight(seq: number): PendingSend | undefined {
    const list = this.inflight;
    for (let i = this.inflightHead; i < list.length; i++) {
      const entry = list[i]!;
      if (entry.seq !== seq) continue;
      if (i === this.inflightHead) this.advanceInflight();
      else list.splice(i, 1);
      return entry;
    }
    return undefined;
  }

  private advanceInflight(): void {
    this.inflightHead++;
    if (this.inflightHead === this.inflight.length) {
      this.inflight = [];
      this.inflightHead = 0;
    } else if (this.inflightHead >= 1024 && this.inflightHead * 2 >= this.inflight.length) {
      this.inflight = this.inflight.slice(this.inflightHead);
      this.inflightHead = 0;
    }
  }

  private onConnectionClose(reason: RelayError | undefined): void {
    const wasReady = this.state === 'ready';
    this.conn = undefined;
    if (this.state === 'closing') {
      // close() promised ERR_CLOSED for every send still pending when it gives up waiting.
      this.finishClose();
      return;
    }
    this.rejectInflight(
      (cause) =>
        new ConnectionLostError('the connection to the relay dropped before the report arrived; the message may or may not have been delivered', {
          cause,
        }),
      reason,
    );
    this.requeueBatch();

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

  /** Frames encoded for a connection that died before they were written go back to wait for the next one. */
  private requeueBatch(): void {
    if (this.batch.length === 0) return;
    const parts = this.writer.take();
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    let pos = 0;
    const batch = this.batch;
    this.batch = [];
    for (const entry of batch) {
      const end = pos + FRAME_HEADER_BYTES + bytes.readUInt32LE(pos);
      entry.frame = bytes.subarray(pos, end);
      this.queuedBytes += end - pos;
      pos = end;
    }
    this.queued = batch.concat(this.queued);
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
    this.rejectAll(() => error);
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(error);
    this.inbox.fail(error);
    this.emit('error', error);
  }

  private async shutdown(): Promise<void> {
    const previous = this.state;
    if (previous === 'closed') return;
    this.state = 'closing';
    clearTimeout(this.reconnectTimer);
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(new ClosedError('the client was closed before it connected'));
    this.rejectQueued(() => new ClosedError('the client was closed before this message could be written'));
    const conn = this.conn;
    if (conn === undefined) {
      this.finishClose();
      return;
    }
    if (conn.ready) {
      this.flush();
      conn.end();
    } else {
      conn.destroy(new ClosedError('the client was closed'));
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => conn.destroy(new ClosedError('close timed out')), this.options.closeTimeoutMs);
      this.onClosed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private finishClose(): void {
    this.state = 'closed';
    this.stopTimers();
    this.rejectAll(() => new ClosedError('the client was closed'));
    this.inbox.end();
    this.onClosed?.();
  }

  private rejectAll(error: (cause: RelayError | undefined) => RelayError): void {
    this.rejectQueued(error);
    this.rejectInflight(error, undefined);
    const batch = this.batch;
    this.batch = [];
    this.writer.take();
    for (const entry of batch) entry.reject(error(undefined));
  }

  private rejectQueued(error: (cause: RelayError | undefined) => RelayError): void {
    const queued = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    for (const entry of queued) entry.reject(error(undefined));
  }

  private rejectInflight(error: (cause: RelayError | undefined) => RelayError, cause: RelayError | undefined): void {
    const list = this.inflight;
    const head = this.inflightHead;
    this.inflight = [];
    this.inflightHead = 0;
    for (let i = head; i < list.length; i++) list[i]!.reject(error(cause));
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

  /** Expires waiting sends and overdue reports, and keeps the heartbeat. */
  private readonly sweep = (): void => {
    const now = Date.now();
    while (this.queued.length > 0 && this.queued[0]!.deadline < now) {
      const entry = this.queued.shift()!;
      this.queuedBytes -= entry.frame!.length;
      entry.reject(
        new SendFailedError(`no connection to the relay within the write retries`, { cause: this.lastError }),
      );
    }
    const deadline = now - this.options.reportTimeoutMs;
    while (this.inflightHead < this.inflight.length && this.inflight[this.inflightHead]!.sentAt < deadline) {
      const entry = this.inflight[this.inflightHead]!;
      this.advanceInflight();
      entry.reject(new TimeoutError(`no report from the relay within ${this.options.reportTimeoutMs} ms`));
    }
    const conn = this.conn;
    if (this.state !== 'ready' || conn === undefined || this.heartbeatMs === 0) return;
    if (!conn.isPaused && now - conn.lastReceived > 2 * this.heartbeatMs) {
      conn.destroy(new RelayError(ErrorCodes.HEARTBEAT, `no traffic from the relay for ${now - conn.lastReceived} ms`));
    } else if (now - conn.lastSent >= this.heartbeatMs) {
      conn.ping();
    }
  };
}

