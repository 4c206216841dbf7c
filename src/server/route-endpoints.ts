import type { FrameWriter } from '../codec/frame-writer.js';
import type { AckRun } from '../protocol/index.js';
import type { DeliveryWindow } from './delivery-window.js';
import type { PendingAnswers } from './pending-answers.js';

/**
 * What routing writes a DELIVER to: a node's session on the relay, or, in a
 * mesh node, a linked peer or the node's own application.
 */
export interface RouteTarget {
  /** The node id's UTF-8 bytes (what a ROUTE's host is compared with). */
  readonly idBytes: Uint8Array;
  readonly dialect: 'binary' | 'legacy';
  /** The largest frame the node accepts: a larger DELIVER is refused, never written. */
  readonly maxFrameBytes: number;
  readonly writer: FrameWriter;
  /** Set for a node that speaks effectively-once delivery: DELIVERs count against its window. */
  readonly window: DeliveryWindow | undefined;
  /** Bytes written to it and not yet sent, held beyond its window included: past the bound, `overflow`. */
  readonly outboundBytes: number;
  /** Marks output to go at the end of this turn. */
  touch(): void;
}

/** The node a ROUTE or SEND_USERS came from, as routing answers it. */
export interface RouteSender {
  /** The node id with its length byte: a DELIVER's origin. */
  readonly origin: Buffer;
  /** `origin` followed by the node's incarnation, for a ONCE node (stamped DELIVERs). */
  readonly stampedOrigin: Buffer | undefined;
  /** A ONCE node's sends waiting for their receivers' applications. */
  readonly answers: PendingAnswers | undefined;
  /** Runs of fully delivered sends, for a node that reads ACK (without `answers`). */
  readonly acks: AckRun | undefined;
  /** When the frame being routed was read: the time bound of what is held counts from it. */
  readonly lastReceived: number;
  /** The largest frame the node accepts: its reports must fit. */
  readonly maxFrameBytes: number;
  readonly writer: FrameWriter;
  /** Where a REPORT goes (after any ACK run, so that answers keep their order). */
  reportWriter(): FrameWriter;
  touch(): void;
}

/** The nodes routing can reach, by id. */
export interface RouteTargets<T extends RouteTarget = RouteTarget> {
  /** By key: the id's bytes read as latin1. */
  get(key: string): T | undefined;
  /** By the id's bytes at `[start, end)` of a frame. */
  find(bytes: Uint8Array, start: number, end: number): T | undefined;
}
