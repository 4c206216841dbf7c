import { describe, expect, it } from 'vitest';
import { DeliveryWindow } from '../../src/client/delivery-window.js';
import { FrameWriter } from '../../src/codec/frame-writer.js';
import { ErrorCodes } from '../../src/errors.js';
import { decodeConsumed } from '../../src/protocol/index.js';

/** The CONSUMED a window writes now, decoded, or undefined when none is owed. */
function written(w: DeliveryWindow): ReturnType<typeof decodeConsumed> | undefined {
  const writer = new FrameWriter();
  if (!w.write(writer)) return undefined;
  const bytes = Buffer.concat(writer.take());
  return decodeConsumed(bytes.subarray(4));
}

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('DeliveryWindow', () => {
  it('owes (0, 0, window) on a new connection, then nothing until something moves', () => {
    const w = new DeliveryWindow(8);
    expect(written(w)).toBeUndefined();
    w.reset();
    expect(written(w)).toEqual({ taken: 0, settled: 0, window: 8 });
    expect(written(w)).toBeUndefined();
  });

  it('numbers deliveries from 1 and refuses one past settled + window with ERR_PROTOCOL', () => {
    const w = new DeliveryWindow(3);
    w.reset();
    expect([w.number(), w.number(), w.number()]).toEqual([1, 2, 3]);
    expect(codeOf(() => w.number())).toBe(ErrorCodes.PROTOCOL);
    // Taking one opens the window by one.
    expect(w.advance(2)).toBe(true);
    expect(w.number()).toBe(4);
    expect(codeOf(() => w.number())).toBe(ErrorCodes.PROTOCOL);
  });

  it('advance: taken is everything before the lowest pending, or everything received when none is', () => {
    const w = new DeliveryWindow(100);
    w.reset();
    written(w);
    for (let i = 0; i < 5; i++) w.number();
    expect(w.advance(1)).toBe(false);
    expect(written(w)).toBeUndefined();
    expect(w.advance(4)).toBe(true);
    expect(written(w)).toEqual({ taken: 3, settled: 3, window: 100 });
    expect(w.advance(-1)).toBe(true);
    expect(written(w)).toEqual({ taken: 5, settled: 5, window: 100 });
  });

  it('expire: dropped deliveries are settled, not taken; taken passes them only when the application takes one beyond', () => {
    const w = new DeliveryWindow(100);
    w.reset();
    for (let i = 0; i < 6; i++) w.number();
    // 1 held and counted taken, 2-3 dropped, 4-6 still queued.
    w.expire(3, 2, 4);
    expect(written(w)).toEqual({ taken: 1, settled: 3, window: 100 });
    // 4 handed to the loop: nothing new is taken.
    expect(w.advance(4)).toBe(false);
    expect(w.advance(5)).toBe(true);
    expect(written(w)).toEqual({ taken: 4, settled: 4, window: 100 });
  });

  it('expire that drops nothing still owes its answer; through may not pass what arrived', () => {
    const w = new DeliveryWindow(100);
    w.reset();
    for (let i = 0; i < 3; i++) w.number();
    w.advance(-1);
    written(w);
    w.checkExpire(3);
    w.expire(2, -1, -1);
    expect(written(w)).toEqual({ taken: 3, settled: 3, window: 100 });
    expect(codeOf(() => w.checkExpire(4))).toBe(ErrorCodes.PROTOCOL);
  });

  it('numbers wrap at 2^32 and compare in serial arithmetic', () => {
    const w = new DeliveryWindow(4);
    w.reset();
    w.received = 0xffff_fffe;
    w.taken = 0xffff_fffe;
    w.settled = 0xffff_fffe;
    expect([w.number(), w.number(), w.number()]).toEqual([0xffff_ffff, 0, 1]);
    expect(w.advance(0)).toBe(true);
    expect(written(w)).toEqual({ taken: 0xffff_ffff, settled: 0xffff_ffff, window: 4 });
    expect(w.advance(-1)).toBe(true);
    expect(w.taken).toBe(1);
  });

  describe('pressing: whether the CONSUMED owed may wait for other output', () => {
    it('the first on a connection presses; one owed for deliveries taken does not, until half the window is past the last sent', () => {
      const w = new DeliveryWindow(8);
      w.reset();
      expect(w.pressing).toBe(true);
      written(w);
      expect(w.pressing).toBe(false);
      for (let i = 0; i < 8; i++) w.number();
      w.advance(4);
      expect([w.due, w.pressing]).toEqual([true, false]);
      // Settled 4 of a window of 8 since the last CONSUMED (settled 0): the relay may stall soon.
      w.advance(5);
      expect([w.due, w.pressing]).toEqual([true, true]);
      expect(written(w)).toEqual({ taken: 4, settled: 4, window: 8 });
      expect(w.pressing).toBe(false);
      // Counted from what the last CONSUMED said, not from the connection's start.
      w.advance(8);
      expect([w.due, w.pressing]).toEqual([true, false]);
      w.advance(-1);
      expect(w.pressing).toBe(true);
    });

    it('the answer to an EXPIRE presses', () => {
      const w = new DeliveryWindow(100);
      w.reset();
      written(w);
      for (let i = 0; i < 3; i++) w.number();
      w.expire(2, 1, 3);
      expect(w.pressing).toBe(true);
    });

    it('hurry presses only what is owed', () => {
      const w = new DeliveryWindow(100);
      w.reset();
      written(w);
      w.hurry();
      expect([w.due, w.pressing]).toEqual([false, false]);
      w.number();
      w.advance(-1);
      expect(w.pressing).toBe(false);
      w.hurry();
      expect(w.pressing).toBe(true);
    });
  });
});
