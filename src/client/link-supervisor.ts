import { randomBytes } from 'node:crypto';
import { ClosedError, ConnectError, ErrorCodes, type RelayError } from '../errors.js';
import { createLink, describeTransport, retryOutlook } from '../transport/factory.js';
import type { Link, LinkTerms } from '../transport/link.js';
import type { ResolvedClientOptions } from './options.js';

/** Where a client is in its life. */
export type ClientState = 'idle' | 'connecting' | 'ready' | 'closing' | 'closed' | 'failed';

/** What the supervisor tells the client that owns it. */
export interface SupervisorHooks {
  /** A link was welcomed (first connect and every reconnect). */
  ready(terms: LinkTerms): void;
  /** A frame from the live link (see `LinkEvents.onFrame`). */
  frame(buf: Buffer, start: number, end: number): void;
  /** The link dropped while the client goes on: settle what depended on it. */
  lost(reason: RelayError | undefined): void;
  /** A welcomed link dropped; the client reconnects. */
  disconnected(reason: RelayError | undefined): void;
  /** A reconnection attempt is scheduled. */
  reconnecting(info: { attempt: number; delayMs: number; reason: RelayError | undefined }): void;
  /** The first `connect()` gave up: the client is idle again, and nothing it held can go out. */
  gaveUp(error: RelayError): void;
  /** The client cannot go on. */
  failed(error: RelayError): void;
  /** `close()` began: nothing waiting for a connection will get one. */
  closing(): void;
  /** The last frames before an orderly close. */
  flush(): void;
  /** Resolves once the sends written have their answers (before the goodbye). */
  answered(): Promise<void>;
  /** `close()` is done. */
  closed(): void;
  /** Called a few times per write-retry interval, to expire what waited too long. */
  tick(now: number): void;
  /** The link dropped something hostile or broken and goes on (a forged or replayed channel message). */
  warning(error: RelayError): void;
  /** True while sends wait for a connection: reconnect attempts then come at least once per write-retry interval. */
  sendsWaiting(): boolean;
}

// Causes no retry can fix, whenever they happen.
const FATAL = new Set<string>([ErrorCodes.AUTH, ErrorCodes.REPLACED, ErrorCodes.VERSION, ErrorCodes.DEPENDENCY]);
// Causes a first connect reports at once rather than retry until its deadline.
const REFUSED = new Set<string>([ErrorCodes.DUPLICATE_NODE, ErrorCodes.INVALID_ARGUMENT, ErrorCodes.PROTOCOL, ErrorCodes.LISTEN]);

// The transport knows more than the code: a TLS certificate refused is an ERR_CONNECT no retry fixes.
function isFatal(reason: RelayError): boolean {
  return FATAL.has(reason.code) || retryOutlook(reason) === 'never';
}

function isRefused(reason: RelayError): boolean {
  return REFUSED.has(reason.code) || retryOutlook(reason) === 'not-first';
}

/**
 * A client's connection life cycle: opens links through the transport
 * factory, bounds the first `connect()` by `connectTimeoutMs`, reconnects
 * with backoff (hurried while sends wait), and closes in order. It knows no
 * frame and no send: those are the client's.
 */
export class LinkSupervisor {
  private current: Link | undefined;
  private phase: ClientState = 'idle';
  private everReady = false;
  private attempt = 0;
  private lastAttemptAt = 0;
  private lastFailure: RelayError | undefined;
  private failure: RelayError | undefined;
  private connectDeadline = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAt = 0;
  private ticker: NodeJS.Timeout | undefined;
  private waiters: Array<{ resolve: () => void; reject: (e: RelayError) => void }> = [];
  private closeDone: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  /** Names this client instance in every send it makes (see `LinkContext.incarnation`). */
  readonly incarnation = randomBytes(8);

  constructor(
    private readonly options: ResolvedClientOptions,
    private readonly hooks: SupervisorHooks,
  ) {}

  get state(): ClientState {
    return this.phase;
  }

  /** The live link: set from welcome until it drops. */
  get link(): Link | undefined {
    return this.phase === 'ready' || this.phase === 'closing' ? this.current : undefined;
  }

  /** Why the last attempt or link failed, while reconnecting. */
  get lastError(): RelayError | undefined {
    return this.lastFailure;
  }

  /** Why the client failed for good, once it has. */
  get failedWith(): RelayError | undefined {
    return this.failure;
  }

  /** See `RelayClient.connect`. */
  connect(): Promise<void> {
    if (this.phase === 'ready') return Promise.resolve();
    if (this.phase === 'closing' || this.phase === 'closed') return Promise.reject(new ClosedError('the client is closed'));
    if (this.phase === 'failed') return Promise.reject(this.failure!);
    const waiting = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.phase === 'idle') {
      this.phase = 'connecting';
      this.attempt = 0;
      this.lastFailure = undefined;
      this.connectDeadline = Date.now() + this.options.connectTimeoutMs;
      this.deadlineTimer = setTimeout(() => this.giveUp(), this.options.connectTimeoutMs);
      this.startTicker();
      this.open();
    }
    return waiting;
  }

  /**
   * A send started waiting for a connection: try again now (or as soon as
   * the write-retry interval since the last attempt allows) rather than
   * sleep out the backoff.
   */
  hurry(): void {
    if (this.phase !== 'connecting' || this.reconnectTimer === undefined) return;
    const now = Date.now();
    const due = Math.max(now, this.lastAttemptAt + this.options.writeRetryIntervalMs);
    if (due < this.reconnectAt) this.armReconnect(due - now);
  }

  /** See `RelayClient.close`. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private open(): void {
    const now = Date.now();
    this.lastAttemptAt = now;
    // Before the first welcome, an attempt may use only what is left of connect()'s time.
    const timeoutMs = this.everReady ? this.options.connectTimeoutMs : Math.max(1, this.connectDeadline - now);
    const link: Link = createLink(
      this.options.transport,
      {
        nodeId: this.options.nodeId,
        incarnation: this.incarnation,
        maxFrameBytes: this.options.maxFrameBytes,
        deliveryWindow: this.options.deliveryHighWaterMark,
        connectTimeoutMs: timeoutMs,
      },
      {
        onReady: (terms) => {
          if (link === this.current) this.onReady(terms);
        },
        onFrame: (buf, start, end) => {
          if (link === this.current) this.hooks.frame(buf, start, end);
        },
        onClose: (reason) => {
          if (link === this.current) this.onClose(reason);
        },
        onWarning: (error) => {
          if (link === this.current) this.hooks.warning(error);
        },
      },
    );
    this.current = link;
  }

  private onReady(terms: LinkTerms): void {
    this.phase = 'ready';
    this.everReady = true;
    this.attempt = 0;
    clearTimeout(this.deadlineTimer);
    this.hooks.ready(terms);
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  private onClose(reason: RelayError | undefined): void {
    const wasReady = this.phase === 'ready';
    this.current = undefined;
    if (this.phase === 'closing') {
      this.finishClose();
      return;
    }
    this.hooks.lost(reason);
    if (reason !== undefined && (isFatal(reason) || (!this.everReady && isRefused(reason)))) {
      if (this.everReady || isFatal(reason)) this.fail(reason);
      else this.giveUp(reason);
      return;
    }
    this.lastFailure = reason;
    if (wasReady) {
      this.phase = 'connecting';
      this.hooks.disconnected(reason);
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const attempt = ++this.attempt;
    const delay = this.options.retryStrategy(attempt);
    if (delay === null || delay === undefined) {
      const error = new ConnectError(
        `gave up connecting to ${describeTransport(this.options.transport)} after ${attempt - 1} retries${why(this.lastFailure)}`,
        { cause: osCause(this.lastFailure) },
      );
      // The strategy's word is final, before the first welcome too.
      this.fail(error);
      return;
    }
    let delayMs = Math.max(0, delay);
    if (this.hooks.sendsWaiting()) {
      delayMs = Math.min(delayMs, Math.max(0, this.lastAttemptAt + this.options.writeRetryIntervalMs - Date.now()));
    }
    this.hooks.reconnecting({ attempt, delayMs, reason: this.lastFailure });
    this.armReconnect(delayMs);
  }

  private armReconnect(delayMs: number): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectAt = Date.now() + delayMs;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.phase === 'connecting') this.open();
    }, delayMs);
  }

  /**
   * The first connect() ran out of time (or met a refusal): its callers get
   * `ERR_CONNECT` naming the last cause, with the OS error as `cause`, and
   * the client is idle again; `connect()` may be called anew.
   */
  private giveUp(refusal?: RelayError): void {
    if (this.phase !== 'connecting' || this.everReady) return;
    const error =
      refusal ??
      new ConnectError(
        `could not connect to ${describeTransport(this.options.transport)} within ${this.options.connectTimeoutMs} ms${why(this.lastFailure)}`,
        { cause: osCause(this.lastFailure) },
      );
    this.stopTimers();
    const link = this.current;
    this.current = undefined;
    link?.destroy(error);
    this.phase = 'idle';
    this.hooks.gaveUp(error);
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  private fail(error: RelayError): void {
    this.phase = 'failed';
    this.failure = error;
    this.stopTimers();
    this.hooks.failed(error);
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  private async shutdown(): Promise<void> {
    if (this.phase === 'closed') return;
    const wasReady = this.phase === 'ready';
    this.phase = 'closing';
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.deadlineTimer);
    for (const waiter of this.waiters.splice(0)) waiter.reject(new ClosedError('the client was closed before it connected'));
    this.hooks.closing();
    const link = this.current;
    if (link === undefined) {
      this.finishClose();
      return;
    }
    // Waiting starts before the link is told to close: a link may report its
    // close synchronously (the Redis link does when it was still connecting).
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(() => link.destroy(new ClosedError('close timed out')), this.options.closeTimeoutMs);
      this.closeDone = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    if (wasReady && link.ready) {
      this.hooks.flush();
      // While closing, reading never pauses: the answers are still to come.
      link.resume();
      // The relay stops answering at the goodbye, and on an effectively-once
      // link answers come only as receivers take the messages: say it once
      // they are in (or the link is gone, or closeTimeoutMs cut it).
      await Promise.race([this.hooks.answered(), closed]);
      if (this.current === link) link.end();
    } else {
      link.destroy(new ClosedError('the client was closed'));
    }
    await closed;
  }

  private finishClose(): void {
    this.phase = 'closed';
    this.stopTimers();
    this.hooks.closed();
    this.closeDone?.();
  }

  private startTicker(): void {
    const { writeRetryIntervalMs, reportTimeoutMs } = this.options;
    const period = Math.max(10, Math.min(writeRetryIntervalMs, reportTimeoutMs, 1000) / 4);
    clearInterval(this.ticker);
    this.ticker = setInterval(this.tick, period);
    this.ticker.unref();
  }

  private stopTimers(): void {
    clearInterval(this.ticker);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.deadlineTimer);
    this.reconnectTimer = undefined;
  }

  private readonly tick = (): void => {
    this.hooks.tick(Date.now());
  };
}

function why(error: RelayError | undefined): string {
  return error === undefined ? '' : `: ${error.message}`;
}

/** The operating system's error behind a failed attempt, when there is one; else the attempt's own error. */
function osCause(error: RelayError | undefined): unknown {
  return error?.code === ErrorCodes.CONNECT && error.cause !== undefined ? error.cause : error;
}
