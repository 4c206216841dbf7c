import { FrameWriter } from '../codec/frame-writer.js';
import { AckRun } from '../protocol/index.js';
import { DeliveryWindow } from '../server/delivery-window.js';
import { PendingAnswers } from '../server/pending-answers.js';
import type { RouteSender, RouteTarget } from '../server/route-endpoints.js';
import type { RelayStats } from '../server/stats.js';
import { forEachFrame } from './frame-walk.js';

/**
 * This node's own application as the mesh sees it: the sender of every send
 * it makes (answered in send order once every target's application took
 * its delivery) and the target of every delivery for it, from peers or from
 * itself, written within the window the client granted and held beyond it
 * like a relay holds a node's. Everything for the client goes through one
 * writer, handed over frame by frame at each flush.
 */
export class LocalInbox implements RouteTarget, RouteSender {
  readonly idBytes: Uint8Array;
  readonly origin: Buffer;
  readonly stampedOrigin: Buffer;
  readonly dialect = 'binary' as const;
  readonly writer = new FrameWriter(16 * 1024);
  readonly window: DeliveryWindow;
  readonly answers: PendingAnswers;
  readonly acks = undefined;
  lastReceived = Date.now();
  private readonly ackRun = new AckRun();
  private scheduled = false;
  private closed = false;
  private answeredWaiters: Array<() => void> = [];

  constructor(
    readonly nodeId: string,
    incarnation: Buffer,
    readonly maxFrameBytes: number,
    deliveryWindow: number,
    private readonly stats: RelayStats,
    /** Hands one frame to the client. */
    private readonly deliver: (buf: Buffer, start: number, end: number) => void,
  ) {
    this.idBytes = Buffer.from(nodeId, 'utf8');
    this.origin = Buffer.concat([Buffer.of(this.idBytes.length), this.idBytes]);
    this.stampedOrigin = Buffer.concat([this.origin, incarnation]);
    this.window = new DeliveryWindow(this, deliveryWindow);
    this.answers = new PendingAnswers(
      {
        ready: true,
        acknowledge: (seq) => {
          this.ackRun.add(seq, this.writer);
          this.touch();
        },
        report: (payload) => {
          this.ackRun.seal(this.writer);
          this.writer.appendFrame(payload);
          this.touch();
        },
      },
      stats,
    );
  }

  get outboundBytes(): number {
    return this.writer.length + this.window.heldBytes;
  }

  reportWriter(): FrameWriter {
    this.ackRun.seal(this.writer);
    return this.writer;
  }

  /** Answers (LOCATED) and notices go out after any ACK run, in order. */
  append(payload: Buffer): void {
    this.reportWriter().appendFrame(payload);
    this.touch();
  }

  touch(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  overflowed(): void {
    this.stats.overflows++;
  }

  /** Hands everything written so far to the client, frame by frame. */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.closed) return;
    this.ackRun.seal(this.writer);
    if (this.writer.length === 0) return;
    const parts = this.writer.take();
    // Kept while a delivery in them is unsettled, as a relay keeps a node's output.
    this.window.retain(parts);
    forEachFrame(parts, this.deliver);
    if (this.answers.size === 0 && this.answeredWaiters.length > 0) {
      const waiters = this.answeredWaiters;
      this.answeredWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };

  /** Resolves once every send so far is answered (and the answer handed to the client). */
  answered(): Promise<void> {
    if (this.answers.size === 0 && this.writer.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.answeredWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    for (const resolve of this.answeredWaiters) resolve();
    this.answeredWaiters = [];
  }
}
