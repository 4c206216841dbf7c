import { ProtocolError } from '../errors.js';
import { viewOf } from '../codec/copy-bytes.js';
import { getU32LE } from '../codec/get-u32.js';
import type { FrameWriter } from '../codec/frame-writer.js';
import { FrameType, PAYLOAD_KIND_MASK, PAYLOAD_KIND_SHIFT, type PayloadKind } from './constants.js';
import { idBound, putId } from './id-writer.js';
import {
  ROUTE_FIXED_BYTES,
  finishRouteFrame,
  inlinePayloadRoom,
  putSizedRouteHeader,
  routePayload,
  routeTableBound,
  type RouteTable,
} from './route-writer.js';
import { Scratch } from './scratch.js';
import { readUserList, skipUserList } from './user-list.js';

export { ROUTE_FIXED_BYTES, reportBound, routeTableBound, writeRoute, type RouteTable } from './route-writer.js';

/**
 * Writes a ROUTE frame's header (type, flags, seq, routing table) into
 * `scratch` and returns its length. Hosts with no users are left out; the
 * hosts written are appended to `written` when it is given.
 * Throws `ERR_INVALID_ARGUMENT` for an empty or over-long host or user id.
 */
export function encodeRouteHeader(scratch: Scratch, flags: number, seq: number, table: RouteTable, written?: string[]): number {
  const room = ROUTE_FIXED_BYTES + routeTableBound(table);
  scratch.ensure(0, room);
  return putSizedRouteHeader(scratch.buf, 0, room, flags, seq, table, written);
}

/** Writes `id` as a one-byte length and its UTF-8 bytes at `pos` of `scratch`; returns the end. */
export function writeId(scratch: Scratch, pos: number, id: string, what: string): number {
  scratch.ensure(pos, idBound(id, what));
  return putId(scratch.buf, pos, id, what);
}

/**
 * Appends a whole ROUTE frame to `writer`: the header from `scratch` and the
 * payload. Small payloads are copied in place (a string is encoded straight
 * into the writer, with no intermediate Buffer); large ones are queued by
 * reference. Throws `ERR_FRAME_TOO_LARGE` (writing nothing) when the frame
 * would exceed `maxFrameBytes`. Returns the frame's payload length.
 */
export function writeRouteFrame(
  writer: FrameWriter,
  scratch: Scratch,
  headerBytes: number,
  payload: string | Uint8Array,
  maxFrameBytes: number,
): number {
  const body = routePayload(payload);
  const off = writer.begin(headerBytes + inlinePayloadRoom(body));
  scratch.buf.copy(writer.buf, off, 0, headerBytes);
  return finishRouteFrame(writer, off, off + headerBytes, body, maxFrameBytes);
}

/**
 * Where each part of a ROUTE lies, found by {@link scanRoute} without copying
 * or decoding anything. Reused from frame to frame.
 */
export class RouteSpans {
  /** Where the ROUTE ends in its buffer (it may share the buffer with other frames). */
  end = 0;
  flags = 0;
  seq = 0;
  hostCount = 0;
  payloadStart = 0;
  /** Per host: host start, host end, user list start, user list end. */
  offsets = new Int32Array(4 * 64);
  private chunk: Buffer | undefined;
  private view: DataView | undefined;

  /**
   * A DataView of `chunk` (the buffer the ROUTE was scanned in), made once
   * per chunk: a socket read holds hundreds of small ROUTEs, each copied
   * through it by words.
   */
  chunkView(chunk: Buffer): DataView {
    if (chunk !== this.chunk) {
      this.chunk = chunk;
      this.view = viewOf(chunk);
    }
    return this.view!;
  }

  hostStart(i: number): number {
    return this.offsets[4 * i]!;
  }
  hostEnd(i: number): number {
    return this.offsets[4 * i + 1]!;
  }
  usersStart(i: number): number {
    return this.offsets[4 * i + 2]!;
  }
  usersEnd(i: number): number {
    return this.offsets[4 * i + 3]!;
  }
  get kind(): PayloadKind {
    return ((this.flags & PAYLOAD_KIND_MASK) >> PAYLOAD_KIND_SHIFT) as PayloadKind;
  }
}

/**
 * Validates the routing table of the ROUTE at `[start, end)` of `p` and
 * records where each host and user list lies (offsets into `p`). The payload
 * bytes after the table are never looked at. Throws `ERR_PROTOCOL` for any
 * inconsistency.
 */
export function scanRoute(p: Buffer, spans: RouteSpans, start = 0, end = p.length): void {
  if (end - start < ROUTE_FIXED_BYTES) throw new ProtocolError('route: frame truncated');
  spans.end = end;
  spans.flags = p[start + 1]!;
  spans.seq = getU32LE(p, start + 2);
  const hostCount = p[start + 6]! | (p[start + 7]! << 8);
  if (spans.offsets.length < 4 * hostCount) spans.offsets = new Int32Array(4 * hostCount);
  const offsets = spans.offsets;
  let pos = start + ROUTE_FIXED_BYTES;
  for (let h = 0; h < hostCount; h++) {
    if (pos >= end) throw new ProtocolError('route: routing table truncated');
    const hostLen = p[pos]!;
    if (hostLen === 0) throw new ProtocolError('route: empty host');
    const hostStart = pos + 1;
    const usersStart = hostStart + hostLen;
    pos = skipUserList(p, usersStart, end);
    const o = 4 * h;
    offsets[o] = hostStart;
    offsets[o + 1] = usersStart;
    offsets[o + 2] = usersStart;
    offsets[o + 3] = pos;
  }
  spans.hostCount = hostCount;
  spans.payloadStart = pos;
}

/** A ROUTE decoded in full: for tests, tools and dialect translation, not the hot path. */
export interface RouteFrame {
  seq: number;
  flags: number;
  kind: PayloadKind;
  hosts: Map<string, string[]>;
  payload: Buffer;
}

/** Decodes a ROUTE payload completely. Throws `ERR_PROTOCOL` when malformed. */
export function decodeRoute(p: Buffer): RouteFrame {
  if (p[0] !== FrameType.ROUTE) throw new ProtocolError('not a route frame');
  const spans = new RouteSpans();
  scanRoute(p, spans);
  const hosts = new Map<string, string[]>();
  for (let i = 0; i < spans.hostCount; i++) {
    hosts.set(p.toString('utf8', spans.hostStart(i), spans.hostEnd(i)), readUserList(p, spans.usersStart(i)));
  }
  return { seq: spans.seq, flags: spans.flags, kind: spans.kind, hosts, payload: p.subarray(spans.payloadStart, spans.end) };
}
