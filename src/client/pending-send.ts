import type { RelayError } from '../errors.js';
import type { SendReport } from './report.js';

/** One send between `send()` and its outcome. */
export class PendingSend {
  readonly promise: Promise<SendReport | undefined>;
  resolve!: (report: SendReport | undefined) => void;
  reject!: (error: RelayError) => void;
  /** The encoded frame, kept only while the send waits for a connection. */
  frame: Buffer | undefined;
  /** When it was handed to the socket (for the report timeout). */
  sentAt = 0;

  constructor(
    readonly seq: number,
    readonly wantsReport: boolean,
    /** The last moment it may still be written (write retry). */
    readonly deadline: number,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}
