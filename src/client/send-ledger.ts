import { FRAME_HEADER_BYTES } from '../codec/constants.js';
import { FrameWriter } from '../codec/frame-writer.js';
import { BufferFullError, ConnectionLostError, FrameTooLargeError, SendFailedError, TimeoutError, type RelayError } from '../errors.js';
import { ClientCounters } from '../metrics/client-counters.js';
import { Fifo } from './fifo.js';
import { InFlight } from './in-flight.js';
import type { PendingSend } from './pending-send.js';
import { Retention, WrittenBatch } from './send-retention.js';

/** The bounds a ledger keeps. */
export interface LedgerLimits {
  /** Most sends waiting for a connection. */
  maxBufferedMessages: number;
  /** Most bytes waiting: for a connection, or, while connected, to be sent or answered. */
  maxBufferedBytes: number;
  /** How long a send may wait for a connection, from when it starts waiting. */
  writeRetryWindowMs: number;
}

/**
 * A live batch this large is flushed at once rather than at the end of the
 * turn: a burst of sends in one synchronous loop then streams out instead of
 * piling up in memory, and the socket's own buffer shows in the bound.
 */
export const EARLY_FLUSH_BYTES = 256 * 1024;

/**
 * The life cycle of every send, from `send()` to its outcome:
 *
 * - live: encoded into {@link writer} for the connection, written at the next flush;
 * - queued: encoded into its own frame while there is no connection, written after reconnect;
 * - in flight: written, waiting for its answer (answers come in send order).
 *
 * On an effectively-once link ({@link retaining}), the sends in flight are
 * kept by reference to the bytes written, and when the link drops they wait
 * again, in front and in order, keeping their seq, to be written first after
 * the reconnect. Every entry leaves by being resolved or rejected with a
 * coded error.
 */
export class SendLedger {
  /** Frames for the live connection; flushed once per turn of the event loop (or early, when large). */
  readonly writer = new FrameWriter();
  /** Where frames are encoded while there is no connection. */
  readonly spare = new FrameWriter(16 * 1024);
  /** True while the live link is effectively-once: sends in flight are kept to be written again. */
  retaining = false;
  private batch: PendingSend[] = [];
  private queued = new Fifo<PendingSend>();
  private queuedBytes = 0;
  private readonly inflight = new InFlight();
  private readonly retention = new Retention();
  /** Resolves {@link whenAnswered}'s promise once nothing is in flight. */
  private onAnswered: (() => void) | undefined;

  constructor(
    private readonly limits: LedgerLimits,
    /** Where answers, their latency, resends and sends written without a report are counted. */
    readonly counters = new ClientCounters(),
  ) {}

  get queuedCount(): number {
    return this.queued.length;
  }

  /** Sends written and waiting for their answer. */
  get inflightCount(): number {
    return this.inflight.length;
  }

  /** Bytes held for sends: not yet written (live or waiting for a connection), or kept until answered. */
  get bufferedBytes(): number {
    return this.writer.length + this.queuedBytes + this.retention.bytes;
  }

  /**
   * Resolves once every send written has its answer (or failed): at once
   * when none waits. `close()` waits for it on an effectively-once link
   * before saying goodbye, since the relay answers a send only once its
   * receivers' applications took it.
   */
  whenAnswered(): Promise<void> {
    if (this.inflight.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.onAnswered;
      this.onAnswered = () => {
        previous?.();
        resolve();
      };
    });
  }

  private checkAnswered(): void {
    if (this.onAnswered === undefined || this.inflight.length > 0) return;
    const done = this.onAnswered;
    this.onAnswered = undefined;
    done();
  }

  /** Bytes kept for writing again (effectively-once links). */
  get retainedBytes(): number {
    return this.retention.bytes;
  }

  /**
   * Throws `ERR_BUFFER_FULL` when the bytes waiting reach `maxBufferedBytes`:
   * the live batch, what the socket still holds (`socketBuffered`), and what
   * is kept for writing again. There is no count per turn: a burst of small
   * sends is bounded by its bytes.
   */
  checkLiveRoom(socketBuffered: number): void {
    const waiting = this.writer.length + socketBuffered + this.retention.bytes;
    if (waiting >= this.limits.maxBufferedBytes) {
      throw new BufferFullError(
        `the outbound buffer is full (${waiting} bytes waiting to be sent or answered): the relay is not keeping up`,
      );
    }
  }

  /** Registers a send just encoded into {@link writer} from `start`. Returns true when the batch is large enough to flush now. */
  addLive(entry: PendingSend, start: number): boolean {
    entry.start = start;
    entry.end = this.writer.length;
    this.batch.push(entry);
    return entry.end >= EARLY_FLUSH_BYTES;
  }

  /** Registers a send just encoded into {@link spare}; throws `ERR_BUFFER_FULL` when the bounds are reached. */
  addQueued(entry: PendingSend): void {
    const parts = this.spare.take();
    const frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (this.queued.length >= this.limits.maxBufferedMessages || this.queuedBytes + frame.length > this.limits.maxBufferedBytes) {
      throw new BufferFullError(`the send buffer is full (${this.queued.length} messages, ${this.queuedBytes} bytes) while disconnected`);
    }
    entry.frame = frame;
    this.startWaiting(entry, Date.now());
    this.queued.push(entry);
    this.queuedBytes += frame.length;
  }

  // A send keeps the deadline of when it first waited, however often the
  // connection drops under it, unless written since (see requeue).
  private startWaiting(entry: PendingSend, now: number): void {
    if (entry.deadline === 0) entry.deadline = now + this.limits.writeRetryWindowMs;
  }

  /**
   * Hands the live frames to `write`; sends that want no reply resolve now,
   * the others wait for their answer (kept, on an effectively-once link, by
   * reference to the parts written).
   */
  flush(write: (parts: Buffer[]) => void, now: number): void {
    if (this.writer.length === 0) return;
    const parts = this.writer.take();
    write(parts);
    const batch = this.batch;
    this.batch = [];
    const written = this.retaining ? new WrittenBatch(parts) : undefined;
    for (const entry of batch) {
      entry.written = true;
      if (entry.reply === 'none') {
        this.counters.written++;
        entry.resolve(undefined);
        continue;
      }
      entry.sentAt = now;
      if (written !== undefined) this.retention.hold(entry, written);
      this.inflight.push(entry);
    }
  }

  /** Moves the sends that waited for a connection into the live batch, in order. */
  promoteQueued(maxFrameBytes: number): boolean {
    this.queuedBytes = 0;
    for (const entry of this.queued.drain()) {
      const frame = entry.frame!;
      entry.frame = undefined;
      if (frame.length - FRAME_HEADER_BYTES > maxFrameBytes) {
        entry.reject(new FrameTooLargeError(`message frame of ${frame.length} bytes exceeds the relay's limit`));
        continue;
      }
      const start = this.writer.length;
      this.writer.appendEncoded(frame);
      this.addLive(entry, start);
      if (entry.written) this.counters.resends++;
    }
    return this.batch.length > 0;
  }

  /**
   * The link dropped. The sends of the live batch, not yet written, go back
   * to wait for the next connection, in front of later ones; other frames
   * (presence, locate, CONSUMED) are dropped, the client re-sends what still
   * matters. With `resendInflight` (an effectively-once link) the sends in
   * flight go in front of them, in their order, keeping their seq: written
   * once, their write-retry window starts now. Without it the caller settles
   * them (see {@link rejectInflight}).
   */
  requeue(resendInflight: boolean, now = Date.now()): void {
    const parts = this.writer.take();
    const waiting = new Fifo<PendingSend>();
    if (resendInflight) {
      for (const entry of this.inflight.drain()) {
        entry.frame = this.retention.takeFrame(entry);
        entry.deadline = now + this.limits.writeRetryWindowMs;
        this.queuedBytes += entry.frame.length;
        waiting.push(entry);
      }
    }
    if (this.batch.length > 0) {
      const unwritten = new WrittenBatch(parts);
      for (const entry of this.batch) {
        entry.frame = unwritten.copy(entry.start, entry.end);
        this.startWaiting(entry, now);
        this.queuedBytes += entry.frame.length;
        waiting.push(entry);
      }
      this.batch = [];
    }
    this.checkAnswered();
    if (waiting.length === 0) return;
    for (const entry of this.queued.drain()) waiting.push(entry);
    this.queued = waiting;
  }

  /**
   * The link dropped. On an effectively-once link the sends in flight are
   * written again after the reconnect (receivers drop what they already
   * took); otherwise whether they arrived is unknown, and they reject with
   * `lost`. The unwritten batch waits for the next connection either way.
   */
  linkLost(lost: () => RelayError): void {
    const resend = this.retaining;
    if (!resend) this.rejectInflight(lost);
    this.requeue(resend);
    this.retaining = false;
  }

  /** Settles the send a full REPORT for `seq` answers (see {@link InFlight.report}); undefined for one that timed out already. */
  answerReport(seq: number): PendingSend | undefined {
    const entry = this.inflight.report(seq);
    if (entry !== undefined) {
      this.retention.release(entry);
      this.answered(entry, Date.now());
    }
    this.checkAnswered();
    return entry;
  }

  /** Settles the sends an ACK answers (see {@link InFlight.ack}). */
  answerAck(first: number, count: number, settle: (entry: PendingSend) => void): void {
    // One clock read per ACK, however many sends it answers.
    const now = Date.now();
    try {
      this.inflight.ack(first, count, (entry) => {
        this.retention.release(entry);
        this.answered(entry, now);
        settle(entry);
      });
    } finally {
      this.checkAnswered();
    }
  }

  private answered(entry: PendingSend, now: number): void {
    this.counters.answered++;
    this.counters.reportLatency.observe(now - entry.sentAt);
  }

  /**
   * Rejects queued sends past their write deadline (`ERR_SEND_FAILED`, or
   * `ERR_CONNECTION_LOST` for one written before: it may have arrived) and
   * in-flight sends past the report timeout (`ERR_TIMEOUT`).
   */
  expire(now: number, reportTimeoutMs: number, lastError: RelayError | undefined): void {
    for (let head = this.queued.peek(); head !== undefined && head.deadline < now; head = this.queued.peek()) {
      this.queued.shift();
      this.queuedBytes -= head.frame!.length;
      head.frame = undefined;
      head.reject(
        head.written
          ? new ConnectionLostError(
              'the connection to the relay dropped before the report arrived, and none came back within the write retries to write it again; the message may or may not have been delivered',
              { cause: lastError },
            )
          : new SendFailedError('no connection to the relay within the write retries', { cause: lastError }),
      );
    }
    this.inflight.expire(now - reportTimeoutMs, (entry) => {
      this.retention.release(entry);
      entry.reject(new TimeoutError(`no report from the relay within ${reportTimeoutMs} ms`));
    });
    this.checkAnswered();
  }

  /**
   * Rejects the sends waiting for a connection with `error`; one written
   * before (waiting to be written again) rejects with `ERR_CONNECTION_LOST`
   * instead, `error` as its cause: it may have arrived.
   */
  rejectQueued(error: () => RelayError): void {
    this.queuedBytes = 0;
    for (const entry of this.queued.drain()) {
      entry.frame = undefined;
      entry.reject(entry.written ? lostAfterWrite(error()) : error());
    }
  }

  rejectInflight(error: () => RelayError): void {
    for (const entry of this.inflight.drain()) {
      this.retention.release(entry);
      entry.reject(error());
    }
    this.checkAnswered();
  }

  rejectAll(error: () => RelayError): void {
    this.rejectQueued(error);
    this.rejectInflight(error);
    this.writer.take();
    const batch = this.batch;
    this.batch = [];
    for (const entry of batch) entry.reject(error());
  }
}

/** The error of a send written once whose outcome is unknown, failing for `cause`. */
function lostAfterWrite(cause: RelayError): RelayError {
  return new ConnectionLostError(
    `${cause.message}; the message was written before and not answered: it may or may not have been delivered`,
    {
      cause,
    },
  );
}
