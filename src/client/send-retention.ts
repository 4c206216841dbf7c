import type { PendingSend } from './pending-send.js';

/**
 * The parts one flush handed to the link, kept by reference while a send
 * written in them waits for its answer. Nothing is copied on the way out:
 * a send's bytes are sliced from here only if it must be written again.
 */
export class WrittenBatch {
  /** Sends written in it that still wait for their answer. */
  refs = 0;
  readonly bytes: number;

  constructor(readonly parts: readonly Buffer[]) {
    let bytes = 0;
    for (const part of parts) bytes += part.length;
    this.bytes = bytes;
  }

  /** A copy of the bytes `[start, end)` of the parts, taken together. */
  copy(start: number, end: number): Buffer {
    const out = Buffer.allocUnsafe(end - start);
    let at = 0;
    for (const part of this.parts) {
      const next = at + part.length;
      if (next > start && at < end) part.copy(out, Math.max(0, at - start), Math.max(0, start - at), Math.min(part.length, end - at));
      if (next >= end) break;
      at = next;
    }
    return out;
  }
}

/**
 * The sends kept for writing again after a reconnect (effectively-once
 * links): one {@link WrittenBatch} per flush, held while any send in it
 * waits. {@link bytes} counts every batch held, whole: a 64 KiB slab stays
 * while one send in it is unanswered. It counts against `maxBufferedBytes`.
 */
export class Retention {
  /** Bytes of the batches held. */
  bytes = 0;

  /** Keeps `batch` while `entry`, written in it, waits for its answer. */
  hold(entry: PendingSend, batch: WrittenBatch): void {
    if (batch.refs++ === 0) this.bytes += batch.bytes;
    entry.batch = batch;
  }

  /** `entry` no longer needs its batch (answered, timed out, or copied out). */
  release(entry: PendingSend): void {
    const batch = entry.batch;
    if (batch === undefined) return;
    entry.batch = undefined;
    if (--batch.refs === 0) this.bytes -= batch.bytes;
  }

  /** A copy of `entry`'s frame, to write again; its batch is released. */
  takeFrame(entry: PendingSend): Buffer {
    const frame = entry.batch!.copy(entry.start, entry.end);
    this.release(entry);
    return frame;
  }
}
