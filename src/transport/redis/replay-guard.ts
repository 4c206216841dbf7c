/**
 * Which authenticated batches a receiving link has already taken, so that a
 * genuine channel message published again (by anyone who can PUBLISH) is
 * dropped instead of delivered twice.
 *
 * A sending link's batches form a stream, named by the sender's node id,
 * incarnation and link epoch, and numbered from one counter in the order
 * they are published: a receiver sees the numbers of the batches meant for
 * it grow, with gaps. It keeps, per stream, the highest number seen and
 * which of the 32 below it were seen (RFC 4303's anti-replay window: a batch
 * that comes out of order is still taken once). A stream it does not know is a new link of that
 * sender, taken when it is newer than what the receiver knows of the sender,
 * and stamped no earlier than this link subscribed (less the clock skew
 * allowed): nothing published before the subscription can be for this link.
 *
 * Only batches whose MAC was verified reach the guard: an attacker without
 * the secret cannot add streams, so what it keeps is bounded by the genuine
 * senders (and by {@link MAX_SENDERS} whatever happens).
 */
import type { BatchHeader } from './channel-format.js';

/** Why a batch was refused, or `undefined` when it is new. */
export type ReplayVerdict = 'replayed' | 'stale' | undefined;

const WINDOW = 32;
/** Streams remembered per sender: its current link and a few before it. */
const STREAMS_PER_SENDER = 4;
/** Senders remembered; past this the longest-known is forgotten. */
const MAX_SENDERS = 65_536;

interface Stream {
  incarnation: string;
  epoch: number;
  highest: number;
  /** Bit i: batch `highest - i` was seen. */
  seen: number;
  /** The sending time of the first batch seen on this stream. */
  firstSentAt: number;
}

export class ReplayGuard {
  private readonly senders = new Map<string, Stream[]>();

  /** @param skewMs - how far senders' clocks may be from this one. */
  constructor(private readonly skewMs: number) {}

  /**
   * Checks the batch whose header was read from `msg`, and records it when
   * it is new. `notBefore` is the earliest sending time a batch may carry:
   * when the receiving link subscribed, less the clock skew allowed.
   */
  admit(msg: Buffer, header: BatchHeader, notBefore: number): ReplayVerdict {
    if (header.sentAt < notBefore) return 'stale';
    const sender = msg.toString('latin1', header.originStart, header.originEnd);
    const incarnation = msg.toString('latin1', header.incarnationStart, header.incarnationStart + 8);
    const { epoch, seq, sentAt } = header;
    let streams = this.senders.get(sender);
    if (streams !== undefined) {
      let newestFirst = 0;
      for (const stream of streams) {
        if (stream.incarnation === incarnation) {
          if (stream.epoch === epoch) return take(stream, seq);
          // An earlier link of the same process: its batches all came before.
          if (stream.epoch > epoch) return 'replayed';
        }
        newestFirst = Math.max(newestFirst, stream.firstSentAt);
      }
      // A link older than the newest one known, forgotten since.
      if (sentAt + this.skewMs < newestFirst) return 'replayed';
    }
    if (streams === undefined) {
      if (this.senders.size >= MAX_SENDERS) this.senders.delete(this.senders.keys().next().value!);
      streams = [];
      this.senders.set(sender, streams);
    }
    if (streams.length >= STREAMS_PER_SENDER) {
      let oldest = 0;
      for (let i = 1; i < streams.length; i++) if (streams[i]!.firstSentAt < streams[oldest]!.firstSentAt) oldest = i;
      streams.splice(oldest, 1);
    }
    streams.push({ incarnation, epoch, highest: seq, seen: 1, firstSentAt: sentAt });
    return undefined;
  }
}

/** Takes `seq` into the stream's window; 'replayed' when it was seen or is too old to tell. */
function take(stream: Stream, seq: number): ReplayVerdict {
  if (seq > stream.highest) {
    const shift = seq - stream.highest;
    stream.seen = shift >= WINDOW ? 1 : ((stream.seen << shift) | 1) >>> 0;
    stream.highest = seq;
    return undefined;
  }
  const back = stream.highest - seq;
  if (back >= WINDOW) return 'replayed';
  const bit = (1 << back) >>> 0;
  if ((stream.seen & bit) !== 0) return 'replayed';
  stream.seen = (stream.seen | bit) >>> 0;
  return undefined;
}
