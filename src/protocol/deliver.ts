import { InvalidArgumentError, ProtocolError } from '../errors.js';
import { DEFAULT_COPY_THRESHOLD, type FrameWriter } from '../codec/frame-writer.js';
import {
  DeliverFlags,
  FrameType,
  INCARNATION_BYTES,
  PAYLOAD_KIND_MASK,
  PAYLOAD_KIND_SHIFT,
  STAMP_BYTES,
  type PayloadKind,
} from './constants.js';
import { WORD_COPY_BELOW, copyRun } from '../codec/copy-bytes.js';
import { putU32LE } from '../codec/put-u32.js';
import { utf8Text } from '../codec/text.js';
import { id8 } from './id-writer.js';
import { dropRepeats } from './unique-ids.js';
import { decodeUserList, skipUserList } from './user-list.js';

/** One delivery as a node receives it. */
export interface DeliverFrame {
  /** The node id of the sender. */
  from: string;
  /** The users on this node the message is for. */
  users: string[];
  kind: PayloadKind;
  /** The payload bytes exactly as the sender wrote them. */
  payload: Buffer;
  /** The send's name, on a stamped DELIVER: the origin's incarnation and the send's seq. */
  stamp?: { incarnation: Buffer; seq: number };
}

/**
 * Appends a DELIVER frame to `writer` from parts of a ROUTE: its user list
 * bytes `[usersStart, usersEnd)` and its payload `[payloadStart, payloadEnd)`
 * are copied as they are (never decoded), or the payload is shared by
 * reference when large. `origin` is the sender's id with its length byte.
 *
 * `payload` is the payload's view, made once per ROUTE for all its targets
 * when {@link deliverPayload} says so: a large one is shared by reference,
 * another copied from it with `set` (cheaper per target than a Buffer#copy,
 * which makes a view each time). Without it the payload is copied from
 * `route`: by words when `routeView`, an optional DataView of `route`
 * (`RouteSpans.chunkView`), is given and the run is short, since
 * Buffer#copy's fixed cost per call is most of a small delivery's.
 */
export function writeDeliver(
  writer: FrameWriter,
  origin: Buffer,
  flags: number,
  route: Buffer,
  usersStart: number,
  usersEnd: number,
  payloadStart: number,
  payloadEnd: number,
  payload: Buffer | undefined,
  routeView?: DataView,
): void {
  const payloadBytes = payloadEnd - payloadStart;
  const headBytes = 2 + origin.length + (usersEnd - usersStart);
  const byReference = payload !== undefined && payloadBytes >= DEFAULT_COPY_THRESHOLD;
  const off = writer.reserve(headBytes + payloadBytes, byReference ? headBytes : headBytes + payloadBytes);
  const buf = writer.buf;
  buf[off] = FrameType.DELIVER;
  buf[off + 1] = flags & PAYLOAD_KIND_MASK;
  // Origins are a few bytes: a loop beats Buffer#copy's fixed cost there.
  for (let i = 0; i < origin.length; i++) buf[off + 2 + i] = origin[i]!;
  copyRouteParts(
    buf,
    off + 2 + origin.length,
    off + headBytes,
    writer,
    route,
    routeView,
    usersStart,
    usersEnd,
    payloadStart,
    payloadEnd,
    byReference,
    payload,
  );
}

/**
 * {@link writeDeliver} for a ONCE receiver: the DELIVER carries the send's
 * name. `stampedOrigin` is the sender's id with its length byte followed by
 * its 8-byte incarnation (made once per sender), so only the seq is written
 * per frame. A function of its own keeps the unstamped path monomorphic.
 */
export function writeStampedDeliver(
  writer: FrameWriter,
  stampedOrigin: Buffer,
  flags: number,
  seq: number,
  route: Buffer,
  usersStart: number,
  usersEnd: number,
  payloadStart: number,
  payloadEnd: number,
  payload: Buffer | undefined,
  routeView?: DataView,
): void {
  const payloadBytes = payloadEnd - payloadStart;
  const originBytes = stampedOrigin.length;
  const headBytes = 2 + originBytes + 4 + (usersEnd - usersStart);
  const byReference = payload !== undefined && payloadBytes >= DEFAULT_COPY_THRESHOLD;
  const off = writer.reserve(headBytes + payloadBytes, byReference ? headBytes : headBytes + payloadBytes);
  const buf = writer.buf;
  buf[off] = FrameType.DELIVER;
  buf[off + 1] = (flags & PAYLOAD_KIND_MASK) | DeliverFlags.STAMPED;
  // Id and incarnation run past a dozen bytes: one set beats a byte loop there.
  buf.set(stampedOrigin, off + 2);
  const at = off + 2 + originBytes;
  putU32LE(buf, at, seq);
  copyRouteParts(
    buf,
    at + 4,
    off + headBytes,
    writer,
    route,
    routeView,
    usersStart,
    usersEnd,
    payloadStart,
    payloadEnd,
    byReference,
    payload,
  );
}

/**
 * The payload view to pass {@link writeDeliver} for a ROUTE written to
 * `targets` nodes: made once, copied from (or, when large, shared) for each.
 * There is none when it would not be used, or would cost what it saves: a
 * short payload copied by words through `routeView` (the ROUTE's DataView,
 * when the caller has one), or one small delivery, whose users and payload
 * are copied in one piece.
 */
export function deliverPayload(
  route: Buffer,
  payloadStart: number,
  payloadEnd: number,
  targets: number,
  routeView?: DataView,
): Buffer | undefined {
  const bytes = payloadEnd - payloadStart;
  if (bytes >= DEFAULT_COPY_THRESHOLD) return route.subarray(payloadStart, payloadEnd);
  if (targets === 1 || (routeView !== undefined && bytes < WORD_COPY_BELOW)) return undefined;
  return route.subarray(payloadStart, payloadEnd);
}

/** Copies a host's users and the payload after a DELIVER's head (or queues a large payload by reference). */
function copyRouteParts(
  buf: Buffer,
  at: number,
  payloadAt: number,
  writer: FrameWriter,
  route: Buffer,
  routeView: DataView | undefined,
  usersStart: number,
  usersEnd: number,
  payloadStart: number,
  payloadEnd: number,
  byReference: boolean,
  payload: Buffer | undefined,
): void {
  const view = writer.view;
  if (payload === undefined) {
    // From the ROUTE itself, in one run when the users list runs straight into the payload (the last host's always does).
    if (usersEnd === payloadStart) copyRun(buf, view, at, route, routeView, usersStart, payloadEnd);
    else {
      copyRun(buf, view, at, route, routeView, usersStart, usersEnd);
      copyRun(buf, view, payloadAt, route, routeView, payloadStart, payloadEnd);
    }
    return;
  }
  copyRun(buf, view, at, route, routeView, usersStart, usersEnd);
  if (byReference) writer.appendReference(payload);
  else buf.set(payload, payloadAt);
}

/** Writes a stamp (incarnation, then seq) at `at`; returns where it ends. */
export function writeStamp(buf: Buffer, at: number, incarnation: Buffer, seq: number): number {
  for (let i = 0; i < INCARNATION_BYTES; i++) buf[at + i] = incarnation[i]!;
  buf.writeUInt32LE(seq >>> 0, at + INCARNATION_BYTES);
  return at + STAMP_BYTES;
}

/**
 * Encodes a DELIVER payload from parts (for the relay's legacy translation,
 * transports without a relay, and tests). A user named twice is written
 * once, at its first place. Throws `ERR_INVALID_ARGUMENT` for an origin or
 * user id it cannot carry (the origin may be empty; user ids may not) or a
 * payload that is not bytes.
 */
export function encodeDeliver(
  from: string,
  users: readonly string[],
  kind: PayloadKind,
  payload: Uint8Array,
  stamp?: { incarnation: Buffer; seq: number },
): Buffer {
  if (!Array.isArray(users)) throw new InvalidArgumentError('users must be an array');
  if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError('a DELIVER payload must be a Uint8Array');
  if (stamp !== undefined && (!Buffer.isBuffer(stamp.incarnation) || stamp.incarnation.length !== INCARNATION_BYTES)) {
    throw new InvalidArgumentError(`an incarnation is ${INCARNATION_BYTES} bytes`);
  }
  const origin = id8(from, 'origin node id', true);
  const ids = dropRepeats(users.slice()).map((u) => id8(u, 'user id'));
  const stampBytes = stamp === undefined ? 0 : STAMP_BYTES;
  const size = 2 + origin.length + stampBytes + 4 + ids.reduce((n, id) => n + id.length, 0) + payload.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = FrameType.DELIVER;
  out[1] = ((kind << PAYLOAD_KIND_SHIFT) & PAYLOAD_KIND_MASK) | (stamp === undefined ? 0 : DeliverFlags.STAMPED);
  let pos = 2 + origin.copy(out, 2);
  if (stamp !== undefined) pos = writeStamp(out, pos, stamp.incarnation, stamp.seq);
  out.writeUInt32LE(ids.length, pos);
  pos += 4;
  for (const id of ids) pos += id.copy(out, pos);
  out.set(payload, pos);
  return out;
}

/**
 * Where the parts of a DELIVER lie in the buffer that holds it, found by
 * {@link scanDeliver} without decoding anything. Reused from frame to frame.
 */
export class DeliverSpans {
  kind: PayloadKind = 0;
  originStart = 0;
  originEnd = 0;
  /** Where the stamp starts (incarnation, then seq), or -1 for an unstamped DELIVER. */
  stampStart = -1;
  usersStart = 0;
  /** Where the user list ends and the payload begins. */
  payloadStart = 0;
  payloadEnd = 0;
}

/**
 * Validates the DELIVER at `[start, end)` of `p` (a socket chunk it may share
 * with other frames) and records where its parts lie. Throws `ERR_PROTOCOL`
 * when malformed.
 */
export function scanDeliver(p: Buffer, spans: DeliverSpans, start: number, end: number): void {
  if (end - start < 3 || p[start] !== FrameType.DELIVER) throw new ProtocolError('deliver: frame truncated');
  spans.kind = ((p[start + 1]! & PAYLOAD_KIND_MASK) >> PAYLOAD_KIND_SHIFT) as PayloadKind;
  const originEnd = start + 3 + p[start + 2]!;
  if (originEnd > end) throw new ProtocolError('deliver: origin truncated');
  spans.originStart = start + 3;
  spans.originEnd = originEnd;
  let usersStart = originEnd;
  if ((p[start + 1]! & DeliverFlags.STAMPED) !== 0) {
    usersStart += STAMP_BYTES;
    if (usersStart > end) throw new ProtocolError('deliver: stamp truncated');
    spans.stampStart = originEnd;
  } else {
    spans.stampStart = -1;
  }
  spans.usersStart = usersStart;
  spans.payloadStart = skipUserList(p, usersStart, end);
  spans.payloadEnd = end;
}

/** Decodes a DELIVER payload. Throws `ERR_PROTOCOL` when malformed. */
export function decodeDeliver(p: Buffer): DeliverFrame {
  const spans = new DeliverSpans();
  scanDeliver(p, spans, 0, p.length);
  const frame: DeliverFrame = {
    from: utf8Text(p, spans.originStart, spans.originEnd),
    users: decodeUserList(p, spans.usersStart, spans.payloadStart),
    kind: spans.kind,
    payload: p.subarray(spans.payloadStart),
  };
  if (spans.stampStart >= 0) {
    const at = spans.stampStart;
    frame.stamp = { incarnation: Buffer.from(p.subarray(at, at + INCARNATION_BYTES)), seq: p.readUInt32LE(at + INCARNATION_BYTES) };
  }
  return frame;
}
