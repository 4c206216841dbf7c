import { FRAME_HEADER_BYTES } from '../codec/constants.js';
import { FrameWriter } from '../codec/frame-writer.js';
import { BufferFullError, FrameTooLargeError, SendFailedError, TimeoutError, type RelayError } from '../errors.js';
import { FrameType } from '../protocol/constants.js';
import { Fifo } from './fifo.js';
import type { PendingSend } from './pending-send.js';

/** Where a send's frame goes: straight to the live connection, or to wait for one. */
export interface LedgerLimits {
  maxBufferedMessages: number;
  maxBufferedBytes: number;
  /** How long a send may wait for a connection, from when it starts waiting. */
  writeRetryWindowMs: number;
}

/**
 * The life cycle of every send, from `send()` to its outcome:
 *
 * - live: encoded into {@link writer} for the connection, written at the next flush;
 * - queued: encoded into its own frame while there is no connection, written after reconnect;
 * - in flight: written, waiting for its report (reports come back in send order).
 *
 * Every entry leaves by being resolved or rejected with a coded error.
 */
export class SendLedger {
  /** Frames for the live connection; flushed once per turn of the event loop. */
  readonly writer = new FrameWriter();
  /** Where frames are encoded while there is no connection. */
  readonly spare = new FrameWriter(16 * 1024);
  private batch: PendingSend[] = [];
  private queued = new Fifo<PendingSend>();
  private queuedBytes = 0;
  private readonly inflight = new Fifo<PendingSend>();

  constructor(private readonly limits: LedgerLimits) {}

  get queuedCount(): number {
    return this.queued.length;
  }

  /** Throws `ERR_BUFFER_FULL` when a live send would exceed the bounds. */
  checkLiveRoom(socketBuffered: number): void {
    if (this.batch.length >= this.limits.maxBufferedMessages || this.writer.length + socketBuffered >= this.limits.maxBufferedBytes) {
      throw new BufferFullError('the outbound buffer is full: the relay is not keeping up');
    }
  }

  /** Registers a send just encoded into {@link writer}. */
  addLive(entry: PendingSend): void {
    this.batch.push(entry);
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
  // connection drops under it.
  private startWaiting(entry: PendingSend, now: number): void {
    if (entry.deadline === 0) entry.deadline = now + this.limits.writeRetryWindowMs;
  }

  /**
   * Hands the live frames to `write`; sends that want no reply resolve now,
   * the others wait for their report.
   */
  flush(write: (parts: Buffer[]) => void, now: number): void {
    if (this.writer.length === 0) return;
    write(this.writer.take());
    const batch = this.batch;
    this.batch = [];
    for (const entry of batch) {
      if (entry.reply === 'none') {
        entry.resolve(undefined);
      } else {
        entry.sentAt = now;
        this.inflight.push(entry);
      }
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
      this.writer.appendEncoded(frame);
      this.batch.push(entry);
    }
    return this.batch.length > 0;
  }

  /**
   * The connection died before the live frames were written: the sends among
   * them go back to wait for the next connection (in front of later ones);
   * other frames (presence, locate) are dropped, the client re-sends what
   * still matters.
   */
  requeueLive(isSend: (type: number) => boolean = isSendFrame): void {
    const parts = this.writer.take();
    if (this.batch.length === 0) return;
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const waiting = new Fifo<PendingSend>();
    const now = Date.now();
    let pos = 0;
    let next = 0;
    while (pos < bytes.length) {
      const end = pos + FRAME_HEADER_BYTES + bytes.readUInt32LE(pos);
      if (isSend(bytes[pos + FRAME_HEADER_BYTES]!)) {
        const entry = this.batch[next++]!;
        entry.frame = bytes.subarray(pos, end);
        this.startWaiting(entry, now);
        this.queuedBytes += end - pos;
        waiting.push(entry);
      }
      pos = end;
    }
    this.batch = [];
    for (const entry of this.queued.drain()) waiting.push(entry);
    this.queued = waiting;
  }

  /** The in-flight send a report answers; reports come in send order, so it is almost always the first. */
  takeReplied(seq: number): PendingSend | undefined {
    return this.inflight.take((entry) => entry.seq === seq);
  }

  /**
   * Settles the in-flight sends an ACK answers: `count` sends from seq
   * `first`, in send order. Only sends waiting for a host report can be
   * acknowledged; the work is bounded by what is in flight, whatever the
   * count claims.
   */
  takeAcknowledged(first: number, count: number, settle: (entry: PendingSend) => void): void {
    const inflight = this.inflight;
    for (let head = inflight.peek(); head !== undefined; head = inflight.peek()) {
      if (head.reply !== 'hosts' || (head.seq - first) >>> 0 >= count) return;
      inflight.shift();
      settle(head);
    }
  }

  /** Rejects queued sends past their write deadline and in-flight sends past the report timeout. */
  expire(now: number, reportTimeoutMs: number, lastError: RelayError | undefined): void {
    for (let head = this.queued.peek(); head !== undefined && head.deadline < now; head = this.queued.peek()) {
      this.queued.shift();
      this.queuedBytes -= head.frame!.length;
      head.reject(new SendFailedError('no connection to the relay within the write retries', { cause: lastError }));
    }
    const overdue = now - reportTimeoutMs;
    for (let head = this.inflight.peek(); head !== undefined && head.sentAt < overdue; head = this.inflight.peek()) {
      this.inflight.shift();
      head.reject(new TimeoutError(`no report from the relay within ${reportTimeoutMs} ms`));
    }
  }

  rejectQueued(error: () => RelayError): void {
    this.queuedBytes = 0;
    for (const entry of this.queued.drain()) entry.reject(error());
  }

  rejectInflight(error: () => RelayError): void {
    for (const entry of this.inflight.drain()) entry.reject(error());
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

function isSendFrame(type: number): boolean {
  return type === FrameType.ROUTE || type === FrameType.SEND_USERS;
}
