/**
 * The sending half of the Redis transport's batching: everything a node
 * sends to one target within one flush is written into that target's open
 * batch, and each batch becomes one channel message (one PUBLISH).
 *
 * A batch is sealed (numbered, and its MAC written) when the flush is
 * published, or earlier when it grows past {@link MAX_BATCH_BYTES}: a later
 * batch to the same target then follows it in the same flush. Batches are
 * numbered when sealed, from one counter per link, so that the numbers a
 * receiver sees from this link grow in the order they were published, probes
 * included (replay-guard.ts).
 *
 * A target's open batch is written into a FrameWriter taken from a small
 * pool (each keeps its slab from flush to flush), so that the memory a node
 * holds does not grow with the number of nodes it has ever sent to.
 */
import { FrameWriter } from '../../codec/frame-writer.js';
import { BatchFlags, headerRecordBytes, setBatchSeq, writeBatchHeader, type StreamId } from './channel-format.js';
import type { ChannelMac } from './channel-mac.js';
import { keySlot } from './key-slot.js';
import { channelOf } from './options.js';

/** A batch is sealed once it holds this much, so that no channel message grows without bound. */
export const MAX_BATCH_BYTES = 256 * 1024;
const SLAB_BYTES = 16 * 1024;
/** Writers kept for the next flush; a flush to more targets makes more, and lets them go. */
const POOLED_WRITERS = 32;
/** Targets whose channel name is kept; past this the longest-known is made again when needed. */
const KNOWN_TARGETS = 4096;

/** One target: where its messages go, and its open batch, if any. */
export class Lane {
  /** The writer of the open batch (set while {@link open} is not -1). */
  writer!: FrameWriter;
  /** The index of this lane's open batch in the current flush, or -1. */
  open = -1;
  /** The last batch published to this target had a subscriber. */
  reached = false;
  private clusterSlot = -1;

  constructor(
    readonly channel: string,
    /** The target's id with its length byte, as the MAC names it. */
    readonly target: Buffer,
  ) {}

  /** The cluster slot of {@link channel}, computed when first asked for. */
  get slot(): number {
    if (this.clusterSlot < 0) this.clusterSlot = keySlot(this.channel);
    return this.clusterSlot;
  }
}

/** The channel messages of one flush, in the order their batches were opened. */
export interface SealedFlush {
  channels: string[];
  messages: Buffer[];
  /** The target of each message. */
  lanes: Lane[];
}

export class Outbox {
  private readonly lanes = new Map<string, Lane>();
  private readonly opened: Lane[] = [];
  private readonly pool: FrameWriter[] = [];
  private channels: string[] = [];
  private messages: Buffer[] = [];
  private targets: Lane[] = [];
  private readonly headerBytes: number;
  private seq = 0;

  constructor(
    private readonly stream: StreamId,
    private readonly prefix: string,
    private readonly mac: ChannelMac | undefined,
  ) {
    this.headerBytes = headerRecordBytes(stream) - 4;
  }

  /** Batches opened in this flush so far. */
  get batchCount(): number {
    return this.channels.length;
  }

  /**
   * The lane of `host`, with a batch open in this flush: the caller writes
   * its frames into `lane.writer`, then calls {@link wrote}. `lane.open` is
   * the batch's index, whose subscriber count answers for what went into it.
   */
  laneFor(host: string): Lane {
    const lane = this.lane(host);
    if (lane.open < 0) this.begin(lane);
    return lane;
  }

  /** After frames were written into `lane`: seals its batch if it is full. */
  wrote(lane: Lane): void {
    if (lane.writer.length >= MAX_BATCH_BYTES) this.seal(lane);
  }

  /** Seals every open batch and hands out the flush's messages; the next flush starts empty. */
  take(): SealedFlush {
    for (const lane of this.opened) if (lane.open >= 0) this.seal(lane);
    this.opened.length = 0;
    const flush = { channels: this.channels, messages: this.messages, lanes: this.targets };
    this.channels = [];
    this.messages = [];
    this.targets = [];
    return flush;
  }

  /** A probe to `host` (this node itself): a batch of its own, with no frames. */
  probe(host: string): { channel: string; message: Buffer } {
    const lane = this.lane(host);
    const message = Buffer.allocUnsafe(4 + this.headerBytes);
    message.writeUInt32LE(this.headerBytes, 0);
    this.writeHeader(message, 4, BatchFlags.PROBE);
    this.finish(lane, message);
    return { channel: lane.channel, message };
  }

  private lane(host: string): Lane {
    let lane = this.lanes.get(host);
    if (lane === undefined) {
      if (this.lanes.size >= KNOWN_TARGETS) this.forgetOne();
      const id = Buffer.from(host, 'utf8');
      lane = new Lane(channelOf(this.prefix, host), Buffer.concat([Buffer.of(id.length), id]));
      this.lanes.set(host, lane);
    }
    return lane;
  }

  /** Forgets the longest-known target with no open batch. */
  private forgetOne(): void {
    for (const [host, lane] of this.lanes) {
      if (lane.open >= 0) continue;
      this.lanes.delete(host);
      return;
    }
  }

  private begin(lane: Lane): void {
    lane.open = this.channels.length;
    lane.writer = this.pool.pop() ?? new FrameWriter(SLAB_BYTES);
    this.channels.push(lane.channel);
    this.messages.push(EMPTY);
    this.targets.push(lane);
    this.opened.push(lane);
    const off = lane.writer.reserve(this.headerBytes);
    this.writeHeader(lane.writer.buf, off, 0);
  }

  private writeHeader(buf: Buffer, off: number, flags: number): void {
    writeBatchHeader(buf, off, this.mac === undefined ? flags : flags | BatchFlags.SIGNED, this.stream, 0, Date.now());
  }

  private seal(lane: Lane): void {
    const parts = lane.writer.take();
    const message = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.finish(lane, message);
    this.messages[lane.open] = message;
    lane.open = -1;
    if (this.pool.length < POOLED_WRITERS) this.pool.push(lane.writer);
  }

  /** Numbers and signs a whole message. */
  private finish(lane: Lane, message: Buffer): void {
    setBatchSeq(message, ++this.seq);
    this.mac?.sign(lane.target, message);
  }
}

const EMPTY = Buffer.alloc(0);
