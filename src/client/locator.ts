import type { FrameWriter } from '../codec/frame-writer.js';
import { FrameTooLargeError, TimeoutError, type RelayError } from '../errors.js';
import { LOCATE_IDS_PER_FRAME, decodeLocated, encodeLocate, userIdToString, type UserId } from '../protocol/index.js';
import { Fifo } from './fifo.js';

interface Locating {
  seq: number;
  sentAt: number;
  /** What the LOCATED_PARTs answered so far. */
  parts: Map<string, string[]> | undefined;
  resolve: (located: Map<string, string[]>) => void;
  reject: (error: RelayError) => void;
}

/**
 * LOCATE requests waiting for their answer; answers come back in request
 * order. A large `locate()` goes out as several LOCATEs of at most
 * {@link LOCATE_IDS_PER_FRAME} ids each, and an answer may come in parts.
 */
export class Locator {
  private readonly waiting = new Fifo<Locating>();

  /**
   * Appends the LOCATEs for `userIds` to `writer` and returns the merged
   * answer. Throws `ERR_FRAME_TOO_LARGE`, writing nothing, when a LOCATE
   * would exceed `maxFrameBytes`.
   */
  request(writer: FrameWriter, nextSeq: () => number, userIds: readonly UserId[], maxFrameBytes: number): Promise<Map<string, string[]>> {
    const ids = userIds.map(userIdToString);
    const frames: Array<{ seq: number; frame: Buffer }> = [];
    for (let i = 0; i === 0 || i < ids.length; i += LOCATE_IDS_PER_FRAME) {
      const seq = nextSeq();
      const frame = encodeLocate(seq, ids.slice(i, i + LOCATE_IDS_PER_FRAME));
      if (frame.length > maxFrameBytes) {
        throw new FrameTooLargeError(`locate frame of ${frame.length} bytes exceeds the relay's limit of ${maxFrameBytes} bytes`);
      }
      frames.push({ seq, frame });
    }
    const answers = frames.map(({ seq, frame }) => {
      writer.appendFrame(frame);
      return new Promise<Map<string, string[]>>((resolve, reject) =>
        this.waiting.push({ seq, sentAt: Date.now(), parts: undefined, resolve, reject }),
      );
    });
    if (answers.length === 1) return answers[0]!;
    return Promise.all(answers).then((maps) => new Map(maps.flatMap((m) => [...m])));
  }

  /** Settles the request a LOCATED answers, or keeps a LOCATED_PART until the rest comes. */
  answer(payload: Buffer): void {
    const { seq, located, more } = decodeLocated(payload);
    if (more) {
      const request = this.find(seq);
      if (request === undefined) return;
      request.parts ??= new Map();
      for (const [user, nodes] of located) request.parts.set(user, nodes);
      return;
    }
    const request = this.waiting.take((l) => l.seq === seq);
    if (request === undefined) return;
    if (request.parts === undefined) request.resolve(located);
    else {
      for (const [user, nodes] of located) request.parts.set(user, nodes);
      request.resolve(request.parts);
    }
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

  private find(seq: number): Locating | undefined {
    // Answers come in order: the one a part belongs to is the oldest waiting.
    const oldest = this.waiting.peek();
    return oldest?.seq === seq ? oldest : undefined;
  }
}
