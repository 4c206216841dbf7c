import type { RelayError } from '../errors.js';

/** What a relay's answer to a send is turned into. */
export type ReplyKind = 'hosts' | 'users' | 'none';

/** One send between `send()` and its outcome. */
export class PendingSend {
  readonly promise: Promise<unknown>;
  resolve!: (value: unknown) => void;
  reject!: (error: RelayError) => void;
  /** The encoded frame, kept only while the send waits for a connection. */
  frame: Buffer | undefined;
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
    /** For `send`: the hosts it named, which an ACK reports as delivered. */
    readonly hosts?: string[],
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}
