import type { RelayError } from '../errors.js';

/**
 * One live path to the relay (a TCP connection) or to the engine standing in
 * for it (Redis). The client owns reconnection; a link lives once.
 *
 * The client writes binary-protocol frames into a link and gets frames back
 * from it (DELIVER, REPORT, LOCATED), whatever carries them.
 */
export interface Link {
  /** True once welcomed (or, for Redis, subscribed). */
  readonly ready: boolean;
  /** Feature bits the other side announced (see `Features`). */
  readonly features: number;
  /** This end's `ip:port` (the legacy dialect's node id). */
  readonly localAddress: string;
  /** Bytes handed to the link and not yet sent. */
  readonly writableLength: number;
  readonly isPaused: boolean;
  lastReceived: number;
  lastSent: number;
  /** Writes whole frames (length prefixes included; a frame may span parts). */
  write(parts: Buffer[]): void;
  ping(): void;
  /** Stops handing out frames (the delivery queue is full). */
  pause(): void;
  resume(): void;
  /** Closes in an orderly way; replies to frames already written still arrive. */
  end(): void;
  /** Cuts the link at once, with `reason` as the close reason. */
  destroy(reason: RelayError): void;
}

/** What a link reports to the client that owns it. */
export interface LinkEvents {
  /** Ready to carry frames; `heartbeatMs` 0 means the link keeps no heartbeat. */
  onReady(terms: { maxFrameBytes: number; heartbeatMs: number }): void;
  /**
   * A DELIVER, REPORT, ACK or LOCATED payload, or any legacy document, at
   * `[start, end)` of `buf` (a read chunk it may share with other frames: a
   * view is made only by whoever keeps part of it).
   */
  onFrame(buf: Buffer, start: number, end: number): void;
  /** The link is gone; `error` is why (undefined for a clean close asked for). */
  onClose(error: RelayError | undefined): void;
}
