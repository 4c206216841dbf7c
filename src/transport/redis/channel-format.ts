/**
 * The layout of one channel message of the Redis transport: a batch of
 * frames from one sender to one receiver, published once.
 *
 * A message is a run of records, each a 4-byte little-endian length and that
 * many bytes (the codec's framing). The first record is the batch header;
 * every other record is one DELIVER payload, exactly as a relay would write
 * it, so that the receiver hands each one to its client in place.
 *
 * ```text
 * header record payload (HEADER_FIXED_BYTES + origin length):
 *   0   u8     BATCH_MAGIC (0xB1): not a frame type, not text
 *   1   u8     flags: SIGNED (the MAC is set), PROBE (no frames: a path check)
 *   2   16 B   MAC (zeros when unsigned), see channel-mac.ts
 *   18  8 B    the sender's incarnation (LinkContext.incarnation)
 *   26  u48 LE the sender's link epoch: microseconds since its process started, when the link was made
 *   32  u48 LE the batch sequence, per sending link, from 1, set when the batch is sealed
 *   38  u48 LE the sender's wall clock when it sealed the batch, ms since 1970
 *   44  u8     origin length n, then n bytes: the sender's node id
 * ```
 *
 * The sender's (node id, incarnation, epoch) name one stream of batches;
 * with the sequence they let a receiver drop a batch it has already seen
 * (replay-guard.ts).
 */
import { FRAME_HEADER_BYTES } from '../../codec/constants.js';

/** First header byte of every batch. */
export const BATCH_MAGIC = 0xb1;

/** Bits of the header's flags byte. */
export const BatchFlags = {
  /** The MAC field holds the sender's MAC. */
  SIGNED: 0x01,
  /** A probe: the sender checks its own path; it carries no frames. */
  PROBE: 0x02,
} as const;

/** Bytes of the MAC field (HMAC-SHA256 truncated to 128 bits). */
export const MAC_BYTES = 16;
export const INCARNATION_BYTES = 8;

// Offsets within the header record's payload.
const FLAGS = 1;
const MAC = 2;
const INCARNATION = MAC + MAC_BYTES;
const EPOCH = INCARNATION + INCARNATION_BYTES;
const SEQ = EPOCH + 6;
const SENT_AT = SEQ + 6;
const ORIGIN = SENT_AT + 6;

/** Header bytes before the origin id. */
export const HEADER_FIXED_BYTES = ORIGIN + 1;

/** Where the MAC lies in a whole message (after the header record's length prefix). */
export const MAC_OFFSET = FRAME_HEADER_BYTES + MAC;

/** The fields every batch of one sending link shares. */
export interface StreamId {
  /** The sender's node id with its length byte. */
  origin: Buffer;
  incarnation: Buffer;
  epoch: number;
}

/**
 * Writes a batch header's payload at `off` of `buf` (`HEADER_FIXED_BYTES +
 * origin id` bytes, reserved by the caller); the MAC is left zero.
 */
export function writeBatchHeader(buf: Buffer, off: number, flags: number, stream: StreamId, seq: number, sentAt: number): void {
  buf[off] = BATCH_MAGIC;
  buf[off + FLAGS] = flags;
  buf.fill(0, off + MAC, off + MAC + MAC_BYTES);
  stream.incarnation.copy(buf, off + INCARNATION);
  buf.writeUIntLE(stream.epoch, off + EPOCH, 6);
  buf.writeUIntLE(seq, off + SEQ, 6);
  buf.writeUIntLE(sentAt, off + SENT_AT, 6);
  stream.origin.copy(buf, off + ORIGIN);
}

/** Sets the sequence of the batch `msg` (a whole message, header record first). */
export function setBatchSeq(msg: Buffer, seq: number): void {
  msg.writeUIntLE(seq, FRAME_HEADER_BYTES + SEQ, 6);
}

/** The bytes a header record takes, length prefix included. */
export function headerRecordBytes(stream: StreamId): number {
  return FRAME_HEADER_BYTES + HEADER_FIXED_BYTES - 1 + stream.origin.length;
}

/**
 * A batch header as read by {@link readBatchHeader}: offsets into the
 * message, and the numbers. Reused from message to message.
 */
export class BatchHeader {
  flags = 0;
  epoch = 0;
  seq = 0;
  sentAt = 0;
  /** Where the incarnation's 8 bytes start. */
  incarnationStart = 0;
  originStart = 0;
  originEnd = 0;
  /** Where the first frame record starts. */
  framesStart = 0;
}

/**
 * Reads the header record of `msg` into `header`. Returns false, reading
 * nothing further, when `msg` does not start with a well-formed header:
 * whatever a channel carries, this never throws.
 */
export function readBatchHeader(msg: Buffer, header: BatchHeader): boolean {
  if (msg.length < FRAME_HEADER_BYTES + HEADER_FIXED_BYTES) return false;
  const length = msg.readUInt32LE(0);
  const at = FRAME_HEADER_BYTES;
  if (msg[at] !== BATCH_MAGIC) return false;
  const originBytes = msg[at + ORIGIN]!;
  if (originBytes === 0 || length !== HEADER_FIXED_BYTES + originBytes || at + length > msg.length) return false;
  header.flags = msg[at + FLAGS]!;
  header.incarnationStart = at + INCARNATION;
  header.epoch = msg.readUIntLE(at + EPOCH, 6);
  header.seq = msg.readUIntLE(at + SEQ, 6);
  header.sentAt = msg.readUIntLE(at + SENT_AT, 6);
  header.originStart = at + HEADER_FIXED_BYTES;
  header.originEnd = header.originStart + originBytes;
  header.framesStart = at + length;
  return true;
}
