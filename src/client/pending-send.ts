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

  constructor(
    readonly seq: number,
    /** `hosts` for `send`, `users` for `sendToUsers`, `none` for a send that resolves once written. */
    readonly reply: ReplyKind,
    /** The last moment it may still be written (write retry). */
    readonly deadline: number,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}
