import type { RelayError } from '../errors.js';

/**
 * One live path to the relay (a TCP connection) or to the engine standing in
 * for it (Redis). The client owns reconnection; a link lives once.
 *
 * The client writes binary-protocol frames into a link and gets frames back
 * from it (DELIVER, REPORT, ACK, EXPIRE, LOCATED), whatever carries them. A new
 * transport is a new folder beside `tcp/` and `redis/` implementing this
 * interface, and one entry in `factory.ts`.
 */
export interface Link {
  /** True once welcomed (or, for Redis, subscribed). */
  readonly ready: boolean;
  /** Bytes handed to the link and not yet sent. */
  readonly writableLength: number;
  /** Writes whole frames (length prefixes included; a frame may span parts). */
  write(parts: Buffer[]): void;
  /**
   * Stops handing out frames (the delivery queue is full). A link that keeps
   * a heartbeat does not take the silence that follows for a dead peer.
   * Never called on a link whose terms include `Features.ONCE`: there the
   * relay keeps to the delivery window instead.
   */
  pause(): void;
  resume(): void;
  /** Closes in an orderly way; replies to frames already written still arrive. */
  end(): void;
  /** Cuts the link at once, with `reason` as the close reason. */
  destroy(reason: RelayError): void;
}

/** What every link is made with, whatever its transport. */
export interface LinkContext {
  /** This node's id (empty in the legacy dialect, keyed by its address). */
  nodeId: string;
  /**
   * 8 random bytes, new for every client instance: with a send's sequence
   * number it names the send, so that a receiver can drop one it already
   * took when the send comes again after a reconnect.
   */
  incarnation: Buffer;
  /** Largest frame this node accepts. */
  maxFrameBytes: number;
  /**
   * Deliveries the relay may write beyond those the application settled
   * (the client's `deliveryHighWaterMark`): the window a link that speaks
   * effectively-once delivery (`Features.ONCE`) grants in its hello.
   */
  deliveryWindow: number;
  /** Time this one attempt has to become ready. */
  connectTimeoutMs: number;
}

/** What the other side agreed to, once a link is ready. */
export interface LinkTerms {
  /** The largest frame the other side accepts. */
  maxFrameBytes: number;
  /**
   * Feature bits the other side announced (see `Features`). With
   * `Features.ONCE` the client numbers deliveries and answers with CONSUMED,
   * and keeps its sends until answered to write them again after a
   * reconnect; a transport that cannot keep those terms leaves it out.
   */
  features: number;
  /** This end's `ip:port`: the node id a Go hub knows this node by (legacy dialect). */
  localAddress: string;
  /**
   * The transport stamps every DELIVER with the send's name, so a receiver
   * drops a copy it already has: the client keeps its sends until answered
   * and writes them again after a reconnect, as with `Features.ONCE`, but
   * deliveries are not numbered. Set by the Redis link.
   */
  resends?: boolean | undefined;
}

/**
 * What a link reports to the client that owns it. Keeping the link alive
 * (heartbeats, liveness keys) is the link's own business: a link that finds
 * its peer gone closes with `ERR_HEARTBEAT`.
 */
export interface LinkEvents {
  /** Ready to carry frames. */
  onReady(terms: LinkTerms): void;
  /**
   * A DELIVER, REPORT, ACK, EXPIRE or LOCATED payload, or any legacy document, at
   * `[start, end)` of `buf` (a read chunk it may share with other frames: a
   * view is made only by whoever keeps part of it).
   */
  onFrame(buf: Buffer, start: number, end: number): void;
  /**
   * The link is gone; `error` says why: `ERR_CONNECT` (never connected, the OS
   * error as its cause), `ERR_DISCONNECTED`, `ERR_AUTH`, ... It is undefined
   * only for a close the client asked for.
   */
  onClose(error: RelayError | undefined): void;
  /**
   * A problem the link survives, for the client to pass on (as an `error`
   * event): for example a Redis link dropping a forged, replayed or
   * malformed channel message (`ERR_AUTH`, `ERR_PROTOCOL`). Optional: a
   * client that does not listen loses nothing but the report.
   */
  onWarning?(error: RelayError): void;
}
