import type { FrameWriter } from '../codec/frame-writer.js';
import { FrameTooLargeError, TimeoutError, type RelayError } from '../errors.js';
import { decodeLocated, encodeLocate, userIdToString, type UserId } from '../protocol/index.js';
import { Fifo } from './fifo.js';

interface Locating {
  seq: number;
  sentAt: number;
  resolve: (located: Map<string, string[]>) => void;
  reject: (error: RelayError) => void;
}

/** LOCATE requests waiting for their answer; answers come back in request order. */
export class Locator {
  private readonly waiting = new Fifo<Locating>();

  /** Appends a LOCATE to `writer` and returns its answer. */
  request(writer: FrameWriter, seq: number, userIds: readonly UserId[], maxFrameBytes: number): Promise<Map<string, string[]>> {
    const frame = encodeLocate(seq, userIds.map(userIdToString));
    if (frame.length > maxFrameBytes) {
      throw new FrameTooLargeError(`locate frame of ${frame.length} bytes exceeds the relay's limit of ${maxFrameBytes} bytes`);
    }
    writer.appendFrame(frame);
    return new Promise((resolve, reject) => this.waiting.push({ seq, sentAt: Date.now(), resolve, reject }));
  }

  /** Settles the request a LOCATED payload answers. */
  answer(payload: Buffer): void {
    const { seq, located } = decodeLocated(payload);
    this.waiting.take((l) => l.seq === seq)?.resolve(located);
  }

  /** Rejects requests older than `timeoutMs`. */
  expire(now: number, timeoutMs: number): void {
    const overdue = now - timeoutMs;
    for (let l = this.waiting.peek(); l !== undefined && l.sentAt < overdue; l = this.waiting.peek()) {
      this.waiting.shift();
      l.reject(new TimeoutError(`no answer from the relay within ${timeoutMs} ms`));
    }
  }

  rejectAll(error: () => RelayError): void {
    for (const l of this.waiting.drain()) l.reject(error());
  }
}
