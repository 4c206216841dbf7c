import type { RelayError } from '../errors.js';
import type { ClientCounters } from '../metrics/client-counters.js';
import type { WrittenBatch } from './send-retention.js';

/** What a relay's answer to a send is turned into. */
export type ReplyKind = 'hosts' | 'users' | 'none';

/** One send between `send()` and its outcome. */
export class PendingSend {
  readonly promise: Promise<unknown>;
  resolve!: (value: unknown) => void;
  private rejectPromise!: (error: RelayError) => void;
  /** The encoded frame, kept only while the send waits for a connection. */
  frame: Buffer | undefined;
  /** Where its frame lies in the live writer's bytes since the last take: `[start, end)`. */
  start = 0;
  end = 0;
  /**
   * The flush it was written in, kept (by reference) while it waits for its
   * answer on an effectively-once link, to be written again if the link drops.
   */
  batch: WrittenBatch | undefined;
  /** True once written: if it fails later, whether it arrived is unknown. */
  written = false;
  /** When it was handed to the socket (for the report timeout). */
  sentAt = 0;
  /**
   * The last moment it may still be written (write retry). Set when it starts
   * waiting for a connection: a send written at once never needs one.
   */
  deadline = 0;

  constructor(
    readonly seq: number,
    /** `hosts` for `send`, `users` for `sendToUsers`, `none` for a send that resolves once written. */
    readonly reply: ReplyKind,
    /** For `send`: the hosts it named, which an ACK or an IMPLIED report reports as delivered. */
    readonly hosts?: string[],
    /** Where a rejection is counted, by its code. */
    private readonly counters?: ClientCounters,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.rejectPromise = reject;
    });
  }

  /** Settles the send with `error`: every rejection passes here, so each is counted once. */
  reject(error: RelayError): void {
    this.counters?.failed(error);
    this.rejectPromise(error);
  }
}
