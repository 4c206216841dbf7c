import type { RelayError } from '../errors.js';
import { FailureReason } from '../protocol/constants.js';
import { Histogram, LATENCY_BOUNDS_MS } from './histogram.js';

/** Failure reasons as the metrics name them, by {@link FailureReason} code. */
export const REASON_LABELS: readonly string[] = ['', 'offline', 'overflow', 'refused', 'nowhere'];

const REASON_CODES: Readonly<Record<string, number>> = {
  offline: FailureReason.OFFLINE,
  overflow: FailureReason.OVERFLOW,
  refused: FailureReason.REFUSED,
};

/**
 * What a client counts while it runs, read by `client.metrics()`. The
 * counts on the send and delivery paths are plain additions to fields of
 * this one object; only failures, which are rare, go through a map.
 */
export class ClientCounters {
  /** Sends the relay answered (a report or an acknowledgement). */
  answered = 0;
  /** Sends that asked for no report, settled once written. */
  written = 0;
  /** Sends rejected, by error code. */
  readonly failures = new Map<string, number>();
  /** Sends written again after a reconnect (unanswered when the link dropped). */
  resends = 0;
  /** Deliveries handed to the delivery loop's queue. */
  deliveries = 0;
  /** Welcomes by the relay: the first connect and every reconnect. */
  welcomes = 0;
  /** Connections to the relay that dropped, by the error code of the reason (`none`: no reason given). */
  readonly disconnects = new Map<string, number>();
  /** Users the relay reported not delivered, indexed by {@link FailureReason} code. */
  readonly undeliveredUsers = new Float64Array(REASON_LABELS.length);
  /** From a send's write to its answer, in ms (observed at the answer; a resend restarts it). */
  readonly reportLatency = new Histogram(LATENCY_BOUNDS_MS, 1000);

  /** A send was rejected with `error` (a {@link RelayError}, or anything thrown by a serializer). */
  failed(error: unknown): void {
    const code = typeof (error as RelayError | undefined)?.code === 'string' ? (error as RelayError).code : 'ERR_UNKNOWN';
    this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
  }

  /** The connection dropped for `reason`. */
  disconnected(reason: RelayError | undefined): void {
    const code = reason?.code ?? 'none';
    this.disconnects.set(code, (this.disconnects.get(code) ?? 0) + 1);
  }

  /** A report (or failure notice) named `count` users not delivered for `reason`. */
  undelivered(reason: number, count: number): void {
    if (reason > 0 && reason < this.undeliveredUsers.length) this.undeliveredUsers[reason]! += count;
  }

  /** A legacy hub's notice: `users` not delivered for `reason` (its text). */
  undeliveredNamed(reason: string, count: number): void {
    this.undelivered(REASON_CODES[reason] ?? FailureReason.REFUSED, count);
  }
}
