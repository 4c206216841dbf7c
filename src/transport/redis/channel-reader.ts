/**
 * The receiving half of the Redis transport: checks each message that
 * arrives on this node's channel and finds the frames in it. Anyone who can
 * PUBLISH can put anything on the channel, so nothing here trusts a byte:
 * a message is taken whole or dropped whole, and a dropped one is counted
 * and reported, never thrown.
 *
 * In order: the header must be well formed; with a secret, the MAC must be
 * right for this node (else `forged`); every record must be a well-formed
 * DELIVER from the sender the header names (else `malformed`); with a
 * secret, the batch must be new (else `replayed` or `stale`, replay-guard.ts).
 */
import { DeliverSpans, FrameType, scanDeliver } from '../../protocol/index.js';
import { BatchFlags, BatchHeader, INCARNATION_BYTES, readBatchHeader } from './channel-format.js';
import type { ChannelMac } from './channel-mac.js';
import type { ReplayGuard } from './replay-guard.js';

/** Why a channel message was dropped. */
export type DropReason = 'malformed' | 'forged' | 'replayed' | 'stale';

/** What a link counts of its channel; exact, from the link's start. */
export interface ChannelStats {
  /** Channel messages published (batches and probes). */
  batchesSent: number;
  /** Channel messages taken, probes included. */
  batchesReceived: number;
  /** DELIVER frames found in the batches taken. */
  framesReceived: number;
  /** Dropped: not a well-formed batch of DELIVER frames. */
  malformed: number;
  /** Dropped: no MAC, or a wrong one, while this node has a secret. */
  forged: number;
  /** Dropped: a batch already taken, or from a link older than one already heard. */
  replayed: number;
  /** Dropped: stamped before this link subscribed (less the clock skew allowed). */
  stale: number;
  /** Probes published (counted by the link), and those that came back. */
  probesSent: number;
  probesReturned: number;
}

/** Which link this is, to recognise its own probes. */
export interface ReaderIdentity {
  /** This node's id with its length byte: what the MAC names. */
  self: Buffer;
  incarnation: Buffer;
  epoch: number;
}

export class ChannelReader {
  readonly stats: ChannelStats = {
    batchesSent: 0,
    batchesReceived: 0,
    framesReceived: 0,
    malformed: 0,
    forged: 0,
    replayed: 0,
    stale: 0,
    probesSent: 0,
    probesReturned: 0,
  };
  /** The frames of the last message {@link read} took: `[starts[i], ends[i])` of it. */
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  /** True when the last message {@link read} took was one of this link's own probes. */
  ownProbe = false;
  private readonly header = new BatchHeader();
  private readonly spans = new DeliverSpans();

  /** With a secret: what the client's links have taken, and the earliest sending time this link takes; set once it subscribes. */
  guard: ReplayGuard | undefined;
  notBefore = 0;

  constructor(
    private readonly id: ReaderIdentity,
    private readonly mac: ChannelMac | undefined,
  ) {}

  /**
   * Reads one channel message. Returns the number of DELIVER frames to hand
   * on (their spans in {@link starts} and {@link ends}), 0 for a probe
   * (see {@link ownProbe}), or a {@link DropReason}.
   */
  read(msg: Buffer): number | DropReason {
    const header = this.header;
    const verdict = this.check(msg, header);
    if (typeof verdict === 'string') {
      this.stats[verdict]++;
      return verdict;
    }
    this.stats.batchesReceived++;
    this.ownProbe = false;
    if ((header.flags & BatchFlags.PROBE) !== 0) {
      this.ownProbe = this.isOwnProbe(msg, header);
      if (this.ownProbe) this.stats.probesReturned++;
      return 0;
    }
    this.stats.framesReceived += verdict;
    return verdict;
  }

  private check(msg: Buffer, header: BatchHeader): number | DropReason {
    if (!readBatchHeader(msg, header)) return this.mac === undefined ? 'malformed' : 'forged';
    if (this.mac !== undefined && ((header.flags & BatchFlags.SIGNED) === 0 || !this.mac.verify(this.id.self, msg))) return 'forged';
    const frames = (header.flags & BatchFlags.PROBE) !== 0 ? (msg.length === header.framesStart ? 0 : -1) : this.scan(msg, header);
    if (frames < 0) return 'malformed';
    return this.guard?.admit(msg, header, this.notBefore) ?? frames;
  }

  /** Finds and checks every frame record; -1 when any is not a DELIVER from the header's sender. */
  private scan(msg: Buffer, header: BatchHeader): number {
    const spans = this.spans;
    const originBytes = header.originEnd - header.originStart;
    let count = 0;
    let pos = header.framesStart;
    while (pos < msg.length) {
      if (pos + 4 > msg.length) return -1;
      const start = pos + 4;
      const end = start + msg.readUInt32LE(pos);
      if (end > msg.length || end === start || msg[start] !== FrameType.DELIVER) return -1;
      try {
        scanDeliver(msg, spans, start, end);
      } catch {
        return -1;
      }
      if (spans.originEnd - spans.originStart !== originBytes) return -1;
      if (msg.compare(msg, header.originStart, header.originEnd, spans.originStart, spans.originEnd) !== 0) return -1;
      if (count === this.starts.length) this.grow();
      this.starts[count] = start;
      this.ends[count] = end;
      count++;
      pos = end;
    }
    return count > 0 ? count : -1;
  }

  private isOwnProbe(msg: Buffer, header: BatchHeader): boolean {
    const { self, incarnation, epoch } = this.id;
    return (
      header.epoch === epoch &&
      msg.compare(self, 1, self.length, header.originStart, header.originEnd) === 0 &&
      msg.compare(incarnation, 0, INCARNATION_BYTES, header.incarnationStart, header.incarnationStart + INCARNATION_BYTES) === 0
    );
  }

  private grow(): void {
    const starts = new Int32Array(this.starts.length * 2);
    const ends = new Int32Array(this.ends.length * 2);
    starts.set(this.starts);
    ends.set(this.ends);
    this.starts = starts;
    this.ends = ends;
  }
}
