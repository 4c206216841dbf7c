import { InvalidArgumentError, ProtocolError } from '../errors.js';
import { DEFAULT_COPY_THRESHOLD, type FrameWriter } from '../codec/frame-writer.js';
import { FrameType, PAYLOAD_KIND_MASK, PAYLOAD_KIND_SHIFT, type PayloadKind } from './constants.js';
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
}

/**
 * Appends a DELIVER frame to `writer` from parts of a ROUTE: its user list
 * bytes `[usersStart, usersEnd)` and its payload `[payloadStart, payloadEnd)`
 * are copied as they are (never decoded), or the payload is shared by
 * reference when large. `origin` is the sender's id with its length byte.
 *
 * `sharedPayload` is the payload view, made once per ROUTE and shared by all
 * its targets when it is large.
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
  sharedPayload: Buffer | undefined,
): void {
  const payloadBytes = payloadEnd - payloadStart;
  const headBytes = 2 + origin.length + (usersEnd - usersStart);
  const byReference = sharedPayload !== undefined && payloadBytes >= DEFAULT_COPY_THRESHOLD;
  const off = writer.reserve(headBytes + payloadBytes, byReference ? headBytes : headBytes + payloadBytes);
  const buf = writer.buf;
  buf[off] = FrameType.DELIVER;
  buf[off + 1] = flags & PAYLOAD_KIND_MASK;
  // Origins are a few bytes: a loop beats Buffer#copy's fixed cost there.
  for (let i = 0; i < origin.length; i++) buf[off + 2 + i] = origin[i]!;
  const at = off + 2 + origin.length;
  if (byReference) {
    route.copy(buf, at, usersStart, usersEnd);
    writer.appendReference(sharedPayload);
  } else if (usersEnd === payloadStart) {
    // The last host's users run straight into the payload: one copy for both.
    route.copy(buf, at, usersStart, payloadEnd);
  } else {
    route.copy(buf, at, usersStart, usersEnd);
    route.copy(buf, off + headBytes, payloadStart, payloadEnd);
  }
}

/**
 * Encodes a DELIVER payload from parts (for the relay's legacy translation,
 * transports without a relay, and tests). A user named twice is written
 * once, at its first place. Throws `ERR_INVALID_ARGUMENT` for an origin or
 * user id it cannot carry (the origin may be empty; user ids may not) or a
 * payload that is not bytes.
 */
export function encodeDeliver(from: string, users: readonly string[], kind: PayloadKind, payload: Uint8Array): Buffer {
  if (!Array.isArray(users)) throw new InvalidArgumentError('users must be an array');
  if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError('a DELIVER payload must be a Uint8Array');
  const origin = id8(from, 'origin node id', true);
  const ids = dropRepeats(users.slice()).map((u) => id8(u, 'user id'));
  const size = 2 + origin.length + 4 + ids.reduce((n, id) => n + id.length, 0) + payload.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = FrameType.DELIVER;
  out[1] = (kind << PAYLOAD_KIND_SHIFT) & PAYLOAD_KIND_MASK;
  let pos = 2 + origin.copy(out, 2);
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
  spans.usersStart = originEnd;
  spans.payloadStart = skipUserList(p, originEnd, end);
  spans.payloadEnd = end;
}

/** Decodes a DELIVER payload. Throws `ERR_PROTOCOL` when malformed. */
export function decodeDeliver(p: Buffer): DeliverFrame {
  const spans = new DeliverSpans();
  scanDeliver(p, spans, 0, p.length);
  return {
    from: utf8Text(p, spans.originStart, spans.originEnd),
    users: decodeUserList(p, spans.usersStart, spans.payloadStart),
    kind: spans.kind,
    payload: p.subarray(spans.payloadStart),
  };
}
